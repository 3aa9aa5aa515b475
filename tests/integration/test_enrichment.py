"""Enrichment, data quality, dedupe and decision-time scoring through the real worker and broker.

Duplicates by email cross numbers (the email stage: one writer per email), simultaneous
submissions are decided by one writer, junk is flagged but decided, and a line-type file turns a
Texas number blocked by the wireless reading into a callable landline.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from conftest import Pipeline, lead, new_id, opt_out

from pipeline.topics import CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration

_texas = itertools.count(2094100)


def texas_number() -> str:
    """A fresh valid Dallas number (E.164): Texas restricts solicitation calls to wireless numbers."""
    while True:
        candidate = f"+1214{next(_texas):07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def decision_of(pipeline: Pipeline, lead_id: str) -> dict[str, Any]:
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=lead_id)
    return decision


def readies(pipeline: Pipeline, *lead_ids: str) -> list[dict[str, Any]]:
    return [r for r in pipeline.outputs(CALL_READY, action="READY") if r["lead_id"] in lead_ids]


def test_a_second_lead_with_the_same_email_on_another_number_is_a_duplicate_of_the_first(
        pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    email = f"Maria.Garcia.{new_id()[:8]}@example.com"
    first = lead(us_number(), email=email)
    second = lead(us_number(), email="  " + email.lower() + " ")  # same address, typed differently
    pipeline.send(LEAD_CAPTURED, first)
    assert decision_of(pipeline, first["lead_id"])["outcome"] == "CALL_READY"

    pipeline.send(LEAD_CAPTURED, second)
    duplicate = decision_of(pipeline, second["lead_id"])

    assert duplicate["outcome"] == "DUPLICATE"
    assert duplicate["phone_e164"] == second["phone"]
    [reason] = duplicate["reasons"]
    assert reason["code"] == "DUPLICATE_LEAD"
    assert first["lead_id"] in reason["detail"] and "same email" in reason["detail"]
    pipeline.wait(CALL_READY, lead_id=first["lead_id"])
    assert [r["lead_id"] for r in readies(pipeline, first["lead_id"], second["lead_id"])] == [first["lead_id"]]


def test_simultaneous_leads_with_one_email_on_two_numbers_give_one_offer(
        pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    email = f"sim.{new_id()[:8]}@example.com"
    first, second = lead(us_number(), email=email), lead(us_number(), email=email)
    pipeline.producer.send(LEAD_CAPTURED, first)
    pipeline.producer.send(LEAD_CAPTURED, second)
    pipeline.producer.flush()

    outcomes = {decision_of(pipeline, x["lead_id"])["outcome"] for x in (first, second)}

    assert outcomes == {"CALL_READY", "DUPLICATE"}
    pipeline.wait(CALL_READY, action="READY", count=1, lead_id=first["lead_id"])
    assert len(readies(pipeline, first["lead_id"], second["lead_id"])) == 1


def test_simultaneous_submissions_of_one_number_give_one_offer(
        pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    number = us_number()
    first, second = lead(number), lead(number)  # different lead ids and emails, same number
    pipeline.producer.send(LEAD_CAPTURED, first)
    pipeline.producer.send(LEAD_CAPTURED, second)
    pipeline.producer.flush()

    decisions = {x["lead_id"]: decision_of(pipeline, x["lead_id"]) for x in (first, second)}

    assert sorted(d["outcome"] for d in decisions.values()) == ["CALL_READY", "DUPLICATE"]
    [dup] = [d for d in decisions.values() if d["outcome"] == "DUPLICATE"]
    [kept] = [lead_id for lead_id, d in decisions.items() if d["outcome"] == "CALL_READY"]
    assert kept in dup["reasons"][0]["detail"]
    [ready] = pipeline.wait(CALL_READY, lead_id=kept)
    assert len(readies(pipeline, first["lead_id"], second["lead_id"])) == 1
    assert ready["phone_e164"] == number


def test_a_junk_lead_is_flagged_scored_down_and_still_decided(
        pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    junk = lead(us_number(), first_name="Test", last_name="Test", email=f"x{new_id()[:6]}@mailinator.com")

    pipeline.send(LEAD_CAPTURED, junk)
    decision = decision_of(pipeline, junk["lead_id"])

    assert decision["outcome"] == "CALL_READY"  # junk is a signal, not a reason to drop
    assert {"NAME_TEST", "EMAIL_DISPOSABLE"} <= set(decision["quality_flags"])
    contributions = {c["rule_id"]: c for c in decision["score_breakdown"]}
    assert contributions["quality.name_test"]["points"] < 0
    assert contributions["quality.email_disposable"]["points"] < 0
    # Decision-time scoring is in the breakdown too, each with its sentence.
    assert "temperature.warm" in contributions and "decay.warm" in contributions
    assert "contactability.attempts" in contributions
    assert all(c["detail"] for c in decision["score_breakdown"])
    [ready] = pipeline.wait(CALL_READY, lead_id=junk["lead_id"])
    assert ready["score_breakdown"] == decision["score_breakdown"]


def test_a_line_type_file_makes_a_texas_landline_callable(pipeline: Pipeline, tmp_path: Path) -> None:
    landline, unknown = texas_number(), texas_number()
    line_types = tmp_path / "line-types.csv"
    line_types.write_text(f"number,line_type\n{landline},LANDLINE\n")
    pipeline.restart_worker(kill=False, extra_env={"LEADPIPE_LINE_TYPES_PATH": str(line_types)})
    try:
        known, blocked = lead(landline), lead(unknown)
        pipeline.send(LEAD_CAPTURED, known)
        pipeline.send(LEAD_CAPTURED, blocked)

        assert decision_of(pipeline, known["lead_id"])["outcome"] == "CALL_READY"
        suppressed = decision_of(pipeline, blocked["lead_id"])
        assert suppressed["outcome"] == "SUPPRESSED"
        wireless = [r for r in suppressed["reasons"] if r["code"] == "WIRELESS_RESTRICTED"]
        assert wireless and "line type is unknown" in wireless[0]["detail"]
    finally:
        pipeline.restart_worker(kill=False)


def test_an_erased_number_is_forgotten_by_the_email_stage_too(
        pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    email = f"erase.me.{new_id()[:8]}@example.com"
    first = lead(us_number(), email=email)
    pipeline.send(LEAD_CAPTURED, first)
    assert decision_of(pipeline, first["lead_id"])["outcome"] == "CALL_READY"

    pipeline.send(OPT_OUT, opt_out(first["phone"], action="ERASE", source="privacy-portal", reason="Art. 17"),
                  key=first["phone"])
    pipeline.wait(CALL_READY, lead_id=first["lead_id"], action="WITHDRAW")

    # Had the email stage kept the erased number under this email, the same person on another
    # number would be called a duplicate of the erased lead (and sent to the erased number).
    second = lead(us_number(), email=email)
    pipeline.send(LEAD_CAPTURED, second)
    decision = decision_of(pipeline, second["lead_id"])
    assert decision["outcome"] == "CALL_READY", decision["reasons"]
    assert decision["phone_e164"] == second["phone"]
