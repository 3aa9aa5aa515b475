"""Established business relationships: how long one lasts (``ebr_window``) and whether one is in force
for a number (``active_ebr``).

An EBR exempts calls from the national DNC registry for 18 months after a purchase and 3 months after
an inquiry, or a state's shorter limit; a company do-not-call request made after it began ends it for
good, even when that request is later lifted. Which rule decides the window in each jurisdiction is
tabled in test_rulepack.py (``EBR_CASES``); here are the boundaries, the combinations and the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from core_builders import consent_change, opt_out, outcome, proof
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.consents import ConsentLedger, apply_consent_change
from pipeline.core.ebr import EBR_INQUIRY, EBR_PURCHASE, EbrStatus, active_ebr
from pipeline.core.rulepack import (
    RULE_NO_EBR,
    EbrKind,
    EbrLimit,
    EbrParams,
    RulePack,
    ebr_window,
    load_rule_pack,
    merge_overrides,
)
from pipeline.core.suppressions import (
    Suppression,
    SuppressionSource,
    SuppressionState,
    add,
    apply_opt_out,
    suppression_from_outcome,
)
from pipeline.errors import ConfigError
from pipeline.events import CallOutcome, ConsentChanged, InputEvent, OptOut
from pipeline.packaged import default_rule_pack

PACK = default_rule_pack()
FL = ("US", "US-FL")
US_EBR_STATES = ("CA", "CO", "CT", "NM", "PA", "TN", "TX", "WA", "MI", "LA", "MS", "MO", "MT", "NJ", "WI", "IN")

D = timedelta(days=1)
US_ = timedelta(microseconds=1)


def utc(year: int, month: int, day: int, hour: int = 15, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def us(*states: str) -> tuple[str, ...]:
    return ("US", *(f"US-{state}" for state in states))


def ebr(
    at: datetime, event_id: str = "ebr-ev-1", *, purpose: str = EBR_PURCHASE, expires_at: datetime | None = None
) -> ConsentChanged:
    """A purchase (or inquiry) recorded as an EBR grant at ``at``."""
    with_proof = None if expires_at is None else proof(purpose=purpose, channel="ANY", granted_at=at,
                                                       expires_at=expires_at)
    return consent_change(event_id, action="GRANT", purpose=purpose, occurred_at=at, with_proof=with_proof)


def ledger_of(*events: ConsentChanged) -> ConsentLedger:
    ledger = ConsentLedger()
    for event in events:
        ledger = apply_consent_change(ledger, event)
    return ledger


def suppressions_of(*events: InputEvent) -> SuppressionState:
    """The suppression state after ``events`` (opt-outs and call outcomes), as the worker builds it."""
    state = SuppressionState()
    for event in events:
        if "outcome" in event:
            made = suppression_from_outcome(cast(CallOutcome, event))
            if made is not None:
                state = add(state, made)
        else:
            state = apply_opt_out(state, cast(OptOut, event))
    return state


def suppression(source: SuppressionSource, created_at: datetime, event_id: str = "sup-1") -> Suppression:
    return Suppression(
        suppression_id=event_id, scope="ALL_CHANNELS", category="PERMANENT", campaign_id=None, source=source,
        added_by="test", evidence=None, reason=None, created_at=created_at, expires_at=None,
    )


def pack_of(*rules: dict[str, Any]) -> RulePack:
    return load_rule_pack({"version": "test", "rules": list(rules)})


def ebr_rule(rule_id: str, jurisdiction: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "jurisdiction": jurisdiction, "kind": "ebr", "params": params, "citation": "test",
            "effective": "1970-01-01", **extra}


# --- How long an EBR lasts ---------------------------------------------------------------------

PURCHASE = utc(2025, 1, 15)
INQUIRY = utc(2025, 11, 30)  # 3 months later is clamped to the end of February
# A Friday; 30 business days later is Friday 2026-07-17 (Friday 3 July, a federal holiday observed,
# counts: the pack has no holiday table for this, so the EBR ends no later than the statute's).
CA_INQUIRY = utc(2026, 6, 5)
CA_END = utc(2026, 7, 17)


@dataclass(frozen=True)
class Boundary:
    jurisdictions: tuple[str, ...]
    kind: EbrKind
    started_at: datetime
    now: datetime
    in_force: bool
    rule: str


B = Boundary
BOUNDARIES = [
    pytest.param(B(FL, "purchase", PURCHASE, PURCHASE, True, "us.ebr"), id="purchase: from its first instant"),
    pytest.param(B(FL, "purchase", PURCHASE, utc(2026, 7, 14), True, "us.ebr"),
                 id="purchase: the day before 18 months"),
    pytest.param(B(FL, "purchase", PURCHASE, utc(2026, 7, 15) - US_, True, "us.ebr"), id="purchase: the last instant"),
    pytest.param(B(FL, "purchase", PURCHASE, utc(2026, 7, 15), False, "us.ebr"),
                 id="purchase: 18 months to the instant"),
    pytest.param(B(FL, "purchase", PURCHASE, utc(2026, 7, 16), False, "us.ebr"),
                 id="purchase: the day after 18 months"),
    pytest.param(B(FL, "inquiry", INQUIRY, utc(2026, 2, 27), True, "us.ebr"), id="inquiry: the day before 3 months"),
    pytest.param(B(FL, "inquiry", INQUIRY, utc(2026, 2, 28) - US_, True, "us.ebr"), id="inquiry: the last instant"),
    pytest.param(B(FL, "inquiry", INQUIRY, utc(2026, 2, 28), False, "us.ebr"),
                 id="inquiry: 30 Nov + 3 months = 28 Feb"),
    pytest.param(B(FL, "inquiry", INQUIRY, utc(2026, 3, 1), False, "us.ebr"), id="inquiry: the day after 3 months"),
    pytest.param(B(us("CA"), "inquiry", CA_INQUIRY, utc(2026, 7, 16), True, "us.ca.ebr"),
                 id="CA inquiry: 29 business days, six weekends later"),
    pytest.param(B(us("CA"), "inquiry", CA_INQUIRY, CA_END - US_, True, "us.ca.ebr"),
                 id="CA inquiry: the instant before 30 business days"),
    pytest.param(B(us("CA"), "inquiry", CA_INQUIRY, utc(2026, 7, 18), False, "us.ca.ebr"),
                 id="CA inquiry: the Saturday after 30 business days"),
    pytest.param(B(us("CA"), "inquiry", CA_INQUIRY, utc(2026, 7, 20), False, "us.ca.ebr"),
                 id="CA inquiry: 31 business days"),
    pytest.param(B(us("CA"), "inquiry", utc(2026, 6, 6), utc(2026, 7, 17) - US_, True, "us.ca.ebr"),
                 id="CA inquiry on a Saturday: counting starts Monday"),
    pytest.param(B(us("CA"), "inquiry", utc(2026, 6, 7), utc(2026, 7, 17), False, "us.ca.ebr"),
                 id="CA inquiry on a Sunday: ends with Friday's"),
    pytest.param(B(us("CA"), "purchase", CA_INQUIRY, utc(2027, 12, 4), True, "us.ebr"),
                 id="CA purchase: federal 18 months"),
    pytest.param(B(us("CO"), "purchase", PURCHASE, utc(2025, 2, 14) - US_, True, "us.co.ebr"),
                 id="CO purchase: 30 calendar days"),
    pytest.param(B(us("CO"), "purchase", PURCHASE, utc(2025, 2, 14), False, "us.co.ebr"),
                 id="CO purchase: ended on day 30"),
]


@pytest.mark.parametrize("case", BOUNDARIES)
def test_an_ebr_is_in_force_until_its_window_ends(case: Boundary) -> None:
    purpose = EBR_PURCHASE if case.kind == "purchase" else EBR_INQUIRY
    status = active_ebr(ledger_of(ebr(case.started_at, purpose=purpose)), SuppressionState(), PACK,
                        case.jurisdictions, case.now)
    ends, rule_id = ebr_window(PACK, case.jurisdictions, case.kind, case.started_at)

    assert rule_id == case.rule
    assert (status is not None) == case.in_force
    assert ends is not None and (case.now < ends) == case.in_force
    if status is not None:
        assert (status.ends_at, status.rule_id) == (ends, case.rule)


@pytest.mark.parametrize(
    ("jurisdictions", "kind", "rule"),
    [
        pytest.param(us("MI"), "inquiry", "us.mi.ebr", id="MI inquiry"),
        pytest.param(us("NJ"), "inquiry", "us.nj.ebr", id="NJ inquiry"),
        pytest.param(us("WI"), "inquiry", "us.wi.ebr", id="WI inquiry"),
        pytest.param(us("IN"), "inquiry", "us.in.ebr", id="IN inquiry"),
        pytest.param(us("IN"), "purchase", "us.in.ebr", id="IN purchase"),
        pytest.param(us("FL", "IN"), "purchase", "us.in.ebr", id="IN among others"),
        pytest.param(("GB",), "purchase", RULE_NO_EBR, id="no EBR rule: no exemption"),
        pytest.param(("DE", "DE-BY"), "inquiry", RULE_NO_EBR, id="a country the pack does not know"),
    ],
)
def test_where_no_ebr_is_possible(jurisdictions: tuple[str, ...], kind: EbrKind, rule: str) -> None:
    purpose = EBR_PURCHASE if kind == "purchase" else EBR_INQUIRY

    assert ebr_window(PACK, jurisdictions, kind, PURCHASE) == (None, rule)
    assert active_ebr(ledger_of(ebr(PURCHASE, purpose=purpose)), SuppressionState(), PACK, jurisdictions,
                      PURCHASE + D) is None


@pytest.mark.parametrize(
    ("jurisdictions", "kind", "ends", "rule"),
    [
        pytest.param(us("FL", "TX"), "purchase", utc(2026, 1, 15), "us.tx.ebr", id="FL area code, TX address"),
        pytest.param(us("TX", "FL"), "purchase", utc(2026, 1, 15), "us.tx.ebr", id="order does not matter"),
        pytest.param(us("FL", "TX"), "inquiry", utc(2025, 4, 15), "us.ebr", id="TX leaves inquiries federal"),
        pytest.param(us("TX", "LA"), "purchase", utc(2025, 7, 15), "us.la.ebr", id="6 months beats 12"),
        pytest.param(us("CA", "CO"), "inquiry", utc(2025, 2, 14), "us.co.ebr", id="30 days beats 30 business days"),
        pytest.param(us("TX", "CT"), "purchase", utc(2026, 1, 15), "us.ct.ebr", id="a tie goes to pack order"),
        pytest.param(us("TX", "MI"), "inquiry", None, "us.mi.ebr", id="none beats any window"),
        pytest.param(("US-TX",), "purchase", utc(2026, 1, 15), "us.tx.ebr", id="a state implies its country"),
    ],
)
def test_the_shortest_ebr_of_every_jurisdiction_wins(
    jurisdictions: tuple[str, ...], kind: EbrKind, ends: datetime | None, rule: str
) -> None:
    assert ebr_window(PACK, jurisdictions, kind, PURCHASE) == (ends, rule)


@pytest.mark.parametrize(
    ("started_at", "months", "ends"),
    [
        pytest.param(utc(2025, 1, 31), 18, utc(2026, 7, 31), id="31 January + 18 months"),
        pytest.param(utc(2025, 8, 31), 18, utc(2027, 2, 28), id="clamped to the end of February"),
        pytest.param(utc(2026, 8, 31), 18, utc(2028, 2, 29), id="a leap February"),
        pytest.param(utc(2025, 12, 31), 3, utc(2026, 3, 31), id="across the new year"),
        pytest.param(datetime(2025, 11, 30, 10, tzinfo=ZoneInfo("America/New_York")), 6, utc(2026, 5, 30, 14),
                     id="months on the start's own clock: 10:00 EST to 10:00 EDT"),
    ],
)
def test_months_are_calendar_months(started_at: datetime, months: int, ends: datetime) -> None:
    pack = pack_of(ebr_rule("us.ebr", "US", {"purchase_months": months}))

    found, _ = ebr_window(pack, ("US",), "purchase", started_at)

    assert found == ends and found.tzinfo is UTC


def test_a_tie_between_a_state_and_the_country_names_the_state() -> None:
    pack = pack_of(ebr_rule("us.ebr", "US", {"purchase_months": 12}),
                   ebr_rule("us.xx.ebr", "US-XX", {"purchase_months": 12}))

    assert ebr_window(pack, ("US", "US-XX"), "purchase", PURCHASE) == (utc(2026, 1, 15), "us.xx.ebr")


def test_rule_dates_cut_an_ebr_only_while_the_rule_is_in_force() -> None:
    federal = ebr_rule("us.ebr", "US", {"purchase_months": 18})
    # Takes effect 2025-06-01 (from 10:00 UTC on 31 May, its first instant anywhere on earth): an EBR
    # begun in January then ends at once, no earlier.
    later = ebr_rule("us.xx.ebr", "US-XX", {"purchase_months": 1}, effective="2025-06-01")
    none_later = ebr_rule("us.yy.ebr", "US-YY", {"none": True}, effective="2025-06-01")
    # Ends before its 1 month is up: it cuts nothing.
    ended = ebr_rule("us.zz.ebr", "US-ZZ", {"purchase_months": 1}, effective="1970-01-01", ends="2025-02-01")
    pack = pack_of(federal, later, none_later, ended)

    assert ebr_window(pack, us("XX"), "purchase", PURCHASE) == (utc(2025, 5, 31, 10), "us.xx.ebr")
    assert ebr_window(pack, us("YY"), "purchase", PURCHASE) == (utc(2025, 5, 31, 10), "us.yy.ebr")
    assert ebr_window(pack, us("YY"), "purchase", utc(2025, 6, 2)) == (None, "us.yy.ebr")
    assert ebr_window(pack, us("ZZ"), "purchase", PURCHASE) == (utc(2026, 7, 15), "us.ebr")
    assert ebr_window(pack, us("ZZ"), "purchase", utc(2024, 12, 1)) == (utc(2025, 1, 1), "us.zz.ebr")


def test_a_disabled_state_limit_no_longer_shortens_the_ebr() -> None:
    merged = merge_overrides(PACK, {"rules": [{"id": "us.tx.ebr", "enabled": False}]})

    assert ebr_window(merged, us("TX"), "purchase", PURCHASE) == (utc(2026, 7, 15), "us.ebr")


US_STATES = st.sampled_from((*US_EBR_STATES, "FL", "NY", "OH"))


@settings(max_examples=200, deadline=None)
@given(
    states=st.lists(US_STATES, max_size=3),
    extra=US_STATES,
    kind=st.sampled_from(["purchase", "inquiry"]),
    started_at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),  # noqa: DTZ001
                            timezones=st.just(UTC)),
)
def test_another_jurisdiction_never_lengthens_an_ebr_nor_does_any_outlast_the_federal_one(
    states: list[str], extra: str, kind: EbrKind, started_at: datetime
) -> None:
    federal, _ = ebr_window(PACK, ("US",), kind, started_at)
    before, _ = ebr_window(PACK, us(*states), kind, started_at)
    after, _ = ebr_window(PACK, us(*states, extra), kind, started_at)

    assert federal is not None and federal > started_at
    assert before is None or started_at < before <= federal
    assert after is None or (before is not None and after <= before)


# --- Which EBR is in force for a number --------------------------------------------------------

START = utc(2026, 3, 2)
NOW = utc(2026, 6, 1)
AFTER = START + timedelta(hours=1)
BEFORE = START - D


@dataclass(frozen=True)
class LedgerCase:
    consents: tuple[ConsentChanged, ...]
    suppressions: SuppressionState
    expected: str | None
    """event_id of the grant whose EBR is in force at NOW, or None."""


def lifted(at: datetime, *, made_at: datetime) -> SuppressionState:
    """An opt-out made at ``made_at`` and lifted by a REMOVE at ``at``."""
    return suppressions_of(opt_out("optout-add", occurred_at=made_at),
                           opt_out("optout-remove", action="REMOVE", occurred_at=at))


L = LedgerCase
NONE = SuppressionState()
LEDGER_CASES = [
    pytest.param(L((), NONE, None), id="no EBR on record"),
    pytest.param(L((consent_change("g", action="GRANT", purpose="marketing", occurred_at=START),), NONE, None),
                 id="consent to marketing is no EBR"),
    pytest.param(L((ebr(START, "p1"),), NONE, "p1"), id="a purchase"),
    pytest.param(L((ebr(NOW + US_, "p1"),), NONE, None), id="a purchase stamped after now has not begun"),
    # Company do-not-call requests made after the EBR began end it.
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(occurred_at=AFTER)), None), id="an opt-out after"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(occurred_at=START)), None),
                 id="an opt-out at the same instant"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(scope="SMS", category="CHANNEL_LIMITED",
                                                                occurred_at=AFTER)), None),
                 id="an SMS-only opt-out: any request to the company"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(scope="CAMPAIGN", campaign_id="solar-q4",
                                                                occurred_at=AFTER)), None),
                 id="an opt-out of one campaign: the ledger knows no seller"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(category="TEMPORARY", expires_at=AFTER + D,
                                                                occurred_at=AFTER)), None),
                 id="a temporary opt-out, even once expired"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(outcome(code="DO_NOT_CALL", occurred_at=AFTER)), None),
                 id="do not call, said on a call"),
    pytest.param(L((ebr(START, "p1"),), add(NONE, suppression("CONSENT_REVOCATION", AFTER)), None),
                 id="a consent-revocation suppression"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(occurred_at=NOW + D)), None),
                 id="an opt-out stamped after now (clock skew fails closed)"),
    pytest.param(L((ebr(START, "p1"),), lifted(AFTER + D, made_at=AFTER), None),
                 id="an opt-out after, later removed"),
    pytest.param(L((ebr(START, "p1"),), lifted(AFTER, made_at=BEFORE), None),
                 id="an opt-out before, removed after: the audit has no date for it (fails closed)"),
    pytest.param(L((ebr(START, "p1"), consent_change("r", purpose="*", occurred_at=AFTER)), NONE, None),
                 id="a revocation of every purpose"),
    pytest.param(L((ebr(START, "p1"), consent_change("r", purpose=EBR_PURCHASE, occurred_at=AFTER)), NONE, None),
                 id="a revocation of the EBR itself"),
    # Requests made before the EBR began, and things that are no request, do not end it.
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(occurred_at=BEFORE)), "p1"),
                 id="an opt-out before (it still blocks calls itself)"),
    pytest.param(L((ebr(START, "p1"),), lifted(BEFORE + timedelta(hours=1), made_at=BEFORE), "p1"),
                 id="an opt-out made and removed before"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(outcome(code="NOT_NOW", occurred_at=AFTER)), "p1"),
                 id="not now, said on a call"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(outcome(code="SALE", occurred_at=AFTER)), "p1"),
                 id="a sale"),
    pytest.param(L((ebr(START, "p1"),), add(NONE, suppression("REGISTRY", AFTER)), "p1"),
                 id="a national-registry entry: what the EBR exempts from"),
    pytest.param(L((ebr(START, "p1"),), add(NONE, suppression("IMPORT", AFTER)), "p1"),
                 id="an imported list entry"),
    pytest.param(L((ebr(START, "p1"),), suppressions_of(opt_out(action="REMOVE", occurred_at=AFTER)), "p1"),
                 id="a removal that lifted nothing"),
    pytest.param(L((ebr(START, "p1"), consent_change("r", purpose="*", occurred_at=BEFORE)), NONE, "p1"),
                 id="a revocation before"),
    pytest.param(L((ebr(START, "p1"), consent_change("r", purpose="marketing", occurred_at=AFTER)), NONE, "p1"),
                 id="a revocation of another purpose"),
    pytest.param(L((ebr(START, "p1"), consent_change("r", purpose=EBR_INQUIRY, occurred_at=AFTER)), NONE, "p1"),
                 id="a revocation of inquiry EBRs leaves a purchase"),
    # A new purchase or inquiry after the request starts a new EBR.
    pytest.param(L((ebr(BEFORE - D, "p0"), ebr(START, "p1")), suppressions_of(opt_out(occurred_at=BEFORE)), "p1"),
                 id="a purchase after an opt-out that ended the one before"),
    pytest.param(L((ebr(BEFORE - D, "p0"), ebr(START, "i1", purpose=EBR_INQUIRY)),
                   lifted(BEFORE, made_at=BEFORE - D / 2), "i1"),
                 id="an inquiry after a lifted opt-out"),
    # Several in force: the one that ends last.
    pytest.param(L((ebr(utc(2025, 8, 1), "p0"), ebr(START, "i1", purpose=EBR_INQUIRY)), NONE, "p0"),
                 id="a purchase outlasting a later inquiry"),
    pytest.param(L((ebr(utc(2024, 12, 1, 16), "p0"), ebr(START, "i1", purpose=EBR_INQUIRY)), NONE, "i1"),
                 id="an inquiry outlasting an older purchase"),
    pytest.param(L((ebr(START, "p1"), ebr(START - D, "p0")), NONE, "p1"),
                 id="the latest purchase, whatever the arrival"),
    pytest.param(L((ebr(utc(2024, 12, 1), "p0"),), NONE, None), id="an expired purchase"),
    pytest.param(L((ebr(START, "p1", expires_at=NOW),), NONE, None), id="a grant that expired before the law's end"),
]


@pytest.mark.parametrize("case", LEDGER_CASES)
def test_the_ebr_in_force(case: LedgerCase) -> None:
    status = active_ebr(ledger_of(*case.consents), case.suppressions, PACK, FL, NOW)

    assert (status.event_id if status is not None else None) == case.expected


def test_an_ebr_status_says_what_began_it_until_when_and_why() -> None:
    status = active_ebr(ledger_of(ebr(START, "p1")), SuppressionState(), PACK, us("FL", "TX"), NOW)

    assert status == EbrStatus(
        kind="purchase", started_at=START, ends_at=utc(2027, 3, 2), rule_id="us.tx.ebr", event_id="p1",
        detail=status.detail if status is not None else "",
    )
    assert status is not None and "us.tx.ebr" in status.detail and "national DNC registry" in status.detail


def test_a_grant_expiring_first_ends_the_ebr_and_says_so() -> None:
    expires_at = utc(2026, 9, 1)

    status = active_ebr(ledger_of(ebr(START, "p1", expires_at=expires_at)), SuppressionState(), PACK, FL, NOW)

    assert status is not None and (status.ends_at, status.rule_id) == (expires_at, "us.ebr")
    assert "expires first" in status.detail


def test_an_mi_purchase_makes_an_ebr_but_an_mi_inquiry_does_not() -> None:
    purchase = ledger_of(ebr(START, "p1"))
    inquiry = ledger_of(ebr(START, "i1", purpose=EBR_INQUIRY))

    assert active_ebr(purchase, SuppressionState(), PACK, us("MI"), NOW) is not None
    assert active_ebr(inquiry, SuppressionState(), PACK, us("MI"), NOW) is None
    assert active_ebr(inquiry, SuppressionState(), PACK, FL, NOW) is not None


def test_a_naive_instant_is_a_bug() -> None:
    naive = datetime(2026, 6, 1, 12)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValueError, match="timezone-aware"):
        active_ebr(ConsentLedger(), SuppressionState(), PACK, FL, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        ebr_window(PACK, FL, "purchase", naive)


# --- The ebr rule kind as data -----------------------------------------------------------------


def test_every_us_ebr_state_of_compliance_md_has_its_rule() -> None:
    states = {rule.jurisdiction for rule in PACK.rules if rule.kind == "ebr"}

    assert states == {"US"} | {f"US-{state}" for state in US_EBR_STATES}
    assert all("Bubeck" in rule.citation for rule in PACK.rules if rule.kind == "ebr" and rule.jurisdiction != "US")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"purchase_months": 18, "inquiry_months": 3}, EbrParams(EbrLimit(18, "months"), EbrLimit(3, "months"))),
        ({"inquiry_days": 30, "business_days": True}, EbrParams(None, EbrLimit(30, "business_days"))),
        ({"purchase_days": 30, "inquiry_days": 30}, EbrParams(EbrLimit(30, "days"), EbrLimit(30, "days"))),
        ({"purchase_months": 12, "no_inquiry": True}, EbrParams(EbrLimit(12, "months"), EbrLimit(0, "months"))),
        ({"none": True}, EbrParams(EbrLimit(0, "months"), EbrLimit(0, "months"))),
        ({"no_purchase": True, "no_inquiry": True}, EbrParams(EbrLimit(0, "months"), EbrLimit(0, "months"))),
    ],
)
def test_ebr_params_load_and_round_trip(params: dict[str, Any], expected: EbrParams) -> None:
    pack = pack_of(ebr_rule("us.xx.ebr", "US-XX", params))

    assert pack.rules[0].params == expected
    assert load_rule_pack(pack.to_json()) == pack


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "key 'params': an ebr rule limits purchases, inquiries or both"),
        ({"purchase_months": 0}, "key 'params.purchase_months': expected a whole number of at least 1"),
        ({"purchase_months": 18, "purchase_days": 548}, "key 'params.purchase_days': give one of"),
        ({"inquiry_months": 3, "no_inquiry": True}, "key 'params.no_inquiry': give one of"),
        ({"purchase_months": 18, "business_days": True}, "key 'params.business_days': needs purchase_days"),
        ({"inquiry_days": 30, "business_days": False}, "key 'params.business_days': expected true"),
        ({"none": True, "purchase_months": 1}, "key 'params.purchase_months': \"none\""),
        ({"inquiry_months": None}, "key 'params.inquiry_months': expected a whole number"),
        ({"purchase_years": 1}, "key 'params.purchase_years': unknown parameter for kind ebr"),
    ],
)
def test_ebr_param_errors_name_the_rule_and_key(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"rule 'us.xx.ebr': {message}"):
        pack_of(ebr_rule("us.xx.ebr", "US-XX", params))


def test_counsel_can_allow_michigan_inquiries_by_override() -> None:
    merged = merge_overrides(PACK, {"rules": [{"id": "us.mi.ebr", "params": {"no_inquiry": None,
                                                                            "inquiry_months": 3}}]})

    # A tie with the federal 3 months names the state rule.
    assert ebr_window(merged, us("MI"), "inquiry", INQUIRY) == (utc(2026, 2, 28), "us.mi.ebr")
    assert ebr_window(merged, us("MI"), "purchase", INQUIRY) == (utc(2026, 11, 30), "us.mi.ebr")


def test_an_override_removing_none_fails_instead_of_allowing_an_unlimited_ebr() -> None:
    with pytest.raises(ConfigError, match=r"rule 'us\.in\.ebr': key 'params'"):
        merge_overrides(PACK, {"rules": [{"id": "us.in.ebr", "params": {"none": None}}]})
