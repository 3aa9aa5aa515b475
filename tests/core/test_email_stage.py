"""The email stage: one writer per email sends a lead on to its number, or to the number of an earlier
lead with the same email (marked ``duplicate_of``)."""

from __future__ import annotations

from datetime import timedelta

from core_builders import T0, context, lead, number_event, opt_out, phone_info
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.email_stage import (
    EmailLeads,
    email_route,
    email_stage,
    email_table_key,
    erasure_emails,
    forget_number,
)
from pipeline.core.leads import LeadRecord, NumberLeads
from pipeline.core.number import NumberState, process
from pipeline.events import NumberEvent
from pipeline.state_codec import decode, encode
from pipeline.topics import NUMBER_EVENTS

A, B = "+13052094411", "+13052094412"
WINDOW = timedelta(days=30)


def lead_event(lead_id: str, phone: str, *, email: str | None = "Ana@Example.com", campaign: str = "solar-q4",
               at: timedelta = timedelta()) -> NumberEvent:
    record = {**lead(f"ev-{lead_id}", lead_id, campaign_id=campaign, occurred_at=T0 + at), "email": email}
    return number_event(record, phone=phone_info(phone))  # type: ignore[arg-type]


def test_only_leads_with_a_valid_email_take_the_stage() -> None:
    assert email_route(lead_event("L1", A, email=" ANA@example.com")) == "ana@example.com"
    assert email_route(lead_event("L1", A, email=None)) is None
    assert email_route(lead_event("L1", A, email="not-an-email")) is None
    assert email_route(number_event(opt_out())) is None
    marked: NumberEvent = {**lead_event("L1", A), "duplicate_of": "L0"}
    assert email_route(marked) is None  # already through the stage


def test_a_new_email_is_remembered_and_the_lead_goes_to_its_own_number() -> None:
    state, key, onward = email_stage(EmailLeads(), lead_event("L1", A), WINDOW)
    assert key == A and onward["duplicate_of"] is None
    assert [(e.lead_id, e.phone_e164) for e in state.leads] == [("L1", A)]
    assert decode(EmailLeads, encode(state)) == state


def test_the_same_email_on_another_number_goes_to_the_first_number_marked() -> None:
    state, _, _ = email_stage(EmailLeads(), lead_event("L1", A), WINDOW)
    after, key, onward = email_stage(state, lead_event("L2", B, at=timedelta(days=3)), WINDOW)
    assert key == A
    assert onward["duplicate_of"] == "L1"
    assert onward["phone"]["phone_e164"] == B  # the lead keeps its own number
    assert after is state  # a duplicate is not remembered


def test_the_same_email_on_the_same_number_goes_there_unmarked() -> None:
    state, _, _ = email_stage(EmailLeads(), lead_event("L1", A), WINDOW)
    _, key, onward = email_stage(state, lead_event("L2", A), WINDOW)
    assert (key, onward["duplicate_of"]) == (A, None)


def test_outside_the_window_or_another_campaign_is_a_new_lead() -> None:
    state, _, _ = email_stage(EmailLeads(), lead_event("L1", A), WINDOW)
    for event in (lead_event("L2", B, at=WINDOW), lead_event("L3", B, campaign="insurance-renewals")):
        _, key, onward = email_stage(state, event, WINDOW)
        assert (key, onward["duplicate_of"]) == (B, None)
    _, key, _ = email_stage(state, lead_event("L4", B), timedelta(0))  # window 0: no email dedupe
    assert key == B


def test_a_replay_goes_the_same_way_as_the_first_time() -> None:
    state, _, _ = email_stage(EmailLeads(), lead_event("L1", A), WINDOW)
    again, key, onward = email_stage(state, lead_event("L1", A), WINDOW)
    assert (again, key, onward["duplicate_of"]) == (state, A, None)


def test_table_keys_hide_the_address() -> None:
    key = email_table_key("ana@example.com", b"secret")
    assert key.startswith(b"email:") and b"ana" not in key
    assert key == email_table_key("ana@example.com", b"secret") != email_table_key("ana@example.com", b"other")


def _pipeline(events: list[NumberEvent]) -> list[dict[str, object]]:
    """The email stage and the number writers in pure code, one event at a time: the decisions."""
    emails: dict[str, EmailLeads] = {}
    numbers: dict[str, NumberState] = {}
    decisions: list[dict[str, object]] = []
    for event in events:
        key = email_route(event)
        pending = [(event["phone"]["phone_e164"], event)]
        if key is not None:
            emails[key], phone_key, onward = email_stage(emails.get(key, EmailLeads()), event, WINDOW)
            pending = [(phone_key, onward)]
        while pending:
            phone_key, current = pending.pop()
            numbers[phone_key], emits = process(numbers.get(phone_key, NumberState.empty()), current, context())
            for emit in emits:
                if emit.topic == NUMBER_EVENTS:
                    pending.append((emit.key, emit.record))  # type: ignore[arg-type]
                elif emit.topic == "lead-decision":
                    decisions.append(dict(emit.record))
    return decisions


@given(st.permutations([("L1", A), ("L2", B), ("L3", "+13052094413"), ("L4", A)]))
def test_one_person_on_several_numbers_is_offered_once_whatever_the_order(order: list[tuple[str, str]]) -> None:
    decisions = _pipeline([lead_event(lead_id, phone, at=timedelta(minutes=i)) for i, (lead_id, phone) in
                           enumerate(order)])
    assert sorted(d["outcome"] for d in decisions) == ["CALL_READY", "DUPLICATE", "DUPLICATE", "DUPLICATE"]
    [kept] = [d["lead_id"] for d in decisions if d["outcome"] == "CALL_READY"]
    assert kept == order[0][0]  # the first to arrive is the one offered
    for d in decisions:
        if d["outcome"] == "DUPLICATE":
            assert kept in d["reasons"][0]["detail"]  # type: ignore[index]


def test_an_erased_number_is_forgotten_by_the_email_stage() -> None:
    state, _, _ = email_stage(EmailLeads(), lead_event("L1", A), WINDOW)
    state, _, _ = email_stage(state, lead_event("L2", B, campaign="insurance-renewals"), WINDOW)
    forgotten = forget_number(state, A)
    assert [(e.lead_id, e.phone_e164) for e in forgotten.leads] == [("L2", B)]
    assert forget_number(forgotten, A) is forgotten  # a replayed erasure changes nothing
    # With A forgotten, the same person on B in A's campaign is no longer a duplicate of A's lead.
    _, key, onward = email_stage(forgotten, lead_event("L3", B, at=timedelta(days=1)), WINDOW)
    assert key == B and onward["duplicate_of"] is None


def test_an_erasure_goes_to_every_email_the_number_s_leads_had_once() -> None:
    leads = NumberLeads(leads=(
        LeadRecord("L1", "solar-q4", "web", "NEW", T0, email=" Ana@Example.com"),
        LeadRecord("L2", "solar-q4", "web", "NEW", T0, email="ana@example.com"),
        LeadRecord("L3", "solar-q4", "web", "NEW", T0, email="bo@example.org"),
        LeadRecord("L4", "solar-q4", "web", "NEW", T0, email=None),
        LeadRecord("L5", "solar-q4", "web", "NEW", T0, email="not-an-email"),
    ))
    assert erasure_emails(leads) == ("ana@example.com", "bo@example.org")
