"""One rule evaluation: a decision and the dial-time check about the same number, campaign and
instant say the same thing, and a decision's offer window holds exactly the instants the dial-time
check allows.

States are generated from input events (opt-outs and their removals, temporary suppressions,
consent grants with expiries and revocations — channel-specific ones too —, calls for the caps,
"not now" snoozes of a campaign, earlier leads with their addresses), for numbers that locate their
owner and numbers that do not (toll-free), with addresses in states whose rules differ, at instants
across a week.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core_builders import T0, consent_change, context, lead, number_event, opt_out, outcome, phone_info, proof
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.core.dialcheck import DialCheck, DialCheckRequest, dial_check
from pipeline.core.number import NumberState, process
from pipeline.events import Address, InputEvent, LeadDecision, PhoneInfo
from pipeline.packaged import default_campaigns, default_lifecycle, default_rule_pack

PACK = default_rule_pack()
CAMPAIGNS = default_campaigns()

FLORIDA = phone_info()
NEW_YORK = phone_info("+12122094411", ("America/New_York",)) | {"area_code_region": "NY"}
TEXAS_LANDLINE = phone_info("+12142094411", ("America/Chicago",)) | {
    "area_code_region": "TX", "line_type": "LANDLINE"}
TOLL_FREE: PhoneInfo = {
    "phone_e164": "+18005550199", "region": "US", "number_type": "TOLL_FREE",
    "time_zones": list(NEW_YORK["time_zones"]), "area_code_region": None, "carrier": None, "line_type": "UNKNOWN",
    "area_code_location": None}
PHONES = st.sampled_from([FLORIDA, NEW_YORK, TEXAS_LANDLINE, TOLL_FREE])
REGIONS = st.sampled_from([None, "FL", "TX", "NY", "CA", "RI", "AL", "WA"])
CAMPAIGN_IDS = st.sampled_from(["solar-q4", "insurance-renewals", "default"])
CHANNELS = st.sampled_from(["ANY", "VOICE", "AUTODIALED_VOICE", "SMS"])
HOURS = st.integers(min_value=-36 * 60, max_value=0).map(lambda m: T0 + timedelta(minutes=m))


def address(region: str | None) -> Address | None:
    if region is None:
        return None
    return {"street": None, "city": None, "region": region, "postal_code": None, "country": "US"}


@st.composite
def events(draw: st.DrawFn) -> InputEvent:
    """One earlier event about the number, at most a day and a half before T0."""
    n = draw(st.integers(0, 10_000))
    at = draw(HOURS)
    # Calls and leads weigh more: blocks are easy to find, caps and addresses less so.
    kind = draw(st.sampled_from(["opt-out", "remove", "temporary", "grant", "revoke", "call", "call", "call",
                                 "lead", "lead", "not-now"]))
    if kind == "opt-out":
        scope = draw(st.sampled_from(["ALL_CHANNELS", "VOICE", "SMS", "CAMPAIGN"]))
        return opt_out(f"o{n}", scope=scope, occurred_at=at,
                       campaign_id=draw(CAMPAIGN_IDS) if scope == "CAMPAIGN" else None)
    if kind == "remove":
        return opt_out(f"r{n}", action="REMOVE", occurred_at=at)
    if kind == "temporary":
        until = at + timedelta(hours=draw(st.integers(1, 120)))
        return opt_out(f"t{n}", category="TEMPORARY", expires_at=until, occurred_at=at)
    if kind == "grant":
        channel = draw(CHANNELS)
        expires = draw(st.none() | st.integers(1, 200).map(lambda h: at + timedelta(hours=h)))
        return consent_change(f"g{n}", action="GRANT", channel=channel, purpose="marketing", occurred_at=at,
                              with_proof=proof(channel=channel, granted_at=at, expires_at=expires))
    if kind == "revoke":
        return consent_change(f"v{n}", channel=draw(CHANNELS), channel_specific=draw(st.booleans()),
                              purpose=draw(st.sampled_from(["*", "marketing"])), occurred_at=at)
    if kind == "not-now":  # a snooze of a campaign until a date: a hold, not a do-not-call
        until = at + timedelta(hours=draw(st.integers(1, 200)))
        return outcome(f"n{n}", f"N{n}", "NOT_NOW", campaign_id=draw(CAMPAIGN_IDS), occurred_at=at, callback_at=until)
    if kind == "call":
        return outcome(f"c{n}", f"L{n}", draw(st.sampled_from(["NO_ANSWER", "BUSY", "VOICEMAIL"])), occurred_at=at)
    earlier = lead(f"e{n}", f"E{n}", campaign_id=draw(CAMPAIGN_IDS), occurred_at=at - timedelta(days=40),
                   consent=None)
    return {**earlier, "address": address(draw(REGIONS))}  # type: ignore[typeddict-item]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[PhoneInfo, NumberState, InputEvent, datetime]:
    phone = draw(PHONES)
    state = NumberState.empty()
    burst = [outcome(f"b{i}", f"B{i}", "NO_ANSWER", occurred_at=T0 - timedelta(minutes=m))
             for i, m in enumerate(draw(st.lists(st.integers(0, 20 * 60), max_size=4)))]  # the caps' reach
    for earlier in (*draw(st.lists(events(), max_size=8, unique_by=lambda e: e["event_id"])), *burst):
        state, _ = process(state, number_event(earlier, phone=phone), context(T0 - timedelta(hours=80)))
    consent = draw(st.none() | st.integers(1, 300).map(lambda h: proof(
        channel="ANY", granted_at=T0 - timedelta(hours=1), expires_at=T0 + timedelta(hours=h))) | st.just(
        proof(channel="ANY", granted_at=T0 - timedelta(hours=1))))
    new = lead("new-ev", "NEW", campaign_id=draw(CAMPAIGN_IDS), consent=consent)
    new = {**new, "address": address(draw(REGIONS))}  # type: ignore[typeddict-item]
    # Half within the caps' reach of the calls, half anywhere in the week.
    instant = T0 + timedelta(minutes=draw(st.integers(0, 6 * 60) | st.integers(0, 7 * 24 * 60)))
    return phone, state, new, instant


def decide(phone: PhoneInfo, state: NumberState, new: InputEvent, now: datetime) -> tuple[NumberState, LeadDecision]:
    after, emits = process(state, number_event(new, phone=phone), context(now))
    [decision] = [e.record for e in emits if e.topic == "lead-decision"]
    return after, decision  # type: ignore[return-value]


def ask(phone: PhoneInfo, state: NumberState, campaign_id: str, now: datetime, at: datetime | None = None) -> DialCheck:
    return dial_check(DialCheckRequest(phone, campaign_id, None, None, at), state, campaigns=CAMPAIGNS, pack=PACK,
                      now=now, lifecycle=default_lifecycle())


def judged(decision: LeadDecision) -> bool:
    return decision["outcome"] in ("CALL_READY", "DEFERRED", "SUPPRESSED")


def codes(reasons: Any) -> list[tuple[str, str]]:
    return [(r["code"], r["rule_id"]) for r in reasons]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_a_decision_and_the_dial_check_at_its_instant_agree_reason_for_reason(
    scenario: tuple[PhoneInfo, NumberState, InputEvent, datetime],
) -> None:
    phone, state, new, now = scenario
    after, decision = decide(phone, state, new, now)
    if not judged(decision):  # a duplicate of an earlier lead: no rule was evaluated
        return
    answer = ask(phone, after, new["campaign_id"], now)  # type: ignore[typeddict-item]
    assert answer.allowed == (decision["outcome"] == "CALL_READY")
    assert list(answer.reasons) == decision["reasons"]
    assert answer.callable_until == decision["callable_until"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_the_offer_window_holds_exactly_the_instants_the_dial_check_allows(
    scenario: tuple[PhoneInfo, NumberState, InputEvent, datetime], fraction: float,
) -> None:
    """Inside a CALL_READY's window every instant is allowed and its close is not; a DEFERRED lead is
    blocked until its callable_from and allowed then; a SUPPRESSED one is blocked."""
    phone, state, new, now = scenario
    after, decision = decide(phone, state, new, now)
    event(f"{decision['outcome']} {decision['reasons'][0]['code']}")
    campaign_id = new["campaign_id"]  # type: ignore[typeddict-item]

    def allowed_at(instant: datetime) -> bool:
        return ask(phone, after, campaign_id, now, instant).allowed

    def inside(start: datetime, end: datetime) -> datetime:
        """An instant in [start, end), whole seconds after ``start``."""
        return start + timedelta(seconds=int((end - start).total_seconds() * fraction))

    opens, closes = decision["callable_from"], decision["callable_until"]
    if decision["outcome"] == "CALL_READY":
        assert opens is not None and closes is not None
        assert allowed_at(inside(now, closes))
        assert not allowed_at(closes)
    elif decision["outcome"] == "DEFERRED":
        assert opens is not None and opens > now
        assert not allowed_at(inside(now, opens))
        assert not allowed_at(opens - timedelta(seconds=1))
        assert allowed_at(opens)
        if closes is not None:
            assert not allowed_at(closes)
    elif decision["outcome"] == "SUPPRESSED":
        assert not allowed_at(now)


@st.composite
def histories(draw: st.DrawFn) -> tuple[PhoneInfo, list[InputEvent], str, datetime]:
    """A number's history over a day and a half (opt-outs, removals, temporary suppressions, grants,
    revocations, calls; its leads captured long before), a campaign, and an instant in that span."""
    phone = draw(PHONES)
    leads = [{**lead(f"l{i}", f"L{i}", campaign_id=draw(CAMPAIGN_IDS), occurred_at=T0 - timedelta(days=40)),
              "address": address(draw(REGIONS))} for i in range(draw(st.integers(0, 2)))]
    later = [e for e in draw(st.lists(events(), max_size=10, unique_by=lambda e: e["event_id"]))
             if "lead_id" not in e or "outcome" in e]
    instant = T0 - timedelta(minutes=draw(st.integers(0, 36 * 60)))
    # Calls around the instant, some after it: the caps must count only those made by then.
    burst = [outcome(f"b{i}", f"B{i}", "BUSY", occurred_at=instant + timedelta(minutes=m))
             for i, m in enumerate(draw(st.lists(st.integers(-20 * 60, 4 * 60), max_size=5)))]
    mixed = draw(st.permutations([*later, *burst]))
    return phone, [*leads, *mixed], draw(CAMPAIGN_IDS), instant  # type: ignore[list-item]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_an_answer_about_a_past_instant_is_the_answer_the_state_of_that_instant_gives(
    history: tuple[PhoneInfo, list[InputEvent], str, datetime],
) -> None:
    """Asked later about ``then``, the dial-check answers as if asked at ``then`` with only what had
    happened by then: a later opt-out, grant or revocation does not reach back, a removal or expiry
    counts from its instant, the caps count the calls made by then."""
    phone, history_events, campaign_id, then = history
    everything = by_then = NumberState.empty()
    for ev in history_events:  # in arrival order, which need not be the order they happened in
        everything, _ = process(everything, number_event(ev, phone=phone), context(T0))
        if ev["occurred_at"] <= then:
            by_then, _ = process(by_then, number_event(ev, phone=phone), context(then))
    later = ask(phone, everything, campaign_id, T0 + timedelta(days=1), then)
    at_the_time = ask(phone, by_then, campaign_id, then)
    event(f"{at_the_time.allowed} {at_the_time.reasons[0]['code']}")
    assert (later.allowed, later.reasons) == (at_the_time.allowed, at_the_time.reasons)
    assert later.state_as_of == then
