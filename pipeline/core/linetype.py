"""Line types: whether a number is a mobile, a landline or VoIP, and where that knowledge comes from.

``PhoneInfo.line_type`` is one of :data:`LINE_TYPES`:

- ``MOBILE``, ``LANDLINE``, ``VOIP``: known, from phonenumbers (``MOBILE``, ``FIXED_LINE``, ``VOIP``
  number types) or from a line-type source.
- ``UNKNOWN``: nobody said. Every NANP (+1) number is ``FIXED_LINE_OR_MOBILE`` to phonenumbers —
  numbers port freely between mobile and fixed carriers, so the numbering plan cannot tell — and so
  is ``UNKNOWN`` until a source says otherwise; so are toll-free, shared-cost, personal and other
  types that are not a line kind.

A :class:`LineTypeSource` answers for a number or says nothing (None). The one shipped here,
:class:`PrefixLineTypes`, is a table read from a local CSV file (``LEADPIPE_LINE_TYPES_PATH``; none
by default, so nothing is looked up and no network is ever used). A carrier lookup service (an
LRN/CNAM/HLR provider) would be another source behind the same protocol; it must be called at the
edge, not from the core.

The wireless reading of a state (``rulepack.wireless_restricted``) uses :func:`wireless_reading_type`:
a known LANDLINE (or VOIP) is not a mobile, a known MOBILE is, and ``UNKNOWN`` keeps phonenumbers'
type, which the rule pack treats as possibly mobile (fail closed).

CSV format (UTF-8): one ``<E.164 number or prefix>,<line type>`` per line, e.g. ``+12142094411,LANDLINE``
or ``+1214209,MOBILE``; blank lines and lines starting with ``#`` are ignored, and a first line
``number,line_type`` (any header whose first cell does not start with ``+``) is skipped. The longest
prefix that matches a number wins, so a whole number overrides its block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol, get_args

from pipeline.errors import ConfigError
from pipeline.events import PhoneInfo

LineType = Literal["MOBILE", "LANDLINE", "VOIP", "UNKNOWN"]
LINE_TYPES: tuple[LineType, ...] = get_args(LineType)

_FROM_NUMBER_TYPE: dict[str, LineType] = {"MOBILE": "MOBILE", "FIXED_LINE": "LANDLINE", "VOIP": "VOIP"}
_READING_TYPE: dict[str, str] = {"MOBILE": "MOBILE", "LANDLINE": "FIXED_LINE", "VOIP": "VOIP"}
_PREFIX = re.compile(r"\+[1-9]\d{0,14}")


class LineTypeSource(Protocol):
    """Something that may know a number's line type."""

    def line_type(self, phone_e164: str) -> LineType | None:
        """The line type of ``phone_e164``, or None when this source does not know it. Never raises."""
        ...


@dataclass(frozen=True)
class PrefixLineTypes:
    """Line types by E.164 number or prefix; the longest matching prefix wins."""

    entries: Mapping[str, LineType] = field(default_factory=dict)
    origin: str = "line types"
    """Where the entries came from (a file path), for logs."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    def line_type(self, phone_e164: str) -> LineType | None:
        for end in range(len(phone_e164), 1, -1):
            found = self.entries.get(phone_e164[:end])
            if found is not None:
                return found
        return None

    def __len__(self) -> int:
        return len(self.entries)


def parse_line_types(text: str, origin: str) -> PrefixLineTypes:
    """Read the CSV format of the module docstring; ConfigError names ``origin``, the line and the problem.

    A prefix given twice with different line types is an error (which one would win is not obvious).
    """
    entries: dict[str, LineType] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if number == 1 and not cells[0].startswith("+"):
            continue  # a header line
        where = f"{origin}: line {number}"
        if len(cells) != 2:
            raise ConfigError(f"{where}: expected '<E.164 number or prefix>,<line type>', got {line!r}")
        prefix, kind = cells[0], cells[1].upper()
        if not _PREFIX.fullmatch(prefix):
            raise ConfigError(f"{where}: {prefix!r} is not an E.164 number or prefix (+ and 1-15 digits)")
        if kind not in LINE_TYPES:
            raise ConfigError(f"{where}: line type must be one of {', '.join(LINE_TYPES)}, got {cells[1]!r}")
        line_type = next(t for t in LINE_TYPES if t == kind)
        if entries.get(prefix, line_type) != line_type:
            raise ConfigError(f"{where}: {prefix} is listed earlier as {entries[prefix]}")
        entries[prefix] = line_type
    return PrefixLineTypes(entries, origin)


def line_type_of(number_type: str) -> LineType:
    """The line type phonenumbers' ``number_type`` name implies on its own (UNKNOWN when it does not say)."""
    return _FROM_NUMBER_TYPE.get(number_type, "UNKNOWN")


def with_line_type(phone: PhoneInfo, source: LineTypeSource | None) -> PhoneInfo:
    """``phone`` with the line type ``source`` knows, or unchanged when it knows nothing (or is None)."""
    if source is None:
        return phone
    found = source.line_type(phone["phone_e164"])
    if found is None or found == phone["line_type"]:
        return phone
    return {**phone, "line_type": found}


def wireless_reading_type(phone: PhoneInfo) -> str:
    """The type name the rule pack's wireless reading judges: the known line type, else phonenumbers' type."""
    return _READING_TYPE.get(phone["line_type"], phone["number_type"])
