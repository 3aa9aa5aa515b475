"""Tables survive a worker crash: a new worker recovers them from the changelogs.

Runs after test_pipeline.py (file order) because it kills the shared worker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Pipeline, lead, opt_out

from pipeline.topics import CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kill", [True, False], ids=["kill-9", "sigterm"])
def test_state_survives_a_worker_restart(pipeline: Pipeline, us_number: Callable[[], str], kill: bool) -> None:
    blocked, offered = us_number(), us_number()
    stop = opt_out(blocked)
    pipeline.send(OPT_OUT, stop, key=blocked)
    pipeline.wait_routed(stop["event_id"])
    probe = lead(blocked)
    pipeline.send(LEAD_CAPTURED, probe, key=probe["lead_id"])
    [before] = pipeline.wait(LEAD_DECISION, lead_id=probe["lead_id"])
    assert before["outcome"] == "SUPPRESSED"
    first = lead(offered)
    pipeline.send(LEAD_CAPTURED, first, key=first["lead_id"])
    pipeline.wait(CALL_READY, lead_id=first["lead_id"], action="READY")

    pipeline.restart_worker(kill=kill)

    # The suppression table came back: a new lead for the opted-out number is still suppressed.
    after = lead(blocked)
    pipeline.send(LEAD_CAPTURED, after, key=after["lead_id"])
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=after["lead_id"], timeout_s=60)
    assert decision["outcome"] == "SUPPRESSED"
    assert decision["reasons"][0]["code"] == "DNC_OPT_OUT"
    # The leads table came back: an opt-out now withdraws the offer made before the restart.
    pipeline.send(OPT_OUT, opt_out(offered), key=offered)
    [withdraw] = pipeline.wait(CALL_READY, phone_e164=offered, action="WITHDRAW", timeout_s=60)
    assert withdraw["lead_id"] == first["lead_id"]
    # At-least-once may replay records after kill -9; replays carry the same event ids.
    ready = pipeline.outputs(CALL_READY, lead_id=first["lead_id"], action="READY")
    assert len({r["event_id"] for r in ready}) == 1


def test_a_deferred_lead_is_released_when_its_window_opens_even_across_a_restart(
        pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    """Captured at 06:00 in Florida: deferred to 08:00. A worker whose clock reads 08:30 — a new
    process, so the schedule can only come from the recovered leads table — offers it."""
    early = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # 06:00 New York
    try:
        pipeline.restart_worker(kill=False, clock=early)
        record = lead(us_number())
        pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
        [deferred] = pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])
        assert deferred["outcome"] == "DEFERRED"
        assert deferred["reasons"][0]["code"] == "OUTSIDE_CALL_WINDOW"
        opens = deferred["callable_from"]
        assert opens == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 08:00 New York

        pipeline.restart_worker(kill=True, clock=opens + timedelta(minutes=30))
        [ready] = pipeline.wait(CALL_READY, lead_id=record["lead_id"], action="READY", timeout_s=60)
        assert ready["callable_until"] == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 20:00 (us.fl.hours)
        released = pipeline.outputs(LEAD_DECISION, lead_id=record["lead_id"])
        assert [d["outcome"] for d in released] == ["DEFERRED", "CALL_READY"]
        assert released[1]["input_topic"] == "release-scheduler"
    finally:
        pipeline.restart_worker(kill=False)  # back to the suite's clock
