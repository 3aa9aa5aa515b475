"""GET /v1/dial-check/{phone} on the real worker, answering from its tables."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import NOW, Pipeline, call_outcome, lead, opt_out

from pipeline.topics import CALL_OUTCOME, CALL_READY, DIAL_CHECK, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

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


def test_every_answer_is_on_the_dial_check_topic_and_found_again_by_its_call_id(
        pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    phone = us_number()
    record = lead(phone)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    pipeline.wait(CALL_READY, lead_id=record["lead_id"])
    call_id = f"call-{record['lead_id']}"
    status, answer = ask(pipeline, phone, campaign_id="solar-q4", call_id=call_id)
    assert status == 200 and answer["allowed"] is True and answer["call_id"] == call_id

    [audit] = pipeline.wait(DIAL_CHECK, call_id=call_id)  # real Avro bytes, read with a plain consumer
    assert audit["request_id"] == answer["request_id"] == audit["event_id"]
    assert (audit["phone_e164"], audit["campaign_id"], audit["allowed"]) == (phone, "solar-q4", True)
    assert audit["reasons"] == answer["reasons"] and audit["worker_id"] == answer["worker_id"]
    assert audit["rule_pack_version"] == answer["rule_pack_version"] and audit["state_note"] == "today's state"
    assert [r.key for r in pipeline.tail.records(DIAL_CHECK) if r.record and r.record["call_id"] == call_id] == [
        phone.encode()]

    # What the dialer was told before that call, read back from the topic by the command in the docs.
    env = {**pipeline.env, "LEADPIPE_BOOTSTRAP_SERVERS": pipeline.settings.bootstrap_servers or ""}
    env.pop("LEADPIPE_CLOCK_FILE", None)
    found = subprocess.run([sys.executable, "-m", "pipeline.cli", "dial-checks", "--call-id", call_id, "--idle", "1"],
                           env=env, capture_output=True, text=True, timeout=60, check=True)
    [line] = found.stdout.splitlines()
    assert json.loads(line)["request_id"] == answer["request_id"]

    def sent() -> float:
        text = pipeline.read(f"{pipeline.worker.url}/metrics").decode()
        return float(re.search(r"^leadpipe_dial_check_audit_sent_total (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]

    deadline = time.monotonic() + 10
    while sent() < 1 and time.monotonic() < deadline:  # the acknowledgement follows the record
        time.sleep(0.05)
    assert sent() >= 1


def test_at_a_past_instant_the_state_of_that_instant_answers(pipeline: Pipeline,
                                                             us_number: Callable[[], str]) -> None:
    phone = us_number()
    record = lead(phone)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    pipeline.wait(CALL_READY, lead_id=record["lead_id"])
    stop = opt_out(phone)  # made at NOW - 2 min
    pipeline.send(OPT_OUT, stop, key=phone)
    pipeline.wait(CALL_READY, phone_e164=phone, action="WITHDRAW")

    before = (NOW - timedelta(minutes=3)).isoformat()
    status, answer = ask(pipeline, phone, campaign_id="solar-q4", at=before)
    assert (status, answer["allowed"], answer["state_as_of"]) == (200, True, before)
    status, answer = ask(pipeline, phone, campaign_id="solar-q4")
    assert (answer["allowed"], answer["reasons"][0]["code"]) == (False, "DNC_OPT_OUT")


def test_the_leads_address_counts_in_the_dial_check_as_in_the_decision(pipeline: Pipeline,
                                                                       us_number: Callable[[], str]) -> None:
    phone = us_number()  # a Florida number whose lead lives in Texas; its line type is unknown
    record = lead(phone, address={"street": None, "city": "Austin", "region": "TX", "postal_code": None,
                                  "country": "US"})
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])
    status, answer = ask(pipeline, phone, campaign_id="solar-q4")
    assert status == 200 and decision["outcome"] == "SUPPRESSED" and answer["allowed"] is False
    assert [r["code"] for r in answer["reasons"]] == [r["code"] for r in decision["reasons"]] == [
        "WIRELESS_RESTRICTED"]
