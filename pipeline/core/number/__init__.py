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

Where each part lives: ``process`` (the dispatch, the idempotency guard, erasure), ``capture``
(lead-captured, duplicates), ``offer`` (deciding a lead now and offering it), ``withdraw`` (offers the
state no longer allows), ``outcome`` (call-outcome, the lifecycle, qualified-lead), ``releases``
(waiting leads due a release, and the release itself), ``emits`` (``Emit``, record ids, the
lead-decision record), ``context`` (``ProcessContext``). This package exports what the worker, the
dial-time check and the tools use.
"""

from pipeline.core.number.context import ProcessContext
from pipeline.core.number.emits import Emit, record_id
from pipeline.core.number.process import migrated, process
from pipeline.core.number.releases import due_releases, next_release_at
from pipeline.core.number_state import NumberState

__all__ = [
    "Emit",
    "NumberState",
    "ProcessContext",
    "due_releases",
    "migrated",
    "next_release_at",
    "process",
    "record_id",
]
