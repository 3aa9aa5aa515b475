"""Instants anywhere the wire can carry them (years 1-9999 in UTC) never stop the core: every input
the gateway would accept is decided, and an opt-out that was accepted blocks the number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core_builders import (
    T0,
    assert_fits_schema,
    consent_change,
    context,
    lead,
    number_event,
    opt_out,
    outcome,
    proof,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.dialcheck import DialCheckRequest, dial_check, parse_request
from pipeline.core.limits import INSTANT_MAX, INSTANT_MIN
from pipeline.core.number import NumberState, due_releases, process
from pipeline.core.validation import validate_input
from pipeline.events import CallOutcomeCode, InputEvent
from pipeline.packaged import default_campaigns, default_lifecycle, default_rule_pack

PACK = default_rule_pack()
LAST = INSTANT_MAX.replace(microsecond=999000)  # the decoder yields whole milliseconds
EDGES = (INSTANT_MIN, INSTANT_MIN + timedelta(days=1), LAST - timedelta(days=1), LAST)
# Every instant in UTC, as the decoder yields it.
ANY_INSTANT = st.one_of(st.sampled_from(EDGES), st.datetimes(timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)))
PAST_INSTANT = ANY_INSTANT.filter(lambda d: d <= T0 + timedelta(days=1))
CODES: tuple[CallOutcomeCode, ...] = ("NO_ANSWER", "BUSY", "VOICEMAIL", "DISCONNECTED", "WRONG_NUMBER", "GATEKEEPER",
                                      "CALLBACK_REQUESTED", "NOT_NOW", "DO_NOT_CALL", "NOT_INTERESTED", "INTERESTED",
                                      "QUALIFIED", "APPOINTMENT_SET", "SALE")


def kind_of(event: InputEvent) -> str:
    return number_event(event)["input_topic"]


def decide_all(*events: InputEvent, now: datetime = T0) -> NumberState:
    """Run ``events`` through ``process`` (each one valid, as intake would let it through) and the
    release scheduler a year later; every emitted record must fit its schema."""
    state = NumberState.empty()
    for event in events:
        assert validate_input(kind_of(event), event, now) == []
        state, emits = process(state, number_event(event), context(now))
        for emit in emits:
            assert_fits_schema(emit)
    later = now + timedelta(days=400)
    for release in due_releases(state.leads, later):
        state, _ = process(state, {**number_event(lead()), "input_topic": "release-scheduler", "event": release},
                           context(later))
    return state


def check(state: NumberState, at: str | None = None) -> bool:
    query = {"campaign_id": "solar-q4", **({"at": at} if at else {})}
    request = parse_request("+13052094411", query, "US")
    assert isinstance(request, DialCheckRequest)
    return dial_check(request, state, campaigns=default_campaigns(), pack=PACK, now=T0,
                      lifecycle=default_lifecycle()).allowed


@settings(max_examples=60, deadline=None)
@given(occurred=PAST_INSTANT, granted=ANY_INSTANT, expires=st.none() | ANY_INSTANT)
def test_a_lead_with_any_instants_is_decided(occurred: datetime, granted: datetime, expires: datetime | None) -> None:
    decide_all(lead(occurred_at=occurred, consent=proof(granted_at=granted, expires_at=expires)))


@settings(max_examples=80, deadline=None)
@given(occurred=PAST_INSTANT, code=st.sampled_from(CODES), callback=st.none() | ANY_INSTANT)
def test_a_call_outcome_with_any_instants_is_decided(occurred: datetime, code: CallOutcomeCode,
                                                      callback: datetime | None) -> None:
    if code == "CALLBACK_REQUESTED" and callback is None:
        callback = T0 + timedelta(days=1)
    decide_all(lead(), outcome(code=code, occurred_at=occurred, callback_at=callback))


@settings(max_examples=60, deadline=None)
@given(occurred=PAST_INSTANT, granted=ANY_INSTANT, expires=st.none() | ANY_INSTANT, grant=st.booleans())
def test_a_consent_change_with_any_instants_is_decided(occurred: datetime, granted: datetime,
                                                        expires: datetime | None, grant: bool) -> None:
    change = consent_change(action="GRANT" if grant else "REVOKE", occurred_at=occurred,
                            with_proof=proof(granted_at=granted, expires_at=expires) if grant else None)
    decide_all(lead(), change)


@settings(max_examples=80, deadline=None)
@given(occurred=PAST_INSTANT, expires=ANY_INSTANT, temporary=st.booleans())
def test_an_opt_out_with_any_instants_blocks_until_it_ends(occurred: datetime, expires: datetime,
                                                           temporary: bool) -> None:
    stop = (opt_out(category="TEMPORARY", occurred_at=occurred, expires_at=expires) if temporary
            else opt_out(occurred_at=occurred))
    state = decide_all(lead(), stop)
    if not temporary or expires > T0:
        assert check(state) is False
