"""What we know about the leads of one number, and which events we have already applied.

One ``NumberLeads`` per ``phone_e164`` lives in the ``leads`` table. Besides the lead records it
remembers recent event ids: the whole-number idempotency guard of ``pipeline.core.number``.

**History for answers about the past.** Call attempts are kept ``ATTEMPT_HISTORY`` (at most
``MAX_ATTEMPTS_KEPT``), so a frequency cap can be evaluated at a past instant (``as_of``);
``attempts_dropped_until`` is the newest attempt forgotten, so an answer whose cap period reaches
back before it knows it may miss a call. The non-working mark keeps when it began. A row written
before this history was kept (no ``history`` key) kept attempts only 7 days before its newest one:
``attempts_dropped_until`` reads as that bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pipeline.core.frozen import replace
from pipeline.core.snooze import Snooze, with_snooze
from pipeline.events import CallbackPromise, CallOutcomeCode, ScoreContribution, ScoreHistoryEntry

LeadStatus = Literal[
    "NEW", "IN_PROGRESS", "CALLBACK", "QUALIFIED", "REFUSED", "INACTIVE", "SUPPRESSED", "REJECTED", "DISQUALIFIED",
    "NURTURE", "STALE",
]

UNKNOWN_SOURCE = "unknown"
"""``source`` of a stub record: a call outcome named a lead this number never saw captured."""

MAX_SEEN_EVENT_IDS = 256
"""Event ids remembered per number. At-least-once delivery replays only what was processed after
the last committed offset, which the commit interval bounds to seconds of traffic; a number sees
a handful of events in that time, so a window of the most recent ids catches every replay. Each
state type is also idempotent on its own (keyed by event id), in case the three table writes of
one event were not all made before a crash."""

MAX_LEADS = 50
MAX_MERGED = 20
# Frequency caps look back at most a day (FL/OK/MD: 3 per 24 h; ME: 1 per 8 h); 35 days lets a cap be
# evaluated at any instant of the last month ("could we have called at 20:30 last Tuesday?").
ATTEMPT_HISTORY = timedelta(days=35)
MAX_ATTEMPTS_KEPT = 256
"""Lead records kept per number, most recently touched last. Over it, the oldest record that is
not ``offered`` goes first: a record with an outstanding READY must stay so it can be withdrawn.
The lead-decision topic keeps the full history."""


@dataclass(frozen=True, slots=True)
class LeadRecord:
    lead_id: str
    campaign_id: str
    source: str
    status: LeadStatus
    captured_at: datetime | None
    """When the lead was captured; None for a stub made from a call outcome."""
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    consent_certificate_id: str | None = None
    score: float | None = None
    score_breakdown: tuple[ScoreContribution, ...] = ()
    offered: bool = False
    """A READY call-ready is outstanding for this lead (dialers may call it)."""
    last_decision_id: str | None = None
    attempts: int = 0
    last_outcome: CallOutcomeCode | None = None
    qualified_by: str | None = None
    """event_id of the call outcome that qualified the lead: a qualified-lead is sent once."""
    deferred_until: datetime | None = None
    """A waiting lead waits for this instant (its window opening, its cap freeing up, its retry or
    callback); an offered lead's offer expires then (its window's end plus the lifecycle's
    ``offer_grace``). The release scheduler re-decides the lead then. None otherwise."""
    address_region: str | None = None
    """State/province of the lead's address: a jurisdiction of every decision about the number in
    this campaign (``pipeline.core.geography``)."""
    address_country: str | None = None
    """Country of the lead's address (ISO code as sent); None: read ``address_region`` in the number's
    country."""
    # --- lifecycle (pipeline.core.lifecycle) ---
    failed_days: tuple[str, ...] = ()
    """Callee-local ISO dates with a failed (NO_CONTACT) attempt since the last contact."""
    score_history: tuple[ScoreHistoryEntry, ...] = ()
    """The score at each decision about the lead, oldest first (the last ``MAX_SCORE_HISTORY``)."""
    expired_offers: int = 0
    """Offers of this lead in a row whose window closed with no call outcome (reset by an outcome)."""
    callback: CallbackPromise | None = None
    """The callback the person asked for, while the lead waits for it or is offered for it; its
    re-offer carries it. Cleared by the next call outcome."""
    callbacks: int = 0
    """CALLBACK_REQUESTED outcomes so far: engagement, for closing as NURTURE rather than INACTIVE."""

    def with_score_mark(self, entry: ScoreHistoryEntry) -> LeadRecord:
        """This record with ``entry`` appended to its score history (bounded)."""
        return replace(self, score_history=(*self.score_history, entry)[-MAX_SCORE_HISTORY:])
    merged: tuple[str, ...] = ()
    """Ids of later leads found to be duplicates of this one (same number or same email), oldest
    first, at most ``MAX_MERGED``: the lead's history of resubmissions (each also has its DUPLICATE
    decision on lead-decision)."""

    def merge(self, lead_id: str) -> LeadRecord:
        """This record with ``lead_id`` recorded as merged into it (once; the most recent kept)."""
        if lead_id == self.lead_id or lead_id in self.merged:
            return self
        return replace(self, merged=(*self.merged, lead_id)[-MAX_MERGED:])



MAX_SCORE_HISTORY = 16


def stub(lead_id: str, campaign_id: str) -> LeadRecord:
    """A record for a lead known only from a call outcome, so the number's history is kept."""
    return LeadRecord(
        lead_id=lead_id, campaign_id=campaign_id, source=UNKNOWN_SOURCE, status="NEW", captured_at=None
    )


