"""Number blocks: how many leading digits of a number decide everything phonenumbers says about it.

phonenumbers decides a number's validity, type and region with regular expressions over its
national significant number (NSN), and its time zones, carrier and geographic description by the
longest matching key in prefix tables. For most countries only the first few digits matter: every
US pattern reads the area code and exchange (6 digits) and then any 4 digits. All numbers of one
*block* — same country code, same NSN length, same first ``depth`` digits — then share every fact
but the number itself, and :mod:`pipeline.core.phone` computes them once per block.

:func:`block_depth` *proves* the depth from phonenumbers' own data rather than assuming it:

- every national-number pattern of every region of the country code (validity and type: general,
  fixed line, mobile, toll-free, premium rate... — any ``PhoneNumberDesc`` of the metadata) is
  expanded into the sequences of character classes it accepts; the depth must reach past the last
  class that is not "any digit" in each of them. A pattern this module cannot read completely
  (an unbounded repeat, a construct phonenumbers does not use) gives None: no block is shared.
- the ``leading_digits`` patterns that tell regions sharing a country code apart (NANP, +44, +7...)
  are prefix matches: the depth must cover their longest expansion.
- the prefix tables (geocoding, carrier, time zones) are looked up by every prefix of the E.164
  digits: the depth must cover the longest key of the number's area (its first three NSN digits).
- country codes with a mobile token (Argentina's 9) re-parse the number before geocoding: None.

Two NSNs of one block then match exactly the same patterns and the same table keys: equal facts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc
from phonenumbers.carrierdata import CARRIER_DATA
from phonenumbers.geodata import GEOCODE_DATA
from phonenumbers.tzdata import TIMEZONE_DATA

AREA_DIGITS = 3
"""NSN digits that pick a number's entry in the table depths (an area code, in the NANP)."""

_MAX_SHAPES = 20_000
"""Give up (no blocks for that country code) on a pattern with more shapes than this."""

Shape = tuple[bool, ...]
"""One way a pattern matches, position by position: True where any digit is accepted."""


def block_depth(country_code: int, nsn: str) -> int | None:
    """Leading NSN digits that, with the NSN's length, decide every fact of the numbers sharing
    them; None when that cannot be shown for ``country_code``."""
    pattern_depth = _pattern_depth(country_code)
    if pattern_depth is None:
        return None
    return max(pattern_depth, _table_depths(country_code).get(nsn[:AREA_DIGITS], AREA_DIGITS))


@functools.cache
def _pattern_depth(country_code: int) -> int | None:
    if phonenumbers.country_mobile_token(country_code):
        return None
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return None
    depth = 0
    for region in regions:
        metadata = (PhoneMetadata.metadata_for_nongeo_region(country_code)
                    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
                    else PhoneMetadata.metadata_for_region(region))
        if metadata is None:
            return None
        if metadata.leading_digits is not None:
            shapes = pattern_shapes(metadata.leading_digits)
            if shapes is None:
                return None
            depth = max(depth, 0, *(len(shape) for shape in shapes))
        for pattern in _national_patterns(metadata):
            shapes = pattern_shapes(pattern)
            if shapes is None:
                return None
            depth = max(depth, 0, *(full_match_depth(shape) for shape in shapes))
    return depth


def _national_patterns(metadata: PhoneMetadata) -> Iterator[str]:
    """Every national-number pattern of ``metadata``, whichever number type it describes."""
    for value in vars(metadata).values():
        if isinstance(value, PhoneNumberDesc) and value.national_number_pattern:
            yield value.national_number_pattern


def full_match_depth(shape: Shape) -> int:
    """Leading positions of ``shape`` a full match depends on: up to its last position that is not
    "any digit"."""
    for position in range(len(shape), 0, -1):
        if not shape[position - 1]:
            return position
    return 0


@functools.cache
def _table_depths(country_code: int) -> dict[str, int]:
    """For one country code, each area whose longest table key reaches deeper than the area itself,
    and the NSN digits that key reaches. Country codes are prefix-free: the keys starting with the
    code are exactly that country's."""
    code = str(country_code)
    cut = len(code) + AREA_DIGITS
    depths: dict[str, int] = {}
    for table in (GEOCODE_DATA, CARRIER_DATA, TIMEZONE_DATA):
        for key in [key for key in table if len(key) > cut and key.startswith(code)]:
            area = key[len(code):cut]
            if depths.get(area, 0) < len(key) - len(code):
                depths[area] = len(key) - len(code)
    return depths


