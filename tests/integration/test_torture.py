"""The torture suite in CI: 20,000 mixed inputs, five kill -9s at random moments, two workers sharing
the partitions — on Tansu at-least-once (duplicates and READYs left standing by a replay counted),
on Apache Kafka exactly-once (either is a failure). The brokers chosen with ``--broker`` run at the
same time, each its own broker, workers and stream (the load of both on two cores is part of the
test). ``leadpipe torture --runs 5`` runs a configuration five times; ``--broker kafka --guarantee
at_least_once --workers 2`` at-least-once on Kafka, left out here for CI's time."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from broker_kinds import BROKER_KINDS

from pipeline.admin import ensure_topics
from pipeline.config import Settings
from pipeline.torture import RunResult, keep_logs, torture_run, torture_site

pytestmark = pytest.mark.integration


WORKERS = {"tansu": 2, "kafka": 2}


def one_run(broker_kind: str) -> RunResult:
    with torture_site(Settings(), broker_kind, "exactly_once") as (site, workdir):  # Tansu: at least once
        settings = dataclasses.replace(site, app_id=f"torture-{uuid.uuid4().hex[:6]}")
        ensure_topics(settings)
        say = lambda line: print(f"[{broker_kind}] {line}", flush=True)  # noqa: E731
        try:
            result = torture_run(settings, workers=WORKERS[broker_kind], events=20_000, kills=5, seed=1207,
                                 log_dir=workdir, say=say)
        except Exception:
            say(f"ERROR; the broker's and the workers' logs are kept in {keep_logs(workdir)}")
            raise
        if not result.ok:  # any finding, the ones only counted here too (`leadpipe torture` fails on them)
            say(f"the broker's and the workers' logs are kept in {keep_logs(workdir)}")
        return result


def test_nothing_accepted_is_lost_under_kill_9(request: pytest.FixtureRequest) -> None:
    choice = request.config.getoption("broker")
    kinds = BROKER_KINDS if choice == "both" else (choice,)
    with ThreadPoolExecutor(len(kinds)) as pool:
        results = dict(zip(kinds, pool.map(one_run, kinds), strict=True))
    for broker_kind, result in results.items():
        print(f"\n{broker_kind}, {WORKERS[broker_kind]} worker(s): {result.line()}")
    for broker_kind, result in results.items():
        assert result.kills == 5 and result.events >= 20_000, broker_kind
        assert result.exactly_once == (broker_kind == "kafka")
        assert (result.lost, result.replay_mismatches, result.exited) == (0, 0, 0), (broker_kind, result.examples)
        if result.exactly_once:
            assert (result.standing, result.duplicate_decisions) == (0, 0), (broker_kind, result.examples)
        # At-least-once, a READY sent before a kill can stand without its WITHDRAW when the replay takes
        # the number's opt-out (another topic) before its lead: counted and printed above, not failed
        # (README, "Guarantees and their limits"); the tables agree with a replay, so the dial-time
        # check blocks such a call. `leadpipe torture` still fails a run on it.
