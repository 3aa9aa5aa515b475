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

``decide`` judges from the pieces it is given (tests use it so); the pipeline and the dial-time
check judge through ``pipeline.core.evaluation.evaluate``, which gathers every piece for a number,
a campaign and an instant and ends in :func:`conclude`, so both say the same thing in the same
words. Details speak of the campaign's channel: calls, texts, or calls and texts (``contact_noun``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.core.campaigns import CampaignPolicy
from pipeline.core.consents import ConsentLedger, ConsentStatus, consent_status
from pipeline.core.reasons import ReasonCode, reason, reason_code
from pipeline.core.rulepack import WindowVerdict
from pipeline.core.scoring import Score
from pipeline.core.suppressions import Suppression, SuppressionSource, SuppressionState, blocking
from pipeline.core.window import Window
from pipeline.events import ConsentChannel, DecisionOutcome, PhoneInfo, Reason, ScoreContribution

RULE_CALLABLE = "decision.callable"
RULE_CONSENT_REQUIRED = "consent.required"
RULE_CONSENT_REVOKED = "consent.revocation"
RULE_PHONE_VALID = "phone.valid"
RULE_INPUT_LIMITS = "input.limits"
RULE_DEDUPE = "lead.dedupe"
RULE_COMPANY_DNC = "dnc.company"

# Reason code and rule id for a suppression, by what created it. Opt-outs and "do not call" said on
# a call are company-specific DNC requests (47 CFR 64.1200(d)); the lifecycle's decision closing a
# lead on a DO_NOT_CALL outcome uses the same code and rule id (one fact, one name).
_DNC_RULES: dict[SuppressionSource, tuple[ReasonCode, str]] = {
    "OPT_OUT": ("DNC_OPT_OUT", RULE_COMPANY_DNC),
    "CALL_OUTCOME": ("DNC_CALL_OUTCOME", RULE_COMPANY_DNC),
    "CONSENT_REVOCATION": ("DNC_CONSENT_REVOCATION", "dnc.revocation"),
    "REGISTRY": ("DNC_REGISTRY", "dnc.registry"),
    "IMPORT": ("DNC_IMPORT", "dnc.import"),
}

_NOUNS: dict[ConsentChannel, str] = {"VOICE": "calls", "AUTODIALED_VOICE": "calls", "SMS": "texts",
                                     "ANY": "calls and texts"}


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


def contact_noun(channel: ConsentChannel) -> str:
    """What a campaign on ``channel`` makes: "calls", "texts" or "calls and texts"."""
    return _NOUNS[channel]


def dnc_reason(suppression: Suppression) -> Reason:
    code, rule_id = _DNC_RULES[suppression.source]
    until = f" until {suppression.expires_at.isoformat()}" if suppression.expires_at is not None else ""
    campaign = f" {suppression.campaign_id}" if suppression.scope == "CAMPAIGN" else ""
    return reason(code, rule_id, (
        f"suppression {suppression.suppression_id} ({suppression.scope}{campaign}, "
        f"{suppression.category}{until}) added by {suppression.added_by} "
        f"at {suppression.created_at.isoformat()}"
    ))


def consent_reason(status: ConsentStatus, policy: CampaignPolicy) -> Reason | None:
    """Why consent stands in the way under ``policy``, or None when it does not."""
    if status.state == "REVOKED":
        return reason("CONSENT_REVOKED", RULE_CONSENT_REVOKED, status.detail)
    if not policy.requires_consent or status.state == "GRANTED":
        return None
    code: ReasonCode = "CONSENT_MISSING" if status.state == "MISSING" else "CONSENT_EXPIRED"
    return reason(code, RULE_CONSENT_REQUIRED, f"campaign {policy.campaign_id} requires consent: {status.detail}")


def compliance_reasons(
    *,
    campaign_id: str,
    suppressions: SuppressionState,
    consents: ConsentLedger,
    policy: CampaignPolicy,
    now: datetime,
) -> tuple[Reason, ...]:
    """Every do-not-call and consent reason that forbids calling for ``campaign_id`` under ``policy``
    at ``now`` (revocations covering every channel); empty when none does."""
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


def window_reason(verdict: WindowVerdict, policy: CampaignPolicy) -> Reason | None:
    """Why the legal window (the rule pack's verdict) stops the campaign's calls or texts now, or
    None when it is open."""
    window = verdict.window
    if window.open_now:
        return None
    code: ReasonCode = "NO_LEGAL_WINDOW" if window.opens_at is None else "OUTSIDE_CALL_WINDOW"
    return reason(code, verdict.deciding_rule, f"{contact_noun(policy.channel)} not allowed: {verdict.detail}")


