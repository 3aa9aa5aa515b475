"""A state value as plain JSON data that does not depend on how rows are encoded.

Two decoded values are the same state when their canonical forms are equal: every field of every
dataclass by name (with the class's name), tuples as lists (a list is marked as one), mappings with
their keys, floats marked as floats, and instants as ISO-8601 text with their UTC offset — so a list
read back where a tuple was, 12 where 12.0 was, or an instant read back in another zone (or naive)
shows as a difference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def canonical(value: object) -> Any:
    """``value`` (a state type, or anything inside one) as JSON-ready data; see the module doc."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, **fields}
    if isinstance(value, datetime):
        return {"__instant__": value.isoformat(), "utcoffset": str(value.utcoffset())}
    if isinstance(value, Mapping):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [canonical(item) for item in value]
    if isinstance(value, list):
        return {"__list__": [canonical(item) for item in value]}
    if isinstance(value, float):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}: {value!r}")


ADDED_SINCE_RECORDED: dict[str, frozenset[str]] = {
    "NumberLeads": frozenset({"snoozes_dropped_until"}),  # snooze history bound, after d5198ea
}
"""Fields the state types gained after the rows were recorded: a recorded row must read them as
their empty default (None), and they are left out of the comparison."""


def as_recorded(form: Any) -> Any:
    """A canonical form without the fields added since the recording (each must be None: a row
    written before a field existed has nothing to say about it)."""
    if isinstance(form, dict):
        added = ADDED_SINCE_RECORDED.get(form.get("__type__", ""), frozenset())
        for name in added:
            assert form.get(name) is None, f"{form['__type__']}.{name} read from a recorded row as {form[name]!r}"
        return {key: as_recorded(item) for key, item in form.items() if key not in added}
    if isinstance(form, list):
        return [as_recorded(item) for item in form]
    return form
