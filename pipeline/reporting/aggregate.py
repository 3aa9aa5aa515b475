"""The report aggregator: decoded records in, a :class:`Report` out. Pure: no I/O, no clock reads.

Feed it every record of the input and output topics (``add(topic, record)``) in any order, as many
times as at-least-once delivery hands them over: it keeps one small *fact* per record, keyed by the
record's ``event_id`` inside the lead it belongs to, so a replayed record replaces itself and is
never counted twice. :meth:`Aggregator.report` derives every figure from the facts at a clock
passed in.

Units (see docs/console.md):

- ``captured``: distinct ``lead-captured`` records (event ids) that decoded;
- ``valid``: of those, the ones whose own decision (``lead-decision`` with ``input_topic``
  ``lead-captured``) is not ``REJECTED``; ``duplicates``: the ones decided ``DUPLICATE``;
- ``callable``: distinct leads with a ``CALL_READY`` decision (at capture or on a later release);
- ``contacted``: distinct leads with a call outcome whose :func:`contact_kind` is ``CONTACT``;
- ``qualified``: distinct leads on ``qualified-lead`` with ``lead_status`` QUALIFIED (a NURTURE
  record goes to the CRM's nurture track and counts in ``statuses``, not here);
- ``snoozed``: distinct leads with a NOT_NOW call outcome — a snooze of their campaign, never a
  do-not-call (their waits show as ``DEFERRED: NOT_NOW_SNOOZE`` reasons);
- ``statuses``: leads by the ``lead_status`` of their latest decision (QUALIFIED, NURTURE, STALE...);
- ``stranded_offers``: leads whose latest READY's window (``callable_until``) closed before the report
  instant with nothing after it — no call outcome, no later decision (the worker re-offers an
  expired offer, so a stranded one means a worker is not keeping up); ``stale_leads``: leads closed
  STALE (offered again and again, never worked). Each with the oldest instant (window end, or when
  the lead went stale).

Reasons are counted by outcome and reason code: the codes of every decision that is not
``CALL_READY``, and under ``DISQUALIFIED`` the call outcomes that end a lead without qualification
(by the dialer's tags when given, else by the reason code the closing decision gives that outcome,
``pipeline.core.reasons.OUTCOME_REASONS``: one fact, one code). Every report carries the vocabulary
(``reason_codes``: code → label and meaning) so the dashboard can name what it counts.

A group is (campaign, source, segment). The segment is the lead's ``segment`` attribute when the
capture has one, otherwise the number's region (ISO country from ``lead-decision``), otherwise the
capture's ``country``, otherwise ``unknown``.

Memory bound: one fact per counted record (ids, codes and the lead's ``phone_e164`` for the
numbers-dialed figures; no names or addresses), about 300 bytes each — a million records is a few
hundred MB. The state is per lead id; :attr:`Aggregator.facts` says how many are held.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.core.lifecycle import CLOSED_STATUSES
from pipeline.core.outcomes import contact_kind
from pipeline.core.reasons import OUTCOME_REASONS, vocabulary_json
from pipeline.topics import (
    CALL_OUTCOME,
    CALL_READY,
    CONSENT_CHANGED,
    DEAD_LETTER,
    LEAD_CAPTURED,
    LEAD_DECISION,
    OPT_OUT,
    QUALIFIED_LEAD,
)

REPORT_TOPICS = (LEAD_CAPTURED, OPT_OUT, CONSENT_CHANGED, CALL_OUTCOME, LEAD_DECISION, CALL_READY,
                 QUALIFIED_LEAD, DEAD_LETTER)
"""Every topic the aggregator reads."""

NO_INTERACTION_AFTER = timedelta(days=90)

# Call outcomes that end a lead without qualification, counted as "disqualified" reasons (by tag
# when the dialer gave tags, by outcome code otherwise). Contact outcomes that are not qualifying
# and not a refusal (CALLBACK_REQUESTED, NOT_NOW) keep the lead open, so they are not here.
DISQUALIFYING = frozenset({"NOT_INTERESTED", "WRONG_NUMBER", "DISCONNECTED", "DO_NOT_CALL"})
_CLOSING_CODES: dict[str, str] = {str(outcome): str(code) for outcome, code in OUTCOME_REASONS.items()}
"""Outcome code (a str as read from Avro) → the reason code its closing decision gives."""

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Target:
    """An operating target from COMPLIANCE.md: ``value < limit`` (op "<") or ``value > limit`` (">")."""

    op: str
    limit: float

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value < self.limit if self.op == "<" else value > self.limit


HEALTH_TARGETS: Mapping[str, Target] = {
    "non_working_share": Target("<", 0.15),
    "contact_rate": Target(">", 0.22),
    "duplicate_share": Target("<", 0.05),
    "no_interaction_90d_share": Target("<", 0.30),
}


@dataclass(frozen=True)
class Capture:
    campaign_id: str
    source: str
    segment: str | None
    country: str | None
    occurred_at: datetime | None


@dataclass(frozen=True)
class Decision:
    input_event_id: str
    input_topic: str
    outcome: str
    reasons: tuple[str, ...]
    campaign_id: str
    source: str
    region: str | None
    phone_e164: str | None
    quality_flags: tuple[str, ...]
    lead_status: str | None = None
    decided_at: datetime | None = None
    attempts: int = 0
    decision_id: str = ""


@dataclass(frozen=True)
class Offer:
    """A READY on call-ready: when it was made and when its window closes."""

    occurred_at: datetime | None
    callable_until: datetime | None
    decision_id: str


@dataclass(frozen=True)
class Outcome:
    code: str
    phone: str
    campaign_id: str
    occurred_at: datetime | None
    tags: tuple[str, ...]


@dataclass
class LeadFacts:
    """Everything counted about one lead id, each fact keyed by its record's event id."""

    captures: dict[str, Capture] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    qualified: dict[str, str] = field(default_factory=dict)
    """qualified-lead event id → campaign id, for the QUALIFIED ones (NURTURE ones are not counted)."""
    offers: dict[str, Offer] = field(default_factory=dict)
    """READY event id → the offer."""

    def dimensions(self) -> tuple[str, str, str]:
        """(campaign, source, segment), the same whatever order the facts arrived in."""
        captures = [self.captures[k] for k in sorted(self.captures)]
        decisions = [self.decisions[k] for k in sorted(self.decisions)]
        outcomes = [self.outcomes[k] for k in sorted(self.outcomes)]
        campaign = _first([c.campaign_id for c in captures] + [d.campaign_id for d in decisions]
                          + [o.campaign_id for o in outcomes] + sorted(self.qualified.values()))
        source = _first([c.source for c in captures] + [d.source for d in decisions])
        segment = _first([c.segment for c in captures] + [d.region for d in decisions]
                         + [c.country for c in captures])
        return campaign, source, segment

    def phone(self) -> str | None:
        phones = sorted(d.phone_e164 for d in self.decisions.values() if d.phone_e164)
        return phones[0] if phones else None

    def size(self) -> int:
        return (len(self.captures) + len(self.decisions) + len(self.outcomes) + len(self.qualified)
                + len(self.offers))


