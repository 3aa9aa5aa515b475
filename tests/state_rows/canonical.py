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
