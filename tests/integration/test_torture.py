"""The torture suite in CI: 20,000 mixed inputs, five kill -9s at random moments, on one worker and
on two sharing the partitions, on each broker: at-least-once on Tansu (duplicates counted),
exactly-once on Apache Kafka (a duplicate is a failure). ``leadpipe torture --runs 5`` runs the
same five times each."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from pipeline.admin import ensure_topics
from pipeline.config import Settings
from pipeline.torture import torture_run, torture_site

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("workers", [1, 2])
def test_nothing_accepted_is_lost_under_kill_9(broker_kind: str, workers: int) -> None:
    with torture_site(Settings(), broker_kind) as (site, workdir):
        settings = dataclasses.replace(site, app_id=f"torture-{uuid.uuid4().hex[:6]}")
        ensure_topics(settings)
        result = torture_run(settings, workers=workers, events=20_000, kills=5, seed=1206 + workers,
                             log_dir=workdir)
    print(f"\n{broker_kind}, {workers} worker(s): {result.line()}")
    assert result.kills == 5 and result.events >= 20_000
    assert result.exactly_once == (broker_kind == "kafka")
    assert (result.lost, result.standing, result.replay_mismatches) == (0, 0, 0), result.examples
    if result.exactly_once:
        assert result.duplicate_decisions == 0, result.examples
