"""``process``: one input event applied to one number's state — the dispatch to each input's
handling, the idempotency guard, erasure, and the migration of rows stored before snoozes."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pipeline import topics
from pipeline.core.consents import apply_consent_change
from pipeline.core.decision import Decision
from pipeline.core.email_stage import erasure_emails
from pipeline.core.erasure import RULE_ERASURE, Erasure
from pipeline.core.frozen import replace
from pipeline.core.number.capture import on_lead
from pipeline.core.number.context import ProcessContext
from pipeline.core.number.emits import Emit, lead_decision, record_id
from pipeline.core.number.outcome import on_outcome
from pipeline.core.number.releases import on_release
from pipeline.core.number.withdraw import withdraw_blocked
from pipeline.core.number_state import NumberState
from pipeline.core.snooze_migration import migrate_not_now
from pipeline.core.suppressions import apply_opt_out, without_expired
from pipeline.events import CallOutcome, ConsentChanged, LeadCaptured, NumberEvent, OptOut, Reason, ReleaseDue


def process(
    state: NumberState, event: NumberEvent, ctx: ProcessContext
) -> tuple[NumberState, tuple[Emit, ...]]:
    """Apply one input event to the number's state; return the new state and the records to send.

    An event already applied (its event_id remembered) changes nothing and emits nothing. An event
    that is none of the four inputs raises ``ValueError``: the normalizer let through something
    it must not (the agent dead-letters it).
    """
    inner = event["event"]
    event_id = inner["event_id"]
    if state.erasure is not None:
        return state, _after_erasure(state.erasure, event, ctx)
    if state.leads.seen(event_id):
        return state, ()
    state = migrated(state, ctx.now)
    if event["input_topic"] == topics.OPT_OUT and cast(OptOut, inner)["action"] == "ERASE":
        return _erase(state, event, cast(OptOut, inner), ctx)
    if event["input_topic"] == topics.RELEASE_SCHEDULER:
        state, emits = on_release(state, event, cast(ReleaseDue, inner), ctx)
        return replace(state, leads=state.leads.remember(event_id)), emits
    kind = _input_kind(event)
    if kind == topics.LEAD_CAPTURED:
        state, emits = on_lead(state, event, cast(LeadCaptured, inner), ctx)
    elif kind == topics.OPT_OUT:
        opt_out = cast(OptOut, inner)
        suppressions = without_expired(apply_opt_out(state.suppressions, opt_out), ctx.now)
        state, emits = withdraw_blocked(replace(state, suppressions=suppressions), event, ctx)
    elif kind == topics.CONSENT_CHANGED:
        change = cast(ConsentChanged, inner)
        consents = apply_consent_change(state.consents, change)
        state, emits = withdraw_blocked(replace(state, consents=consents), event, ctx)
    else:
        state, emits = on_outcome(state, event, cast(CallOutcome, inner), ctx)
    return replace(state, leads=state.leads.remember(event_id)), emits


def migrated(state: NumberState, now: datetime) -> NumberState:
    """``state`` with NOT_NOW suppressions stored before snoozes existed turned into snoozes (and the
    leads they wrongly blocked freed for a re-decision); the same object when there is nothing to do."""
    suppressions, leads = migrate_not_now(state.suppressions, state.leads, now)
    if suppressions is state.suppressions:
        return state
    return replace(state, suppressions=suppressions, leads=leads)


def _erase(state: NumberState, event: NumberEvent, request: OptOut,
           ctx: ProcessContext) -> tuple[NumberState, tuple[Emit, ...]]:
    """Withdraw what is offered, tell the email stage to forget the number under every email its
    leads had, then keep nothing but the erasure marker."""
    erasure = Erasure(request["occurred_at"], request["event_id"], request["source"])
    marked = replace(state, erasure=erasure)
    _, withdrawals = withdraw_blocked(marked, event, ctx, extra=(erasure.reason(),))
    forget = tuple(Emit(topics.EMAIL_EVENTS, email, topics.NUMBER_EVENT_SCHEMA, event)
                   for email in erasure_emails(state.leads))
    return NumberState(erasure=erasure), (*withdrawals, *forget)


def _after_erasure(erasure: Erasure, event: NumberEvent, ctx: ProcessContext) -> tuple[Emit, ...]:
    """An event for an erased number: a lead is suppressed (its decision is the audit trail);
    nothing about it is stored. Ids stay deterministic, so a replay repeats the same records."""
    inner = event["event"]
    if event["input_topic"] != topics.LEAD_CAPTURED:
        return ()
    lead = cast(LeadCaptured, inner)
    reasons: tuple[Reason, ...] = (erasure.reason(),)
    decision = Decision("SUPPRESSED", reasons, (RULE_ERASURE,), None, (), None, None)
    decision_id = record_id(lead["event_id"], "decision", lead["lead_id"])
    return (lead_decision(ctx, event, lead["lead_id"], lead["campaign_id"], lead["source"], decision, decision_id),)


def _input_kind(event: NumberEvent) -> str:
    """Which input topic the event came from: ``input_topic`` when it names one, else its fields."""
    if event["input_topic"] in topics.INPUT_TOPICS:
        return event["input_topic"]
    inner = event["event"]
    if "lead_id" in inner and "attributes" in inner:
        return topics.LEAD_CAPTURED
    if "outcome" in inner:
        return topics.CALL_OUTCOME
    if "action" in inner and "purpose" in inner:
        return topics.CONSENT_CHANGED
    if "scope" in inner and "category" in inner:
        return topics.OPT_OUT
    known = ", ".join(topics.INPUT_TOPICS)
    raise ValueError(f"event {inner.get('event_id')!r} from {event['input_topic']!r} is none of {known}")