def callable_reason(until: datetime | None, rule_id: str, consent: ConsentStatus | None,
                    policy: CampaignPolicy) -> str:
    """The detail of a CALLABLE reason: until when, by which rule, on what consent."""
    if consent is not None and (policy.requires_consent or consent.state == "GRANTED"):
        on = consent.detail
    else:
        on = f"not required by campaign {policy.campaign_id}"
    return (f"{contact_noun(policy.channel)} allowed until {until.isoformat() if until else 'unknown'} "
            f"({rule_id}); consent: {on}")


def conclude(*, blockers: tuple[Reason, ...], timing: tuple[Reason, ...], callable_from: datetime | None,
             callable_until: datetime | None, callable_detail: str, exemptions: tuple[Reason, ...],
             score: Score) -> Decision:
    """The decision from what stands in the way: ``blockers`` (forbid outright) → SUPPRESSED, as does
    a ``timing`` reason NO_LEGAL_WINDOW; other ``timing`` reasons (a snooze, the window closed, a cap
    reached) → DEFERRED from ``callable_from``; nothing → CALL_READY with one CALLABLE reason.
    Reasons: the blockers, then the timing reasons, then ``exemptions`` (lifted blocks and counsel
    overrides relied on: part of the trace)."""
    outcome: DecisionOutcome
    if blockers or any(t["code"] == "NO_LEGAL_WINDOW" for t in timing):
        outcome, callable_from, callable_until = "SUPPRESSED", None, None
    elif timing:
        outcome = "DEFERRED"
    else:
        outcome = "CALL_READY"
    reasons = (*blockers, *timing)
    if outcome == "CALL_READY":
        reasons = (reason("CALLABLE", RULE_CALLABLE, callable_detail),)
    reasons = (*reasons, *exemptions)
    return Decision(outcome, reasons, _fired(reasons), score.total, score.breakdown, callable_from, callable_until)


def _window_reason(window: Window, policy: CampaignPolicy, phone: PhoneInfo,
                   detail: str | None) -> Reason | None:
    if window.open_now:
        return None
    noun = contact_noun(policy.channel)
    hours = f"{policy.call_start:%H:%M}-{policy.call_end:%H:%M} local in {', '.join(phone['time_zones'])}"
    if detail is not None:  # the rule pack's own account of which rule closed the window
        code: ReasonCode = "NO_LEGAL_WINDOW" if window.opens_at is None else "OUTSIDE_CALL_WINDOW"
        return reason(code, window.rule_id, f"{noun} not allowed: {detail}")
    if window.opens_at is None:
        return reason("NO_LEGAL_WINDOW", window.rule_id, f"{noun} not allowed: no instant is inside the hours {hours}")
    return reason("OUTSIDE_CALL_WINDOW", window.rule_id,
                  f"{noun} not allowed: outside the hours {hours}; next window opens {window.opens_at.isoformat()}")


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
    """Decide whether ``lead`` may be called from the pieces given; see the module doc for the
    order of checks. (The pipeline decides through ``pipeline.core.evaluation``.)

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
    return conclude(blockers=blockers, timing=(timing,) if timing is not None else (), callable_from=window.opens_at,
                    callable_until=window.closes_at,
                    callable_detail=callable_reason(window.closes_at, window.rule_id, status, policy),
                    exemptions=exemptions, score=score)


def rejected_phone(code: str, detail: str) -> Decision:
    """A lead whose phone number cannot be called at all (unparseable, invalid, wrong type)."""
    reasons: tuple[Reason, ...] = (reason(reason_code(code), RULE_PHONE_VALID, detail),)
    return Decision("REJECTED", reasons, _fired(reasons), None, (), None, None)


def rejected_fields(problems: list[tuple[str, str]]) -> Decision:
    """A lead with fields over their limits (:mod:`pipeline.core.limits`): one reason per field."""
    reasons: tuple[Reason, ...] = tuple(
        reason("FIELD_TOO_LONG", RULE_INPUT_LIMITS, f"{path}: {why}") for path, why in problems)
    return Decision("REJECTED", reasons, _fired(reasons), None, (), None, None)


def duplicate(of_lead_id: str, detail: str | None = None) -> Decision:
    """A lead already known for this number (same lead id, or same campaign recently)."""
    reasons: tuple[Reason, ...] = (reason("DUPLICATE_LEAD", RULE_DEDUPE, detail or f"duplicate of lead {of_lead_id}"),)
    return Decision("DUPLICATE", reasons, _fired(reasons), None, (), None, None)


def withdrawn(
    reasons: tuple[Reason, ...], *, score: float | None, score_breakdown: tuple[ScoreContribution, ...]
) -> Decision:
    """A lead offered earlier that may no longer be called, for ``reasons``."""
    return Decision("WITHDRAWN", reasons, _fired(reasons), score, score_breakdown, None, None)
