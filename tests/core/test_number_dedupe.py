"""Duplicates inside ``process``: the campaign's window, and a lead the email stage marked ``duplicate_of``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core_builders import T0, context, lead, number_event, opt_out, phone_info

from pipeline.core.campaigns import CampaignPolicy, load_campaigns
from pipeline.core.leads import NumberLeads
from pipeline.core.number import Emit, NumberState, ProcessContext, process
from pipeline.events import InputEvent, LeadCaptured, NumberEvent
from pipeline.packaged import default_campaigns
from pipeline.state_codec import decode, encode
from pipeline.topics import NUMBER_EVENT_SCHEMA, NUMBER_EVENTS

A, B = "+13052094411", "+13052094412"


def run(state: NumberState, event: NumberEvent, ctx: ProcessContext | None = None,
        at: timedelta = timedelta()) -> tuple[NumberState, tuple[Emit, ...]]:
    return process(state, event, ctx or context(T0 + at))


def decision(emits: tuple[Emit, ...]) -> dict[str, object]:
    [found] = [dict(e.record) for e in emits if e.topic == "lead-decision"]
    return found


def with_email_of(lead_id: str, phone: str, *, at: timedelta = timedelta(), duplicate_of: str | None = None,
                  **changes: object) -> NumberEvent:
    record: LeadCaptured = {**lead(f"ev-{lead_id}", lead_id, occurred_at=T0 + at), **changes}  # type: ignore[typeddict-item]
    return {**number_event(record, phone=phone_info(phone)), "duplicate_of": duplicate_of}


def first_lead_on_a() -> NumberState:
    state, emits = run(NumberState.empty(), with_email_of("L1", A))
    assert decision(emits)["outcome"] == "CALL_READY"
    return state


def test_a_marked_lead_is_a_duplicate_of_the_live_original_and_names_it() -> None:
    state = first_lead_on_a()
    after, emits = run(state, with_email_of("L2", B, duplicate_of="L1", at=timedelta(hours=1)), at=timedelta(hours=1))

    record = decision(emits)
    assert record["outcome"] == "DUPLICATE"
    assert record["lead_id"] == "L2" and record["phone_e164"] == B
    [reason] = record["reasons"]  # type: ignore[misc]
    assert "same email as lead L1" in reason["detail"] and "on another number" in reason["detail"]
    assert [e.topic for e in emits] == ["lead-decision"]  # never offered
    assert after.consents is state.consents  # B's consent is not A's
    assert after.leads.get("L2") is None and after.leads.seen("ev-L2")
    assert after.leads.get("L1").merged == ("L2",)  # type: ignore[union-attr]  # merged into L1's history


def test_a_marked_lead_whose_original_is_suppressed_goes_on_to_its_own_number() -> None:
    state = first_lead_on_a()
    state, _ = run(state, number_event(opt_out(occurred_at=T0)))
    assert state.leads.get("L1").status == "SUPPRESSED"  # type: ignore[union-attr]

    _, emits = run(state, with_email_of("L2", B, duplicate_of="L1"))

    [onward] = emits
    assert (onward.topic, onward.key, onward.schema) == (NUMBER_EVENTS, B, NUMBER_EVENT_SCHEMA)
    assert onward.record["duplicate_of"] is None
    assert onward.record["event"]["lead_id"] == "L2"  # type: ignore[index]


def test_a_marked_lead_whose_original_was_itself_a_duplicate_names_both() -> None:
    state = first_lead_on_a()
    state, emits = run(state, with_email_of("L1b", A))  # same number, same campaign: duplicate of L1
    assert decision(emits)["outcome"] == "DUPLICATE"

    assert state.leads.get("L1").merged == ("L1b",)  # type: ignore[union-attr]
    after, emits = run(state, with_email_of("L2", B, duplicate_of="L1b"))

    detail = decision(emits)["reasons"][0]["detail"]  # type: ignore[index]
    assert "same email as lead L1 (lead L1b was a duplicate of it)" in detail
    assert after.leads.get("L1").merged == ("L1b", "L2")  # type: ignore[union-attr]


def test_the_duplicate_window_is_the_campaigns() -> None:
    book = load_campaigns({"campaigns": {"solar-q4": {"channel": "AUTODIALED_VOICE", "duplicate_window_days": 2}}})
    ctx = replace(context(), campaigns=book)
    state, _ = process(NumberState.empty(), with_email_of("L1", A), ctx)

    _, inside = process(state, with_email_of("L2", A, at=timedelta(days=1)), replace(ctx, now=T0 + timedelta(days=1)))
    _, outside = process(state, with_email_of("L3", A, at=timedelta(days=3)), replace(ctx, now=T0 + timedelta(days=3)))

    assert decision(inside)["outcome"] == "DUPLICATE"
    assert "within 2 days" in decision(inside)["reasons"][0]["detail"]  # type: ignore[index]
    assert decision(outside)["outcome"] != "DUPLICATE"


def test_the_default_window_is_thirty_days() -> None:
    assert CampaignPolicy("x").duplicate_window == timedelta(days=30)
    assert default_campaigns().policy_for("solar-q4").duplicate_window_days == 30


def test_quality_flags_travel_on_the_decision_and_junk_is_still_decided() -> None:
    junk: InputEvent = {**lead(), "first_name": "Test", "last_name": "Test", "email": "a@mailinator.com"}  # type: ignore[assignment]
    _, emits = run(NumberState.empty(), number_event(junk))
    record = decision(emits)
    assert record["outcome"] == "CALL_READY"
    assert record["quality_flags"] == ["EMAIL_DISPOSABLE", "NAME_TEST"]


def test_a_resend_of_the_same_lead_id_is_not_merged_into_itself() -> None:
    state = first_lead_on_a()
    after, emits = run(state, {**with_email_of("L1", A), "event": {**lead("ev-resend", "L1")}})
    assert decision(emits)["outcome"] == "DUPLICATE"
    assert after.leads.get("L1").merged == ()  # type: ignore[union-attr]


def test_merged_history_survives_the_table() -> None:
    state = first_lead_on_a()
    state, _ = run(state, with_email_of("L2", B, duplicate_of="L1"))
    record = state.leads.get("L1")
    assert record is not None
    assert decode(NumberLeads, encode(state.leads)).get("L1") == record
