"""Waiting leads: which are due a release (the scheduler's scan and index), and what a release does
when it arrives — decide the lead again, or handle an offer that expired unworked."""

from __future__ import annotations

from datetime import datetime

from pipeline.core.decision import Decision
from pipeline.core.frozen import replace
from pipeline.core.leads import LeadRecord, NumberLeads
from pipeline.core.lifecycle import expire_offer
from pipeline.core.number.context import ProcessContext
from pipeline.core.number.emits import Emit, lead_decision, record_id
from pipeline.core.number.offer import WAITING_STATUSES, decide_lead
from pipeline.core.number_state import NumberState
from pipeline.events import NumberEvent, ReleaseDue


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


def on_release(state: NumberState, event: NumberEvent, release: ReleaseDue,
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
        return decide_lead(state, event, record, decision_id, ctx)
    expiry = expire_offer(record, ctx.lifecycle, record.deferred_until - ctx.lifecycle.offer_grace)
    record = replace(record, offered=False, deferred_until=None, expired_offers=expiry.expired_offers)
    if not expiry.stale:  # re-offered at the next window: nobody called, so no attempt is counted
        return decide_lead(state, event, record, decision_id, ctx, extra=(expiry.reason,))
    # The offer's own callable_until already ended it for dialers: no WITHDRAW is needed.
    record = replace(record, status="STALE", last_decision_id=decision_id)
    decision = Decision("CLOSED", (expiry.reason,), (expiry.reason["rule_id"],), record.score,
                        record.score_breakdown, None, None)
    emit = lead_decision(ctx, event, record.lead_id, record.campaign_id, record.source, decision, decision_id,
                          lead_status="STALE", attempts=record.attempts)
    return replace(state, leads=state.leads.put(record)), (emit,)


def _same_millisecond(kept: datetime, released: datetime) -> bool:
    """Whether a release names the wait ``kept``: it crossed the wire in whole milliseconds, and rows
    written by a worker whose clock had microseconds keep them."""
    return kept.replace(microsecond=kept.microsecond // 1000 * 1000) == released
