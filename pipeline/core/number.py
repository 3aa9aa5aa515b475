"""Everything that happens to one phone number: ``process(state, event, ctx) -> (state, emits)``.

The Faust agent for the number-events stream reads the number's three table values into a
``NumberState``, calls ``process`` and writes the three values back, then sends the emits. This
module does no I/O and reads no clock: a replay of the same (state, event, ctx) gives the same
state and the same records, ids included (uuid5 of the input event id), so consumers can dedupe.

What each input does:

- **lead-captured**: its inline consent joins the ledger. A lead already known by lead_id, or
  another live lead of the same campaign captured within the campaign's ``duplicate_window_days``,
  gives a DUPLICATE decision, and its id is merged into the earlier lead's history
  (``LeadRecord.merged``); nothing else. A lead the email stage marked ``duplicate_of`` (same
  email, another number; ``pipeline.core.email_stage``) arrives on the original lead's number and
  is a DUPLICATE there, or is sent on to its own number. Otherwise the lead is scored (capture
  score, then ``scoring.at_decision`` at each decision) and judged by
  ``pipeline.core.evaluation.evaluate`` — the one rule evaluation the dial-time check shares: a
  lead-decision (with the lead's data-quality flags) always, plus a call-ready READY when
  CALL_READY.
- **opt-out** / **consent-changed**: the state changes; then every offered lead that may no longer
  be called (the same evaluation, the window aside: an offer carries its own) gets a call-ready
  WITHDRAW and a lead-decision WITHDRAWN.
- **call-outcome**: the attempt is counted on its lead (a stub when the lead is unknown) and the
  offer is over (the dialer worked it). The lead moves through the lifecycle
  (``pipeline.core.lifecycle.transition``, answers judged by ``pipeline.core.qualification``): a
  retry or callback is scheduled (``deferred_until``; a callback keeps its promise — when, which
  agent, what was said — for its re-offer) with a lead-decision DEFERRED, or the lead is closed
  (QUALIFIED, REFUSED, DISQUALIFIED, INACTIVE, NURTURE) with a lead-decision CLOSED. Every outcome
  leaves a lead-decision: one for a closed lead, or a lead never captured here, is IGNORED_CLOSED
  (counted, nothing else moves). DO_NOT_CALL adds a suppression; NOT_NOW snoozes the lead's
  campaign for the number (``pipeline.core.snooze``); both withdraw the offers they cover.
  DISCONNECTED marks the number non-working (no offers until a call reaches someone or the recheck
  period ends); a lead reaching QUALIFIED (or NURTURE) sends one qualified-lead, ever.
- **release** (from the app's release scheduler): a waiting lead whose ``deferred_until`` came —
  window opening, cap freed, snooze over, retry or callback due — is decided again like a new
  lead, every compliance check included (a callback outside the legal window is DEFERRED to its
  opening). An offered lead's ``deferred_until`` is its window's end plus ``offer_grace``: if no
  outcome came by then the offer expired unworked, and the lead is re-offered at the next window
  (no attempt counted) or, after ``max_expired_offers`` re-offers in a row, closed STALE.

Lead statuses: NEW (not called; DEFERRED keeps it NEW) → IN_PROGRESS (offered, or waiting for a
retry) → CALLBACK (waiting for a callback) → closed: QUALIFIED, REFUSED, DISQUALIFIED, INACTIVE,
NURTURE, STALE. SUPPRESSED: a decision or withdrawal found it may not be called. A waiting lead
keeps its status while DEFERRED by the window, cap or snooze.

Rows written before snoozes existed hold a NOT_NOW as a suppression; ``process`` migrates them the
first time the number is touched (``pipeline.core.snooze_migration.migrate_not_now``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from pipeline import topics
from pipeline.core import qualification as qual
from pipeline.core import scoring
from pipeline.core.campaigns import CampaignBook
from pipeline.core.consents import ConsentLedger, ConsentStatus, apply_consent_change, consent_status, grant_from_lead
from pipeline.core.decision import Decision, duplicate, withdrawn
from pipeline.core.email import check_email
from pipeline.core.email_stage import erasure_emails
from pipeline.core.erasure import RULE_ERASURE, Erasure
from pipeline.core.evaluation import Evaluation, evaluate
from pipeline.core.frozen import replace
from pipeline.core.leads import LeadRecord, LeadStatus, NumberLeads, stub
from pipeline.core.lifecycle import (
    CLOSED_STATUSES,
    LifecyclePolicy,
    Transition,
    expire_offer,
    transition,
)
from pipeline.core.number_state import NumberState as NumberState  # re-exported: the state process() takes
from pipeline.core.outcomes import contact_kind
from pipeline.core.quality import quality_flags
from pipeline.core.reasons import reason
from pipeline.core.registries import NO_REGISTRIES, Registries
from pipeline.core.rulepack import RulePack
from pipeline.core.snooze import snooze_from_outcome, with_snooze
from pipeline.core.snooze_migration import migrate_not_now
from pipeline.core.suppressions import (
    add,
    apply_opt_out,
    suppression_from_outcome,
    without_expired,
)
from pipeline.events import (
    CallbackPromise,
    CallOutcome,
    CallOutcomeCode,
    CallReady,
    ConsentChanged,
    DecisionOutcome,
    LeadCaptured,
    LeadDecision,
    NumberEvent,
    OptOut,
    PhoneInfo,
    QualificationCheck,
    QualifiedLead,
    Reason,
    ReleaseDue,
)

_IDS = uuid.UUID("6f1d7c0e-3b1a-5c47-9a8e-2f4b6d1e0c55")
"""Namespace of the uuid5 ids of emitted records. Never change it: replays must give the same ids."""
_ID_PREFIX = _IDS.bytes

WAITING_STATUSES: frozenset[LeadStatus] = frozenset({"NEW", "IN_PROGRESS", "CALLBACK"})
"""Statuses of a lead that may be waiting (``deferred_until``) for a release: a window opening, a
cap freeing up, a retry or a callback."""

_STATUS_AFTER_DECISION: dict[str, LeadStatus] = {
    "CALL_READY": "IN_PROGRESS",
    "DEFERRED": "NEW",
    "SUPPRESSED": "SUPPRESSED",
}


@dataclass(frozen=True, slots=True)
class ProcessContext:
    now: datetime
    rule_pack_version: str
    campaigns: CampaignBook
    scoring_rules: tuple[scoring.ScoringRule, ...]
    rule_pack: RulePack
    """The compliance rules; ``rule_pack_version`` is stamped on decisions (the app sets it to
    ``rule_pack.version``)."""
    lifecycle: LifecyclePolicy
    """Retry delays and attempt limits per outcome (``pipeline.core.lifecycle``)."""
    qualification: qual.Framework
    """The qualification framework judging a call's answers."""
    disposable_domains: frozenset[str]
    """Throwaway-inbox email domains (``pipeline.core.email``): a data-quality flag and a scoring fact."""
    registries: Registries = NO_REGISTRIES
    """National do-not-call registries (read-only reference data; the worker hands in its
    ``pipeline.registry.check.RegistrySet``)."""
    scoring_model: scoring.ScoringModel = field(default_factory=scoring.ScoringModel)
    """Decision-time scoring (temperature, speed-to-lead decay, contactability); empty: off."""


