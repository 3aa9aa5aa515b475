"""The decision about one lead: a pure function of (lead, number state, policy, score, window, now).

``decide`` evaluates every check, so the trace shows everything that stood in the way, and the
first failing check in this order decides (its reason comes first):

1. do-not-call: a suppression covering the campaign's channel and the lead's campaign → SUPPRESSED;
2. consent: REVOKED → SUPPRESSED, whatever the campaign (a revocation stops every campaign that
   relies on it, and one that relies on an EBR too); MISSING or EXPIRED → SUPPRESSED when the
   campaign requires consent;
3. calling hours: closed now but opening later → DEFERRED (callable from the next opening);
   no legal window at all → SUPPRESSED;
4. otherwise CALL_READY within the current window.

``rules_fired`` lists the rule id of every reason, deciding or not, once each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.core.campaigns import CampaignPolicy
from pipeline.core.consents import ConsentLedger, ConsentStatus, consent_status
from pipeline.core.scoring import Score
from pipeline.core.suppressions import Suppression, SuppressionSource, SuppressionState, blocking
from pipeline.core.window import Window
from pipeline.events import DecisionOutcome, PhoneInfo, Reason, ScoreContribution

RULE_CALLABLE = "decision.callable"
RULE_CONSENT_REQUIRED = "consent.required"
RULE_CONSENT_REVOKED = "consent.revocation"
RULE_PHONE_VALID = "phone.valid"
RULE_INPUT_LIMITS = "input.limits"
RULE_DEDUPE = "lead.dedupe"

# Reason code and rule id for a suppression, by what created it. Opt-outs and "do not call" said on
# a call are company-specific DNC requests (47 CFR 64.1200(d)).
_DNC_RULES: dict[SuppressionSource, tuple[str, str]] = {
    "OPT_OUT": ("DNC_OPT_OUT", "dnc.company"),
    "CALL_OUTCOME": ("DNC_CALL_OUTCOME", "dnc.company"),
    "CONSENT_REVOCATION": ("DNC_CONSENT_REVOCATION", "dnc.revocation"),
    "REGISTRY": ("DNC_REGISTRY", "dnc.registry"),
    "IMPORT": ("DNC_IMPORT", "dnc.import"),
}


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: DecisionOutcome
    reasons: tuple[Reason, ...]
    """Deciding reason first."""
    rules_fired: tuple[str, ...]
    score: float | None
    score_breakdown: tuple[ScoreContribution, ...]
    callable_from: datetime | None
    callable_until: datetime | None


def _fired(reasons: tuple[Reason, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reason["rule_id"] for reason in reasons))


def dnc_reason(suppression: Suppression) -> Reason:
    code, rule_id = _DNC_RULES[suppression.source]
    until = f" until {suppression.expires_at.isoformat()}" if suppression.expires_at is not None else ""
    campaign = f" {suppression.campaign_id}" if suppression.scope == "CAMPAIGN" else ""
    return {
        "code": code,
        "rule_id": rule_id,
        "detail": (
            f"suppression {suppression.suppression_id} ({suppression.scope}{campaign}, "
            f"{suppression.category}{until}) added by {suppression.added_by} "
            f"at {suppression.created_at.isoformat()}"
        ),
    }


def consent_reason(status: ConsentStatus, policy: CampaignPolicy) -> Reason | None:
    """Why consent stands in the way under ``policy``, or None when it does not."""
    if status.state == "REVOKED":
        return {"code": "CONSENT_REVOKED", "rule_id": RULE_CONSENT_REVOKED, "detail": status.detail}
    if not policy.requires_consent or status.state == "GRANTED":
        return None
    code = "CONSENT_MISSING" if status.state == "MISSING" else "CONSENT_EXPIRED"
    return {
        "code": code,
        "rule_id": RULE_CONSENT_REQUIRED,
        "detail": f"campaign {policy.campaign_id} requires consent: {status.detail}",
    }


def compliance_reasons(
    *,
    campaign_id: str,
    suppressions: SuppressionState,
    consents: ConsentLedger,
    policy: CampaignPolicy,
    now: datetime,
) -> tuple[Reason, ...]:
    """Every do-not-call and consent reason that forbids calling for ``campaign_id`` under ``policy``
    at ``now``; empty when none does. Used by ``decide`` and to withdraw offered leads."""
    return _compliance(campaign_id, suppressions, consents, policy, now)[0]


def _compliance(
    campaign_id: str,
    suppressions: SuppressionState,
    consents: ConsentLedger,
    policy: CampaignPolicy,
    now: datetime,
) -> tuple[tuple[Reason, ...], ConsentStatus]:
    found = blocking(suppressions, channel=policy.channel, campaign_id=campaign_id, now=now)
    status = consent_status(consents, purpose=policy.consent_purpose, channel=policy.channel, now=now)
    consent = consent_reason(status, policy)
    reasons = tuple(dnc_reason(s) for s in found)
    return ((*reasons, consent) if consent is not None else reasons), status


def _window_reason(window: Window, policy: CampaignPolicy, phone: PhoneInfo,
                   detail: str | None) -> Reason | None:
    if window.open_now:
        return None
    hours = f"{policy.call_start:%H:%M}-{policy.call_end:%H:%M} local in {', '.join(phone['time_zones'])}"
    if detail is not None:  # the rule pack's own account of which rule closed the window
        code = "NO_LEGAL_WINDOW" if window.opens_at is None else "OUTSIDE_CALL_WINDOW"
        return {"code": code, "rule_id": window.rule_id, "detail": detail}
    if window.opens_at is None:
        return {
            "code": "NO_LEGAL_WINDOW",
            "rule_id": window.rule_id,
            "detail": f"no instant is inside calling hours {hours}",
        }
    return {
        "code": "OUTSIDE_CALL_WINDOW",
        "rule_id": window.rule_id,
        "detail": f"outside calling hours {hours}; next window opens {window.opens_at.isoformat()}",
    }


def decide(
    *,
    campaign_id: str,
    phone: PhoneInfo,
    suppressions: SuppressionState,
    consents: ConsentLedger,
    policy: CampaignPolicy,
    score: Score,
    window: Window,
    now: datetime,
    window_detail: str | None = None,
    restrictions: tuple[Reason, ...] = (),
    cap: tuple[Reason, datetime] | None = None,
    exemptions: tuple[Reason, ...] = (),
) -> Decision:
    """Decide whether ``lead`` may be called; see the module doc for the order of checks.

    ``restrictions`` are further reasons that forbid the call outright (e.g. a state's wireless
    rule); ``cap`` is a frequency cap that is reached now, with the instant it frees up.
    """
    blockers, status = _compliance(campaign_id, suppressions, consents, policy, now)
    blockers = (*blockers, *restrictions)
    timing = _window_reason(window, policy, phone, window_detail)
    if timing is None and cap is not None:
        timing = cap[0]
        # Deferred until the cap frees up, inside a legal window (the release re-checks the window).
        free = max(cap[1], window.opens_at or cap[1])
        closes = window.closes_at if window.closes_at is not None and window.closes_at > free else None
        window = Window(False, free, closes, cap[0]["rule_id"])
    outcome: DecisionOutcome
    callable_from = callable_until = None
    if blockers or (timing is not None and timing["code"] == "NO_LEGAL_WINDOW"):
        outcome = "SUPPRESSED"
    elif timing is not None:
        outcome = "DEFERRED"
        callable_from, callable_until = window.opens_at, window.closes_at
    else:
        outcome = "CALL_READY"
        callable_from, callable_until = window.opens_at, window.closes_at
    reasons = (*blockers, timing) if timing is not None else blockers
    if outcome == "CALL_READY":
        until = window.closes_at.isoformat() if window.closes_at is not None else "unknown"
        consent = status.detail if policy.requires_consent or status.state == "GRANTED" else (
            f"not required by campaign {policy.campaign_id}"
        )
        reasons = ({
            "code": "CALLABLE",
            "rule_id": RULE_CALLABLE,
            "detail": f"callable until {until} ({window.rule_id}); consent: {consent}",
        },)
    reasons = (*reasons, *exemptions)  # e.g. an EBR lifting a registry block: part of the trace
    return Decision(
        outcome=outcome,
        reasons=reasons,
        rules_fired=_fired(reasons),
        score=score.total,
        score_breakdown=score.breakdown,
        callable_from=callable_from,
        callable_until=callable_until,
    )


def rejected_phone(code: str, detail: str) -> Decision:
    """A lead whose phone number cannot be called at all (unparseable, invalid, wrong type)."""
    reasons: tuple[Reason, ...] = ({"code": code, "rule_id": RULE_PHONE_VALID, "detail": detail},)
    return Decision("REJECTED", reasons, _fired(reasons), None, (), None, None)


def rejected_fields(problems: list[tuple[str, str]]) -> Decision:
    """A lead with fields over their limits (:mod:`pipeline.core.limits`): one reason per field."""
    reasons: tuple[Reason, ...] = tuple(
        {"code": "FIELD_TOO_LONG", "rule_id": RULE_INPUT_LIMITS, "detail": f"{path}: {why}"} for path, why in problems)
    return Decision("REJECTED", reasons, _fired(reasons), None, (), None, None)


def duplicate(of_lead_id: str, detail: str | None = None) -> Decision:
    """A lead already known for this number (same lead id, or same campaign recently)."""
    reasons: tuple[Reason, ...] = ({
        "code": "DUPLICATE_LEAD",
        "rule_id": RULE_DEDUPE,
        "detail": detail or f"duplicate of lead {of_lead_id}",
    },)
    return Decision("DUPLICATE", reasons, _fired(reasons), None, (), None, None)


def withdrawn(
    reasons: tuple[Reason, ...], *, score: float | None, score_breakdown: tuple[ScoreContribution, ...]
) -> Decision:
    """A lead offered earlier that may no longer be called, for ``reasons``."""
    return Decision("WITHDRAWN", reasons, _fired(reasons), score, score_breakdown, None, None)
