""""Not now" is a per-lead, per-campaign snooze (``pipeline.core.snooze``), never a do-not-call entry:
it holds its campaign for the number until its date, ends by itself, leaves other campaigns alone —
and the NOT_NOW suppressions that main wrote before snoozes existed load and are migrated.

T0 is Monday 2 June 2025, 11:00 in New York (core_builders); the number is a Florida one.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core_builders import PHONE, T0, assert_fits_schema, context, lead, number_event, outcome

from pipeline.core.consents import ConsentLedger
from pipeline.core.dialcheck import DialCheckRequest, dial_check, parse_request
from pipeline.core.leads import NumberLeads
from pipeline.core.number import Emit, NumberState, due_releases, process
from pipeline.core.snooze import MAX_SNOOZES, Snooze, active_snooze, snooze_from_outcome
from pipeline.core.suppressions import SuppressionState
from pipeline.events import InputEvent, ReleaseDue
from pipeline.packaged import default_campaigns, default_lifecycle, default_rule_pack
from pipeline.state_codec import decode, encode

MAIN_ROWS = Path(__file__).parent / "data" / "not-now-rows-main-59d2828.json"
"""Table values written by main at 59d2828 (tests/core/data): lead L1 (solar-q4) said NOT_NOW until
T0 + 30 days, stored as an ALL_CHANNELS TEMPORARY suppression; a day later lead L2 of another
campaign (insurance-renewals) arrived and main SUPPRESSED it (DNC_CALL_OUTCOME) — lost for good."""


def step(state: NumberState, ev: InputEvent | ReleaseDue, now: datetime,
         topic: str | None = None) -> tuple[NumberState, list[dict[str, Any]]]:
    new, emits = process(state, number_event(ev, input_topic=topic), context(now))  # type: ignore[arg-type]
    for emit in emits:
        assert emit.key == PHONE
        assert_fits_schema(emit)
    return new, [{"_topic": e.topic, **e.record} for e in emits]


def released(state: NumberState, now: datetime) -> tuple[NumberState, list[dict[str, Any]]]:
    found: list[dict[str, Any]] = []
    for release in due_releases(state.leads, now):
        state, records = step(state, release, now, topic="release-scheduler")
        found += records
    return state, found


def decisions(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["lead_id"], r["outcome"], r["reasons"][0]["code"]) for r in records if r["_topic"] == "lead-decision"]


def readies(records: list[dict[str, Any]]) -> list[str]:
    return [r["lead_id"] for r in records if r["_topic"] == "call-ready" and r["action"] == "READY"]


def test_a_not_now_outcome_asks_for_a_snooze_of_its_campaign() -> None:
    date = T0 + timedelta(days=30)
    snooze = snooze_from_outcome(outcome("oc-1", "L1", "NOT_NOW", callback_at=date), not_now_default=timedelta(days=9))
    assert snooze is not None
    assert (snooze.campaign_id, snooze.lead_id, snooze.until, snooze.evidence) == ("solar-q4", "L1", date, "oc-1")
    unasked = snooze_from_outcome(outcome("oc-2", "L1", "NOT_NOW"), not_now_default=timedelta(days=9))
    assert unasked is not None and unasked.until == T0 + timedelta(days=9)
    assert snooze_from_outcome(outcome("oc-3", "L1", "CALLBACK_REQUESTED"), not_now_default=timedelta(days=9)) is None


def test_the_snooze_holds_its_campaign_until_its_date_and_ends_by_itself() -> None:
    date = T0 + timedelta(days=90)
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"), T0)
    state, records = step(state, outcome("oc-1", "L1", "NOT_NOW", callback_at=date), T0)
    assert decisions(records) == [("L1", "DEFERRED", "NOT_NOW")]
    assert state.suppressions.active == ()  # not a do-not-call entry

    # Another campaign is not held at all.
    other = T0 + timedelta(days=1)
    state, records = step(state, lead("ev-2", "L2", campaign_id="insurance-renewals", occurred_at=other), other)
    assert decisions(records) == [("L2", "CALL_READY", "CALLABLE")]

    # A new lead of the same campaign (past its duplicate window) waits for the snooze's end.
    later = T0 + timedelta(days=40)
    state, records = step(state, lead("ev-3", "L3", occurred_at=later), later)
    [decision] = [r for r in records if r["_topic"] == "lead-decision"]
    assert (decision["outcome"], decision["lead_status"], decision["callable_from"]) == ("DEFERRED", "NEW", date)
    assert decision["reasons"][0]["rule_id"] == "lifecycle.snooze.not_now"
    assert "not a do-not-call" in decision["reasons"][0]["detail"]

    # (L2's offer, never worked here, expires and is offered again day after day: not these leads.)
    assert {"L1", "L3"}.isdisjoint(readies(released(state, date - timedelta(seconds=1))[1]))
    state, records = released(state, date)
    assert {"L1", "L3"} <= set(readies(records))  # both come back at the date, nobody lifted anything
    state, records = step(state, lead("ev-4", "L4", campaign_id="default", occurred_at=date), date)
    assert decisions(records) == [("L4", "CALL_READY", "CALLABLE")]


def test_an_offer_of_the_snoozed_campaign_is_withdrawn_and_waits_instead_of_being_suppressed() -> None:
    date = T0 + timedelta(days=90)
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"), T0)
    later = T0 + timedelta(days=40)
    state, _ = step(state, lead("ev-2", "L2", occurred_at=later), later)  # offered; L1 waits for nothing yet
    state, _ = step(state, outcome("oc-1", "L1", "NOT_NOW", callback_at=date, occurred_at=later), later)
    l2 = state.leads.get("L2")
    assert l2 is not None
    assert (l2.offered, l2.status, l2.deferred_until) == (False, "IN_PROGRESS", date)
    _, records = released(state, date)
    assert sorted(readies(records)) == ["L1", "L2"]


def _main_rows() -> tuple[NumberState, dict[str, Any]]:
    rows = json.loads(MAIN_ROWS.read_text(encoding="utf-8"))
    state = NumberState(suppressions=decode(SuppressionState, json.dumps(rows["suppressions"]).encode()),
                        consents=decode(ConsentLedger, json.dumps(rows["consents"]).encode()),
                        leads=decode(NumberLeads, json.dumps(rows["leads"]).encode()))
    return state, rows


def test_a_not_now_stored_by_main_loads_and_is_migrated_to_a_snooze() -> None:
    state, rows = _main_rows()
    [stored] = state.suppressions.active  # the old row, read as it was written
    assert (stored.source, stored.category, stored.scope) == ("CALL_OUTCOME", "TEMPORARY", "ALL_CHANNELS")
    date = stored.expires_at
    assert date == T0 + timedelta(days=30)

    # The first event for the number migrates it: a lead of a third campaign is offered, not suppressed.
    now = T0 + timedelta(days=2)
    state, records = step(state, lead("ev-9", "L9", campaign_id="default", occurred_at=now), now)
    assert decisions(records) == [("L9", "CALL_READY", "CALLABLE")]
    assert state.suppressions.active == ()
    [snooze] = state.leads.snoozes
    assert (snooze.campaign_id, snooze.lead_id, snooze.until, snooze.evidence) == ("solar-q4", "L1", date, "oc-not-now")

    # L2, which main suppressed for good, is re-decided through every check: offered now.
    state, records = released(state, now)
    assert decisions(records) == [("L2", "CALL_READY", "CALLABLE")]
    # L1 still comes back at its date; written back, the migrated rows load again.
    _, records = released(state, date)
    assert "L1" in readies(records)
    again = decode(NumberLeads, encode(state.leads))
    assert again == state.leads
    assert rows["leads"]["leads"][1]["status"] == "SUPPRESSED"  # what main had written


def test_the_dial_time_check_reads_main_rows_as_a_snooze_of_one_campaign() -> None:
    state, _ = _main_rows()
    now = T0 + timedelta(days=2)
    pack, campaigns = default_rule_pack(), default_campaigns()

    def allowed(campaign: str) -> bool:
        parsed = parse_request(PHONE, {"campaign_id": campaign}, "US")
        assert isinstance(parsed, DialCheckRequest)
        return bool(dial_check(parsed, state, campaigns=campaigns, pack=pack, now=now,
                               lifecycle=default_lifecycle()).allowed)

    assert allowed("insurance-renewals")  # main's row said ALL_CHANNELS: every campaign blocked
    assert not allowed("solar-q4")


def test_without_stored_not_now_rows_the_state_is_left_as_it_is() -> None:
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"), T0)
    state, _ = step(state, outcome("oc-1", "L1", "DO_NOT_CALL"), T0)
    again, emits = process(state, number_event(lead("ev-2", "L2"), input_topic=None), context(T0))
    assert again.suppressions is state.suppressions  # nothing migrated: the row is not rewritten
    assert [e.record["outcome"] for e in emits if isinstance(e, Emit)] == ["DUPLICATE"]


def _not_now(event_id: str, since: datetime, until: datetime, campaign: str = "solar-q4") -> Snooze:
    return Snooze(campaign, "L1", until, event_id, since)


def test_an_answer_about_the_past_sees_the_snooze_in_force_then_though_a_later_one_replaced_it() -> None:
    """Found by the past-instant property test (tests/core/test_evaluation.py): a second "not now"
    once replaced the first outright, and a question about an instant only the first covered was
    answered as if no snooze had been said."""
    first = _not_now("n0", T0 - timedelta(minutes=1), T0 + timedelta(minutes=59))
    second = _not_now("n1", T0, T0 + timedelta(minutes=60))
    leads = NumberLeads().snoozed(first, T0).snoozed(second, T0)
    assert active_snooze(leads.snoozes, "solar-q4", T0) == second  # today: the one said last decides
    then = T0 - timedelta(minutes=1)
    assert active_snooze(leads.as_of(then).snoozes, "solar-q4", then) == first


def test_snoozes_keep_their_campaigns_newest_first_and_say_when_their_history_was_cut() -> None:
    leads = NumberLeads()
    for i in range(MAX_SNOOZES + 4):  # one campaign said "not now" again and again; one other campaign
        leads = leads.snoozed(_not_now(f"n{i}", T0 + timedelta(hours=i), T0 + timedelta(hours=i, minutes=30)),
                              T0 + timedelta(hours=i))
        if i == 1:
            leads = leads.snoozed(_not_now("other", T0, T0 + timedelta(days=30), "insurance-renewals"), T0)
    snoozes = leads.snoozes
    assert len(snoozes) == MAX_SNOOZES and snoozes[-1].evidence == f"n{MAX_SNOOZES + 3}"
    assert any(s.campaign_id == "insurance-renewals" for s in snoozes)  # a campaign's newest is never history
    assert leads.snoozes_dropped_until == T0 + timedelta(hours=4, minutes=30)  # n0..n4 made room
    assert decode(NumberLeads, encode(leads)) == leads  # the cut is stored with the row
    state = replace(NumberState.empty(), leads=leads)

    def answer(at: datetime) -> Any:
        parsed = parse_request(PHONE, {"campaign_id": "solar-q4", "at": at.isoformat()}, "US")
        assert isinstance(parsed, DialCheckRequest)
        return dial_check(parsed, state, campaigns=default_campaigns(), pack=default_rule_pack(),
                          now=T0 + timedelta(days=2), lifecycle=default_lifecycle())

    early = answer(T0 + timedelta(hours=1))
    assert not early.allowed and early.reasons[0]["code"] == "STATE_HISTORY_INCOMPLETE"
    assert "not-now snoozes are complete after" in early.reasons[0]["detail"]
    later = T0 + timedelta(hours=5, minutes=10)  # after the dropped ones ended: n5 held the campaign
    assert "STATE_HISTORY_INCOMPLETE" not in {r["code"] for r in answer(later).reasons}
    assert active_snooze(leads.as_of(later).snoozes, "solar-q4", later) == snoozes[1]
    assert snoozes[1].evidence == "n5"
