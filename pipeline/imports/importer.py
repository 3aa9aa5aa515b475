"""The import behind ``leadpipe import leads FILE.csv``: a CSV lead file onto ``lead-captured``,
with a progress bar and a summary in which every bad row is named by its line number and reason.

    leadpipe import leads leads.csv --campaign solar-q4 --country US
    leadpipe import leads vendor.csv --map "Mobile Phone=phone" --map "Promo=attributes.promo" \\
        --source vendor:acme --errors rejected.csv
    leadpipe import leads leads.csv --campaign solar-q4 --dry-run     # check only, send nothing

Needs ``LEADPIPE_BOOTSTRAP_SERVERS`` (except with ``--dry-run``). The file is UTF-8 (a byte order
mark is fine) or another ASCII-compatible encoding given with ``--encoding``. Progress goes to
stderr, the summary to stdout. Exit code 0 when every good row was acknowledged by the broker,
1 when some were not; rejected rows are reported, not a failure of the command.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TextIO

from pipeline.config import ImportSettings
from pipeline.errors import BrokerError, LeadpipeError
from pipeline.imports.decisions import DecisionWaiter, write_decisions
from pipeline.imports.leads import (
    ColumnPlan,
    ImportDefaults,
    ImportTally,
    PlanError,
    RowError,
    plan_columns,
    row_to_lead,
)
from pipeline.imports.progress import ProgressLine, progress_text
from pipeline.topics import LEAD_CAPTURED

_BOM = b"\xef\xbb\xbf"


class LeadImportError(LeadpipeError):
    """The file cannot be imported at all (unreadable, no header, a mapping that does not fit)."""


@dataclass
class _ByteCount:
    n: int = 0


def _text_lines(stream: IO[bytes], encoding: str, counted: _ByteCount) -> Iterator[str]:
    """Decoded lines of ``stream``, counting the bytes read (for the progress bar)."""
    first = True
    for raw in stream:
        counted.n += len(raw)
        if first:
            raw, first = raw.removeprefix(_BOM), False
        # Undecodable bytes become U+FFFD; row_to_lead rejects such a row instead of importing garbled text.
        yield raw.decode(encoding, errors="replace")


@dataclass
class LeadImportResult:
    path: Path
    plan: ColumnPlan
    tally: ImportTally
    blank_lines: int
    sent: int
    acknowledged: int
    delivery_failures: int
    delivery_error: str | None
    elapsed_s: float
    dry_run: bool
    decided: int | None = None
    """Rows whose decision arrived (with ``--decisions``), else None."""


def import_leads(path: Path, *, settings: ImportSettings, defaults: ImportDefaults, overrides: dict[str, str],
                 unmapped_as_attributes: bool = True, errors_path: Path | None = None, dry_run: bool = False,
                 encoding: str = "utf-8", delimiter: str = ",", progress: TextIO | None = None,
                 now: datetime | None = None, keep_bad: int, decisions_path: Path | None = None,
                 decision_idle_timeout_s: float = 60.0) -> LeadImportResult:
    """Read ``path``, send every good row to ``lead-captured`` (unless ``dry_run``), write every bad
    row to ``errors_path`` (line, reason, original cells) and return the counts. With
    ``decisions_path``, wait for every sent row's decision and write each row with it there."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    try:
        total = path.stat().st_size
        stream = path.open("rb")
    except OSError as exc:
        raise LeadImportError(f"{path}: cannot read: {exc}") from exc
    producer = None
    waiter: DecisionWaiter | None = None
    if not dry_run:
        from pipeline.admin import ensure_topics
        from pipeline.codec import make_codec
        from pipeline.kafka_clients import EventProducer

        ensure_topics(settings)  # never let the broker auto-create lead-captured with another partition count
        codec = make_codec(settings)
        producer = EventProducer(settings.kafka_client_config(), codec, linger_ms=20)
        if decisions_path is not None:
            waiter = DecisionWaiter(settings.kafka_client_config(), codec).start()
    counted = _ByteCount()
    tally = ImportTally(keep=keep_bad)
    refused: dict[int, str] = {}
    blank = 0
    bar = ProgressLine(progress) if progress is not None else None
    errors_file = errors_writer = None
    try:
        reader = csv.reader(_text_lines(stream, encoding, counted), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise LeadImportError(f"{path}: empty file: expected a header row") from None
        except csv.Error as exc:
            raise LeadImportError(f"{path}: line 1: {exc}") from exc
        try:
            plan = plan_columns(header, overrides, unmapped_as_attributes=unmapped_as_attributes)
        except PlanError as exc:
            raise LeadImportError(f"{path}: {exc}") from exc
        if "phone" not in plan.fields:
            raise LeadImportError(f"{path}: no column maps to phone (columns: {', '.join(header)}); "
                               "name one with --map COLUMN=phone")
        if errors_path is not None:
            errors_file = errors_path.open("w", newline="", encoding="utf-8")
            errors_writer = csv.writer(errors_file)
            errors_writer.writerow(["line", "reason", *header])
        line_before = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. a NUL byte; the reader moves on to the next line
                unreadable = RowError(line_before + 1, f"row: not CSV ({exc})", ())
                line_before = reader.line_num
                tally.add(unreadable)
                refused[unreadable.line_number] = unreadable.reason
                if errors_writer is not None:
                    errors_writer.writerow([unreadable.line_number, unreadable.reason])
                continue
            line_number, line_before = line_before + 1, reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                blank += 1
                continue
            result = row_to_lead(plan, cells, line_number, defaults, now)
            tally.add(result)
            if isinstance(result, RowError):
                refused[result.line_number] = result.reason
                if errors_writer is not None:
                    errors_writer.writerow([result.line_number, result.reason, *result.cells])
            elif producer is not None:
                if waiter is not None:
                    waiter.expect(result.record["event_id"], line_number)
                producer.send(LEAD_CAPTURED, result.record, key=result.key)
            if bar is not None:
                bar.update(lambda: progress_text(done_bytes=counted.n, total_bytes=total, count=tally.rows,
                                                 unit="rows", elapsed_s=time.monotonic() - started,
                                                 bad=tally.rejected))
        delivery_error = None
        if producer is not None:
            try:
                producer.flush(60)
            except BrokerError as exc:
                delivery_error = str(exc)
        undecided = 0
        if waiter is not None and decisions_path is not None:
            if bar is not None:
                bar.finish(progress_text(done_bytes=counted.n, total_bytes=total, count=tally.rows, unit="rows",
                                         elapsed_s=time.monotonic() - started, bad=tally.rejected))
            sent_rows = tally.accepted

            def decided_progress() -> None:
                if bar is not None:
                    done = sent_rows - waiter.waiting
                    bar.update(lambda: "decisions " + progress_text(
                        done_bytes=done, total_bytes=sent_rows, count=done, unit="decided",
                        elapsed_s=time.monotonic() - started))

            undecided = waiter.wait(idle_timeout_s=decision_idle_timeout_s, on_progress=decided_progress)
            waiter.stop()
            if waiter.error is not None:
                raise LeadImportError(f"reading lead-decision failed: {waiter.error}") from waiter.error
            write_decisions(decisions_path, header, _reread(path, encoding, delimiter, refused), waiter.decided)
    finally:
        stream.close()
        if errors_file is not None:
            errors_file.close()
        if waiter is not None:
            waiter.stop()
    if bar is not None:
        label = "decided " if decisions_path is not None and not dry_run else ""
        count = tally.accepted - undecided if label else tally.rows
        bar.finish(label + progress_text(done_bytes=counted.n, total_bytes=total, count=count,
                                         unit="rows", elapsed_s=time.monotonic() - started, bad=tally.rejected))
    acknowledged = producer.delivered if producer is not None else 0
    return LeadImportResult(
        path=path, plan=plan, tally=tally, blank_lines=blank, sent=tally.accepted if producer else 0,
        acknowledged=acknowledged, delivery_failures=(tally.accepted - acknowledged) if producer else 0,
        delivery_error=delivery_error, elapsed_s=time.monotonic() - started, dry_run=dry_run,
        decided=(tally.accepted - undecided) if waiter is not None else None,
    )


def _reread(path: Path, encoding: str, delimiter: str,
            refused: dict[int, str]) -> Iterator[tuple[int, list[str], str | None]]:
    """The data rows of ``path`` again — (line number, cells, why it was not sent or None) — numbered
    exactly as the import numbered them; blank lines are left out as the import left them out."""
    with path.open("rb") as stream:
        reader = csv.reader(_text_lines(stream, encoding, _ByteCount()), delimiter=delimiter)
        next(reader, None)  # the header
        line_before = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                line_number, line_before = line_before + 1, reader.line_num
                yield line_number, [], refused.get(line_number, "row: not CSV")
                continue
            line_number, line_before = line_before + 1, reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            yield line_number, cells, refused.get(line_number)


def print_summary(result: LeadImportResult, out: TextIO, errors_path: Path | None) -> None:
    tally = result.tally
    rate = tally.rows / result.elapsed_s if result.elapsed_s > 0 else 0.0
    what = "checked (dry run: nothing sent)" if result.dry_run else "imported into lead-captured"
    print(f"{result.path}: {what}", file=out)
    print(f"  rows       {tally.rows:,} read ({result.blank_lines:,} blank lines skipped)", file=out)
    if result.dry_run:
        print(f"  valid      {tally.accepted:,}", file=out)
    else:
        print(f"  imported   {result.acknowledged:,} acknowledged by the broker", file=out)
        if result.delivery_failures:
            print(f"  FAILED     {result.delivery_failures:,} valid rows not acknowledged: {result.delivery_error}",
                  file=out)
    if result.decided is not None:
        waiting = result.acknowledged - result.decided
        print(f"  decided    {result.decided:,}" + (f" ({waiting:,} without a decision)" if waiting else ""), file=out)
    print(f"  rejected   {tally.rejected:,}", file=out)
    for reason, count in sorted(tally.reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {count:>9,}  {reason}", file=out)
    if tally.errors:
        print(f"  bad rows (first {len(tally.errors)} of {tally.rejected:,}):", file=out)
        for error in tally.errors:
            print(f"    line {error.line_number}: {error.reason}", file=out)
    if errors_path is not None:
        print(f"  errors     every bad row, with its line number and reason: {errors_path}", file=out)
    print(f"  time       {result.elapsed_s:.1f} s ({rate:,.0f} rows/s)", file=out)
