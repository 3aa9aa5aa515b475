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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from pipeline.core import state_json as js
from pipeline.core.frozen import replace
from pipeline.core.snooze import Snooze
from pipeline.events import CallbackPromise, CallOutcomeCode, ScoreContribution, ScoreHistoryEntry

LeadStatus = Literal[
    "NEW", "IN_PROGRESS", "CALLBACK", "QUALIFIED", "REFUSED", "INACTIVE", "SUPPRESSED", "REJECTED", "DISQUALIFIED",
    "NURTURE", "STALE",
]

_STATUSES: tuple[LeadStatus, ...] = get_args(LeadStatus)
_OUTCOMES: tuple[CallOutcomeCode, ...] = get_args(CallOutcomeCode)

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
_LEGACY_ATTEMPT_HISTORY = timedelta(days=7)
"""What rows written before ``history`` was kept held: the attempts of the 7 days before the newest."""
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

    def to_json(self) -> dict[str, object]:
        return js.compact({
            "lead_id": self.lead_id,
            "campaign_id": self.campaign_id,
            "source": self.source,
            "status": self.status,
            "captured_at": js.iso_or_none(self.captured_at),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "consent_certificate_id": self.consent_certificate_id,
            "score": self.score,
            "score_breakdown": js.contributions_to_json(self.score_breakdown) or None,
            "offered": self.offered or None,
            "last_decision_id": self.last_decision_id,
            "attempts": self.attempts or None,
            "last_outcome": self.last_outcome,
            "qualified_by": self.qualified_by,
            "deferred_until": js.iso_or_none(self.deferred_until),
            "address_region": self.address_region,
            "address_country": self.address_country,
            "failed_days": list(self.failed_days) or None,
            "score_history": [_mark_to_json(m) for m in self.score_history] or None,
            "merged": list(self.merged) or None,
            "expired_offers": self.expired_offers or None,
            "callback": _promise_to_json(self.callback) if self.callback is not None else None,
            "callbacks": self.callbacks or None,
        })

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LeadRecord:
        return cls(
            lead_id=js.text(data, "lead_id"),
            campaign_id=js.text(data, "campaign_id"),
            source=js.text(data, "source"),
            status=js.choice(data, "status", _STATUSES),
            captured_at=js.instant_or_none(data, "captured_at"),
            first_name=js.text_or_none(data, "first_name"),
            last_name=js.text_or_none(data, "last_name"),
            email=js.text_or_none(data, "email"),
            consent_certificate_id=js.text_or_none(data, "consent_certificate_id"),
            score=js.number_or_none(data, "score"),
            score_breakdown=js.contributions_from_json(data, "score_breakdown"),
            offered="offered" in data and js.flag(data, "offered"),
            last_decision_id=js.text_or_none(data, "last_decision_id"),
            attempts=js.whole(data, "attempts") if "attempts" in data else 0,
            last_outcome=js.choice_or_none(data, "last_outcome", _OUTCOMES),
            qualified_by=js.text_or_none(data, "qualified_by"),
            deferred_until=js.instant_or_none(data, "deferred_until"),
            address_region=js.text_or_none(data, "address_region"),
            address_country=js.text_or_none(data, "address_country"),
            failed_days=js.texts(data, "failed_days") if "failed_days" in data else (),
            score_history=tuple(_mark_from_json(m) for m in js.objects(data, "score_history"))
            if "score_history" in data else (),
            merged=js.texts(data, "merged"),
            # Absent in rows written before offers expired and callbacks carried their promise.
            expired_offers=js.whole(data, "expired_offers") if "expired_offers" in data else 0,
            callback=_promise_from_json(_object(data, "callback")) if "callback" in data else None,
            callbacks=js.whole(data, "callbacks") if "callbacks" in data else 0,
        )


MAX_SCORE_HISTORY = 16


def _mark_to_json(mark: ScoreHistoryEntry) -> dict[str, object]:
    return {"decided_at": js.iso(mark["decided_at"]), "score": mark["score"], "decision_id": mark["decision_id"],
            "outcome": mark["outcome"]}


def _mark_from_json(data: Mapping[str, object]) -> ScoreHistoryEntry:
    return {"decided_at": js.instant(data, "decided_at"), "score": js.number_or_none(data, "score"),
            "decision_id": js.text(data, "decision_id"), "outcome": js.text(data, "outcome")}


def _promise_to_json(promise: CallbackPromise) -> dict[str, object]:
    return js.compact({"requested_at": js.iso(promise["requested_at"]),
                       "promised_by_agent": promise["promised_by_agent"], "notes": promise["notes"]})


def _promise_from_json(data: Mapping[str, object]) -> CallbackPromise:
    return {"requested_at": js.instant(data, "requested_at"),
            "promised_by_agent": js.text_or_none(data, "promised_by_agent"), "notes": js.text_or_none(data, "notes")}


def _object(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = data[key]
    if not isinstance(value, Mapping):
        raise ValueError(f"table value key {key!r}: expected an object, got {value!r}")
    return value


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
    """The "not now" snoozes of this number's campaigns (``pipeline.core.snooze``); ended ones linger
    until the next one is added."""

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

    def as_of(self, at: datetime) -> NumberLeads:
        """The attempts, non-working mark and snoozes as they were at ``at`` (lead records as they are
        now). Snoozes are those still kept: one that ended was dropped when another was added."""
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

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"leads": [lead.to_json() for lead in self.leads], "seen": list(self.seen_event_ids)}
        if self.call_attempts:
            data["calls"] = [js.iso(t) for t in self.call_attempts]
        if self.non_working_until is not None:
            data["non_working"] = js.compact({"until": js.iso(self.non_working_until),
                                              "evidence": self.non_working_evidence,
                                              "since": js.iso_or_none(self.non_working_since)})
        if self.snoozes:
            data["snoozes"] = [s.to_json() for s in self.snoozes]
        data["history"] = js.compact({"attempts_dropped_until": js.iso_or_none(self.attempts_dropped_until)})
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> NumberLeads:
        # Absent in values written before caps were counted: no attempts known.
        calls = tuple(datetime.fromisoformat(t) for t in js.texts(data, "calls")) if "calls" in data else ()
        if "history" in data:
            dropped_until = js.instant_or_none(js.mapping(data, "history"), "attempts_dropped_until")
        else:  # written before history was kept: see the module doc
            dropped_until = max(calls) - _LEGACY_ATTEMPT_HISTORY if calls else None
        non_working = _object(data, "non_working") if "non_working" in data else None
        return cls(
            leads=tuple(LeadRecord.from_json(item) for item in js.objects(data, "leads")),
            seen_event_ids=js.texts(data, "seen"),
            call_attempts=calls,
            non_working_until=js.instant(non_working, "until") if non_working is not None else None,
            non_working_evidence=js.text_or_none(non_working, "evidence") if non_working is not None else None,
            non_working_since=js.instant_or_none(non_working, "since") if non_working is not None else None,
            attempts_dropped_until=dropped_until,
            snoozes=tuple(Snooze.from_json(item) for item in js.objects(data, "snoozes")),
        )
