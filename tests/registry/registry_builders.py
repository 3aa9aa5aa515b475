"""Small registry fixtures shared by the registry tests: files, snapshots, loaded sets."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.registry.check import RegistrySet
from pipeline.registry.disk import LoadedRegistry
from pipeline.registry.kinds import REGISTRY_KINDS
from pipeline.registry.memory import NationalRegistry, UkRegistry, UsRegistry
from pipeline.registry.snapshot import RegistrySnapshot

NOW = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)
FRESH = date(2025, 6, 1)
"""9 days before NOW: fresh for every registry."""
STALE = date(2025, 4, 1)
"""70 days before NOW: stale for every registry."""


def write_lines(
    path: Path, lines: list[str], *, line_end: str = "\n", bom: bool = False, final_end: bool = True
) -> Path:
    text = line_end.join(lines) + (line_end if final_end and lines else "")
    data = text.encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def zip_of(path: Path, *members: tuple[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def snapshot(name: str, snapshot_date: date, numbers: int = 0) -> RegistrySnapshot:
    kind = REGISTRY_KINDS[name]
    return RegistrySnapshot(
        registry=name, snapshot_date=snapshot_date, max_age_days=kind.max_age_days, imported_at=NOW,
        numbers=numbers, added=numbers, removed=0, sources=(), data_file="", data_sha256="",
    )


def loaded(name: str, numbers: list[int], snapshot_date: date) -> LoadedRegistry:
    kind = REGISTRY_KINDS[name]
    store: NationalRegistry
    if kind.layout == "us":
        store = UsRegistry.empty()
        store.add_many(numbers)
    else:
        store = UkRegistry.from_numbers(numbers)
    return LoadedRegistry(kind, snapshot(name, snapshot_date, store.count()), store)


def registry_set(*entries: LoadedRegistry, required: tuple[str, ...] = ()) -> RegistrySet:
    return RegistrySet(loaded={entry.kind.name: entry for entry in entries}, required=frozenset(required))
