"""Records as the console reads them (decoded Avro dicts), small enough to write tables of."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def _id() -> str:
    return str(uuid.uuid4())


def captured(lead_id: str, *, source: str = "web", campaign: str = "solar-q4", segment: str | None = None,
             at: datetime = NOW, event_id: str | None = None) -> tuple[str, dict[str, Any]]:
    return "lead-captured", {
        "event_id": event_id or _id(), "occurred_at": at, "lead_id": lead_id, "source": source,
        "campaign_id": campaign, "phone": "+13055550100", "country": "US",
        "attributes": {"segment": segment} if segment else {},
    }


def decision(lead_id: str, outcome: str, *, input_event_id: str, input_topic: str = "lead-captured",
             codes: tuple[str, ...] = (), source: str = "web", campaign: str = "solar-q4",
             phone: str | None = "+13055550100", flags: tuple[str, ...] | None = None,
             status: str | None = None, at: datetime = NOW, attempts: int = 0,
             decision_id: str | None = None) -> tuple[str, dict[str, Any]]:
    record: dict[str, Any] = {
        "event_id": _id(), "occurred_at": at, "decided_at": at, "lead_status": status, "attempts": attempts,
        "decision_id": decision_id or _id(), "input_event_id": input_event_id,
        "input_topic": input_topic, "lead_id": lead_id, "campaign_id": campaign, "source": source,
        "phone": phone or "garbage", "phone_e164": phone, "region": "US" if phone else None, "outcome": outcome,
        "reasons": [{"code": c, "rule_id": "r." + c.lower(), "detail": ""} for c in codes],
    }
    if flags is not None:  # a field other helpers add with a default: absent in 0.1.0 records
        record["quality_flags"] = list(flags)
    return "lead-decision", record


def outcome(lead_id: str, code: str, *, phone: str = "+13055550100", at: datetime = NOW,
            tags: tuple[str, ...] = ()) -> tuple[str, dict[str, Any]]:
    return "call-outcome", {
        "event_id": _id(), "occurred_at": at, "lead_id": lead_id, "phone": phone, "campaign_id": "solar-q4",
        "outcome": code, "tags": list(tags), "answers": {},
    }


def qualified(lead_id: str, *, source: str = "web", status: str | None = None) -> tuple[str, dict[str, Any]]:
    record = {"event_id": _id(), "occurred_at": NOW, "lead_id": lead_id, "campaign_id": "solar-q4",
              "source": source, "phone_e164": "+13055550100"}
    if status is not None:  # absent in records written before NURTURE existed
        record["lead_status"] = status
    return "qualified-lead", record


def offer(lead_id: str, *, at: datetime, until: datetime | None, decision_id: str = "d-offer",
          action: str = "READY") -> tuple[str, dict[str, Any]]:
    return "call-ready", {"event_id": _id(), "occurred_at": at, "action": action, "lead_id": lead_id,
                          "phone_e164": "+13055550100", "campaign_id": "solar-q4", "callable_until": until,
                          "decision_id": decision_id}


def opt_out(action: str = "ADD") -> tuple[str, dict[str, Any]]:
    return "opt-out", {"event_id": _id(), "occurred_at": NOW, "phone": "+13055550100", "action": action}


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)
