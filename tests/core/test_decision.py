"""The decision about one lead: each reason code fires when it should and only then."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from core_builders import (
    NO_WINDOW,
    SCORE,
    T0,
    closed_window,
    consent_change,
    lead,
    open_window,
    phone_info,
    proof,
)

from pipeline.core.campaigns import CampaignPolicy
from pipeline.core.consents import ConsentLedger, apply_consent_change, grant_from_lead
from pipeline.core.decision import Decision, decide, duplicate, rejected_phone, withdrawn
from pipeline.core.suppressions import Suppression, SuppressionSource, SuppressionState, add
from pipeline.core.window import Window
from pipeline.events import ConsentChannel, SuppressionCategory, SuppressionScope

SOLAR = CampaignPolicy("solar-q4", channel="AUTODIALED_VOICE", hours_rule_id="us.hours")
RENEWALS = CampaignPolicy(
    "insurance-renewals", requires_consent=False, channel="VOICE", hours_rule_id="us.hours"
)
GRANTED = grant_from_lead(ConsentLedger(), lead())
REVOKED = apply_consent_change(GRANTED, consent_change("rev", occurred_at=T0))
EXPIRED = grant_from_lead(ConsentLedger(), lead(consent=proof(expires_at=T0 - timedelta(days=1))))
NOTHING = ConsentLedger()


def dnc(
    source: SuppressionSource = "OPT_OUT",
    *,
    scope: SuppressionScope = "ALL_CHANNELS",
    category: SuppressionCategory = "PERMANENT",
    campaign_id: str | None = None,
    expires_at: datetime | None = None,
) -> SuppressionState:
    return add(
        SuppressionState(),
        Suppression(
            suppression_id="sup-1",
            scope=scope,
            category=category,
            campaign_id=campaign_id,
            source=source,
            added_by="agent-7",
            evidence=None,
            reason=None,
            created_at=T0 - timedelta(days=1),
            expires_at=expires_at,
        ),
    )


@dataclass(frozen=True)
class Case:
    name: str
    outcome: str
    codes: tuple[str, ...]
    rules: tuple[str, ...]
    suppressions: SuppressionState = field(default_factory=SuppressionState)
    consents: ConsentLedger = GRANTED
    policy: CampaignPolicy = SOLAR
    window: Window = field(default_factory=open_window)


CASES = [
    Case("callable", "CALL_READY", ("CALLABLE",), ("decision.callable",)),
    Case("opt-out", "SUPPRESSED", ("DNC_OPT_OUT",), ("dnc.company",), suppressions=dnc("OPT_OUT")),
    Case(
        "dnc said on a call",
        "SUPPRESSED",
        ("DNC_CALL_OUTCOME",),
        ("dnc.company",),
        suppressions=dnc("CALL_OUTCOME"),
    ),
    Case(
        "revocation suppression",
        "SUPPRESSED",
        ("DNC_CONSENT_REVOCATION",),
        ("dnc.revocation",),
        suppressions=dnc("CONSENT_REVOCATION"),
    ),
    Case(
        "national registry", "SUPPRESSED", ("DNC_REGISTRY",), ("dnc.registry",), suppressions=dnc("REGISTRY")
    ),
    Case("imported list", "SUPPRESSED", ("DNC_IMPORT",), ("dnc.import",), suppressions=dnc("IMPORT")),
    Case(
        "voice dnc stops autodialed calls",
        "SUPPRESSED",
        ("DNC_OPT_OUT",),
        ("dnc.company",),
        suppressions=dnc(scope="VOICE", category="CHANNEL_LIMITED"),
    ),
    Case(
        "sms dnc leaves calls alone",
        "CALL_READY",
        ("CALLABLE",),
        ("decision.callable",),
        suppressions=dnc(scope="SMS", category="CHANNEL_LIMITED"),
    ),
    Case(
        "dnc for this campaign",
        "SUPPRESSED",
        ("DNC_OPT_OUT",),
        ("dnc.company",),
        suppressions=dnc(scope="CAMPAIGN", campaign_id="solar-q4"),
    ),
    Case(
        "dnc for another campaign",
        "CALL_READY",
        ("CALLABLE",),
        ("decision.callable",),
        suppressions=dnc(scope="CAMPAIGN", campaign_id="insurance-renewals"),
    ),
    Case(
        "a temporary suppression from a call (rows before snoozes), still running",
        "SUPPRESSED",
        ("DNC_CALL_OUTCOME",),
        ("dnc.company",),
        suppressions=dnc("CALL_OUTCOME", category="TEMPORARY", expires_at=T0 + timedelta(days=1)),
    ),
    Case(
        "not now, over",
        "CALL_READY",
        ("CALLABLE",),
        ("decision.callable",),
        suppressions=dnc("CALL_OUTCOME", category="TEMPORARY", expires_at=T0),
    ),
    Case("consent revoked", "SUPPRESSED", ("CONSENT_REVOKED",), ("consent.revocation",), consents=REVOKED),
    Case(
        "consent revoked, campaign needs none",
        "SUPPRESSED",
        ("CONSENT_REVOKED",),
        ("consent.revocation",),
        consents=REVOKED,
        policy=RENEWALS,
    ),
    Case("consent missing", "SUPPRESSED", ("CONSENT_MISSING",), ("consent.required",), consents=NOTHING),
    Case(
        "consent missing, campaign needs none",
        "CALL_READY",
        ("CALLABLE",),
        ("decision.callable",),
        consents=NOTHING,
        policy=RENEWALS,
    ),
    Case("consent expired", "SUPPRESSED", ("CONSENT_EXPIRED",), ("consent.required",), consents=EXPIRED),
    Case(
        "consent expired, campaign needs none",
        "CALL_READY",
        ("CALLABLE",),
        ("decision.callable",),
        consents=EXPIRED,
        policy=RENEWALS,
    ),
    Case(
        "outside calling hours", "DEFERRED", ("OUTSIDE_CALL_WINDOW",), ("us.hours",), window=closed_window()
    ),
    Case("no legal window", "SUPPRESSED", ("NO_LEGAL_WINDOW",), ("us.hours",), window=NO_WINDOW),
    Case(
        "everything at once, dnc first",
        "SUPPRESSED",
        ("DNC_REGISTRY", "CONSENT_MISSING", "OUTSIDE_CALL_WINDOW"),
        ("dnc.registry", "consent.required", "us.hours"),
        suppressions=dnc("REGISTRY"),
        consents=NOTHING,
        window=closed_window(),
    ),
    Case(
        "revoked and outside hours, consent first",
        "SUPPRESSED",
        ("CONSENT_REVOKED", "OUTSIDE_CALL_WINDOW"),
        ("consent.revocation", "us.hours"),
        consents=REVOKED,
        window=closed_window(),
    ),
]


def run(case: Case) -> Decision:
    return decide(
        campaign_id=lead()["campaign_id"],
        phone=phone_info(),
        suppressions=case.suppressions,
        consents=case.consents,
        policy=case.policy,
        score=SCORE,
        window=case.window,
        now=T0,
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_decision_table(case: Case) -> None:
    decision = run(case)
    assert decision.outcome == case.outcome
    assert tuple(reason["code"] for reason in decision.reasons) == case.codes
    assert decision.rules_fired == case.rules
    assert (decision.score, decision.score_breakdown) == (SCORE.total, SCORE.breakdown)


def test_a_callable_lead_carries_its_window_and_consent_proof() -> None:
    window = open_window()
    decision = run(Case("", "", (), (), window=window))
    assert (decision.callable_from, decision.callable_until) == (window.opens_at, window.closes_at)
    assert "cert-1" in decision.reasons[0]["detail"]


def test_a_deferred_lead_is_callable_from_the_next_opening() -> None:
    window = closed_window()
    decision = run(Case("", "", (), (), window=window))
    assert (decision.callable_from, decision.callable_until) == (window.opens_at, window.closes_at)
    assert "America/New_York" in decision.reasons[0]["detail"]


@pytest.mark.parametrize("window", [closed_window(), NO_WINDOW], ids=["closed", "none"])
def test_a_suppressed_lead_has_no_window(window: Window) -> None:
    decision = run(Case("", "", (), (), suppressions=dnc(), window=window))
    assert (decision.callable_from, decision.callable_until) == (None, None)


def test_a_dnc_reason_names_the_suppression_its_scope_category_and_who_added_it() -> None:
    detail = run(Case("", "", (), (), suppressions=dnc(scope="CAMPAIGN", campaign_id="solar-q4"))).reasons[0][
        "detail"
    ]
    for part in ("sup-1", "CAMPAIGN solar-q4", "PERMANENT", "agent-7"):
        assert part in detail


@pytest.mark.parametrize("channel", ["VOICE", "SMS", "ANY"])
def test_an_autodialed_voice_grant_covers_voice_campaigns_only(channel: ConsentChannel) -> None:
    policy = CampaignPolicy("omni", channel=channel)
    decision = run(Case("", "", (), (), policy=policy))
    assert decision.outcome == ("CALL_READY" if channel == "VOICE" else "SUPPRESSED")


def test_rejected_duplicate_and_withdrawn_decisions() -> None:
    rejected = rejected_phone("PHONE_INVALID", "not a number: 'abc'")
    assert (rejected.outcome, rejected.rules_fired, rejected.score) == ("REJECTED", ("phone.valid",), None)
    assert rejected.reasons == (
        {"code": "PHONE_INVALID", "rule_id": "phone.valid", "detail": "not a number: 'abc'"},
    )

    dup = duplicate("L1")
    assert (dup.outcome, dup.rules_fired) == ("DUPLICATE", ("lead.dedupe",))
    assert "L1" in dup.reasons[0]["detail"]

    reasons = run(Case("", "", (), (), suppressions=dnc(), consents=REVOKED)).reasons
    gone = withdrawn(reasons, score=1.0, score_breakdown=())
    assert (gone.outcome, gone.rules_fired, gone.score) == (
        "WITHDRAWN",
        ("dnc.company", "consent.revocation"),
        1.0,
    )