def _first(values: Iterable[str | None]) -> str:
    for value in values:
        if value:
            return value
    return UNKNOWN


@dataclass
class Figures:
    """The counts of one group (or of everything) and the health figures that follow from them."""

    captured: int = 0
    valid: int = 0
    duplicates: int = 0
    callable: int = 0
    contacted: int = 0
    qualified: int = 0
    leads: int = 0
    leads_without_interaction_90d: int = 0
    snoozed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    stranded_offers: int = 0
    oldest_stranded: datetime | None = None
    """The earliest window end among stranded offers."""
    stale_leads: int = 0
    oldest_stale: datetime | None = None
    """When the first of the stale leads went stale."""
    reasons: dict[str, Counter[str]] = field(default_factory=dict)
    quality_flags: Counter[str] = field(default_factory=Counter)
    numbers: dict[str, set[str]] = field(default_factory=dict)
    """Each dialed number (phone_e164 of its lead, else the outcome's phone) → the contact kinds seen."""

    @property
    def dialed_numbers(self) -> int:
        return len(self.numbers)

    @property
    def contacted_numbers(self) -> int:
        return sum("CONTACT" in kinds for kinds in self.numbers.values())

    @property
    def non_working_numbers(self) -> int:
        return sum("NON_WORKING" in kinds for kinds in self.numbers.values())

    def health(self) -> dict[str, dict[str, Any]]:
        """Each health figure with its target and whether it is met (None: nothing to measure)."""
        values = {
            "non_working_share": _share(self.non_working_numbers, self.dialed_numbers),
            "contact_rate": _share(self.contacted_numbers, self.dialed_numbers),
            "duplicate_share": _share(self.duplicates, self.captured),
            "no_interaction_90d_share": _share(self.leads_without_interaction_90d, self.leads),
        }
        return {name: {"value": value, "target": f"{HEALTH_TARGETS[name].op} {HEALTH_TARGETS[name].limit:g}",
                       "ok": HEALTH_TARGETS[name].met(value)}
                for name, value in values.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "captured": self.captured, "valid": self.valid, "duplicates": self.duplicates,
            "callable": self.callable, "contacted": self.contacted, "qualified": self.qualified,
            "leads": self.leads, "dialed_numbers": self.dialed_numbers,
            "contacted_numbers": self.contacted_numbers, "non_working_numbers": self.non_working_numbers,
            "leads_without_interaction_90d": self.leads_without_interaction_90d,
            "reasons": {group: dict(sorted(codes.items())) for group, codes in sorted(self.reasons.items())},
            "quality_flags": dict(sorted(self.quality_flags.items())),
            "health": self.health(),
            "snoozed": self.snoozed,
            "statuses": dict(sorted(self.statuses.items())),
            "stranded_offers": {"count": self.stranded_offers, "oldest": _iso(self.oldest_stranded)},
            "stale_leads": {"count": self.stale_leads, "oldest": _iso(self.oldest_stale)},
        }


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


