"""Reading the registries' own files: a full list or a change list parsed into numbers, with a report
of every line that is not one.

Inputs, one number per line, plain text or a ``.zip`` holding exactly one text file (read
streaming, never unpacked to disk); CRLF or LF line ends, a UTF-8 byte order mark and blank lines
are all accepted:

- FTC full list and change lists (additions, deletions): ``AAANNNNNNN`` or ``AAA,NNNNNNN``;
- UK TPS / CTPS: a national number ``02079460018`` or ``+442079460018`` (``0044...`` and spaces
  inside the number are accepted too).

Errors are data: every line that is not a number becomes a :class:`BadLine` (line number, reason,
text) in the :class:`ParseReport`; nothing is dropped silently. The report keeps the first
:data:`MAX_BAD_LINES_KEPT` bad lines and counts all of them. How a line is parsed:
:mod:`pipeline.registry.chunks`.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final, Literal

import numpy as np

from pipeline.registry.chunks import layouts_of, line_parser, parse_chunk
from pipeline.registry.errors import RegistryError
from pipeline.registry.kinds import RegistryKind
from pipeline.registry.memory import NationalRegistry, Numbers, UkRegistry, UsRegistry
from pipeline.registry.snapshot import SourceFile

CHUNK_BYTES: Final = 4 << 20
"""Bytes parsed at a time: small enough that the column passes stay in the CPU cache."""
MAX_LINE_BYTES: Final = 1 << 20
"""A "line" longer than this is reported as one bad line and skipped, not buffered."""
MAX_BAD_LINES_KEPT: Final = 10_000
DEFAULT_MAX_BAD_LINES: Final = 1000
"""An import with more bad lines than this is refused: the file is likely damaged or not a list."""
BAD_TEXT_CHARS: Final = 120

_BOM: Final = b"\xef\xbb\xbf"

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
    layouts, parse_line = layouts_of(kind), line_parser(kind)
    started = time.perf_counter()
    next_progress = progress_every
    reported_lines = -1

    def take(chunk: bytes) -> None:
        nonlocal next_progress, reported_lines
        result = parse_chunk(chunk, layouts, parse_line)
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
