"""``leadpipe registry``: import the national registries, show their state, make test data, benchmark.

    leadpipe registry import --registry us-dnc --full FILE --snapshot-date YYYY-MM-DD [--errors BAD.csv]
    leadpipe registry import --registry us-dnc --additions FILE --deletions FILE --snapshot-date YYYY-MM-DD
    leadpipe registry status
    leadpipe registry generate --count N --out FILE [--format plain|comma] [--bad-every K]
    leadpipe registry bench --count N --workdir DIR

Registries are kept in ``<data dir>/registries/``; the data dir is ``--data-dir`` or
``LEADPIPE_DATA_DIR`` (default ``leadpipe-data``). Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from pipeline.config import RegistrySettings
from pipeline.imports.progress import ProgressLine, progress_text
from pipeline.registry.disk import read_snapshot, registry_dir
from pipeline.registry.errors import RegistryError, RegistryImportRefused
from pipeline.registry.importer import ImportResult, import_change_list, import_full_list
from pipeline.registry.kinds import REGISTRY_KINDS, registry_kind
from pipeline.registry.parsing import DEFAULT_MAX_BAD_LINES, ParseReport, Progress, source_size

BAD_LINES_SHOWN = 20


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date YYYY-MM-DD") from None


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return Path(args.data_dir)
    return RegistrySettings.from_env(os.environ).data_dir


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _print_progress(p: Progress, total_bytes: int | None = None) -> None:
    rate = p.lines / p.elapsed_s / 1e6 if p.elapsed_s > 0 else 0.0
    share = f" ({min(1.0, p.bytes_read / total_bytes):.1%} of the file)" if total_bytes else ""
    print(
        f"{p.registry} {p.role}: {p.lines / 1e6:,.1f} M lines, {p.numbers / 1e6:,.1f} M numbers, "
        f"{p.bad_lines:,} bad, {p.bytes_read / 2**30:.2f} GiB read{share}, {p.elapsed_s:.1f} s "
        f"({rate:.1f} M lines/s)",
        file=sys.stderr, flush=True,
    )


class _ProgressBar:
    """On a terminal, a bar per file redrawn in place (the loader reports every chunk, about 4 MiB:
    a few hundred calls for the whole US list, nothing next to the parsing); elsewhere a line every
    ``--progress-every`` million lines, as before."""

    def __init__(self, paths: Sequence[Path | None], every_lines: int, stream: TextIO) -> None:
        self._totals = {str(p): source_size(p) for p in paths if p is not None}
        self._line = ProgressLine(stream)
        self._finished: set[str] = set()
        self.loader_every = 1 if self._line.tty else every_lines

    def __call__(self, p: Progress) -> None:
        total = self._totals.get(p.path)
        if not self._line.tty:
            _print_progress(p, total)
            return
        if p.path in self._finished:
            return

        def text() -> str:
            return f"{p.registry} {p.role}: " + progress_text(
                done_bytes=p.bytes_read, total_bytes=total, count=p.lines, unit="lines", elapsed_s=p.elapsed_s,
                bad=p.bad_lines)

        if total and p.bytes_read >= total:
            self._finished.add(p.path)
            self._line.finish(text())
        else:
            self._line.update(text)


def _write_bad_lines(reports: Sequence[ParseReport], path: Path) -> None:
    """Every bad line kept, as CSV: file, line, reason, text."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "line", "reason", "text"])
        for report in reports:
            for line in report.bad_lines:
                writer.writerow([report.path, line.line_number, line.reason, line.text])


def _print_reports(reports: Sequence[ParseReport], out: TextIO) -> None:
    for report in reports:
        print(f"  {report.role:<9} {report.path}", file=out)
        print(f"            {report.lines:,} lines: {report.numbers:,} numbers, {report.blank_lines:,} blank, "
              f"{report.bad_count:,} bad; sha256 {report.sha256}", file=out)
    bad = [(report, line) for report in reports for line in report.bad_lines]
    total = sum(report.bad_count for report in reports)
    if total:
        print(f"bad lines (first {min(total, BAD_LINES_SHOWN)} of {total:,}):", file=out)
        for report, line in bad[:BAD_LINES_SHOWN]:
            print(f"  {Path(report.path).name}:{line.line_number}: {line.reason}: {line.text!r}", file=out)
        if total > BAD_LINES_SHOWN:
            print("  (--errors FILE writes every one of them with its line number and reason)", file=out)