@dataclass
class Report:
    at: datetime
    totals: Figures
    groups: dict[tuple[str, str, str], Figures]
    sources: dict[str, Figures]
    records: dict[str, int]
    """Distinct records counted per topic."""
    opt_outs: Counter[str]
    """By action (ADD, REMOVE, ERASE)."""
    call_ready: Counter[str]
    """By action (READY, WITHDRAW)."""
    dead_letters: Counter[str]
    """By "<topic>/<stage>"."""
    undecodable: Counter[str]
    """Records of a topic that did not decode (counted by topic, not deduplicated: they have no id)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "totals": self.totals.to_json(),
            "groups": [{"campaign_id": c, "source": s, "segment": g, **f.to_json()}
                       for (c, s, g), f in sorted(self.groups.items())],
            "sources": [{"source": s, **source_quality(f)} for s, f in sorted(self.sources.items())],
            "records": dict(sorted(self.records.items())),
            "opt_outs": dict(sorted(self.opt_outs.items())),
            "call_ready": dict(sorted(self.call_ready.items())),
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "undecodable": dict(sorted(self.undecodable.items())),
            "reason_codes": vocabulary_json(),
        }


def source_quality(f: Figures) -> dict[str, Any]:
    """Per-source lead quality: shares of the source's captures, and its contact rate."""
    return {
        "captured": f.captured, "valid": f.valid, "callable": f.callable, "contacted": f.contacted,
        "qualified": f.qualified, "duplicates": f.duplicates,
        "valid_share": _share(f.valid, f.captured), "callable_share": _share(f.callable, f.captured),
        "contact_rate": _share(f.contacted_numbers, f.dialed_numbers),
        "qualified_share": _share(f.qualified, f.captured), "duplicate_share": _share(f.duplicates, f.captured),
        "quality_flags": dict(sorted(f.quality_flags.items())),
    }