@dataclass(frozen=True, slots=True)
class NumberLeads:
    """The lead records of one number (least recently touched first) and its recent event ids."""

    leads: tuple[LeadRecord, ...] = ()
    seen_event_ids: tuple[str, ...] = ()
    call_attempts: tuple[datetime, ...] = ()
    """When this number was called, across every campaign, oldest first (frequency caps)."""
    non_working_until: datetime | None = None
    """A DISCONNECTED outcome marked the number non-working: no lead is offered until then, unless
    a later call reaches someone (``pipeline.core.lifecycle``)."""
    non_working_evidence: str | None = None
    """event_id of the call outcome that marked the number non-working."""
    non_working_since: datetime | None = None
    """When that call found the number disconnected; None in rows written before it was kept."""
    attempts_dropped_until: datetime | None = None
    """The newest call attempt no longer in ``call_attempts``; None: none was dropped."""
    snoozes: tuple[Snooze, ...] = ()
    """The "not now" snoozes of this number's campaigns (``pipeline.core.snooze``), oldest first: the
    newest of a campaign decides; the ones it replaced and ended ones stay, bounded, as history."""
    snoozes_dropped_until: datetime | None = None
    """The latest end of a snooze no longer in ``snoozes``; None: none was dropped."""

    def called(self, at: datetime) -> NumberLeads:
        """Record one call attempt at ``at``, keeping the attempts of the last ``ATTEMPT_HISTORY``."""
        everything = sorted((*self.call_attempts, at))
        newest = everything[-1]
        kept = [t for t in everything if newest - t < ATTEMPT_HISTORY][-MAX_ATTEMPTS_KEPT:]
        dropped = everything[:len(everything) - len(kept)]
        dropped_until = self.attempts_dropped_until
        if dropped:
            dropped_until = dropped[-1] if dropped_until is None else max(dropped_until, dropped[-1])
        return replace(self, call_attempts=tuple(kept), attempts_dropped_until=dropped_until)

    def snoozed(self, snooze: Snooze, now: datetime) -> NumberLeads:
        """Add ``snooze`` (see :func:`pipeline.core.snooze.with_snooze`), noting what had to be dropped."""
        snoozes, dropped = with_snooze(self.snoozes, snooze, now)
        until = self.snoozes_dropped_until
        if dropped is not None:
            until = dropped if until is None else max(until, dropped)
        return replace(self, snoozes=snoozes, snoozes_dropped_until=until)

    def as_of(self, at: datetime) -> NumberLeads:
        """The attempts, non-working mark and snoozes as they were at ``at`` (lead records as they are
        now). Snoozes said after ``at`` are left out, so the campaign's newest one then decides."""
        non_working = self.non_working_until is not None and (
            self.non_working_since is None or self.non_working_since <= at)
        return replace(
            self,
            call_attempts=tuple(t for t in self.call_attempts if t <= at),
            non_working_until=self.non_working_until if non_working else None,
            non_working_evidence=self.non_working_evidence if non_working else None,
            non_working_since=self.non_working_since if non_working else None,
            snoozes=tuple(s for s in self.snoozes if s.since is None or s.since <= at),
        )

    def seen(self, event_id: str) -> bool:
        return event_id in self.seen_event_ids

    def remember(self, event_id: str) -> NumberLeads:
        """Remember ``event_id`` as applied, keeping the ``MAX_SEEN_EVENT_IDS`` most recent."""
        if self.seen(event_id):
            return self
        return replace(self, seen_event_ids=(*self.seen_event_ids, event_id)[-MAX_SEEN_EVENT_IDS:])

    def get(self, lead_id: str) -> LeadRecord | None:
        for lead in self.leads:
            if lead.lead_id == lead_id:
                return lead
        return None

    def offered(self) -> tuple[LeadRecord, ...]:
        """Leads with an outstanding READY, oldest first."""
        return tuple(lead for lead in self.leads if lead.offered)

    def recent_in_campaign(self, campaign_id: str, at: datetime, within: timedelta) -> LeadRecord | None:
        """The most recent live lead of ``campaign_id`` captured within ``within`` of ``at``.

        "Live": not SUPPRESSED or REJECTED — a lead that was never callable does not make a new
        capture (say, now with consent) a duplicate. Stubs have no capture time and never match.
        """
        for lead in reversed(self.leads):
            if (
                lead.campaign_id == campaign_id
                and lead.captured_at is not None
                and lead.status not in ("SUPPRESSED", "REJECTED")
                and abs(at - lead.captured_at) < within
            ):
                return lead
        return None

    def put(self, record: LeadRecord) -> NumberLeads:
        """Insert or replace ``record`` (by lead_id) as the most recently touched; keep the bound."""
        leads = [lead for lead in self.leads if lead.lead_id != record.lead_id]
        leads.append(record)
        while len(leads) > MAX_LEADS:
            victim = next((lead for lead in leads if not lead.offered), leads[0])
            leads.remove(victim)
        return replace(self, leads=tuple(leads))
