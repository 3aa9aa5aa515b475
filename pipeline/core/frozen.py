"""Copies of the core's frozen, slotted dataclasses with some fields changed.

The core's state is immutable values (``NumberState``, ``NumberLeads``, ``LeadRecord``...), so every
change is a copy: a decision makes about eight. ``dataclasses.replace`` builds each copy through the
class's ``__init__`` with every field as a keyword, about twice what copying the slots costs.
:func:`replace` copies the slots for the classes where that is the same thing — slotted dataclasses
whose every field goes through ``__init__`` and that have no ``__post_init__`` — and hands everything
else, including a field name the class lacks, to ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

T = TypeVar("T")

_set = object.__setattr__  # what a frozen dataclass's own __init__ uses


def replace(obj: T, /, **changes: Any) -> T:
    """What ``dataclasses.replace(obj, **changes)`` returns (an equal object of the same class)."""
    kind: type = type(obj)
    fields = _plain_fields(kind)
    if fields is None or not changes.keys() <= fields[1]:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]  # any dataclass instance
    copy: T = object.__new__(kind)
    for name in fields[0]:
        _set(copy, name, changes[name] if name in changes else getattr(obj, name))
    return copy


@functools.cache
def _plain_fields(cls: type) -> tuple[tuple[str, ...], frozenset[str]] | None:
    """(field names in order, the same as a set) when copying ``cls``'s slots is what its ``__init__``
    would do; None otherwise."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in vars(cls) or hasattr(cls, "__post_init__"):
        return None
    fields = dataclasses.fields(cls)
    if len(fields) != len(cls.__dataclass_fields__) or not all(f.init for f in fields):
        return None  # InitVars, or fields __init__ does not set
    names = tuple(f.name for f in fields)
    return names, frozenset(names)