class Aggregator:
    """Accumulates facts from records; idempotent by event id; order-insensitive."""

    def __init__(self) -> None:
        self._leads: dict[str, LeadFacts] = {}
        self._summaries: dict[str, LeadSummary] = {}
        """Per-lead contributions, dropped when a fact about the lead is added: a report only
        re-summarizes the leads that changed since the last one."""
        self._opt_outs: dict[str, str] = {}
        self._consents: set[str] = set()
        self._call_ready: dict[str, str] = {}
        self._dead_letters: dict[str, str] = {}
        self._undecodable: Counter[str] = Counter()

    @property
    def facts(self) -> int:
        """How many facts are held (the memory bound: one per distinct counted record)."""
        return (sum(f.size() for f in self._leads.values()) + len(self._opt_outs) + len(self._consents)
                + len(self._call_ready) + len(self._dead_letters))

    def _lead(self, lead_id: Any, event_id: str) -> LeadFacts:
        # A record without a lead id stands alone (keyed by its own id) rather than merging with others.
        key = str(lead_id) if lead_id else f"#{event_id}"
        self._summaries.pop(key, None)
        facts = self._leads.get(key)
        if facts is None:
            facts = self._leads[key] = LeadFacts()
        return facts

    def add_undecodable(self, topic: str) -> None:
        """A record of ``topic`` that did not decode (the worker dead-letters it)."""
        self._undecodable[topic] += 1

    def add(self, topic: str, record: Mapping[str, Any]) -> None:
        """Count one decoded record of ``topic``; a record seen before (same event id) changes nothing.
        Records of other topics, or without an event id, are ignored."""
        event_id = record.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            return
        if topic == LEAD_CAPTURED:
            attributes = record.get("attributes") or {}
            self._lead(record.get("lead_id"), event_id).captures[event_id] = Capture(
                campaign_id=str(record.get("campaign_id") or ""), source=str(record.get("source") or ""),
                segment=attributes.get("segment") or None, country=record.get("country"),
                occurred_at=record.get("occurred_at"))
        elif topic == LEAD_DECISION:
            self._lead(record.get("lead_id"), event_id).decisions[event_id] = Decision(
                input_event_id=str(record.get("input_event_id") or ""),
                input_topic=str(record.get("input_topic") or ""),
                outcome=str(record.get("outcome") or ""),
                reasons=tuple(str(r.get("code")) for r in record.get("reasons") or ()),
                campaign_id=str(record.get("campaign_id") or ""), source=str(record.get("source") or ""),
                region=record.get("region"), phone_e164=record.get("phone_e164"),
                quality_flags=tuple(str(f) for f in record.get("quality_flags") or ()),
                lead_status=record.get("lead_status"), decided_at=record.get("decided_at"),
                attempts=int(record.get("attempts") or 0), decision_id=str(record.get("decision_id") or ""))
        elif topic == CALL_OUTCOME:
            self._lead(record.get("lead_id"), event_id).outcomes[event_id] = Outcome(
                code=str(record.get("outcome") or ""), phone=str(record.get("phone") or ""),
                campaign_id=str(record.get("campaign_id") or ""), occurred_at=record.get("occurred_at"),
                tags=tuple(str(t) for t in record.get("tags") or ()))
        elif topic == QUALIFIED_LEAD:
            if record.get("lead_status", "QUALIFIED") == "QUALIFIED":
                self._lead(record.get("lead_id"), event_id).qualified[event_id] = str(record.get("campaign_id") or "")
        elif topic == OPT_OUT:
            self._opt_outs[event_id] = str(record.get("action") or "ADD")
        elif topic == CONSENT_CHANGED:
            self._consents.add(event_id)
        elif topic == CALL_READY:
            self._call_ready[event_id] = str(record.get("action") or "")
            if record.get("action") == "READY" and record.get("lead_id"):
                self._lead(record.get("lead_id"), event_id).offers[event_id] = Offer(
                    occurred_at=record.get("occurred_at"), callable_until=record.get("callable_until"),
                    decision_id=str(record.get("decision_id") or ""))
        elif topic == DEAD_LETTER:
            self._dead_letters[event_id] = f"{record.get('topic')}/{record.get('stage')}"

    def report(self, at: datetime) -> Report:
        """Every figure as of ``at`` (the clock matters for the 90-day interaction figure and for
        which offers are stranded)."""
        totals = Figures()
        groups: dict[tuple[str, str, str], Figures] = {}
        sources: dict[str, Figures] = {}
        horizon = at - NO_INTERACTION_AFTER
        records: Counter[str] = Counter(dict.fromkeys(REPORT_TOPICS, 0))
        for lead_id, facts in self._leads.items():
            lead = self._summaries.get(lead_id)
            if lead is None:
                lead = self._summaries[lead_id] = summarize(facts)
            group = groups.setdefault(lead.dims, Figures())
            by_source = sources.setdefault(lead.dims[1], Figures())
            records[LEAD_CAPTURED] += len(facts.captures)
            records[LEAD_DECISION] += len(facts.decisions)
            records[CALL_OUTCOME] += len(facts.outcomes)
            records[QUALIFIED_LEAD] += len(facts.qualified)
            for figures in (totals, group, by_source):
                _count_lead(figures, lead, horizon, at)
        records[OPT_OUT] = len(self._opt_outs)
        records[CONSENT_CHANGED] = len(self._consents)
        records[CALL_READY] = len(self._call_ready)
        records[DEAD_LETTER] = len(self._dead_letters)
        return Report(at=at, totals=totals, groups=groups, sources=sources, records=dict(records),
                      opt_outs=Counter(self._opt_outs.values()), call_ready=Counter(self._call_ready.values()),
                      dead_letters=Counter(self._dead_letters.values()), undecodable=Counter(self._undecodable))


