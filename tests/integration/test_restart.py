"""Tables survive a worker crash: a new worker recovers them from the changelogs.

Runs after test_pipeline.py (file order) because it kills the shared worker.
"""

from __future__ import annotations

from collections.abc import Callable

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
