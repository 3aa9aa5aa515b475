"""Typed reading and writing of table values as JSON.

The Faust tables hold plain JSON objects (``to_json``/``from_json`` on each state type). These
helpers turn them back into typed values and fail loudly on anything else: a malformed table value
is a bug or a corrupted changelog, never input to guess around, so they raise ``ValueError`` naming
the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar

from pipeline.events import ScoreContribution

Choice = TypeVar("Choice", bound=str)


def iso(instant: datetime) -> str:
    """An instant as an ISO-8601 string in UTC (``...+00:00``)."""
    return instant.astimezone(UTC).isoformat()


def iso_or_none(instant: datetime | None) -> str | None:
    return None if instant is None else iso(instant)


def compact(data: dict[str, object]) -> dict[str, object]:
    """Drop keys whose value is None: absent and null read back the same, and the value stays small."""
    return {key: value for key, value in data.items() if value is not None}


def _wrong(key: str, expected: str, value: object) -> ValueError:
    return ValueError(f"table value key {key!r}: expected {expected}, got {value!r}")


def text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _wrong(key, "a string", value)
    return value


def text_or_none(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong(key, "a string or null", value)


def choice(data: Mapping[str, object], key: str, options: tuple[Choice, ...]) -> Choice:
    value = data.get(key)
    for option in options:
        if value == option:
            return option
    raise _wrong(key, f"one of {', '.join(options)}", value)


def choice_or_none(data: Mapping[str, object], key: str, options: tuple[Choice, ...]) -> Choice | None:
    return None if data.get(key) is None else choice(data, key, options)


def flag(data: Mapping[str, object], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise _wrong(key, "true or false", value)
    return value


def whole(data: Mapping[str, object], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(key, "a whole number", value)
    return value


def number_or_none(data: Mapping[str, object], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(key, "a number or null", value)
    return float(value)


def instant(data: Mapping[str, object], key: str) -> datetime:
    raw = text(data, key)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _wrong(key, "an ISO-8601 instant", raw) from None
    if value.tzinfo is None:
        raise _wrong(key, "an instant with a UTC offset", raw)
    return value


def instant_or_none(data: Mapping[str, object], key: str) -> datetime | None:
    return None if data.get(key) is None else instant(data, key)


def mapping(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    """A JSON object; a missing key reads as the empty object."""
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise _wrong(key, "an object", value)
    return value


def objects(data: Mapping[str, object], key: str) -> list[Mapping[str, object]]:
    """A list of JSON objects; a missing key reads as the empty list."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise _wrong(key, "a list of objects", value)
    return value


def texts(data: Mapping[str, object], key: str) -> tuple[str, ...]:
    """A list of strings; a missing key reads as the empty tuple."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _wrong(key, "a list of strings", value)
    return tuple(value)


def contributions_to_json(breakdown: tuple[ScoreContribution, ...]) -> list[dict[str, object]]:
    return [{"rule_id": c["rule_id"], "points": c["points"], "detail": c["detail"]} for c in breakdown]


def contributions_from_json(data: Mapping[str, object], key: str) -> tuple[ScoreContribution, ...]:
    out: list[ScoreContribution] = []
    for item in objects(data, key):
        points = number_or_none(item, "points")
        if points is None:
            raise _wrong(f"{key}.points", "a number", None)
        detail = text_or_none(item, "detail")
        out.append({"rule_id": text(item, "rule_id"), "points": points, "detail": detail})
    return tuple(out)
