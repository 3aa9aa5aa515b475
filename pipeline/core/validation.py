"""Checks on a decoded input event that its Avro schema cannot express.

The schema already guarantees types and required fields; this module finds records that are
well-formed but unusable: blank ids, an ``occurred_at`` far in the future, or a field that the
event's own choices make necessary (a TEMPORARY opt-out needs ``expires_at``...). Lengths and sizes
are :mod:`pipeline.core.limits`'s, checked by the gateway and intake beside these. Each problem is a
human-readable string starting with the field it is about; no problems means the record is valid.

The caller decides what a problem costs. For opt-outs, keep in mind that rejecting one means going
on calling a person who asked us to stop: prefer applying it in its strictest reading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

MAX_CLOCK_SKEW = timedelta(days=1)
"""How far after "now" an ``occurred_at`` may be before it is treated as wrong."""

_REQUIRED_TEXT: dict[str, tuple[str, ...]] = {
    "lead-captured": ("event_id", "lead_id", "phone", "campaign_id", "source"),
    "opt-out": ("event_id", "phone", "source"),
    "consent-changed": ("event_id", "phone", "source"),
    "call-outcome": ("event_id", "lead_id", "phone", "campaign_id"),
}
KINDS = frozenset(_REQUIRED_TEXT)
"""The input topics this module knows; their names are the ``kind`` argument."""


def validate_input(kind: str, record: Mapping[str, object], now: datetime) -> list[str]:
    """Problems with ``record``, an event of input topic ``kind``; an empty list means valid.

    Never raises on the record's content. Raises ValueError for an unknown ``kind`` or a naive
    ``now``: those are bugs in the caller.
    """
    required = _REQUIRED_TEXT.get(kind)
    if required is None:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {', '.join(sorted(KINDS))}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")

    problems = [f"{name}: {problem}" for name in required if (problem := _text_problem(record.get(name)))]
    problems.extend(_occurred_at_problems(record.get("occurred_at"), now))

    problems.extend(_EVENT_CHECKS[kind](record))
    return problems


def _opt_out_problems(record: Mapping[str, object]) -> list[str]:
    problems = []
    if record.get("category") == "TEMPORARY" and record.get("expires_at") is None:
        problems.append("expires_at: a TEMPORARY opt-out needs the time it ends")
    if record.get("scope") == "CAMPAIGN" and _text_problem(record.get("campaign_id")):
        problems.append("campaign_id: an opt-out with scope CAMPAIGN needs the campaign it covers")
    return problems


def _consent_problems(record: Mapping[str, object]) -> list[str]:
    if record.get("action") == "GRANT" and record.get("proof") is None:
        return ["proof: a consent GRANT needs its proof (form, text, time, certificate or IP)"]
    return []


def _call_outcome_problems(record: Mapping[str, object]) -> list[str]:
    problems = []
    if record.get("outcome") == "CALLBACK_REQUESTED" and record.get("callback_at") is None:
        problems.append("callback_at: a CALLBACK_REQUESTED outcome needs the time to call back")
    return problems


_EVENT_CHECKS: dict[str, Callable[[Mapping[str, object]], list[str]]] = {
    "lead-captured": lambda record: [],
    "opt-out": _opt_out_problems,
    "consent-changed": _consent_problems,
    "call-outcome": _call_outcome_problems,
}


def _text_problem(value: object) -> str | None:
    if value is None:
        return "missing"
    if not isinstance(value, str):
        return f"expected text, got {type(value).__name__}"
    if not value.strip():
        return "empty or whitespace only"
    return None


def _occurred_at_problems(value: object, now: datetime) -> list[str]:
    if not isinstance(value, datetime):
        return ["occurred_at: missing" if value is None else f"occurred_at: expected a time, got {value!r}"]
    if value.tzinfo is None or value.utcoffset() is None:
        return [f"occurred_at: {value.isoformat()} has no time zone"]
    if value > now + MAX_CLOCK_SKEW:
        return [f"occurred_at: {value.isoformat()} is more than a day after now ({now.isoformat()})"]
    return []
