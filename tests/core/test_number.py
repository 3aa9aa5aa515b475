"""Everything that happens to one number, told as stories through ``process``.

Every record ``process`` emits is checked against its Avro schema on the way (``step``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import get_args

import pytest
from core_builders import (
    PHONE,
    T0,
    assert_fits_schema,
    consent_change,
    context,
    lead,
    number_event,
    opt_out,
    outcome,
    phone_info,
    proof,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.consents import ConsentLedger
from pipeline.core.leads import NumberLeads
from pipeline.core.number import Emit, NumberState, process
from pipeline.core.rulepack import merge_overrides
from pipeline.core.suppressions import SuppressionState
from pipeline.events import CallOutcomeCode, ConsentChannel, InputEvent, SuppressionScope
from pipeline.packaged import default_rule_pack
from pipeline.state_codec import decode, encode


def step(state: NumberState, ev: InputEvent, now: datetime = T0) -> tuple[NumberState, tuple[Emit, ...]]:
    new, emits = process(state, number_event(ev), context(now))
    for emit in emits:
        assert emit.key == PHONE
        assert_fits_schema(emit)
    return new, emits


def records(emits: tuple[Emit, ...], topic: str) -> list[dict[str, object]]:
    return [dict(emit.record) for emit in emits if emit.topic == topic]


def outcomes(emits: tuple[Emit, ...]) -> list[object]:
    return [record["outcome"] for record in records(emits, "lead-decision")]


def actions(emits: tuple[Emit, ...]) -> list[object]:
    return [record["action"] for record in records(emits, "call-ready")]


def codes(record: dict[str, object]) -> list[str]:
    reasons = record["reasons"]
    assert isinstance(reasons, list)
    return [reason["code"] for reason in reasons]


def offered(state: NumberState) -> list[str]:
    return [lead.lead_id for lead in state.leads.offered()]


# --- lead-captured ---------------------------------------------------------------------------------


def test_a_lead_with_consent_inside_calling_hours_is_offered_to_dialers() -> None:
    state, emits = step(NumberState.empty(), lead())

    (decision,) = records(emits, "lead-decision")
    (ready,) = records(emits, "call-ready")
    assert decision["outcome"] == "CALL_READY"
    assert decision["input_topic"] == "lead-captured"
    assert (decision["decided_at"], decision["occurred_at"], decision["rule_pack_version"]) == (
        T0,
        T0,
        "test-1",
    )
    assert ready["action"] == "READY"
    assert (ready["lead_id"], ready["campaign_id"], ready["decision_id"]) == (
        "L1",
        "solar-q4",
        decision["decision_id"],
    )
    # A 305 number is in Florida: the state's 20:00 (us.fl.hours) closes before the federal 21:00.
    assert ready["callable_until"] == datetime.fromisoformat("2025-06-03T00:00:00+00:00")  # 20:00 New York
    assert ready["seconds_left"] == 9 * 3600
    assert "us.fl.hours" in decision["reasons"][0]["detail"]
    assert ready["time_zones"] == ["America/New_York"]
    assert ready["priority"] == round(float(str(ready["score"])))
    assert offered(state) == ["L1"]
    record = state.leads.get("L1")
    assert record is not None
    assert (record.status, record.consent_certificate_id, record.first_name) == (
        "IN_PROGRESS",
        "cert-1",
        "Ada",
    )


def test_a_lead_outside_calling_hours_is_deferred_not_offered() -> None:
    night = datetime.fromisoformat("2025-06-03T03:00:00+00:00")  # 23:00 in New York
    state, emits = step(NumberState.empty(), lead(occurred_at=night), now=night)

    (decision,) = records(emits, "lead-decision")
    assert decision["outcome"] == "DEFERRED"
    assert decision["callable_from"] == datetime.fromisoformat("2025-06-03T12:00:00+00:00")  # 08:00 New York
    assert records(emits, "call-ready") == []
    assert offered(state) == []
    assert state.leads.get("L1") is not None and state.leads.get("L1").status == "NEW"  # type: ignore[union-attr]


def test_a_lead_without_consent_for_a_campaign_that_requires_it_is_suppressed() -> None:
    state, emits = step(NumberState.empty(), lead(consent=None))
    assert outcomes(emits) == ["SUPPRESSED"]
    assert codes(records(emits, "lead-decision")[0]) == ["CONSENT_MISSING"]
    assert state.leads.get("L1").status == "SUPPRESSED"  # type: ignore[union-attr]


def test_opt_out_then_lead_is_suppressed() -> None:
    state, emits = step(NumberState.empty(), opt_out())
    assert emits == ()

    state, emits = step(state, lead(occurred_at=T0 + timedelta(minutes=1)), now=T0 + timedelta(minutes=1))
    (decision,) = records(emits, "lead-decision")
    assert decision["outcome"] == "SUPPRESSED"
    assert codes(decision) == ["DNC_OPT_OUT"]
    assert decision["rules_fired"] == ["dnc.company"]
    assert records(emits, "call-ready") == []


def test_lead_then_opt_out_is_offered_then_withdrawn() -> None:
    state, emits = step(NumberState.empty(), lead())
    assert actions(emits) == ["READY"]

    state, emits = step(state, opt_out(occurred_at=T0 + timedelta(minutes=2)), now=T0 + timedelta(minutes=2))
    (withdraw,) = records(emits, "call-ready")
    (decision,) = records(emits, "lead-decision")
    assert (withdraw["action"], withdraw["lead_id"], withdraw["seconds_left"]) == ("WITHDRAW", "L1", 0)
    assert codes(withdraw) == ["DNC_OPT_OUT"]
    assert (decision["outcome"], decision["input_topic"], decision["lead_id"]) == (
        "WITHDRAWN",
        "opt-out",
        "L1",
    )
    assert withdraw["decision_id"] == decision["decision_id"]
    assert offered(state) == []
    assert state.leads.get("L1").status == "SUPPRESSED"  # type: ignore[union-attr]


def test_an_sms_only_opt_out_does_not_withdraw_a_voice_offer() -> None:
    state, _ = step(NumberState.empty(), lead())
    state, emits = step(state, opt_out(scope="SMS", category="CHANNEL_LIMITED"))
    assert emits == ()
    assert offered(state) == ["L1"]


def test_a_resent_lead_and_a_second_lead_for_the_same_campaign_are_duplicates() -> None:
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"))

    state, emits = step(state, lead("ev-2", "L1"))
    assert outcomes(emits) == ["DUPLICATE"]
    assert "L1" in records(emits, "lead-decision")[0]["reasons"][0]["detail"]  # type: ignore[index]

    day = timedelta(days=1)
    state, emits = step(state, lead("ev-3", "L2", occurred_at=T0 + 29 * day), now=T0 + 29 * day)
    assert outcomes(emits) == ["DUPLICATE"]
    assert "lead L1 for campaign solar-q4" in records(emits, "lead-decision")[0]["reasons"][0]["detail"]  # type: ignore[index]
    assert records(emits, "call-ready") == []
    assert state.leads.get("L2") is None


def test_leads_for_another_campaign_or_a_month_later_are_not_duplicates() -> None:
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"))

    state, emits = step(state, lead("ev-2", "L2", campaign_id="insurance-renewals"))
    assert outcomes(emits) == ["CALL_READY"]

    month = T0 + timedelta(days=30)
    state, emits = step(state, lead("ev-3", "L3", occurred_at=month), now=month)
    assert outcomes(emits) == ["CALL_READY"]


def test_a_lead_suppressed_for_missing_consent_does_not_block_a_new_one_with_consent() -> None:
    state, _ = step(NumberState.empty(), lead("ev-1", "L1", consent=None))
    state, emits = step(state, lead("ev-2", "L2"))
    assert outcomes(emits) == ["CALL_READY"]


# --- consent-changed -------------------------------------------------------------------------------


def test_revoking_consent_withdraws_every_offer_that_relied_on_it() -> None:
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"))
    state, _ = step(state, lead("ev-2", "L2", campaign_id="insurance-renewals"))
    assert offered(state) == ["L1", "L2"]

    state, emits = step(state, consent_change("rev", channel="SMS", occurred_at=T0 + timedelta(minutes=1)))
    assert sorted(str(r["lead_id"]) for r in records(emits, "call-ready")) == ["L1", "L2"]
    assert actions(emits) == ["WITHDRAW", "WITHDRAW"]
    assert outcomes(emits) == ["WITHDRAWN", "WITHDRAWN"]
    assert all(codes(r) == ["CONSENT_REVOKED"] for r in records(emits, "call-ready"))
    assert offered(state) == []


def test_a_channel_specific_sms_revocation_stops_calls_too_as_us_revocation_says() -> None:
    state, _ = step(NumberState.empty(), lead())
    state, emits = step(
        state,
        consent_change("rev", channel="SMS", channel_specific=True, occurred_at=T0 + timedelta(minutes=1)),
    )
    assert actions(emits) == ["WITHDRAW"]
    assert all(codes(r) == ["CONSENT_REVOKED"] for r in records(emits, "call-ready"))
    assert offered(state) == []


def test_only_a_counsel_override_lets_a_channel_specific_revocation_leave_calls_alone_and_it_says_so() -> None:
    narrow = merge_overrides(default_rule_pack(), {"rules": [{"id": "us.revocation",
                                                              "params": {"channel_specific": True}}]})
    ctx = replace(context(T0), rule_pack=narrow, rule_pack_version=narrow.version)
    revoke = consent_change("rev", channel="SMS", channel_specific=True, occurred_at=T0 - timedelta(minutes=1))
    state, _ = process(NumberState.empty(), number_event(revoke), ctx)
    state, emits = process(state, number_event(lead()), ctx)
    [decision] = records(emits, "lead-decision")
    assert decision["outcome"] == "CALL_READY"
    assert codes(decision) == ["CALLABLE", "REVOCATION_SCOPE_NARROWED"]
    assert "us.revocation" in decision["rules_fired"]  # type: ignore[operator]
    assert "+local." in narrow.version


def test_a_consent_grant_makes_a_later_lead_callable() -> None:
    state, _ = step(
        NumberState.empty(),
        consent_change(
            "grant", action="GRANT", channel="ANY", with_proof=proof(channel="ANY", granted_at=T0)
        ),
    )
    state, emits = step(state, lead(consent=None, occurred_at=T0 + timedelta(minutes=1)))
    assert outcomes(emits) == ["CALL_READY"]


# --- call-outcome ----------------------------------------------------------------------------------


def test_a_qualified_outcome_sends_one_qualified_lead_with_the_lead_context() -> None:
    state, _ = step(NumberState.empty(), lead())
    state, emits = step(state, outcome("oc-1", code="QUALIFIED"))

    (qualified,) = records(emits, "qualified-lead")
    assert (qualified["lead_id"], qualified["phone_e164"], qualified["source"]) == ("L1", PHONE, "solar-form")
    assert (qualified["first_name"], qualified["email"]) == ("Ada", "ada@example.com")
    assert (qualified["agent_id"], qualified["outcome"], qualified["outcome_event_id"]) == (
        "agent-7",
        "QUALIFIED",
        "oc-1",
    )
    assert (qualified["captured_at"], qualified["consent_certificate_id"]) == (T0, "cert-1")
    assert qualified["answers"] == {"roof": "south-facing"}
    assert qualified["score"] == state.leads.get("L1").score  # type: ignore[union-attr]
    record = state.leads.get("L1")
    assert record is not None
    assert (record.status, record.attempts, record.offered, record.qualified_by) == (
        "QUALIFIED",
        1,
        False,
        "oc-1",
    )

    replayed, emits = step(state, outcome("oc-1", code="QUALIFIED"))
    assert (replayed, emits) == (state, ())

    # Later outcomes reach no CRM; each leaves its trace, saying the lead is closed.
    state, emits = step(state, outcome("oc-2", code="QUALIFIED"))
    assert outcomes(emits) == ["IGNORED_CLOSED"] and codes(emits[0].record) == ["LEAD_CLOSED"]
    state, emits = step(state, outcome("oc-3", code="SALE"))
    assert outcomes(emits) == ["IGNORED_CLOSED"]
    state, _ = step(state, outcome("oc-4", code="NO_ANSWER"))
    assert state.leads.get("L1").status == "QUALIFIED"  # type: ignore[union-attr]
    assert state.leads.get("L1").attempts == 4  # type: ignore[union-attr]


def test_qualified_lead_is_sent_once_even_when_the_seen_ids_were_forgotten() -> None:
    state, _ = step(NumberState.empty(), lead())
    state, emits = step(state, outcome("oc-1", code="APPOINTMENT_SET"))
    assert len(records(emits, "qualified-lead")) == 1

    forgetful = NumberState(state.suppressions, state.consents, NumberLeads(state.leads.leads, ()))
    _, again = step(forgetful, outcome("oc-1", code="APPOINTMENT_SET"))
    assert records(again, "qualified-lead") == []
    # Its trace reuses the first decision's ids: consumers deduplicating on event_id drop it.
    [(first, replay)] = zip(records(emits, "lead-decision"), records(again, "lead-decision"), strict=True)
    assert (replay["outcome"], replay["event_id"], replay["decision_id"]) == (
        "IGNORED_CLOSED", first["event_id"], first["decision_id"])


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("NOT_INTERESTED", "REFUSED"),
        ("NO_ANSWER", "IN_PROGRESS"),
        ("CALLBACK_REQUESTED", "CALLBACK"),
        ("NOT_NOW", "CALLBACK"),
        ("WRONG_NUMBER", "INACTIVE"),
        ("DO_NOT_CALL", "REFUSED"),
        ("DISCONNECTED", "INACTIVE"),
    ],
)
def test_an_outcome_ends_the_offer_and_sets_the_status(code: str, status: str) -> None:
    state, _ = step(NumberState.empty(), lead())
    state, _ = step(state, outcome("oc-1", code=code))  # type: ignore[arg-type]
    record = state.leads.get("L1")
    assert record is not None
    assert (record.status, record.offered, record.attempts, record.last_outcome) == (status, False, 1, code)


def test_do_not_call_on_one_lead_withdraws_the_others() -> None:
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"))
    state, _ = step(state, lead("ev-2", "L2", campaign_id="insurance-renewals"))

    state, emits = step(state, outcome("oc-1", "L1", "DO_NOT_CALL"))
    (withdraw,) = records(emits, "call-ready")
    assert (withdraw["action"], withdraw["lead_id"]) == ("WITHDRAW", "L2")
    assert codes(withdraw) == ["DNC_CALL_OUTCOME"]
    assert outcomes(emits) == ["CLOSED", "WITHDRAWN"]  # L1 refused (lifecycle), L2 withdrawn
    assert offered(state) == []

    state, emits = step(state, lead("ev-3", "L3", campaign_id="other"))
    assert outcomes(emits) == ["SUPPRESSED"]


def test_not_now_snoozes_its_campaign_and_never_suppresses_another() -> None:
    callback = T0 + timedelta(days=3)
    state, _ = step(NumberState.empty(), lead("ev-1", "L1"))
    state, _ = step(state, outcome("oc-1", "L1", "NOT_NOW", callback_at=callback))
    assert state.suppressions.active == ()

    state, emits = step(state, lead("ev-2", "L2", campaign_id="insurance-renewals"))
    assert outcomes(emits) == ["CALL_READY"]  # another campaign: not snoozed, not suppressed
    # The same campaign waits for the snooze's end: tests/core/test_lifecycle.py follows it.


def test_an_outcome_for_an_unknown_lead_keeps_a_stub() -> None:
    state, emits = step(NumberState.empty(), outcome("oc-1", "ghost", "NO_ANSWER"))
    assert outcomes(emits) == ["IGNORED_CLOSED"] and codes(emits[0].record) == ["LEAD_UNKNOWN"]
    record = state.leads.get("ghost")
    assert record is not None
    assert (record.source, record.captured_at, record.attempts, record.status) == (
        "unknown",
        None,
        1,
        "IN_PROGRESS",
    )


def test_a_qualified_outcome_for_an_unknown_lead_still_reaches_the_crm() -> None:
    _, emits = step(NumberState.empty(), outcome("oc-1", "ghost", "SALE"))
    (qualified,) = records(emits, "qualified-lead")
    assert (qualified["lead_id"], qualified["source"], qualified["captured_at"]) == ("ghost", "unknown", None)


# --- replays, ids, the event union -----------------------------------------------------------------

STORY: list[InputEvent] = [
    lead("ev-1", "L1"),
    lead("ev-2", "L2", campaign_id="insurance-renewals"),
    outcome("oc-1", "L1", "QUALIFIED"),
    consent_change("g-1", action="GRANT", channel="SMS", with_proof=proof(channel="SMS", granted_at=T0)),
    opt_out("oo-1", scope="VOICE", category="CHANNEL_LIMITED"),
    opt_out("oo-2", action="REMOVE", scope="VOICE", occurred_at=T0 + timedelta(minutes=1)),
    consent_change("rev-1", occurred_at=T0 + timedelta(minutes=2)),
    outcome("oc-2", "L2", "DO_NOT_CALL"),
]


def play(events: list[InputEvent]) -> tuple[NumberState, list[Emit]]:
    state, emitted = NumberState.empty(), list[Emit]()
    for ev in events:
        state, emits = step(state, ev)
        emitted.extend(emits)
    return state, emitted


@pytest.mark.parametrize("index", range(len(STORY)))
def test_replaying_any_event_changes_nothing_and_emits_nothing(index: int) -> None:
    state, _ = play(STORY)
    replayed, emits = step(state, STORY[index])
    assert replayed is state
    assert emits == ()


def test_the_same_history_gives_the_same_records_ids_included() -> None:
    first_state, first = play(STORY)
    second_state, second = play(STORY)
    assert (first_state, first) == (second_state, second)
    ids = [emit.record["event_id"] for emit in first]
    assert len(ids) == len(set(ids))


def test_the_state_survives_the_tables_row_round_trip() -> None:
    state, _ = play(STORY)
    restored = NumberState(
        decode(SuppressionState, encode(state.suppressions)),
        decode(ConsentLedger, encode(state.consents)),
        decode(NumberLeads, encode(state.leads)),
    )
    assert restored == state


def test_without_a_known_input_topic_the_event_is_told_apart_by_its_fields() -> None:
    for ev in STORY:
        expected = process(NumberState.empty(), number_event(ev), context())
        assert (
            process(NumberState.empty(), number_event(ev, input_topic="mystery"), context())[0] == expected[0]
        )


def test_an_event_that_is_no_input_is_a_bug() -> None:
    not_an_input = {"event_id": "x", "occurred_at": T0}
    with pytest.raises(ValueError, match="none of"):
        process(NumberState.empty(), number_event(not_an_input, input_topic="mystery"), context())  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------------

_ZONES = ["America/New_York", "America/Los_Angeles", "America/Chicago", "Pacific/Honolulu", "Europe/London"]
_CAMPAIGNS = ["solar-q4", "insurance-renewals", "default", "unlisted"]


@st.composite
def later_events(draw: st.DrawFn, start: datetime) -> tuple[InputEvent, datetime]:
    """An event after ``start`` (anything but lifting an ALL_CHANNELS opt-out), and its instant."""
    at = start + timedelta(seconds=draw(st.integers(min_value=0, max_value=400 * 86400)))
    n = draw(st.integers(min_value=0, max_value=10**6))
    kind = draw(st.sampled_from(["lead", "grant", "remove", "outcome"]))
    ev: InputEvent
    if kind == "lead":
        channel = draw(st.sampled_from(get_args(ConsentChannel)))
        consent = draw(st.none() | st.just(proof(channel=channel, granted_at=at)))
        ev = lead(
            f"lead-{n}",
            f"L{n}",
            campaign_id=draw(st.sampled_from(_CAMPAIGNS)),
            occurred_at=at,
            consent=consent,
        )
    elif kind == "grant":
        ev = consent_change(
            f"grant-{n}",
            action="GRANT",
            purpose="*",
            channel="ANY",
            occurred_at=at,
            with_proof=proof(channel="ANY", purpose="*", granted_at=at),
        )
    elif kind == "remove":
        scope: SuppressionScope = draw(st.sampled_from(["VOICE", "SMS", "CAMPAIGN"]))
        ev = opt_out(
            f"rm-{n}",
            action="REMOVE",
            scope=scope,
            campaign_id=draw(st.sampled_from(_CAMPAIGNS)),
            occurred_at=at,
        )
    else:
        code: CallOutcomeCode = draw(
            st.sampled_from(["NO_ANSWER", "QUALIFIED", "CALLBACK_REQUESTED", "NOT_INTERESTED"])
        )
        ev = outcome(f"oc-{n}", f"L{n % 7}", code, occurred_at=at)
    return ev, at


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(later_events(T0 - timedelta(days=400)), max_size=4),
    after=st.lists(later_events(T0), min_size=1, max_size=6),
    zone=st.sampled_from(_ZONES),
)
def test_after_a_permanent_all_channels_opt_out_no_lead_is_ever_callable(
    before: list[tuple[InputEvent, datetime]], after: list[tuple[InputEvent, datetime]], zone: str
) -> None:
    phone = phone_info(time_zones=(zone,))
    state = NumberState.empty()
    for ev, at in sorted(before, key=lambda pair: pair[1]):
        state, _ = process(state, number_event(ev, phone=phone), context(at))

    state, emits = process(
        state, number_event(opt_out("the-opt-out", occurred_at=T0), phone=phone), context(T0)
    )
    assert offered(state) == []
    assert "READY" not in actions(emits)

    for ev, at in sorted(after, key=lambda pair: pair[1]):
        state, emits = process(state, number_event(ev, phone=phone), context(at))
        assert "READY" not in actions(emits)
        assert "CALL_READY" not in outcomes(emits)
        assert offered(state) == []


def test_parts_of_the_state_an_event_does_not_touch_come_back_as_the_same_object() -> None:
    state, _ = step(NumberState.empty(), lead())

    after_outcome, _ = step(state, outcome("oc-1", code="NO_ANSWER"))
    assert after_outcome.suppressions is state.suppressions
    assert after_outcome.consents is state.consents
    assert after_outcome.leads is not state.leads

    after_opt_out, _ = step(state, opt_out())
    assert after_opt_out.consents is state.consents
    assert after_opt_out.suppressions is not state.suppressions

    after_lead, _ = step(state, lead("ev-2", "L2", campaign_id="other", consent=None))
    assert after_lead.consents is state.consents
    assert after_lead.suppressions is state.suppressions
