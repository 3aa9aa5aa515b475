"""Days of a campaign through the real broker and a real worker, with the worker's clock moved
forward by the test (``LEADPIPE_CLOCK_FILE``): a scripted dialer answers every READY it gets, and
the lifecycle must bring callbacks back at the asked local time inside the legal window, make a
number that never answers on three days inactive, and send each qualified lead to CRMs once.

The numbers are Florida ones (America/New_York, 08:00-20:00 local); NOW is Tue 24 Nov 2026 12:00
in New York. The release scheduler ticks every 0.5 s in the test worker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW, Pipeline, call_outcome, lead

from pipeline.topics import CALL_OUTCOME, CALL_READY, LEAD_CAPTURED, LEAD_DECISION, QUALIFIED_LEAD

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given as a New York wall-clock time in November 2026, in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


class Dialer:
    """A scripted dialer: what each lead says when called, by the instant of the call."""

    def __init__(self, pipeline: Pipeline, phones: dict[str, str]) -> None:
        self.pipeline = pipeline
        self.phones = phones
        self.answered: dict[str, int] = dict.fromkeys(phones, 0)

    def readies(self, lead_id: str) -> list[dict[str, Any]]:
        return self.pipeline.outputs(CALL_READY, lead_id=lead_id, action="READY")

    def take_call(self, lead_id: str, n: int, timeout_s: float = 30.0) -> dict[str, Any]:
        """Wait for the ``n``-th READY of ``lead_id`` and return it."""
        return self.pipeline.wait(CALL_READY, lead_id=lead_id, action="READY", count=n, timeout_s=timeout_s)[n - 1]

    def report(self, lead_id: str, code: str, at: datetime, **extra: Any) -> dict[str, Any]:
        outcome = call_outcome(self.phones[lead_id], lead_id, code, occurred_at=at, **extra)
        self.pipeline.send(CALL_OUTCOME, outcome, key=self.phones[lead_id])
        return outcome

    def decision_after(self, outcome: dict[str, Any]) -> dict[str, Any]:
        # The outcome's own lead: the same input may also withdraw other leads of the number (a cap reached).
        [decision] = self.pipeline.wait(LEAD_DECISION, input_event_id=outcome["event_id"], lead_id=outcome["lead_id"])
        return decision


def test_callbacks_retries_and_qualification_over_several_days(pipeline: Pipeline,
                                                               us_number: Callable[[], str]) -> None:
    names = ("callback", "late-callback", "no-answer", "qualified")
    records = {name: lead(us_number()) for name in names}
    # A second lead on the callback's number, another campaign: called back a minute earlier, its
    # re-offer proves the scheduler looked at that number at 10:29 and found the callback not due.
    records["sentinel"] = lead(records["callback"]["phone"], campaign_id="insurance-renewals")
    names += ("sentinel",)
    ids = {name: r["lead_id"] for name, r in records.items()}
    dialer = Dialer(pipeline, {r["lead_id"]: r["phone"] for r in records.values()})
    with pipeline.clock_moved() as set_clock:
        # --- Tuesday 12:00: every lead is offered and called once -------------------------------------
        set_clock(NOW)
        for record in records.values():
            pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
        for name in names:
            dialer.take_call(ids[name], 1)

        callback_at = ny(25, 10, 30)  # "call me tomorrow at 10:30"
        sentinel_due = callback_at - timedelta(minutes=1)
        asked = dialer.report(ids["callback"], "CALLBACK_REQUESTED", NOW, callback_at=callback_at, agent_id="agent-3",
                              callback_notes="call me at 10:30, ask for Ana")
        sentinel = dialer.report(ids["sentinel"], "CALLBACK_REQUESTED", NOW, callback_at=sentinel_due)
        assert dialer.decision_after(sentinel)["callable_from"] == sentinel_due
        decision = dialer.decision_after(asked)
        assert (decision["outcome"], decision["lead_status"], decision["callable_from"]) == (
            "DEFERRED", "CALLBACK", callback_at)
        assert decision["reasons"][0]["rule_id"] == "lifecycle.callback.requested"

        late = ny(24, 21, 0)  # "call me at 9 pm": Florida allows calls until 20:00
        asked_late = dialer.report(ids["late-callback"], "CALLBACK_REQUESTED", NOW, callback_at=late)
        assert dialer.decision_after(asked_late)["callable_from"] == late

        first_try = dialer.report(ids["no-answer"], "NO_ANSWER", NOW)
        decision = dialer.decision_after(first_try)
        assert (decision["outcome"], decision["lead_status"], decision["attempts"]) == ("DEFERRED", "IN_PROGRESS", 1)
        assert decision["reasons"][0]["rule_id"] == "lifecycle.retry.no_answer"

        answers = {"fit": "yes", "role": "owner", "interest": "high", "timeline": "this_month",
                   "next_step": "site_visit", "contact_name": "Ana Silva", "contact_role": "owner"}
        qualified = dialer.report(ids["qualified"], "QUALIFIED", NOW, answers=answers, notes="8 kW, south roof",
                                  title="Homeowner", best_time_to_call="weekday evenings")
        pipeline.send(CALL_OUTCOME, qualified, key=records["qualified"]["phone"])  # redelivered
        again = dialer.report(ids["qualified"], "QUALIFIED", NOW + timedelta(minutes=1), answers=answers)
        closed = dialer.decision_after(qualified)
        assert (closed["outcome"], closed["lead_status"]) == ("CLOSED", "QUALIFIED")

        # --- Tuesday 21:00: the late callback is due, but the legal window is closed -----------------
        set_clock(late)
        [deferred] = pipeline.wait(LEAD_DECISION, lead_id=ids["late-callback"], input_topic="release-scheduler")
        assert deferred["outcome"] == "DEFERRED"
        assert deferred["reasons"][0]["code"] == "OUTSIDE_CALL_WINDOW"
        assert deferred["callable_from"] == ny(25, 8, 0)
        assert len(dialer.readies(ids["late-callback"])) == 1

        # --- Wednesday 08:00: the window opens: the late callback and the retry are offered ----------
        set_clock(ny(25, 8, 0))
        ready = dialer.take_call(ids["late-callback"], 2)
        assert ready["occurred_at"] == ready["callable_from"] == ny(25, 8, 0)  # the opening: 21:00 was not legal
        assert ready["callback"] == {"requested_at": late, "promised_by_agent": "agent-7", "notes": None}
        dialer.report(ids["late-callback"], "NOT_INTERESTED", ny(25, 8, 5), tags=["too_expensive"])
        retry = dialer.take_call(ids["no-answer"], 2)
        assert retry["occurred_at"].astimezone(NEW_YORK).date().isoformat() == "2026-11-25"
        second_try = dialer.report(ids["no-answer"], "NO_ANSWER", ny(25, 8, 1))
        assert dialer.decision_after(second_try)["lead_status"] == "IN_PROGRESS"

        # --- Wednesday 10:29: not yet -----------------------------------------------------------------
        # The sentinel's release comes from the same scan of the number's row as a wrong release of the
        # callback would, and after it (a row keeps its leads in the order they were last touched).
        set_clock(sentinel_due)
        assert dialer.take_call(ids["sentinel"], 2)["occurred_at"] == sentinel_due
        assert len(dialer.readies(ids["callback"])) == 1

        # --- Wednesday 10:30: the callback comes back at the time asked -------------------------------
        set_clock(callback_at)
        ready = dialer.take_call(ids["callback"], 2)
        assert ready["occurred_at"] == callback_at
        assert ready["occurred_at"].astimezone(NEW_YORK).strftime("%H:%M") == "10:30"
        # The re-offer says what was promised, by whom, is callable from the time asked, and outranks new leads.
        assert ready["callback"] == {"requested_at": callback_at, "promised_by_agent": "agent-3",
                                     "notes": "call me at 10:30, ask for Ana"}
        assert ready["callable_from"] == callback_at
        assert ready["priority"] >= 1000 > dialer.readies(ids["callback"])[0]["priority"]
        sale = dialer.report(ids["callback"], "SALE", callback_at + timedelta(minutes=10))
        assert dialer.decision_after(sale)["lead_status"] == "QUALIFIED"

        # --- Thursday 12:00: the third failed day makes the number inactive ---------------------------
        set_clock(ny(26, 12, 0))
        dialer.take_call(ids["no-answer"], 3)
        third_try = dialer.report(ids["no-answer"], "BUSY", ny(26, 12, 1))
        decision = dialer.decision_after(third_try)
        assert (decision["outcome"], decision["lead_status"], decision["attempts"]) == ("CLOSED", "INACTIVE", 3)
        assert decision["reasons"][0]["rule_id"] == "lifecycle.inactive.failed_days"

        # --- Friday and Saturday noon: the inactive lead is never offered again -----------------------
        # Sentinel: a lead on the same number captured Thursday 21:00, offered Friday noon; its offer,
        # not worked, comes back Saturday noon. Each of its READYs comes from a scan of the number's
        # row in which the inactive lead (touched before it) would have been released first.
        late_lead = lead(records["no-answer"]["phone"], campaign_id="default", occurred_at=ny(26, 21, 0))
        dialer.phones[late_lead["lead_id"]] = late_lead["phone"]
        set_clock(ny(26, 21, 0))
        pipeline.send(LEAD_CAPTURED, late_lead, key=late_lead["lead_id"])
        [deferred] = pipeline.wait(LEAD_DECISION, lead_id=late_lead["lead_id"])
        assert deferred["callable_from"] == ny(27, 8, 0)
        for n, day in enumerate((27, 28), start=1):
            set_clock(ny(day, 12, 0))
            assert dialer.take_call(late_lead["lead_id"], n)["occurred_at"] == ny(day, 12, 0)
        assert len(dialer.readies(ids["no-answer"])) == 3

    # Each qualified lead reached CRMs exactly once, with what sales needs. A marker on each number,
    # processed after the outcomes, proves every copy was handled before counting.
    for name in ("qualified", "callback"):
        marker = lead(records[name]["phone"])
        pipeline.send(LEAD_CAPTURED, marker, key=marker["lead_id"])
        pipeline.wait(LEAD_DECISION, lead_id=marker["lead_id"])
        assert len(pipeline.outputs(QUALIFIED_LEAD, lead_id=ids[name])) == 1
    [crm] = pipeline.outputs(QUALIFIED_LEAD, lead_id=ids["qualified"])
    assert crm["outcome_event_id"] == qualified["event_id"] != again["event_id"]
    assert (crm["contact_name"], crm["contact_role"], crm["next_step"]) == ("Ana Silva", "owner", "site_visit")
    assert (crm["title"], crm["best_time_to_call"], crm["lead_status"]) == ("Homeowner", "weekday evenings",
                                                                            "QUALIFIED")
    assert crm["notes"] == "8 kW, south roof"
    consent = records["qualified"]["consent"]
    assert (crm["consent_certificate_id"], crm["consent_form_url"]) == (consent["certificate_id"],
                                                                        consent["form_url"])
    assert [h["outcome"] for h in crm["score_history"]] == ["CALL_READY", "CLOSED"]
    assert crm["score"] == crm["score_history"][-1]["score"] and crm["attempts"] == 1
    assert {c["criterion"]: c["result"] for c in crm["qualification"]}["fit"] == "PASS"
    [sold] = pipeline.outputs(QUALIFIED_LEAD, lead_id=ids["callback"])
    assert (sold["outcome"], sold["attempts"], sold["next_step"]) == ("SALE", 2, "sale closed")
    assert [h["outcome"] for h in sold["score_history"]] == ["CALL_READY", "DEFERRED", "CALL_READY", "CLOSED"]


def test_a_callback_survives_a_worker_restart(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    """The schedule is the leads table: a new worker process (kill -9 of the old one) whose clock
    reads the callback time offers the lead then."""
    record = lead(us_number())
    dialer = Dialer(pipeline, {record["lead_id"]: record["phone"]})
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    dialer.take_call(record["lead_id"], 1)
    callback_at = ny(24, 15, 0)
    asked = dialer.report(record["lead_id"], "CALLBACK_REQUESTED", NOW, callback_at=callback_at)
    assert dialer.decision_after(asked)["lead_status"] == "CALLBACK"
    try:
        pipeline.wait_settled()  # the outcome is committed: only the leads table can bring the callback back
        pipeline.restart_worker(kill=True, clock=callback_at)
        [ready] = pipeline.wait(CALL_READY, lead_id=record["lead_id"], action="READY", occurred_at=callback_at,
                                timeout_s=90)
        assert ready["callable_until"] == ny(24, 20, 0)  # Florida's window closes at 20:00
    finally:
        pipeline.set_clock(NOW)  # back to the suite's clock (the clock file wins over the new worker's env)


def test_an_offer_nobody_works_comes_back_each_morning_then_ends_stale(pipeline: Pipeline,
                                                                        us_number: Callable[[], str]) -> None:
    """The dialer never calls this lead: each evening its offer expires (window 20:00 plus 30 minutes
    of grace for a late outcome), it is offered again at 08:00 without an attempt counted — twice,
    the packaged ``max_expired_offers`` — and the third expiry closes it STALE with the reason."""
    record = lead(us_number())
    lead_id, phone = record["lead_id"], record["phone"]
    expired_at = [ny(day, 20, 31) for day in (24, 25, 26)]
    with pipeline.clock_moved() as set_clock:
        set_clock(NOW)
        pipeline.send(LEAD_CAPTURED, record, key=lead_id)
        [first] = pipeline.wait(CALL_READY, lead_id=lead_id, action="READY")
        assert first["callable_until"] == ny(24, 20, 0)
        for n, day in enumerate((25, 26), start=1):
            set_clock(expired_at[n - 1])
            [expired] = pipeline.wait(LEAD_DECISION, lead_id=lead_id, input_topic="release-scheduler",
                                      occurred_at=expired_at[n - 1])
            assert (expired["outcome"], expired["lead_status"], expired["attempts"]) == ("DEFERRED", "IN_PROGRESS", 0)
            assert [r["code"] for r in expired["reasons"]][:2] == ["OFFER_EXPIRED", "OUTSIDE_CALL_WINDOW"]
            assert f"re-offer {n} of 2" in expired["reasons"][0]["detail"]
            assert expired["callable_from"] == ny(day, 8, 0)
            set_clock(ny(day, 8, 0))
            again = pipeline.wait(CALL_READY, lead_id=lead_id, action="READY", count=n + 1)[n]
            assert (again["occurred_at"], again["callable_until"]) == (ny(day, 8, 0), ny(day, 20, 0))

        set_clock(expired_at[2])
        [stale] = pipeline.wait(LEAD_DECISION, lead_id=lead_id, outcome="CLOSED")
        assert (stale["lead_status"], stale["attempts"], stale["input_topic"]) == ("STALE", 0, "release-scheduler")
        assert stale["reasons"][0]["rule_id"] == "lifecycle.stale.unworked"
        assert "offered 3 times in a row and never worked" in stale["reasons"][0]["detail"]

        # Nothing more is offered. Sentinel: a lead on the same number captured at 21:00, deferred to
        # Friday 08:00; its release is sent in the same scan of the number's row as any release of the
        # stale lead would be, and after it (rows keep leads in the order they were last touched).
        sentinel = lead(phone, campaign_id="default", occurred_at=ny(26, 21, 0))
        set_clock(ny(26, 21, 0))
        pipeline.send(LEAD_CAPTURED, sentinel, key=sentinel["lead_id"])
        [deferred] = pipeline.wait(LEAD_DECISION, lead_id=sentinel["lead_id"])
        assert (deferred["outcome"], deferred["callable_from"]) == ("DEFERRED", ny(27, 8, 0))
        set_clock(ny(27, 8, 0))
        pipeline.wait(CALL_READY, lead_id=sentinel["lead_id"], action="READY")
    assert len(pipeline.outputs(CALL_READY, lead_id=lead_id, action="READY")) == 3
    assert [d["outcome"] for d in pipeline.outputs(LEAD_DECISION, lead_id=lead_id)] == [
        "CALL_READY", "DEFERRED", "CALL_READY", "DEFERRED", "CALL_READY", "CLOSED"]


def test_not_now_snoozes_one_campaign_and_another_campaigns_lead_is_offered(pipeline: Pipeline,
                                                                             us_number: Callable[[], str]) -> None:
    phone = us_number()
    first = lead(phone)
    dialer = Dialer(pipeline, {first["lead_id"]: phone})
    pipeline.send(LEAD_CAPTURED, first, key=first["lead_id"])
    dialer.take_call(first["lead_id"], 1)
    later = NOW + timedelta(days=60)
    said = dialer.report(first["lead_id"], "NOT_NOW", NOW, callback_at=later)
    decision = dialer.decision_after(said)
    assert (decision["outcome"], decision["lead_status"], decision["callable_from"]) == ("DEFERRED", "CALLBACK", later)
    assert "snoozed" in decision["reasons"][0]["detail"]

    other = lead(phone, campaign_id="insurance-renewals")
    pipeline.send(LEAD_CAPTURED, other, key=other["lead_id"])
    [offered] = pipeline.wait(LEAD_DECISION, lead_id=other["lead_id"])
    assert offered["outcome"] == "CALL_READY", offered["reasons"]  # not SUPPRESSED by a do-not-call


def test_outcomes_after_close_each_leave_a_decision(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    record = lead(us_number())
    dialer = Dialer(pipeline, {record["lead_id"]: record["phone"]})
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    dialer.take_call(record["lead_id"], 1)
    answers = {"fit": "yes", "role": "owner", "interest": "high", "timeline": "now", "next_step": "site_visit"}
    closed = dialer.decision_after(dialer.report(record["lead_id"], "QUALIFIED", NOW, answers=answers))
    assert (closed["outcome"], closed["lead_status"]) == ("CLOSED", "QUALIFIED")
    for n, code in enumerate(("QUALIFIED", "BUSY"), start=2):
        after = dialer.decision_after(dialer.report(record["lead_id"], code, NOW + timedelta(minutes=n)))
        assert (after["outcome"], after["lead_status"], after["attempts"]) == ("IGNORED_CLOSED", "QUALIFIED", n)
        assert after["reasons"][0]["code"] == "LEAD_CLOSED"
    assert len(pipeline.outputs(QUALIFIED_LEAD, lead_id=record["lead_id"])) == 1