def _print_summary(result: ImportResult, kind_name: str, what: str) -> None:
    snapshot = result.snapshot
    lines = sum(report.lines for report in result.reports)
    rate = lines / result.elapsed_s / 1e6 if result.elapsed_s > 0 else 0.0
    print(f"{kind_name}: {what} imported, snapshot of {snapshot.snapshot_date.isoformat()} "
          f"(stale from {snapshot.expires_at.isoformat()})")
    print(f"  numbers   {snapshot.numbers:,} on the list (added {snapshot.added:,}, removed {snapshot.removed:,})")
    if result.previous is not None:
        print(f"  previous  snapshot of {result.previous.snapshot_date.isoformat()}, "
              f"{result.previous.numbers:,} numbers")
    _print_reports(result.reports, sys.stdout)
    print(f"  time      {result.elapsed_s:.1f} s ({rate:.1f} M lines/s); peak memory {_peak_rss_mib():,.0f} MiB")
    print(f"  saved     {snapshot.data_file} (sha256 {snapshot.data_sha256})")


def cmd_registry_import(args: argparse.Namespace) -> int:
    kind = registry_kind(args.registry)
    if args.full is not None and (args.additions is not None or args.deletions is not None):
        raise RegistryError("give either --full or --additions/--deletions, not both")
    if args.full is None and args.additions is None and args.deletions is None:
        raise RegistryError("give --full FILE, or --additions FILE and/or --deletions FILE")
    data_dir = _data_dir(args)
    now = datetime.now(UTC)
    bar = _ProgressBar([args.full, args.additions, args.deletions], max(1, int(args.progress_every * 1_000_000)),
                       sys.stderr)
    try:
        if args.full is not None:
            result = import_full_list(
                data_dir, kind, args.full, snapshot_date=args.snapshot_date, now=now,
                max_bad_lines=args.max_bad_lines, allow_empty=args.allow_empty,
                progress=bar, progress_every=bar.loader_every,
            )
            _print_summary(result, kind.name, "full list")
        else:
            result = import_change_list(
                data_dir, kind, additions=args.additions, deletions=args.deletions,
                snapshot_date=args.snapshot_date, now=now, max_bad_lines=args.max_bad_lines,
                progress=bar, progress_every=bar.loader_every,
            )
            _print_summary(result, kind.name, "change list")
    except RegistryImportRefused as exc:
        reports = [r for r in exc.reports if isinstance(r, ParseReport)]
        _print_reports(reports, sys.stderr)
        if args.errors is not None:
            _write_bad_lines(reports, args.errors)
            print(f"bad lines written to {args.errors}", file=sys.stderr)
        raise
    if args.errors is not None:
        _write_bad_lines(result.reports, args.errors)
        print(f"  errors    every bad line, with its line number and reason: {args.errors}")
    return 0


