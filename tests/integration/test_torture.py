"""The torture suite in CI: 20,000 mixed inputs, five kill -9s at random moments: one worker on each
broker (at-least-once on Tansu, duplicates counted; exactly-once on Apache Kafka, a duplicate is a
failure) and two workers sharing the partitions on Tansu. Two workers on Kafka are not here: they
still lose leads in some runs (README, "Guarantees and their limits"). The brokers chosen with ``--broker`` run at
the same time, each its own broker, workers and stream (the suite's longest test, halved; the load
of both on two cores is part of the test). ``leadpipe torture --runs 5`` runs each five times."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from broker_kinds import BROKER_KINDS

from pipeline.admin import ensure_topics
from pipeline.config import Settings
from pipeline.torture import RunResult, torture_run, torture_site

pytestmark = pytest.mark.integration


def one_run(broker_kind: str, workers: int) -> RunResult:
    guarantee = "exactly_once" if workers == 1 else "at_least_once"
    with torture_site(Settings(), broker_kind, guarantee) as (site, workdir):
        settings = dataclasses.replace(site, app_id=f"torture-{uuid.uuid4().hex[:6]}")
        ensure_topics(settings)
        return torture_run(settings, workers=workers, events=20_000, kills=5, seed=1206 + workers,
                           log_dir=workdir, say=lambda line: print(f"[{broker_kind}] {line}", flush=True))


@pytest.mark.parametrize("workers", [1, 2])
def test_nothing_accepted_is_lost_under_kill_9(request: pytest.FixtureRequest, workers: int) -> None:
    choice = request.config.getoption("broker")
    kinds = BROKER_KINDS if choice == "both" else (choice,)
    if workers == 2:
        # Two workers on Apache Kafka under kill -9 still lose leads in some runs (an open defect, in
        # README "Guarantees and their limits"; `leadpipe torture --broker kafka --workers 2` shows it).
        kinds = tuple(kind for kind in kinds if kind == "tansu") or kinds
    with ThreadPoolExecutor(len(kinds)) as pool:
        results = dict(zip(kinds, pool.map(lambda kind: one_run(kind, workers), kinds), strict=True))
    for broker_kind, result in results.items():
        print(f"\n{broker_kind}, {workers} worker(s): {result.line()}")
    for broker_kind, result in results.items():
        assert result.kills == 5 and result.events >= 20_000, broker_kind
        assert result.exactly_once == (broker_kind == "kafka" and workers == 1)
        assert (result.lost, result.standing, result.replay_mismatches) == (0, 0, 0), (broker_kind, result.examples)
        if result.exactly_once:
            assert result.duplicate_decisions == 0, (broker_kind, result.examples)
