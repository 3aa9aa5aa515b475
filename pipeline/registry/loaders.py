"""Parsers for the registries' own files, and the imports that turn them into saved snapshots.

Inputs, one number per line, plain text or a ``.zip`` holding exactly one text file (read
streaming, never unpacked to disk); CRLF or LF line ends, a UTF-8 byte order mark and blank lines
are all accepted:

- FTC full list and change lists (additions, deletions): ``AAANNNNNNN`` or ``AAA,NNNNNNN``;
- UK TPS / CTPS: a national number ``02079460018`` or ``+442079460018`` (``0044...`` and spaces
  inside the number are accepted too).

Errors are data: every line that is not a number becomes a :class:`BadLine` (line number, reason,
text) in the :class:`ParseReport`; nothing is dropped silently. The report keeps the first
:data:`MAX_BAD_LINES_KEPT` bad lines and counts all of them. An import refuses to save a snapshot
when there are more bad lines than allowed, when a full list holds no number at all, or when the
snapshot date is in the future or older than the snapshot a change list would apply to: the
previous snapshot then stays in force (and, if it is too old, numbers are blocked, not let through).

Speed: the file is read in large chunks and parsed with numpy. A chunk whose lines all have one
known layout is reshaped into a (lines x width) byte matrix and converted column by column; any
other chunk is split at its newlines and each known layout converted in bulk, and only the lines
that fit none of them go through the per-line path, which names their line number and the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Final, Literal

import numpy as np
import numpy.typing as npt

from pipeline.registry.store import (
    NationalRegistry,
    Numbers,
    RegistryError,
    RegistryImportRefused,
    RegistryKind,
    RegistrySnapshot,
    SourceFile,
    UkRegistry,
    UsRegistry,
    open_registry,
    read_snapshot,
    registry_dir,
    registry_lock,
    save_registry,
)

CHUNK_BYTES: Final = 4 << 20
"""Bytes parsed at a time: small enough that the column passes stay in the CPU cache."""
MAX_LINE_BYTES: Final = 1 << 20
"""A "line" longer than this is reported as one bad line and skipped, not buffered."""
MAX_BAD_LINES_KEPT: Final = 10_000
DEFAULT_MAX_BAD_LINES: Final = 1000
"""An import with more bad lines than this is refused: the file is likely damaged or not a list."""
BAD_TEXT_CHARS: Final = 120

_BOM: Final = b"\xef\xbb\xbf"
_NL: Final = 10
_CR: Final = 13

Role = Literal["full", "additions", "deletions"]


@dataclass(frozen=True, slots=True)
class BadLine:
    line_number: int
    """1-based, counting every line of the file (blank ones too)."""
    reason: str
    text: str
    """The line as read, without its line end, cut to :data:`BAD_TEXT_CHARS` characters."""


@dataclass(frozen=True, slots=True)
class Progress:
    registry: str
    path: str
    role: Role
    lines: int
    numbers: int
    bad_lines: int
    bytes_read: int
    elapsed_s: float


@dataclass
class ParseReport:
    """What parsing one file found. ``bad_lines`` keeps the first ones; ``bad_count`` counts all."""

    path: str
    role: Role
    sha256: str = ""
    lines: int = 0
    numbers: int = 0
    """Lines that held a number (duplicates included)."""
    blank_lines: int = 0
    bad_count: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    bytes_read: int = 0
    elapsed_s: float = 0.0
    stopped_early: bool = False
    """Reading stopped at ``stop_after_bad`` bad lines: the counts cover only the part read."""
    max_bad_kept: int = MAX_BAD_LINES_KEPT

    def bad(self, line_number: int, reason: str, text: str) -> None:
        self.bad_count += 1
        if len(self.bad_lines) < self.max_bad_kept:
            if len(text) > BAD_TEXT_CHARS:
                text = text[:BAD_TEXT_CHARS] + "…"
            self.bad_lines.append(BadLine(line_number, reason, text))

    def source_file(self) -> SourceFile:
        return SourceFile(role=self.role, path=self.path, sha256=self.sha256, lines=self.lines, numbers=self.numbers,
                          blank_lines=self.blank_lines, bad_lines=self.bad_count)


# --- line layouts -------------------------------------------------------------------------------


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


def _layouts(kind: RegistryKind) -> tuple[_Layout, ...]:
    return _US_LAYOUTS if kind.layout == "us" else _UK_LAYOUTS


def _line_parser(kind: RegistryKind) -> Callable[[str], int | str]:
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
class _ChunkResult:
    numbers: Numbers
    lines: int
    blank_lines: int
    bad: list[tuple[int, str, str]]
    """(0-based line index within the chunk, reason, text)."""


def _parse_chunk(chunk: bytes, layouts: tuple[_Layout, ...], parse_line: Callable[[str], int | str]) -> _ChunkResult:
    """Parse whole lines (``chunk`` ends with a newline)."""
    buf = np.frombuffer(chunk, dtype=np.uint8)
    uniform = _parse_uniform(buf, chunk.index(b"\n"), layouts)
    if uniform is not None:
        return _ChunkResult(uniform, int(uniform.size), 0, [])

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
    return _ChunkResult(numbers, int(ends.size), blank, bad)


# --- files --------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            sha.update(block)
    return sha.hexdigest()


@contextlib.contextmanager
def _open_source(path: Path) -> Iterator[tuple[IO[bytes], str | None]]:
    """The text stream of ``path`` and, for a zip, the sha256 of the zip (else None: hash while reading)."""
    try:
        if zipfile.is_zipfile(path):
            digest = sha256_file(path)
            with zipfile.ZipFile(path) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if len(members) != 1:
                    names = ", ".join(info.filename for info in members) or "nothing"
                    raise RegistryError(f"{path}: a registry zip must hold exactly one file, it holds {names}")
                with archive.open(members[0]) as stream:
                    yield stream, digest
        else:
            with open(path, "rb") as plain:
                yield plain, None
    except zipfile.BadZipFile as exc:
        raise RegistryError(f"{path}: damaged zip: {exc}") from exc
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read: {exc}") from exc


def source_size(path: Path) -> int | None:
    """Bytes :func:`parse_registry_file` will read from ``path`` (a zip's member, uncompressed), or
    None when that cannot be told; for progress bars."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                return members[0].file_size if len(members) == 1 else None
        return path.stat().st_size
    except (OSError, zipfile.BadZipFile):
        return None


def parse_registry_file(
    path: Path,
    kind: RegistryKind,
    sink: Callable[[Numbers], None],
    *,
    role: Role = "full",
    progress: Callable[[Progress], None] | None = None,
    progress_every: int = 10_000_000,
    chunk_bytes: int = CHUNK_BYTES,
    max_bad_kept: int = MAX_BAD_LINES_KEPT,
    stop_after_bad: int | None = None,
) -> ParseReport:
    """Stream ``path`` (text or a one-file zip), hand each parsed block of numbers to ``sink``, and
    return what was found. ``progress`` is called about every ``progress_every`` lines.

    ``stop_after_bad=N`` stops reading once more than N bad lines were seen (the import will be
    refused anyway; no need to read the rest of a file that is not a registry list).
    """
    report = ParseReport(path=str(path), role=role, max_bad_kept=max_bad_kept)
    layouts, parse_line = _layouts(kind), _line_parser(kind)
    started = time.perf_counter()
    next_progress = progress_every
    reported_lines = -1

    def take(chunk: bytes) -> None:
        nonlocal next_progress, reported_lines
        result = _parse_chunk(chunk, layouts, parse_line)
        for index, reason, text in result.bad:
            report.bad(report.lines + index + 1, reason, text)
        report.lines += result.lines
        report.blank_lines += result.blank_lines
        report.numbers += int(result.numbers.size)
        if result.numbers.size:
            sink(result.numbers)
        if progress is not None and report.lines >= next_progress:
            next_progress = (report.lines // progress_every + 1) * progress_every
            reported_lines = report.lines
            progress(_progress(kind, report, started))

    with _open_source(path) as (stream, zip_digest):
        sha = hashlib.sha256() if zip_digest is None else None
        carry = b""
        skipping = False  # inside a line longer than MAX_LINE_BYTES, already reported
        first = True
        while True:
            if stop_after_bad is not None and report.bad_count > stop_after_bad:
                report.stopped_early = True
                break
            try:
                # The first read is long enough to hold a whole byte order mark.
                data = stream.read(max(chunk_bytes, len(_BOM)) if first else chunk_bytes)
            except (zipfile.BadZipFile, OSError) as exc:  # a zip's CRC is checked as it is read
                raise RegistryError(f"{path}: cannot read: {exc}") from exc
            report.bytes_read += len(data)
            if sha is not None:
                sha.update(data)
            if not data:  # end of file
                if carry:
                    take(carry + b"\n")
                break
            if first:
                first = False
                data = data.removeprefix(_BOM)
            if skipping:
                newline = data.find(b"\n")
                if newline < 0:
                    continue
                skipping = False
                data = data[newline + 1:]
            buf = carry + data if carry else data
            cut = buf.rfind(b"\n")
            if cut < 0:
                if len(buf) > MAX_LINE_BYTES:
                    report.lines += 1
                    report.bad(report.lines, f"line longer than {MAX_LINE_BYTES} bytes",
                               buf[:BAD_TEXT_CHARS].decode("utf-8", errors="replace"))
                    skipping, carry = True, b""
                else:
                    carry = buf
                continue
            take(buf[: cut + 1])
            carry = buf[cut + 1:]
    if zip_digest is not None:
        report.sha256 = zip_digest
    elif sha is not None and not report.stopped_early:
        report.sha256 = sha.hexdigest()
    report.elapsed_s = time.perf_counter() - started
    if progress is not None and reported_lines != report.lines:
        progress(_progress(kind, report, started))
    return report


def _progress(kind: RegistryKind, report: ParseReport, started: float) -> Progress:
    return Progress(registry=kind.name, path=report.path, role=report.role, lines=report.lines,
                    numbers=report.numbers, bad_lines=report.bad_count, bytes_read=report.bytes_read,
                    elapsed_s=time.perf_counter() - started)


class _Collector:
    """A sink that keeps the blocks, for UK lists (built whole, then sorted once)."""

    def __init__(self) -> None:
        self.blocks: list[Numbers] = []

    def __call__(self, numbers: Numbers) -> None:
        self.blocks.append(numbers)

    def numbers(self) -> Numbers:
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, dtype=np.int64)


def load_full_list(
    path: Path,
    kind: RegistryKind,
    *,
    progress: Callable[[Progress], None] | None = None,
    progress_every: int = 10_000_000,
    stop_after_bad: int | None = None,
    max_bad_kept: int = MAX_BAD_LINES_KEPT,
) -> tuple[NationalRegistry, ParseReport]:
    """Parse a full list into a new, writable registry (nothing saved)."""
    if kind.layout == "us":
        store = UsRegistry.empty()
        report = parse_registry_file(path, kind, store.add_many, progress=progress, progress_every=progress_every,
                                     stop_after_bad=stop_after_bad, max_bad_kept=max_bad_kept)
        return store, report
    collector = _Collector()
    report = parse_registry_file(path, kind, collector, progress=progress, progress_every=progress_every,
                                 stop_after_bad=stop_after_bad, max_bad_kept=max_bad_kept)
    return UkRegistry.from_numbers(collector.numbers()), report


def apply_change_list(
    store: NationalRegistry,
    kind: RegistryKind,
    *,
    additions: Path | None,
    deletions: Path | None,
    progress: Callable[[Progress], None] | None = None,
    progress_every: int = 10_000_000,
    stop_after_bad: int | None = None,
    max_bad_kept: int = MAX_BAD_LINES_KEPT,
) -> tuple[ParseReport, ...]:
    """Apply additions, then deletions, to a writable ``store`` in place.

    A number in both files ends up off the list: deletions come last.
    """
    steps: tuple[tuple[Role, Path | None], ...] = (("additions", additions), ("deletions", deletions))
    reports: list[ParseReport] = []
    for role, path in steps:
        if path is None:
            continue
        collector = _Collector()
        # The US bitmap takes each block as it is parsed; a UK array is rebuilt once per file.
        sink: Callable[[Numbers], None] = collector
        if isinstance(store, UsRegistry):
            sink = store.add_many if role == "additions" else store.remove_many
        budget = None if stop_after_bad is None else max(0, stop_after_bad - sum(r.bad_count for r in reports))
        reports.append(parse_registry_file(path, kind, sink, role=role, progress=progress,
                                           progress_every=progress_every, stop_after_bad=budget,
                                           max_bad_kept=max_bad_kept))
        if isinstance(store, UkRegistry):
            (store.add_many if role == "additions" else store.remove_many)(collector.numbers())
    return tuple(reports)


# --- imports ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    snapshot: RegistrySnapshot
    """As saved."""
    previous: RegistrySnapshot | None
    reports: tuple[ParseReport, ...]
    elapsed_s: float


def _kept(max_bad_lines: int) -> int:
    """Bad lines to keep so that an import that is not refused reports every one of them."""
    return max(MAX_BAD_LINES_KEPT, max_bad_lines + 1)


def _check_date(snapshot_date: date, now: datetime) -> None:
    # A day of slack: the registry's own date may already be "tomorrow" in UTC terms.
    if snapshot_date > (now + timedelta(days=1)).date():
        raise RegistryError(f"snapshot date {snapshot_date} is in the future (now is {now.isoformat()})")


def _refuse_if_bad(kind: RegistryKind, reports: tuple[ParseReport, ...], max_bad_lines: int) -> None:
    bad = sum(report.bad_count for report in reports)
    if bad > max_bad_lines:
        stopped = " (stopped reading there)" if any(report.stopped_early for report in reports) else ""
        raise RegistryImportRefused(
            f"{kind.name}: {bad} bad lines, more than the {max_bad_lines} allowed{stopped}: not saved, "
            "the previous snapshot stays in force", reports,
        )


def import_full_list(
    data_dir: Path,
    kind: RegistryKind,
    path: Path,
    *,
    snapshot_date: date,
    now: datetime,
    max_bad_lines: int = DEFAULT_MAX_BAD_LINES,
    allow_empty: bool = False,
    progress: Callable[[Progress], None] | None = None,
    progress_every: int = 10_000_000,
) -> ImportResult:
    """Parse a full list and save it as the registry's snapshot, replacing any previous one."""
    started = time.perf_counter()
    _check_date(snapshot_date, now)
    directory = registry_dir(data_dir)
    with registry_lock(directory, kind.name):
        store, report = load_full_list(path, kind, progress=progress, progress_every=progress_every,
                                       stop_after_bad=max_bad_lines, max_bad_kept=_kept(max_bad_lines))
        reports = (report,)
        _refuse_if_bad(kind, reports, max_bad_lines)
        count = store.count()
        if count == 0 and not allow_empty:
            raise RegistryImportRefused(
                f"{kind.name}: {path} holds no number: not saved, the previous snapshot stays in force", reports
            )
        previous = read_snapshot(directory, kind.name)
        snapshot = RegistrySnapshot(
            registry=kind.name, snapshot_date=snapshot_date, max_age_days=kind.max_age_days, imported_at=now,
            numbers=count, added=count, removed=0, sources=(report.source_file(),), data_file="", data_sha256="",
        )
        saved = save_registry(directory, snapshot, store)
    return ImportResult(saved, previous, reports, time.perf_counter() - started)


def import_change_list(
    data_dir: Path,
    kind: RegistryKind,
    *,
    additions: Path | None,
    deletions: Path | None,
    snapshot_date: date,
    now: datetime,
    max_bad_lines: int = DEFAULT_MAX_BAD_LINES,
    progress: Callable[[Progress], None] | None = None,
    progress_every: int = 10_000_000,
) -> ImportResult:
    """Apply a change list (additions, then deletions) to the saved snapshot and save the result."""
    started = time.perf_counter()
    if additions is None and deletions is None:
        raise RegistryError("a change list needs an additions file, a deletions file or both")
    _check_date(snapshot_date, now)
    directory = registry_dir(data_dir)
    with registry_lock(directory, kind.name):
        previous = open_registry(directory, kind.name, writable=True)
        if previous is None:
            raise RegistryError(f"{kind.name}: no snapshot to apply a change list to: import a full list first")
        if snapshot_date < previous.snapshot.snapshot_date:
            raise RegistryError(
                f"{kind.name}: change list dated {snapshot_date} is older than the snapshot it would change "
                f"({previous.snapshot.snapshot_date})"
            )
        store = previous.store
        before = previous.snapshot.numbers
        reports: list[ParseReport] = []
        added = removed = 0
        # Counted per step: a number both added and deleted counts once each way.
        if additions is not None:
            reports += apply_change_list(store, kind, additions=additions, deletions=None, progress=progress,
                                         progress_every=progress_every, stop_after_bad=max_bad_lines,
                                         max_bad_kept=_kept(max_bad_lines))
            _refuse_if_bad(kind, tuple(reports), max_bad_lines)
            after_add = store.count()
            added, before = after_add - before, after_add
        if deletions is not None:
            budget = max(0, max_bad_lines - sum(r.bad_count for r in reports))
            reports += apply_change_list(store, kind, additions=None, deletions=deletions, progress=progress,
                                         progress_every=progress_every, stop_after_bad=budget,
                                         max_bad_kept=_kept(max_bad_lines))
            after_delete = store.count()
            removed, before = before - after_delete, after_delete
        _refuse_if_bad(kind, tuple(reports), max_bad_lines)
        snapshot = RegistrySnapshot(
            registry=kind.name, snapshot_date=snapshot_date, max_age_days=kind.max_age_days, imported_at=now,
            numbers=before, added=added, removed=removed, sources=tuple(r.source_file() for r in reports),
            data_file="", data_sha256="", previous_snapshot_date=previous.snapshot.snapshot_date,
        )
        saved = save_registry(directory, snapshot, store)
    return ImportResult(saved, previous.snapshot, tuple(reports), time.perf_counter() - started)