@dataclass(frozen=True)
class LeadSummary:
    """What one lead contributes to the figures of every group it is in (cached until it changes)."""

    dims: tuple[str, str, str]
    captured: int
    valid: int
    duplicates: int
    callable: bool
    contacted: bool
    qualified: bool
    last_interaction: datetime | None
    numbers: tuple[tuple[str, frozenset[str]], ...]
    reasons: tuple[tuple[str, str], ...]
    """(outcome group, code), once per occurrence."""
    quality_flags: tuple[str, ...]
    snoozed: bool = False
    status: str | None = None
    """``lead_status`` of the latest decision."""
    status_since: datetime | None = None
    open_offer_until: datetime | None = None
    """Window end of the latest READY when nothing came after it (stranded once that is past)."""


def summarize(facts: LeadFacts) -> LeadSummary:
    latest = _latest_decision(facts)
    capture_decisions = {d.input_event_id: d for d in facts.decisions.values() if d.input_topic == LEAD_CAPTURED}
    decided = [capture_decisions[e] for e in facts.captures if e in capture_decisions]
    interactions = [c.occurred_at for c in facts.captures.values() if c.occurred_at is not None]
    interactions += [o.occurred_at for o in facts.outcomes.values() if o.occurred_at is not None]
    # Numbers, not calls: a number dialed five times with one contact is one contacted number.
    lead_phone = facts.phone()
    numbers: dict[str, set[str]] = {}
    for outcome in facts.outcomes.values():
        kinds_seen = numbers.setdefault(lead_phone or outcome.phone, set())
        if (kind := _kind(outcome.code)) is not None:
            kinds_seen.add(kind)
    reasons: list[tuple[str, str]] = []
    for decision in facts.decisions.values():
        if decision.outcome != "CALL_READY":
            reasons += [(decision.outcome, code) for code in decision.reasons or ("-",)]
    for outcome in facts.outcomes.values():
        if outcome.code in DISQUALIFYING:
            untagged = _CLOSING_CODES.get(outcome.code, outcome.code)
            reasons += [("DISQUALIFIED", tag) for tag in outcome.tags or (untagged,)]
    return LeadSummary(
        dims=facts.dimensions(),
        captured=len(facts.captures),
        # A capture not decided yet (or dead-lettered as invalid) is captured, not valid.
        valid=sum(d.outcome != "REJECTED" for d in decided),
        duplicates=sum(d.outcome == "DUPLICATE" for d in decided),
        callable=any(d.outcome == "CALL_READY" for d in facts.decisions.values()),
        contacted=any(_kind(o.code) == "CONTACT" for o in facts.outcomes.values()),
        qualified=bool(facts.qualified),
        last_interaction=max(interactions) if facts.captures and interactions else None,
        numbers=tuple((phone, frozenset(kinds)) for phone, kinds in numbers.items()),
        reasons=tuple(reasons),
        quality_flags=tuple(flag for d in facts.decisions.values() for flag in d.quality_flags),
        snoozed=any(o.code == "NOT_NOW" for o in facts.outcomes.values()),
        status=latest.lead_status if latest is not None else None,
        status_since=latest.decided_at if latest is not None else None,
        open_offer_until=_open_offer_until(facts),
    )


