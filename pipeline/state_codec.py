"""Table rows: each state type as compact UTF-8 JSON, and back, through one schema.

The rows of the number's tables (suppressions, consents, leads, erasure markers) and of the email
index are declared once below as msgspec structs — the *row schema*: the names a row stores, their
types, and what an absent key reads as. :func:`encode` and :func:`decode` are the only way in and
out; msgspec does the work in C and checks every value as it reads it (a wrong type, an unknown
enum value or an instant without a UTC offset raises :class:`RowError`: a row is never input to
guess around, so a malformed one is a bug or a corrupted changelog).

**The stored shape is the one rows always had.** A row keeps only what differs from its default
(no nulls, no ``false``, no empty lists), and a few stored names differ from the state types' own:
a suppression's ``id``, a number's ``seen`` event ids and its ``calls``, and the ``history`` and
``non_working`` objects that group fields the state types keep flat. Two things are written
differently from release 0.1.x, and read either way: instants end in ``Z`` rather than ``+00:00``
(both RFC 3339, both read by ``datetime.fromisoformat``), and a callback promise keeps its null
keys. Leaves (a suppression, a consent entry, a lead record, ...) map to their state type field
for field; only the three containers whose rows group fields have a conversion of their own
(:func:`_suppressions_row` and so on).

**Older rows.** A container row without ``history`` was written before history was kept (release
0.1): what it recorded bounds what may have been dropped unseen, as each decoder below says. A
callback promise written with its null keys left out is read by the slower path of
:func:`_decode_loose`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import msgspec

from pipeline.core.consents import MAX_ENTRIES as MAX_CONSENT_ENTRIES
from pipeline.core.consents import ConsentEntry, ConsentLedger
from pipeline.core.email_stage import EmailLeads
from pipeline.core.erasure import Erasure
from pipeline.core.leads import LeadRecord, LeadStatus, NumberLeads
from pipeline.core.snooze import Snooze
from pipeline.core.suppressions import Removal, Suppression, SuppressionSource, SuppressionState
from pipeline.events import (
    CallbackPromise,
    CallOutcomeCode,
    ConsentAction,
    ConsentChannel,
    ScoreContribution,
    ScoreHistoryEntry,
    SuppressionCategory,
    SuppressionScope,
)

Instant = Annotated[datetime, msgspec.Meta(tz=True)]
"""An instant with its UTC offset: a row holding a naive time does not read."""

LEGACY_ATTEMPT_HISTORY = timedelta(days=7)
"""What a leads row of release 0.1 held: the call attempts of the 7 days before its newest."""


class RowError(ValueError):
    """A row that does not read as its state type (a bug or a corrupted changelog, never input)."""


class _Row(msgspec.Struct, omit_defaults=True):
    """A stored row: only what differs from the default is written. (Each row below is keyword-only
    too — that option is not inherited — so its fields keep the stored order.)"""


# --- suppressions -----------------------------------------------------------------------------------


class SuppressionRow(_Row, kw_only=True, rename={"suppression_id": "id"}):
    suppression_id: str
    scope: SuppressionScope
    category: SuppressionCategory
    campaign_id: str | None = None
    source: SuppressionSource
    added_by: str
    evidence: str | None = None
    reason: str | None = None
    created_at: Instant
    expires_at: Instant | None = None
    lifted_at: Instant | None = None


class RemovalRow(_Row, kw_only=True):
    event_id: str
    removed_ids: tuple[str, ...] = ()
    removed_at: Instant
    removed_by: str


class HistoryFromRow(_Row, kw_only=True, rename={"since": "from"}):
    since: Instant | None = None
    """Answers about instants before this may miss what bounding dropped; absent: complete."""


class SuppressionsRow(_Row, kw_only=True):
    active: tuple[SuppressionRow, ...] = ()
    removals: tuple[RemovalRow, ...] = ()
    ended: tuple[SuppressionRow, ...] = ()
    history: HistoryFromRow | None = None
    """Always written; absent only in rows of release 0.1."""


# --- consents ---------------------------------------------------------------------------------------


class ConsentEntryRow(_Row, kw_only=True):
    event_id: str
    action: ConsentAction
    purpose: str
    channel: ConsentChannel
    channel_specific: bool = False
    effective_at: Instant
    source: str
    certificate_id: str | None = None
    form_url: str | None = None
    consent_text: str | None = None
    ip: str | None = None
    expires_at: Instant | None = None


class ConsentsRow(_Row, kw_only=True):
    entries: tuple[ConsentEntryRow, ...] = ()
    history: HistoryFromRow | None = None
    """Always written; absent only in rows of release 0.1."""


# --- leads ------------------------------------------------------------------------------------------


class LeadRecordRow(_Row, kw_only=True):
    lead_id: str
    campaign_id: str
    source: str
    status: LeadStatus
    captured_at: Instant | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    consent_certificate_id: str | None = None
    score: float | None = None
    score_breakdown: tuple[ScoreContribution, ...] = ()
    offered: bool = False
    last_decision_id: str | None = None
    attempts: int = 0
    last_outcome: CallOutcomeCode | None = None
    qualified_by: str | None = None
    deferred_until: Instant | None = None
    address_region: str | None = None
    address_country: str | None = None
    failed_days: tuple[str, ...] = ()
    score_history: tuple[ScoreHistoryEntry, ...] = ()
    merged: tuple[str, ...] = ()
    expired_offers: int = 0
    callback: CallbackPromise | None = None
    callbacks: int = 0


class SnoozeRow(_Row, kw_only=True):
    campaign_id: str
    lead_id: str
    until: Instant
    evidence: str
    since: Instant | None = None


class NonWorkingRow(_Row, kw_only=True):
    until: Instant
    evidence: str | None = None
    since: Instant | None = None


class LeadsHistoryRow(_Row, kw_only=True):
    attempts_dropped_until: Instant | None = None
    snoozes_dropped_until: Instant | None = None


class LeadsRow(_Row, kw_only=True, rename={"seen_event_ids": "seen", "call_attempts": "calls"}):
    leads: tuple[LeadRecordRow, ...] = ()
    seen_event_ids: tuple[str, ...] = ()
    call_attempts: tuple[Instant, ...] = ()
    non_working: NonWorkingRow | None = None
    snoozes: tuple[SnoozeRow, ...] = ()
    history: LeadsHistoryRow | None = None
    """Always written; absent only in rows of release 0.1."""


# --- erasure markers and the email index ------------------------------------------------------------


class ErasureRow(_Row, kw_only=True):
    erased_at: Instant
    request_event_id: str
    requested_by: str


class EmailLeadRow(_Row, kw_only=True):
    lead_id: str
    campaign_id: str
    phone_e164: str
    captured_at: Instant


class EmailLeadsRow(_Row, kw_only=True):
    leads: tuple[EmailLeadRow, ...] = ()


# --- the containers whose rows group fields ---------------------------------------------------------


def _rows(values: object, row: Any) -> Any:
    """State values as their rows, field for field (the leaves: same names, same order)."""
    return msgspec.convert(values, row, from_attributes=True)


def _values(rows: object, kind: Any) -> Any:
    """Rows as their state values, field for field."""
    return msgspec.convert(rows, kind, from_attributes=True)


def _suppressions_row(value: SuppressionState) -> SuppressionsRow:
    return SuppressionsRow(active=_rows(value.active, tuple[SuppressionRow, ...]),
                           removals=_rows(value.removals, tuple[RemovalRow, ...]),
                           ended=_rows(value.ended, tuple[SuppressionRow, ...]),
                           history=HistoryFromRow(since=value.history_from))


def _suppressions(row: SuppressionsRow) -> SuppressionState:
    active: tuple[Suppression, ...] = _values(row.active, tuple[Suppression, ...])
    removals: tuple[Removal, ...] = _values(row.removals, tuple[Removal, ...])
    if row.history is None:
        # Release 0.1 kept no history: what happened before the newest instant the row records may
        # have been dropped without a trace.
        recorded = [s.created_at for s in active] + [r.removed_at for r in removals]
        return SuppressionState(active, removals, (), max(recorded) if recorded else None)
    return SuppressionState(active, removals, _values(row.ended, tuple[Suppression, ...]), row.history.since)


def _consents_row(value: ConsentLedger) -> ConsentsRow:
    return ConsentsRow(entries=_rows(value.entries, tuple[ConsentEntryRow, ...]),
                       history=HistoryFromRow(since=value.history_from))


def _consents(row: ConsentsRow) -> ConsentLedger:
    entries = _values(row.entries, tuple[ConsentEntry, ...])
    if row.history is None:
        # Release 0.1 kept no history: a full ledger may have dropped entries unrecorded.
        full = len(entries) >= MAX_CONSENT_ENTRIES
        return ConsentLedger(entries, max(e.effective_at for e in entries) if full else None)
    return ConsentLedger(entries, row.history.since)


def _leads_row(value: NumberLeads) -> LeadsRow:
    non_working = None if value.non_working_until is None else NonWorkingRow(
        until=value.non_working_until, evidence=value.non_working_evidence, since=value.non_working_since)
    return LeadsRow(leads=_rows(value.leads, tuple[LeadRecordRow, ...]), seen_event_ids=value.seen_event_ids,
                    call_attempts=value.call_attempts, non_working=non_working,
                    snoozes=_rows(value.snoozes, tuple[SnoozeRow, ...]),
                    history=LeadsHistoryRow(attempts_dropped_until=value.attempts_dropped_until,
                                            snoozes_dropped_until=value.snoozes_dropped_until))


def _leads(row: LeadsRow) -> NumberLeads:
    calls = row.call_attempts
    if row.history is not None:
        dropped_until = row.history.attempts_dropped_until
        snoozes_dropped = row.history.snoozes_dropped_until
    else:  # release 0.1 kept the attempts of the 7 days before the newest only
        dropped_until = max(calls) - LEGACY_ATTEMPT_HISTORY if calls else None
        snoozes_dropped = None  # release 0.1 had no snoozes
    non_working = row.non_working
    return NumberLeads(
        leads=_values(row.leads, tuple[LeadRecord, ...]),
        seen_event_ids=row.seen_event_ids,
        call_attempts=calls,
        non_working_until=None if non_working is None else non_working.until,
        non_working_evidence=None if non_working is None else non_working.evidence,
        non_working_since=None if non_working is None else non_working.since,
        attempts_dropped_until=dropped_until,
        snoozes=_values(row.snoozes, tuple[Snooze, ...]),
        snoozes_dropped_until=snoozes_dropped,
    )


# --- encode and decode ------------------------------------------------------------------------------

State = TypeVar("State", SuppressionState, ConsentLedger, NumberLeads, Erasure, EmailLeads)

_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {
    SuppressionState: msgspec.json.Decoder(SuppressionsRow),
    ConsentLedger: msgspec.json.Decoder(ConsentsRow),
    NumberLeads: msgspec.json.Decoder(LeadsRow),
    Erasure: msgspec.json.Decoder(ErasureRow),
    EmailLeads: msgspec.json.Decoder(EmailLeadsRow),
}


def encode(value: SuppressionState | ConsentLedger | NumberLeads | Erasure | EmailLeads) -> bytes:
    """``value`` as its row: compact UTF-8 JSON in the stored shape (see the module doc)."""
    row: _Row
    if isinstance(value, NumberLeads):
        row = _leads_row(value)
    elif isinstance(value, SuppressionState):
        row = _suppressions_row(value)
    elif isinstance(value, ConsentLedger):
        row = _consents_row(value)
    elif isinstance(value, Erasure):
        row = _rows(value, ErasureRow)
    else:
        row = _rows(value, EmailLeadsRow)
    return _ENCODER.encode(row)


def decode(kind: type[State], raw: bytes) -> State:
    """The ``kind`` value a row holds, rows of earlier releases included; raises :class:`RowError`."""
    try:
        row = _DECODERS[kind].decode(raw)
    except msgspec.ValidationError:
        row = _decode_loose(kind, raw)
    except msgspec.DecodeError as exc:
        raise RowError(f"a {kind.__name__} row is not JSON: {exc}") from exc
    try:
        return _value(kind, row)
    except msgspec.ValidationError as exc:
        raise RowError(f"a {kind.__name__} row does not read: {exc}") from exc


def _value(kind: type[State], row: Any) -> State:
    if kind is NumberLeads:
        return _leads(row)  # type: ignore[return-value]
    if kind is SuppressionState:
        return _suppressions(row)  # type: ignore[return-value]
    if kind is ConsentLedger:
        return _consents(row)  # type: ignore[return-value]
    return _values(row, kind)  # type: ignore[no-any-return]


def _decode_loose(kind: type, raw: bytes) -> Any:
    """A row the schema refuses, read the way rows of earlier releases allow: a callback promise
    written with its null keys left out gets them back. Anything else still refuses."""
    data = json.loads(raw)
    if kind is NumberLeads and isinstance(data, dict):
        for lead in data.get("leads") or ():
            promise = lead.get("callback") if isinstance(lead, dict) else None
            if isinstance(promise, dict):
                promise.setdefault("promised_by_agent", None)
                promise.setdefault("notes", None)
    try:
        return msgspec.convert(data, _DECODERS[kind].type)
    except msgspec.ValidationError as exc:
        raise RowError(f"a {kind.__name__} row does not read: {exc}") from exc
