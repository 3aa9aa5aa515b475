"""The imports that turn a registry's files into saved snapshots (``leadpipe registry import``).

An import refuses to save a snapshot when there are more bad lines than allowed, when a full list
holds no number at all, or when the snapshot date is in the future or older than the snapshot a
change list would apply to: the previous snapshot then stays in force (and, if it is too old,
numbers are blocked, not let through).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from pipeline.registry.disk import open_registry, read_snapshot, registry_dir, registry_lock, save_registry
from pipeline.registry.errors import RegistryError, RegistryImportRefused
from pipeline.registry.kinds import RegistryKind
from pipeline.registry.parsing import (
    DEFAULT_MAX_BAD_LINES,
    MAX_BAD_LINES_KEPT,
    ParseReport,
    Progress,
    apply_change_list,
    load_full_list,
)
from pipeline.registry.snapshot import RegistrySnapshot


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
