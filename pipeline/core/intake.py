"""Intake: the first step for every decoded input record, before it meets any state.

``intake`` validates the record, checks its field and size limits (:mod:`pipeline.core.limits`),
normalizes its phone number and either routes it — re-keyed by E.164 as a ``NumberEvent`` for the
number's single writer — or says what to do instead: a lead with an unusable number, or with a
usable number and fields over their limits, gets a REJECTED ``lead-decision`` naming why (the caller
learns it); an opt-out whose only excess is its free text (reason, evidence) is applied with that text
cut to its limit — a do-not-call request is never lost for what it says; any other invalid record
goes to the dead-letter topic with the problems named. Pure: no I/O, ``now`` passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pipeline import topics
from pipeline.core.decision import Decision, rejected_fields, rejected_phone
from pipeline.core.limits import TEXT_CHARS, field_problems, record_size_problem
from pipeline.core.linetype import LineTypeSource, with_line_type
from pipeline.core.number.emits import Emit, record_id
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.validation import validate_input
from pipeline.events import InputEvent, LeadCaptured, LeadDecision, NumberEvent, PhoneInfo


@dataclass(frozen=True, slots=True)
class Routed:
    """A valid event, normalized; send ``number_event`` keyed by ``key`` (the E.164 number)."""

    key: str
    number_event: NumberEvent


@dataclass(frozen=True, slots=True)
class Rejected:
    """A lead that cannot be called at all; send ``emits`` (its REJECTED decision)."""

    emits: tuple[Emit, ...]


@dataclass(frozen=True, slots=True)
class Invalid:
    """A record to dead-letter at ``stage`` because of ``error``."""

    stage: str
    error: str


_DECISION_FIELDS = frozenset({"event_id", "lead_id", "campaign_id", "source", "phone"})
_OPT_OUT_TEXT = frozenset({"reason", "evidence"})
"""An opt-out's free-text fields: over their limit they are cut, the opt-out applied all the same."""


def _cut(text: str) -> str:
    return text[: TEXT_CHARS - 1] + "…"
"""The lead's fields a REJECTED decision carries: over their limits, there is no decision to write."""


def intake(topic: str, schema: str, record: Mapping[str, Any], *, partition: int, offset: int,
           default_region: str, now: datetime, rule_pack_version: str,
           line_types: LineTypeSource | None = None, encoded_size: int | None = None) -> Routed | Rejected | Invalid:
    """Decide where a decoded input record from ``topic`` goes next.

    The number is enriched with ``line_types`` (a line-type source, see ``pipeline.core.linetype``)
    when one is given; its answer is in ``PhoneInfo.line_type`` from here on. ``encoded_size`` is
    the record's size on the wire in bytes, checked against ``limits.RECORD_BYTES`` when given.
    """
    if topic not in topics.INPUT_TOPICS:
        return Invalid("validate", f"{topic} is not an input topic")
    if schema != topic:
        return Invalid("validate", f"a {schema} record on topic {topic}: each input topic carries its own schema")
    problems = validate_input(topic, record, now)
    if problems:
        return Invalid("validate", "; ".join(problems))
    over = field_problems(topic, record)
    if over and topic == topics.OPT_OUT and all(path in _OPT_OUT_TEXT for path, _ in over):
        # An opt-out is never lost for its free text: it is applied with the text cut to its limit.
        record = {**record, **{path: _cut(record[path]) for path, _ in over}}
        over = []
    if encoded_size is not None and (size := record_size_problem(encoded_size)) is not None:
        over.append(("record", size))
    if any(path in _DECISION_FIELDS for path, _ in over) or (over and topic != topics.LEAD_CAPTURED):
        return Invalid("validate", "; ".join(f"{path}: {why}" for path, why in over))
    phone = normalize_phone(record["phone"], record.get("country"), default_region)
    if isinstance(phone, PhoneError):
        if topic == topics.LEAD_CAPTURED:
            lead = cast(LeadCaptured, record)
            decision = rejected_phone(phone.code, phone.detail)
            return Rejected((_rejected_decision(lead, decision, now, rule_pack_version),))
        return Invalid("normalize", f"phone: {phone.code}: {phone.detail}")
    if over:  # a lead with a usable number: its sender learns which fields were too long
        lead = cast(LeadCaptured, record)
        return Rejected((_rejected_decision(lead, rejected_fields(over), now, rule_pack_version, phone),))
    event: NumberEvent = {
        "phone": with_line_type(phone, line_types), "input_topic": topic, "input_partition": partition,
        "input_offset": offset,
        "event": cast(InputEvent, record), "duplicate_of": None,
    }
    return Routed(phone["phone_e164"], event)


def _rejected_decision(lead: LeadCaptured, decision: Decision, now: datetime, rule_pack_version: str,
                       phone: PhoneInfo | None = None) -> Emit:
    decision_id = record_id(lead["event_id"], "decision", lead["lead_id"])
    record: LeadDecision = {
        "event_id": record_id(lead["event_id"], "lead-decision", lead["lead_id"]),
        "occurred_at": now,
        "decision_id": decision_id,
        "input_event_id": lead["event_id"],
        "input_topic": topics.LEAD_CAPTURED,
        "lead_id": lead["lead_id"],
        "campaign_id": lead["campaign_id"],
        "source": lead["source"],
        "phone": lead["phone"],
        "phone_e164": phone["phone_e164"] if phone else None,
        "region": phone["region"] if phone else None,
        "number_type": phone["number_type"] if phone else None,
        "time_zones": list(phone["time_zones"]) if phone else [],
        "outcome": decision.outcome,
        "reasons": list(decision.reasons),
        "rules_fired": list(decision.rules_fired),
        "score": None,
        "score_breakdown": [],
        "callable_from": None,
        "callable_until": None,
        "rule_pack_version": rule_pack_version,
        "decided_at": now,
        "lead_status": "REJECTED",
        "attempts": 0,
        "quality_flags": [],
    }
    # Keyed by the E.164 number like every decision; without one, by the raw phone.
    return Emit(topics.LEAD_DECISION, phone["phone_e164"] if phone else lead["phone"], topics.LEAD_DECISION, record)