_EPOCH = datetime.fromtimestamp(0, UTC)


def _latest_decision(facts: LeadFacts) -> Decision | None:
    """The lead's latest decision with a status: by decision instant, then attempts (a frozen clock
    gives many decisions one instant; each call outcome adds an attempt), closed statuses last."""
    decided = [d for d in facts.decisions.values() if d.lead_status]
    if not decided:
        return None
    return max(decided, key=lambda d: (d.decided_at or _EPOCH, d.attempts, d.lead_status in CLOSED_STATUSES))


def _open_offer_until(facts: LeadFacts) -> datetime | None:
    offers = [o for o in facts.offers.values() if o.occurred_at is not None]
    if not offers:
        return None
    last = max(offers, key=lambda o: o.occurred_at or _EPOCH)
    made = last.occurred_at or _EPOCH
    if any(o.occurred_at is not None and o.occurred_at >= made for o in facts.outcomes.values()):
        return None  # worked
    if any(d.decided_at is not None and d.decided_at > made and d.decision_id != last.decision_id
           for d in facts.decisions.values()):
        return None  # decided again since: withdrawn, re-offered after expiring, closed
    return last.callable_until


def _count_lead(f: Figures, lead: LeadSummary, horizon: datetime, at: datetime) -> None:
    f.captured += lead.captured
    f.valid += lead.valid
    f.duplicates += lead.duplicates
    if lead.captured:
        f.leads += 1
        if lead.last_interaction is None or lead.last_interaction < horizon:
            f.leads_without_interaction_90d += 1
    f.callable += lead.callable
    f.contacted += lead.contacted
    f.qualified += lead.qualified
    for phone, kinds in lead.numbers:
        f.numbers.setdefault(phone, set()).update(kinds)
    for group, code in lead.reasons:
        codes = f.reasons.get(group)
        if codes is None:
            codes = f.reasons[group] = Counter()
        codes[code] += 1
    f.quality_flags.update(lead.quality_flags)
    f.snoozed += lead.snoozed
    if lead.status is not None:
        f.statuses[lead.status] += 1
    if lead.status == "STALE":
        f.stale_leads += 1
        f.oldest_stale = _earliest(f.oldest_stale, lead.status_since)
    if lead.open_offer_until is not None and lead.open_offer_until < at:
        f.stranded_offers += 1
        f.oldest_stranded = _earliest(f.oldest_stranded, lead.open_offer_until)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _kind(code: str) -> str | None:
    try:
        return contact_kind(code)  # type: ignore[arg-type]  # a str from Avro; unknown codes are None
    except ValueError:
        return None
