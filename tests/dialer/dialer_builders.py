"""Builders for the dialer tests: call-ready records as the worker writes them."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # Tue 12:00 in New York

_ids = itertools.count(1)


def ready(phone: str = "+13055550100", *, lead_id: str | None = None, priority: int = 50,
          campaign_id: str = "solar-q4", until: datetime | None = NOW + timedelta(hours=4),
          since: datetime | None = NOW - timedelta(hours=5), event_id: str | None = None,
          promised_by: str | None = None, notes: str | None = None) -> dict[str, Any]:
    """A READY; with ``promised_by`` it brings back a callback that agent promised."""
    return {
        "event_id": event_id or str(uuid.uuid4()), "occurred_at": NOW, "action": "READY", "phone_e164": phone,
        "lead_id": lead_id or f"L{next(_ids):04d}", "campaign_id": campaign_id, "priority": priority,
        "score": float(priority), "score_breakdown": [], "callable_from": since, "callable_until": until,
        "seconds_left": int((until - NOW).total_seconds()) if until else 0, "time_zones": ["America/New_York"],
        "reasons": [], "decision_id": str(uuid.uuid4()), "rule_pack_version": "2026.11.2",
        "callback": {"requested_at": since or NOW, "promised_by_agent": promised_by, "notes": notes}
        if promised_by is not None else None,
    }


def withdraw(phone: str, lead_id: str = "", campaign_id: str = "solar-q4") -> dict[str, Any]:
    record = ready(phone, lead_id=lead_id or "x", campaign_id=campaign_id, until=None, since=None)
    record.update(action="WITHDRAW", lead_id=lead_id,
                  reasons=[{"code": "DNC_OPT_OUT", "rule_id": "dnc.opt-out", "detail": "opted out"}])
    return record