def cmd_registry_status(args: argparse.Namespace) -> int:
    directory = registry_dir(_data_dir(args))
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for name, kind in REGISTRY_KINDS.items():
        snapshot = read_snapshot(directory, name)
        if snapshot is None:
            rows.append({"registry": name, "imported": False, "max_age_days": kind.max_age_days})
            continue
        rows.append({
            "registry": name, "imported": True, "snapshot_date": snapshot.snapshot_date.isoformat(),
            "age_days": round(snapshot.age(now).total_seconds() / 86400, 2), "max_age_days": snapshot.max_age_days,
            "stale": snapshot.is_stale(now), "stale_from": snapshot.expires_at.isoformat(),
            "numbers": snapshot.numbers, "added": snapshot.added, "removed": snapshot.removed,
            "imported_at": snapshot.imported_at.isoformat(), "data_file": snapshot.data_file,
            "sources": [source.path for source in snapshot.sources],
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"registries in {directory}")
    print(f"{'registry':<9} {'snapshot':<10} {'age':>7} {'limit':>5}  {'state':<12} {'numbers':>13}  imported")
    for row in rows:
        if not row["imported"]:
            print(f"{row['registry']:<9} {'-':<10} {'-':>7} {row['max_age_days']:>4}d  {'not imported':<12}")
            continue
        state = "STALE" if row["stale"] else "fresh"
        print(f"{row['registry']:<9} {row['snapshot_date']:<10} {row['age_days']:>6.1f}d {row['max_age_days']:>4}d  "
              f"{state:<12} {row['numbers']:>13,}  {row['imported_at']} from {', '.join(row['sources'])}")
    return 0


def cmd_registry_generate(args: argparse.Namespace) -> int:
    from pipeline.bench.registry import generate_us_list

    try:
        generated = generate_us_list(args.count, args.out, fmt=args.format, bad_every=args.bad_every, seed=args.seed,
                                     crlf=args.crlf)
    except ValueError as exc:
        raise RegistryError(str(exc)) from exc
    print(f"wrote {generated.numbers:,} numbers in {generated.area_codes} area codes and {generated.bad_lines:,} bad "
          f"lines ({generated.lines:,} lines) to {generated.path} in {generated.elapsed_s:.1f} s")
    return 0


def cmd_registry_bench(args: argparse.Namespace) -> int:
    from pipeline.bench.registry import run_registry_bench

    run_registry_bench(args.count, args.workdir)
    return 0


def add_registry_commands(subparsers: Any) -> None:
    """Register ``registry import | status | generate | bench`` on the CLI's subparsers.

    Each command sets ``func`` (returns the exit code); errors are :class:`RegistryError`, a
    :class:`~pipeline.errors.LeadpipeError`.
    """
    registry = subparsers.add_parser("registry", help="national do-not-call registries (FTC DNC, UK TPS/CTPS)",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = registry.add_subparsers(dest="registry_command", required=True)

    def data_dir_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, default=None,
                       help="leadpipe data directory (default: LEADPIPE_DATA_DIR or leadpipe-data); "
                            "registries live in its registries/ folder")

    p = sub.add_parser("import", help="import a full list or a change list")
    p.add_argument("--registry", required=True, choices=list(REGISTRY_KINDS))
    p.add_argument("--full", type=Path, help="the full list (text, or a zip holding one text file)")
    p.add_argument("--additions", type=Path, help="change list: numbers added since the last snapshot")
    p.add_argument("--deletions", type=Path, help="change list: numbers removed since the last snapshot")
    p.add_argument("--snapshot-date", type=_date, required=True,
                   help="the date the registry's data is as of (its download date), YYYY-MM-DD")
    p.add_argument("--progress-every", type=float, default=10.0,
                   help="millions of lines between progress lines when stderr is not a terminal "
                        "(on a terminal a progress bar is redrawn in place)")
    p.add_argument("--max-bad-lines", type=_positive, default=DEFAULT_MAX_BAD_LINES,
                   help=f"refuse the import above this many bad lines (default {DEFAULT_MAX_BAD_LINES})")
    p.add_argument("--allow-empty", action="store_true", help="accept a full list without a single number")
    p.add_argument("--errors", type=Path, default=None,
                   help="write every bad line (file, line number, reason, text) to this CSV file")
    data_dir_option(p)
    p.set_defaults(func=cmd_registry_import)

    p = sub.add_parser("status", help="each registry's snapshot date, age, staleness and counts")
    p.add_argument("--json", action="store_true", help="print JSON")
    data_dir_option(p)
    p.set_defaults(func=cmd_registry_status)

    p = sub.add_parser("generate", help="write a realistic FTC-format list (test and benchmark data)")
    p.add_argument("--count", type=_positive, required=True, help="numbers to write")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--format", choices=["plain", "comma"], default="plain", help="AAANNNNNNN or AAA,NNNNNNN")
    p.add_argument("--bad-every", type=_positive, default=0, help="make every K-th line a bad line (K >= 2)")
    p.add_argument("--seed", type=int, default=20250601)
    p.add_argument("--crlf", action="store_true", help="end lines with CRLF")
    p.set_defaults(func=cmd_registry_generate)

    p = sub.add_parser("bench", help="generate, import, reopen and look up COUNT numbers")
    p.add_argument("--count", type=_positive, default=250_000_000)
    p.add_argument("--workdir", type=Path, required=True, help="where the generated list and snapshot go")
    p.set_defaults(func=cmd_registry_bench)
