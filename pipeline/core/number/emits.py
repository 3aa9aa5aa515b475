"""What ``process`` sends: ``Emit`` records, their replay-stable ids, and the lead-decision audit record
every decision leaves."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from pipeline import topics
from pipeline.core.decision import Decision
from pipeline.core.leads import LeadStatus
from pipeline.core.number.context import ProcessContext
from pipeline.events import LeadDecision, NumberEvent

_IDS = uuid.UUID("6f1d7c0e-3b1a-5c47-9a8e-2f4b6d1e0c55")
"""Namespace of the uuid5 ids of emitted records. Never change it: replays must give the same ids."""
_ID_PREFIX = _IDS.bytes


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


def lead_decision(
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
