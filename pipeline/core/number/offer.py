"""Deciding one lead now — a new one, or a waiting one released — and offering it when callable: the
decision, the call-ready READY, the score at the decision, and when the lead is looked at again."""

from __future__ import annotations

from datetime import datetime

from pipeline import topics
from pipeline.core import scoring
from pipeline.core.consents import ConsentStatus
from pipeline.core.decision import Decision
from pipeline.core.email import check_email
from pipeline.core.evaluation import Evaluation, evaluate
from pipeline.core.frozen import replace
from pipeline.core.leads import LeadRecord, LeadStatus
from pipeline.core.lifecycle import LifecyclePolicy
from pipeline.core.number.context import ProcessContext
from pipeline.core.number.emits import Emit, lead_decision, record_id
from pipeline.core.number_state import NumberState
from pipeline.core.quality import quality_flags
from pipeline.events import CallReady, NumberEvent, PhoneInfo, Reason

WAITING_STATUSES: frozenset[LeadStatus] = frozenset({"NEW", "IN_PROGRESS", "CALLBACK"})
"""Statuses of a lead that may be waiting (``deferred_until``) for a release: a window opening, a
cap freeing up, a retry or a callback."""

_STATUS_AFTER_DECISION: dict[str, LeadStatus] = {
    "CALL_READY": "IN_PROGRESS",
    "DEFERRED": "NEW",
    "SUPPRESSED": "SUPPRESSED",
}


def decide_lead(state: NumberState, event: NumberEvent, record: LeadRecord, decision_id: str, ctx: ProcessContext, *,
              flags: tuple[str, ...] | None = None,
              extra: tuple[Reason, ...] = ()) -> tuple[NumberState, tuple[Emit, ...]]:
    """Decide ``record`` now (a new lead, or a deferred one being released) and offer it when callable.
    ``flags``: its data-quality flags when already known (a new lead's were computed for scoring);
    ``extra``: reasons to put first in the trace (why the lead is decided again).

    A "not now" snooze of the lead's campaign defers it to the snooze's end. A lead waiting for a
    callback is offered with its promise (``callback``), callable from the time asked for, with the
    callback priority boost; an offer expires at its window's end plus the lifecycle's grace."""
    phone = event["phone"]
    lead_id, campaign_id = record.lead_id, record.campaign_id
    input_event_id = event["event"]["event_id"]
    policy = ctx.campaigns.policy_for(campaign_id)
    found = evaluate(state, phone, policy, pack=ctx.rule_pack, registries=ctx.registries, at=ctx.now,
                     address=(record.address_region, record.address_country))
    lead_score = decision_score(record, phone, found.consent, _seconds_left(found, ctx.now), ctx)
    decision = found.decision(lead_score)
    promise = record.callback
    if decision.outcome == "CALL_READY" and promise is not None:
        # The legal window opened before the time asked for, or the release came a tick after it.
        decision = replace(decision, callable_from=max(decision.callable_from or ctx.now, promise["requested_at"]))
    if extra:
        reasons = (*extra, *decision.reasons)
        decision = replace(decision, reasons=reasons, rules_fired=tuple(dict.fromkeys(r["rule_id"] for r in reasons)))
    status = _status_after_decision(record.status, decision.outcome)
    if flags is None:
        flags = lead_quality_flags(record.first_name, record.last_name, record.email, phone, ctx.disposable_domains)
    emits = [lead_decision(ctx, event, lead_id, campaign_id, record.source, decision, decision_id, flags,
                            lead_status=status, attempts=record.attempts)]
    offered = decision.outcome == "CALL_READY"
    if offered:
        ready: CallReady = {
            "event_id": record_id(input_event_id, "call-ready", lead_id),
            "occurred_at": ctx.now,
            "action": "READY",
            "phone_e164": phone["phone_e164"],
            "lead_id": lead_id,
            "campaign_id": campaign_id,
            "priority": lead_score.priority + (ctx.lifecycle.callback_priority_boost if promise is not None else 0),
            "score": lead_score.total,
            "score_breakdown": list(lead_score.breakdown),
            "callable_from": decision.callable_from,
            "callable_until": decision.callable_until,
            "seconds_left": _seconds_left(found, ctx.now),
            "time_zones": list(phone["time_zones"]),
            "reasons": list(decision.reasons),
            "decision_id": decision_id,
            "rule_pack_version": ctx.rule_pack_version,
            "callback": promise,
        }
        emits.append(Emit(topics.CALL_READY, phone["phone_e164"], topics.CALL_READY, ready))
    record = replace(
        record,
        status=status,
        offered=offered,
        last_decision_id=decision_id,
        deferred_until=_waits_until(decision, ctx.lifecycle),
        score=lead_score.total,
        score_breakdown=lead_score.breakdown,
    ).with_score_mark({"decided_at": ctx.now, "score": decision.score, "decision_id": decision_id,
                       "outcome": decision.outcome})
    return replace(state, leads=state.leads.put(record)), tuple(emits)


def _waits_until(decision: Decision, policy: LifecyclePolicy) -> datetime | None:
    """When the release scheduler looks at the lead again: a DEFERRED one when it becomes callable,
    an offered one when its offer expires (window end plus grace, for the outcome to arrive)."""
    if decision.outcome == "DEFERRED":
        return decision.callable_from
    if decision.outcome == "CALL_READY" and decision.callable_until is not None:
        return decision.callable_until + policy.offer_grace
    return None


def _status_after_decision(status: LeadStatus, outcome: str) -> LeadStatus:
    """A deferred lead keeps a waiting status it had (a retry stays IN_PROGRESS, a callback stays
    CALLBACK while it waits for the window); other decisions set theirs."""
    if outcome == "DEFERRED" and status in WAITING_STATUSES:
        return status
    return _STATUS_AFTER_DECISION[outcome]


def _seconds_left(found: Evaluation, now: datetime) -> int:
    """Whole seconds the call may still be made in, from ``now``; 0 when it may not be made now."""
    if not found.allowed or found.callable_until is None:
        return 0
    return max(0, int((found.callable_until - now).total_seconds()))


def decision_score(record: LeadRecord, phone: PhoneInfo, consent: ConsentStatus | None, seconds_left: int,
                    ctx: ProcessContext) -> scoring.Score:
    """The lead's score at a decision now: its capture score plus decay and contactability (the
    ``seconds_left`` it may be called in, 0 when nothing is offered; its attempts as they stand;
    the consent on record)."""
    granted = consent is not None and consent.state == "GRANTED" and consent.entry is not None
    granted_at = consent.entry.effective_at if granted and consent is not None and consent.entry else None
    return scoring.at_decision(
        scoring.Score(record.score or 0.0, record.score_breakdown), ctx.scoring_model, now=ctx.now,
        captured_at=record.captured_at, seconds_left=seconds_left, attempts=record.attempts,
        line_type=phone["line_type"], consent_granted_at=granted_at,
    )


def lead_quality_flags(first_name: str | None, last_name: str | None, email: str | None,
                      phone: PhoneInfo, disposable_domains: frozenset[str]) -> tuple[str, ...]:
    return quality_flags(first_name, last_name, check_email(email, disposable_domains), phone)