@dataclass(frozen=True, slots=True)
class Emit:
    """One record to send: ``record`` has every field of ``schemas/<schema>.avsc``."""

    topic: str
    key: str
    schema: str
    record: Mapping[str, object]


def record_id(input_event_id: str, kind: str, lead_id: str) -> str:
    """The id of a record emitted for ``lead_id`` because of ``input_event_id``; stable across replays.

    ``str(uuid.uuid5(_IDS, f"{input_event_id}/{kind}/{lead_id}"))``, computed without building a
    ``UUID`` (a third of the time; ids are output ids, so the value must not change)."""
    name = f"{input_event_id}/{kind}/{lead_id}".encode()
    # SHA-1 is what uuid5 is defined with (RFC 4122); an id, not a security function.
    digest = bytearray(hashlib.sha1(_ID_PREFIX + name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


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
        state, emits = _on_release(state, event, cast(ReleaseDue, inner), ctx)
        return replace(state, leads=state.leads.remember(event_id)), emits
    kind = _input_kind(event)
    if kind == topics.LEAD_CAPTURED:
        state, emits = _on_lead(state, event, cast(LeadCaptured, inner), ctx)
    elif kind == topics.OPT_OUT:
        opt_out = cast(OptOut, inner)
        suppressions = without_expired(apply_opt_out(state.suppressions, opt_out), ctx.now)
        state, emits = _withdraw_blocked(replace(state, suppressions=suppressions), event, ctx)
    elif kind == topics.CONSENT_CHANGED:
        change = cast(ConsentChanged, inner)
        consents = apply_consent_change(state.consents, change)
        state, emits = _withdraw_blocked(replace(state, consents=consents), event, ctx)
    else:
        state, emits = _on_outcome(state, event, cast(CallOutcome, inner), ctx)
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
    _, withdrawals = _withdraw_blocked(marked, event, ctx, extra=(erasure.reason(),))
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
    return (_lead_decision(ctx, event, lead["lead_id"], lead["campaign_id"], lead["source"], decision, decision_id),)


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


# --- lead-captured -------------------------------------------------------------------------------


def _on_lead(
    state: NumberState, event: NumberEvent, lead: LeadCaptured, ctx: ProcessContext
) -> tuple[NumberState, tuple[Emit, ...]]:
    lead_id, campaign_id, source = lead["lead_id"], lead["campaign_id"], lead["source"]
    decision_id = record_id(lead["event_id"], "decision", lead_id)
    phone = event["phone"]
    window = ctx.campaigns.policy_for(campaign_id).duplicate_window
    if event["duplicate_of"] is not None:
        return _on_email_duplicate(state, event, lead, event["duplicate_of"], window, decision_id, ctx)
    consents = grant_from_lead(state.consents, lead)
    state = replace(state, consents=consents)
    found = _duplicate_of(state.leads, lead, window)
    if found is not None:
        known, original = found
        flags = _quality_flags(lead["first_name"], lead["last_name"], lead["email"], phone, ctx.disposable_domains)
        state = _merge(state, original, lead_id)
        return state, (_lead_decision(ctx, event, lead_id, campaign_id, source, known, decision_id, flags),)

    facts = scoring.lead_facts(lead, phone, ctx.disposable_domains)
    lead_score = scoring.capture_score(facts, ctx.scoring_rules, ctx.scoring_model)
    address = lead["address"]
    consent = lead["consent"]
    record = LeadRecord(
        lead_id=lead_id,
        campaign_id=campaign_id,
        source=source,
        status="NEW",
        captured_at=lead["occurred_at"],
        first_name=lead["first_name"],
        last_name=lead["last_name"],
        email=lead["email"],
        consent_certificate_id=consent["certificate_id"] if consent is not None else None,
        score=lead_score.total,
        score_breakdown=lead_score.breakdown,
        address_region=address["region"] if address else None,
        address_country=address["country"] if address else None,
    )
    return _evaluate(state, event, record, decision_id, ctx, flags=scoring.quality_flags_of(facts))


def _evaluate(state: NumberState, event: NumberEvent, record: LeadRecord, decision_id: str, ctx: ProcessContext, *,
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
    lead_score = _decision_score(record, phone, found.consent, _seconds_left(found, ctx.now), ctx)
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
        flags = _quality_flags(record.first_name, record.last_name, record.email, phone, ctx.disposable_domains)
    emits = [_lead_decision(ctx, event, lead_id, campaign_id, record.source, decision, decision_id, flags,
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


def _decision_score(record: LeadRecord, phone: PhoneInfo, consent: ConsentStatus | None, seconds_left: int,
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


def _quality_flags(first_name: str | None, last_name: str | None, email: str | None,
                   phone: PhoneInfo, disposable_domains: frozenset[str]) -> tuple[str, ...]:
    return quality_flags(first_name, last_name, check_email(email, disposable_domains), phone)


def due_releases(leads: NumberLeads, now: datetime) -> tuple[ReleaseDue, ...]:
    """Release events for the leads of one number whose wait is over at ``now``: deferred by a
    decision (window, cap, snooze), scheduled by the lifecycle (retry, callback), or offered with
    an offer that expired (window end plus grace, no outcome).

    Ids are derived from the lead and the instant it waits for, so scanning again before the
    release is applied sends the same event again and ``process`` applies it once.
    """
    return tuple(
        {"event_id": record_id(_release_key(r.deferred_until, r.attempts, r.offered, r.expired_offers), "release",
                               r.lead_id),
         "occurred_at": now, "lead_id": r.lead_id, "due_at": r.deferred_until}
        for r in leads.leads
        if r.deferred_until is not None and r.deferred_until <= now and _waits(r)
    )


def next_release_at(leads: NumberLeads) -> datetime | None:
    """The earliest instant one of the number's leads waits for (what ``due_releases`` would release
    first), or None when none waits: the release scheduler's index, so it never scans rows."""
    return min((r.deferred_until for r in leads.leads if r.deferred_until is not None and _waits(r)), default=None)


def _waits(record: LeadRecord) -> bool:
    return record.status in WAITING_STATUSES


def _release_key(due: datetime, attempts: int, offered: bool, expired_offers: int) -> str:
    # The attempt count tells apart two waits for the same instant (a callback asked again for a
    # time already used): the id is the number's idempotency key, a repeat would be dropped as seen.
    # An offer's expiry is another kind of wait; waits that existed before offers expired keep their ids.
    key = f"release/{due.isoformat()}" + (f"/{attempts}" if attempts else "")
    return f"{key}/expiry/{expired_offers}" if offered else key


def _on_release(state: NumberState, event: NumberEvent, release: ReleaseDue,
                ctx: ProcessContext) -> tuple[NumberState, tuple[Emit, ...]]:
    """Re-decide a waiting lead whose wait is over (every compliance check runs again: a callback
    outside the legal window is DEFERRED to its opening), or handle an offer that expired
    unworked; a release that no longer matches the lead's wait does nothing."""
    record = state.leads.get(release["lead_id"])
    if (record is None or record.status not in WAITING_STATUSES or record.deferred_until is None
            or not _same_millisecond(record.deferred_until, release["due_at"]) or record.deferred_until > ctx.now):
        return state, ()
    decision_id = record_id(release["event_id"], "decision", record.lead_id)
    if not record.offered:
        return _evaluate(state, event, record, decision_id, ctx)
    expiry = expire_offer(record, ctx.lifecycle, record.deferred_until - ctx.lifecycle.offer_grace)
    record = replace(record, offered=False, deferred_until=None, expired_offers=expiry.expired_offers)
    if not expiry.stale:  # re-offered at the next window: nobody called, so no attempt is counted
        return _evaluate(state, event, record, decision_id, ctx, extra=(expiry.reason,))
    # The offer's own callable_until already ended it for dialers: no WITHDRAW is needed.
    record = replace(record, status="STALE", last_decision_id=decision_id)
    decision = Decision("CLOSED", (expiry.reason,), (expiry.reason["rule_id"],), record.score,
                        record.score_breakdown, None, None)
    emit = _lead_decision(ctx, event, record.lead_id, record.campaign_id, record.source, decision, decision_id,
                          lead_status="STALE", attempts=record.attempts)
    return replace(state, leads=state.leads.put(record)), (emit,)


def _same_millisecond(kept: datetime, released: datetime) -> bool:
    """Whether a release names the wait ``kept``: it crossed the wire in whole milliseconds, and rows
    written by a worker whose clock had microseconds keep them."""
    return kept.replace(microsecond=kept.microsecond // 1000 * 1000) == released


def _duplicate_of(leads: NumberLeads, lead: LeadCaptured,
                  window: timedelta) -> tuple[Decision, LeadRecord] | None:
    """The DUPLICATE decision for ``lead`` and the known lead it duplicates, or None."""
    same = leads.get(lead["lead_id"])
    if same is not None:
        return duplicate(same.lead_id, f"lead {same.lead_id} was already received (status {same.status})"), same
    recent = leads.recent_in_campaign(lead["campaign_id"], lead["occurred_at"], window)
    if recent is None or recent.captured_at is None:
        return None
    return duplicate(recent.lead_id, (
        f"lead {recent.lead_id} for campaign {recent.campaign_id} was captured "
        f"{recent.captured_at.isoformat()}, within {window.days} days (status {recent.status})"
    )), recent


def _merge(state: NumberState, original: LeadRecord, lead_id: str) -> NumberState:
    """``state`` with the duplicate ``lead_id`` recorded in ``original``'s history (a resend of the
    same lead id changes nothing)."""
    merged = original.merge(lead_id)
    return state if merged is original else replace(state, leads=state.leads.put(merged))


def _live_within(record: LeadRecord, at: datetime, window: timedelta) -> bool:
    return (record.status not in ("SUPPRESSED", "REJECTED") and record.captured_at is not None
            and abs(at - record.captured_at) < window)


def _on_email_duplicate(state: NumberState, event: NumberEvent, lead: LeadCaptured, original_id: str,
                        window: timedelta, decision_id: str,
                        ctx: ProcessContext) -> tuple[NumberState, tuple[Emit, ...]]:
    """A lead the email stage found to share its email with ``original_id``, sent to the original's
    number: ``state`` is that number's, ``event["phone"]`` the new lead's own number.

    A live lead of the campaign here (the original, or the lead the original was itself a duplicate
    of) makes it a DUPLICATE, recorded here; its consent does not join this number's ledger (it is
    another number's). Otherwise (the original was suppressed, or is out of the window) the lead is
    sent on to its own number, unmarked, to be decided there.
    """
    original = state.leads.get(original_id)
    if original is not None and not _live_within(original, lead["occurred_at"], window):
        original = None
    target = original or state.leads.recent_in_campaign(lead["campaign_id"], lead["occurred_at"], window)
    if target is None or target.captured_at is None:
        onward: NumberEvent = {**event, "duplicate_of": None}
        return state, (Emit(topics.NUMBER_EVENTS, event["phone"]["phone_e164"], topics.NUMBER_EVENT_SCHEMA, onward),)
    via = "" if target.lead_id == original_id else f" (lead {original_id} was a duplicate of it)"
    decision = duplicate(target.lead_id, (
        f"same email as lead {target.lead_id}{via} for campaign {target.campaign_id}, captured "
        f"{target.captured_at.isoformat()} on another number, within {window.days} days (status {target.status})"
    ))
    flags = _quality_flags(lead["first_name"], lead["last_name"], lead["email"], event["phone"],
                           ctx.disposable_domains)
    state = _merge(state, target, lead["lead_id"])
    return state, (_lead_decision(ctx, event, lead["lead_id"], lead["campaign_id"], lead["source"], decision,
                                  decision_id, flags),)


# --- opt-out, consent-changed: withdraw what may no longer be called ------------------------------


def _withdraw_blocked(
    state: NumberState, event: NumberEvent, ctx: ProcessContext, extra: tuple[Reason, ...] = ()
) -> tuple[NumberState, tuple[Emit, ...]]:
    """Withdraw every offered lead that the number's current state (or ``extra``) forbids calling."""
    emits: list[Emit] = []
    leads = state.leads
    input_event_id = event["event"]["event_id"]
    phone = event["phone"]
    for lead in state.leads.offered():
        reasons = extra
        snooze = None
        if not reasons:  # what stands in the way now, the window aside: the offer carries its own
            found = evaluate(state, phone, ctx.campaigns.policy_for(lead.campaign_id), pack=ctx.rule_pack,
                             registries=ctx.registries, at=ctx.now)
            reasons = (*found.blockers, found.cap) if found.cap is not None else found.blockers
            if not reasons and found.snooze is not None:
                snooze = found.snooze
                reasons = (snooze.reason(),)
        if not reasons:
            continue
        decision = withdrawn(reasons, score=lead.score, score_breakdown=lead.score_breakdown)
        decision_id = record_id(input_event_id, "decision", lead.lead_id)
        # A snooze only holds the lead: it waits for the snooze's end, still in its campaign's queue.
        status: LeadStatus = lead.status if snooze is not None else "SUPPRESSED"
        until = snooze.until if snooze is not None else None
        if snooze is not None:
            decision = replace(decision, callable_from=until)
        withdraw: CallReady = {
            "event_id": record_id(input_event_id, "call-ready", lead.lead_id),
            "occurred_at": ctx.now,
            "action": "WITHDRAW",
            "phone_e164": phone["phone_e164"],
            "lead_id": lead.lead_id,
            "campaign_id": lead.campaign_id,
            "priority": round(lead.score) if lead.score is not None else 0,
            "score": lead.score if lead.score is not None else 0.0,
            "score_breakdown": list(lead.score_breakdown),
            "callable_from": None,
            "callable_until": None,
            "seconds_left": 0,
            "time_zones": list(phone["time_zones"]),
            "reasons": list(reasons),
            "decision_id": decision_id,
            "rule_pack_version": ctx.rule_pack_version,
            "callback": None,
        }
        emits.append(_lead_decision(ctx, event, lead.lead_id, lead.campaign_id, lead.source, decision,
                                    decision_id, lead_status=status, attempts=lead.attempts))
        emits.append(Emit(topics.CALL_READY, phone["phone_e164"], topics.CALL_READY, withdraw))
        leads = leads.put(replace(lead, offered=False, status=status, last_decision_id=decision_id,
                                  deferred_until=until))
    return replace(state, leads=leads), tuple(emits)


# --- call-outcome --------------------------------------------------------------------------------


def _on_outcome(
    state: NumberState, event: NumberEvent, outcome: CallOutcome, ctx: ProcessContext
) -> tuple[NumberState, tuple[Emit, ...]]:
    """Count the attempt and move the lead through the lifecycle (``pipeline.core.lifecycle``):
    schedule its retry or callback (``deferred_until``, released by the scheduler through every
    compliance check) or close it, with a lead-decision saying why — IGNORED_CLOSED when the lead
    is closed or unknown here; send a qualified-lead once (QUALIFIED, or NURTURE for the CRM)."""
    code = outcome["outcome"]
    known = state.leads.get(outcome["lead_id"])
    lead = known or stub(outcome["lead_id"], outcome["campaign_id"])
    phone = event["phone"]
    answers = outcome["answers"]
    verdict = (qual.evaluate(ctx.qualification, code, answers)
               if qual.applies(code, answers) and lead.status not in CLOSED_STATUSES else None)
    zone = phone["time_zones"][0] if phone["time_zones"] else "UTC"
    step = transition(lead, outcome, ctx.lifecycle, ctx.now, zone, verdict)
    # A stub (a lead never captured here) is never offered again: there is nothing to re-decide.
    captured = known is not None and known.captured_at is not None
    lead = replace(lead, status=step.status, offered=False, attempts=step.attempts, last_outcome=code,
                   failed_days=step.failed_days, deferred_until=step.next_at if captured else None,
                   callback=_promise(outcome, step) if captured and step.next == "CALLBACK" else None,
                   callbacks=step.callbacks, expired_offers=0)
    decision_id = record_id(outcome["event_id"], "decision", lead.lead_id)
    moved = captured and step.next != "UNCHANGED"
    if moved:  # scored again: this decision's score counts this call's attempt, like its record does
        policy = ctx.campaigns.policy_for(lead.campaign_id)
        consent = consent_status(state.consents, purpose=policy.consent_purpose, channel=policy.channel, now=ctx.now)
        now_score = _decision_score(lead, phone, consent, 0, ctx)
        lead = replace(lead, score=now_score.total, score_breakdown=now_score.breakdown)
    emits = [_lifecycle_decision(ctx, event, lead, step, decision_id, captured=captured)]
    lead = replace(lead, last_decision_id=decision_id)
    if moved:
        lead = lead.with_score_mark({"decided_at": ctx.now, "score": lead.score, "decision_id": decision_id,
                                     "outcome": str(emits[0].record["outcome"])})
    if step.next == "CLOSED" and step.status in ("QUALIFIED", "NURTURE") and lead.qualified_by is None:
        emits.append(_qualified_lead(ctx, event, outcome, lead, state.consents, verdict))
        lead = replace(lead, qualified_by=outcome["event_id"])
    leads = state.leads.put(lead).called(outcome["occurred_at"])
    kind = contact_kind(code)
    if kind == "NON_WORKING":
        leads = replace(leads, non_working_until=outcome["occurred_at"] + ctx.lifecycle.non_working_recheck,
                        non_working_evidence=outcome["event_id"], non_working_since=outcome["occurred_at"])
    elif kind in ("CONTACT", "WRONG_PARTY") and leads.non_working_until is not None:
        # Someone answered: it works.
        leads = replace(leads, non_working_until=None, non_working_evidence=None, non_working_since=None)
    snooze = snooze_from_outcome(outcome, not_now_default=ctx.lifecycle.not_now_default)
    if snooze is not None:  # what the person said holds for the campaign, whatever the lead's state
        leads = replace(leads, snoozes=with_snooze(leads.snoozes, snooze, ctx.now))
    state = replace(state, leads=leads)
    suppression = suppression_from_outcome(outcome)
    if suppression is not None:
        state = replace(state, suppressions=without_expired(add(state.suppressions, suppression), ctx.now))
    # A suppression, a snooze, the number found non-working, or this call reaching the number's
    # frequency cap can end other offers.
    state, withdrawals = _withdraw_blocked(state, event, ctx)
    return state, (*emits, *withdrawals)


def _promise(outcome: CallOutcome, step: Transition) -> CallbackPromise | None:
    """The callback promise a CALLBACK step keeps for the lead's re-offer: when (the time asked for,
    or the default the lifecycle chose), who promised it, and what was said."""
    if step.next_at is None:
        return None
    notes = outcome["callback_notes"] or outcome["notes"]
    return {"requested_at": step.next_at, "promised_by_agent": outcome["agent_id"], "notes": notes}


def _lifecycle_decision(ctx: ProcessContext, event: NumberEvent, lead: LeadRecord, step: Transition,
                        decision_id: str, *, captured: bool) -> Emit:
    """The audit record of a lifecycle step: DEFERRED until the retry or callback, CLOSED, or
    IGNORED_CLOSED when nothing moves — the lead was closed already, or was never captured for this
    number (a stub: it is closed when the outcome says so, and otherwise has nothing to offer)."""
    outcome: DecisionOutcome
    why = step.reason
    if step.next == "CLOSED":
        outcome = "CLOSED"
    elif step.next == "UNCHANGED":
        outcome = "IGNORED_CLOSED"
    elif not captured:
        outcome = "IGNORED_CLOSED"
        why = reason("LEAD_UNKNOWN", "lifecycle.unknown_lead", (
            f"{lead.last_outcome} recorded as attempt {step.attempts} for lead {lead.lead_id}, which was never "
            "captured for this number: nothing to offer again (the call still counts for frequency caps, and a "
            "do-not-call still applies)"))
    else:
        outcome = "DEFERRED"
    callable_from = step.next_at if outcome == "DEFERRED" else None
    decision = Decision(outcome, (why,), (why["rule_id"],), lead.score, lead.score_breakdown,
                        callable_from, None)
    return _lead_decision(ctx, event, lead.lead_id, lead.campaign_id, lead.source, decision, decision_id,
                          lead_status=step.status, attempts=step.attempts)


_NEXT_STEP_OF: dict[CallOutcomeCode, str] = {"APPOINTMENT_SET": "appointment set", "SALE": "sale closed"}


def _qualified_lead(ctx: ProcessContext, event: NumberEvent, outcome: CallOutcome, lead: LeadRecord,
                    consents: ConsentLedger, verdict: qual.Qualification | None) -> Emit:
    """The CRM's record of a lead closed QUALIFIED (or NURTURE: ``lead_status`` says which), with the
    outcome that closed it. ``attempts`` counts every call outcome of the lead, this one included."""
    phone_e164 = event["phone"]["phone_e164"]
    answers = outcome["answers"]
    checks = (verdict or qual.evaluate(ctx.qualification, outcome["outcome"], answers)).checks
    qualification: list[QualificationCheck] = [
        {"criterion": c.criterion_id, "answer_key": c.answer_key, "answer": c.answer, "result": c.result}
        for c in checks
    ]
    proof = next((e for e in reversed(consents.entries)
                  if e.action == "GRANT" and lead.consent_certificate_id is not None
                  and e.certificate_id == lead.consent_certificate_id), None)
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) or None
    record: QualifiedLead = {
        "event_id": record_id(outcome["event_id"], "qualified-lead", lead.lead_id),
        "occurred_at": ctx.now,
        "lead_id": lead.lead_id,
        "phone_e164": phone_e164,
        "campaign_id": lead.campaign_id,
        "source": lead.source,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "agent_id": outcome["agent_id"],
        "outcome": outcome["outcome"],
        "notes": outcome["notes"],
        "answers": dict(answers),
        "score": lead.score,
        "score_breakdown": list(lead.score_breakdown),
        "captured_at": lead.captured_at,
        "consent_certificate_id": lead.consent_certificate_id,
        "outcome_event_id": outcome["event_id"],
        "contact_name": outcome["contact_name"] or answers.get("contact_name") or name,
        "contact_role": outcome["contact_role"] or answers.get("contact_role") or answers.get("role"),
        "next_step": answers.get("next_step") or _NEXT_STEP_OF.get(outcome["outcome"]),
        "tags": list(outcome["tags"]),
        "qualification": qualification,
        "score_history": list(lead.score_history),
        "consent_form_url": proof.form_url if proof is not None else None,
        "consent_text": proof.consent_text if proof is not None else None,
        "consent_granted_at": proof.effective_at if proof is not None else None,
        "attempts": lead.attempts,
        "title": outcome["title"] or answers.get("title"),
        "best_time_to_call": outcome["best_time_to_call"] or answers.get("best_time_to_call"),
        "lead_status": lead.status,
    }
    return Emit(topics.QUALIFIED_LEAD, phone_e164, topics.QUALIFIED_LEAD, record)


# --- lead-decision -------------------------------------------------------------------------------


def _lead_decision(
    ctx: ProcessContext,
    event: NumberEvent,
    lead_id: str,
    campaign_id: str,
    source: str,
    decision: Decision,
    decision_id: str,
    quality_flags: tuple[str, ...] = (),
    *,
    lead_status: LeadStatus | None = None,
    attempts: int = 0,
) -> Emit:
    inner = event["event"]
    phone = event["phone"]
    record: LeadDecision = {
        "event_id": record_id(inner["event_id"], "lead-decision", lead_id),
        "occurred_at": ctx.now,
        "decision_id": decision_id,
        "input_event_id": inner["event_id"],
        "input_topic": event["input_topic"],
        "lead_id": lead_id,
        "campaign_id": campaign_id,
        "source": source,
        # A release carries no phone as entered: the number is the one on record.
        "phone": cast(str, inner.get("phone", phone["phone_e164"])),
        "phone_e164": phone["phone_e164"],
        "region": phone["region"],
        "number_type": phone["number_type"],
        "time_zones": list(phone["time_zones"]),
        "outcome": decision.outcome,
        "reasons": list(decision.reasons),
        "rules_fired": list(decision.rules_fired),
        "score": decision.score,
        "score_breakdown": list(decision.score_breakdown),
        "callable_from": decision.callable_from,
        "callable_until": decision.callable_until,
        "rule_pack_version": ctx.rule_pack_version,
        "decided_at": ctx.now,
        "lead_status": lead_status,
        "attempts": attempts,
        "quality_flags": list(quality_flags),
    }
    return Emit(topics.LEAD_DECISION, phone["phone_e164"], topics.LEAD_DECISION, record)
