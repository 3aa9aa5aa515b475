"""How a chunk of a registry file becomes numbers: the line layouts each registry uses, and the
vectorized parse.

Speed: the file is read in large chunks and parsed with numpy. A chunk whose lines all have one
known layout is reshaped into a (lines x width) byte matrix and converted column by column; any
other chunk is split at its newlines and each known layout converted in bulk, and only the lines
that fit none of them go through the per-line path, which names their line number and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline.registry.kinds import RegistryKind
from pipeline.registry.memory import Numbers

_NL: Final = 10
_CR: Final = 13


@dataclass(frozen=True, slots=True)
class _Layout:
    """A fixed-width line: allowed byte range per position, and which positions are the number's digits."""

    length: int
    checks: tuple[tuple[int, int, int], ...]
    digits: tuple[int, ...]


def _layout(pattern: str) -> _Layout:
    """``pattern``: ``N`` a digit 2-9, ``P`` a digit 1-9, ``D`` any digit (each part of the number),
    any other character must appear literally and is not part of the number."""
    ranges = {"N": (ord("2"), ord("9")), "P": (ord("1"), ord("9")), "D": (ord("0"), ord("9"))}
    checks: list[tuple[int, int, int]] = []
    digits: list[int] = []
    for pos, char in enumerate(pattern):
        if char in ranges:
            lo, hi = ranges[char]
            digits.append(pos)
        else:
            lo = hi = ord(char)
        checks.append((pos, lo, hi))
    return _Layout(len(pattern), tuple(checks), tuple(digits))


# NANP: neither an area code nor an exchange starts with 0 or 1.
_US_LAYOUTS: Final = (_layout("NDDNDDDDDD"), _layout("NDD,NDDDDDD"))
# UK significant numbers of 10 digits (almost all) or 9, after the trunk 0 or +44.
_UK_LAYOUTS: Final = (
    _layout("0PDDDDDDDDD"), _layout("0PDDDDDDDD"), _layout("+44PDDDDDDDDD"), _layout("+44PDDDDDDDD"),
)

_US_LINE: Final = re.compile(r"([0-9]{3}),?([0-9]{7})")
_UK_LINE: Final = re.compile(r"(?:\+44|0044|0)([0-9]+)")
_UK_SPACING: Final = re.compile(r"[\s-]+")


def parse_us_line(text: str) -> int | str:
    """One FTC line (already stripped) → its national number, or the reason it is not one."""
    match = _US_LINE.fullmatch(text)
    if match is None:
        return "not a US number: expected 10 digits as AAANNNNNNN or AAA,NNNNNNN"
    area, subscriber = match.groups()
    if area[0] in "01":
        return f"area code {area} starts with {area[0]}: not a NANP number"
    if subscriber[0] in "01":
        return f"exchange {subscriber[:3]} starts with {subscriber[0]}: not a NANP number"
    return int(area + subscriber)


def parse_uk_line(text: str) -> int | str:
    """One TPS/CTPS line (already stripped) → its national significant number, or the reason it is not one."""
    match = _UK_LINE.fullmatch(_UK_SPACING.sub("", text))
    if match is None:
        return "not a UK number: expected a national number 0NNNNNNNNNN or +44NNNNNNNNNN"
    significant = match.group(1)
    if significant[0] == "0" or not 7 <= len(significant) <= 10:
        return f"not a UK number: {significant!r} is not a 7-10 digit significant number"
    return int(significant)


def layouts_of(kind: RegistryKind) -> tuple[_Layout, ...]:
    return _US_LAYOUTS if kind.layout == "us" else _UK_LAYOUTS


def line_parser(kind: RegistryKind) -> Callable[[str], int | str]:
    return parse_us_line if kind.layout == "us" else parse_uk_line


# --- chunk parsing ------------------------------------------------------------------------------

Bytes = npt.NDArray[np.uint8]


def _digits_value(columns: Callable[[int], Bytes], digits: tuple[int, ...], count: int) -> Numbers:
    value = np.zeros(count, dtype=np.int64)
    for pos in digits:
        value *= 10
        value += columns(pos)
    value -= ord("0") * int("1" * len(digits))
    return value


def _gather(buf: Bytes, line_starts: npt.NDArray[np.intp]) -> Callable[[int], Bytes]:
    """Column ``pos`` of the lines starting at ``line_starts``."""

    def column(pos: int) -> Bytes:
        return buf[line_starts + pos]

    return column


def _parse_uniform(buf: Bytes, first_newline: int, layouts: tuple[_Layout, ...]) -> Numbers | None:
    """All lines of the chunk in one layout and one line end → their numbers; otherwise None."""
    width = first_newline + 1
    if buf.size % width:
        return None
    rows = buf.reshape(-1, width)
    if not bool((rows[:, -1] == _NL).all()):
        return None
    length = width - 1
    if length and rows[0, length - 1] == _CR:
        if not bool((rows[:, length - 1] == _CR).all()):
            return None
        length -= 1
    layout = next((candidate for candidate in layouts if candidate.length == length), None)
    if layout is None:
        return None
    for pos, lo, hi in layout.checks:
        column = rows[:, pos]
        if lo == hi:
            if not bool((column == lo).all()):
                return None
        elif int(column.min()) < lo or int(column.max()) > hi:
            return None
    return _digits_value(lambda pos: rows[:, pos], layout.digits, rows.shape[0])


@dataclass(slots=True)
class ChunkResult:
    numbers: Numbers
    lines: int
    blank_lines: int
    bad: list[tuple[int, str, str]]
    """(0-based line index within the chunk, reason, text)."""


def parse_chunk(chunk: bytes, layouts: tuple[_Layout, ...], parse_line: Callable[[str], int | str]) -> ChunkResult:
    """Parse whole lines (``chunk`` ends with a newline)."""
    buf = np.frombuffer(chunk, dtype=np.uint8)
    uniform = _parse_uniform(buf, chunk.index(b"\n"), layouts)
    if uniform is not None:
        return ChunkResult(uniform, int(uniform.size), 0, [])

    ends = np.flatnonzero(buf == _NL)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    carriage = np.zeros(ends.size, dtype=np.bool_)
    nonempty = np.flatnonzero(ends > starts)
    carriage[nonempty] = buf[ends[nonempty] - 1] == _CR
    ends = ends - carriage
    lengths = ends - starts

    handled = lengths == 0
    blank = int(handled.sum())
    parts: list[Numbers] = []
    for layout in layouts:
        candidates = np.flatnonzero(lengths == layout.length)
        if not candidates.size:
            continue
        line_starts = starts[candidates]
        fits = np.ones(candidates.size, dtype=np.bool_)
        for pos, lo, hi in layout.checks:
            # uint8 arithmetic wraps below lo, so one comparison checks both bounds.
            fits &= (buf[line_starts + pos] - np.uint8(lo)) <= np.uint8(hi - lo)
        line_starts = line_starts[fits]
        handled[candidates[fits]] = True
        parts.append(_digits_value(_gather(buf, line_starts), layout.digits, line_starts.size))

    bad: list[tuple[int, str, str]] = []
    slow: list[int] = []
    for index in np.flatnonzero(~handled).tolist():
        text = chunk[starts[index]:ends[index]].decode("utf-8", errors="replace")
        stripped = text.strip().strip("\ufeff").strip()
        if not stripped:
            blank += 1
            continue
        parsed = parse_line(stripped)
        if isinstance(parsed, str):
            bad.append((index, parsed, text))
        else:
            slow.append(parsed)
    if slow:
        parts.append(np.array(slow, dtype=np.int64))
    numbers = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return ChunkResult(numbers, int(ends.size), blank, bad)