# --- patterns as shapes ------------------------------------------------------------------------------
# phonenumbers' patterns use digits, character classes of digits, \d, groups, alternation and
# bounded repeats; anything else makes a pattern unreadable here (None), never misread.

_ALL_DIGITS = frozenset("0123456789")


def pattern_shapes(pattern: str) -> frozenset[Shape] | None:
    """The shapes ``pattern`` matches (its alternatives expanded, repeats unrolled), or None when it
    uses something this reader does not know or has more than ``_MAX_SHAPES`` shapes."""
    reader = _Reader(pattern)
    try:
        shapes = reader.alternation()
    except _Unreadable:
        return None
    return shapes if reader.at_end() else None


class _Unreadable(Exception):
    """The pattern is outside the subset read here."""


class _Reader:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def at_end(self) -> bool:
        return self.at == len(self.text)

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _take(self, expected: str) -> None:
        if not self.text.startswith(expected, self.at):
            raise _Unreadable
        self.at += len(expected)

    def alternation(self) -> frozenset[Shape]:
        shapes = set(self.sequence())
        while self._peek() == "|":
            self.at += 1
            shapes |= self.sequence()
        return _bounded(shapes)

    def sequence(self) -> frozenset[Shape]:
        shapes: frozenset[Shape] = frozenset({()})
        while self._peek() not in ("", "|", ")"):
            atom = self.repeated(self.atom())
            shapes = _bounded({a + b for a in shapes for b in atom})
        return shapes

    def atom(self) -> frozenset[Shape]:
        char = self._peek()
        if char == "(":
            self._take("(?:" if self.text.startswith("(?:", self.at) else "(")
            inner = self.alternation()
            self._take(")")
            return inner
        if char == "[":
            return frozenset({(self.char_class() >= _ALL_DIGITS,)})
        if char == "\\":
            self._take("\\d")
            return frozenset({(True,)})
        if char.isdigit() and char.isascii():
            self.at += 1
            return frozenset({(False,)})
        raise _Unreadable

    def char_class(self) -> frozenset[str]:
        self._take("[")
        negate = self._peek() == "^"
        if negate:
            self.at += 1
        digits: set[str] = set()
        while self._peek() != "]":
            if self.text.startswith("\\d", self.at):
                self.at += 2
                digits |= _ALL_DIGITS
                continue
            low = self._peek()
            if not (low.isdigit() and low.isascii()):
                raise _Unreadable
            self.at += 1
            high = low
            if self._peek() == "-":
                self.at += 1
                high = self._peek()
                if not (high.isdigit() and high.isascii()):
                    raise _Unreadable
                self.at += 1
            digits |= {chr(c) for c in range(ord(low), ord(high) + 1)}
        self._take("]")
        return frozenset(_ALL_DIGITS - digits if negate else digits)

    def repeated(self, atom: frozenset[Shape]) -> frozenset[Shape]:
        char = self._peek()
        if char == "?":
            self.at += 1
            return atom | {()}
        if char in ("*", "+"):
            raise _Unreadable  # unbounded: no finite set of shapes
        if char != "{":
            return atom
        end = self.text.find("}", self.at)
        if end < 0:
            raise _Unreadable
        bounds = self.text[self.at + 1:end].split(",")
        self.at = end + 1
        if not all(b.isdigit() for b in bounds) or len(bounds) > 2:
            raise _Unreadable  # {n,} is unbounded
        low, high = int(bounds[0]), int(bounds[-1])
        shapes: set[Shape] = set()
        power: frozenset[Shape] = frozenset({()})
        for count in range(high + 1):
            if count >= low:
                shapes |= power
            power = _bounded({a + b for a in power for b in atom})
        return _bounded(shapes)


def _bounded(shapes: set[Shape] | frozenset[Shape]) -> frozenset[Shape]:
    if len(shapes) > _MAX_SHAPES:
        raise _Unreadable
    return frozenset(shapes)
