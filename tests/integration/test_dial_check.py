"""GET /v1/dial-check/{phone} on the real worker, answering from its tables."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Pipeline, call_outcome, lead, opt_out

from pipeline.topics import CALL_OUTCOME, CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration


def ask(pipeline: Pipeline, phone: str, **query: str) -> tuple[int, dict[str, Any]]:
    url = f"{pipeline.worker.url}/v1/dial-check/{urllib.parse.quote(phone)}?{urllib.parse.urlencode(query)}"
    try:
        return 200, json.loads(pipeline.read(url))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_dial_check_turns_to_blocked_after_an_opt_out(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    phone = us_number()
    record = lead(phone)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    pipeline.wait(CALL_READY, lead_id=record["lead_id"])
    status, answer = ask(pipeline, phone, campaign="solar-q4")
    assert status == 200
    assert answer["allowed"] is True and answer["seconds_left"] > 0

    stop = opt_out(phone)
    pipeline.send(OPT_OUT, stop, key=phone)
    pipeline.wait(CALL_READY, phone_e164=phone, action="WITHDRAW")  # the opt-out is in the tables now
    status, answer = ask(pipeline, phone, campaign="solar-q4")
    assert (status, answer["allowed"]) == (200, False)
    assert answer["reasons"][0]["code"] == "DNC_OPT_OUT"
    assert stop["event_id"] in answer["reasons"][0]["detail"]


def test_dial_check_at_a_past_evening_names_the_state_rule(pipeline: Pipeline,
                                                           us_number: Callable[[], str]) -> None:
    status, answer = ask(pipeline, us_number(), campaign="insurance-renewals", at="2026-11-24T20:30:00-05:00")
    assert status == 200
    assert answer["allowed"] is False
    assert answer["rules_fired"] == ["us.fl.hours"]


def test_dial_check_rejects_a_bad_number_naming_the_field(pipeline: Pipeline) -> None:
    status, answer = ask(pipeline, "not-a-number", channel="FAX")
    assert status == 400
    assert set(answer["fields"]) == {"phone", "channel"}
    status, answer = ask(pipeline, "+13052094411", at="9999-12-31T23:59:59Z")  # was a 500: the window overflowed
    assert status == 400
    assert list(answer["fields"]) == ["at"]


def test_dial_check_with_a_lead_id_answers_for_the_lead_on_the_worker(pipeline: Pipeline,
                                                                      us_number: Callable[[], str]) -> None:
    phone = us_number()
    record = lead(phone)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    pipeline.wait(CALL_READY, lead_id=record["lead_id"])
    status, answer = ask(pipeline, phone, lead_id=record["lead_id"])
    assert (status, answer["allowed"], answer["campaign_id"]) == (200, True, "solar-q4")  # the lead's campaign
    assert (answer["lead"]["status"], answer["lead"]["offered"], answer["lead"]["attempts_left"]) == (
        "IN_PROGRESS", True, 8)

    outcome = call_outcome(phone, record["lead_id"], "NOT_INTERESTED")
    pipeline.send(CALL_OUTCOME, outcome, key=phone)
    pipeline.wait(LEAD_DECISION, input_event_id=outcome["event_id"])  # the lead is closed in the tables now
    status, answer = ask(pipeline, phone, campaign_id="solar-q4", lead_id=record["lead_id"])
    assert (status, answer["allowed"]) == (200, False)
    assert [r["code"] for r in answer["reasons"]] == ["LEAD_CLOSED"]
    status, number_only = ask(pipeline, phone, campaign_id="solar-q4")
    assert number_only["allowed"] is True  # the number itself: nothing against it
