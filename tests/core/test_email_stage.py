"""The email stage: one writer per email sends a lead on to its number, or to the number of an earlier
lead with the same email (marked ``duplicate_of``)."""

from __future__ import annotations

from datetime import timedelta

from core_builders import T0, lead, number_event, opt_out, phone_info

from pipeline.core.email_stage import EmailLeads, email_route, email_stage, email_table_key
from pipeline.events import NumberEvent

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
    assert EmailLeads.from_json(state.to_json()) == state


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
