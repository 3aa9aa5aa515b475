"""What a persisted registry holds and as of when (:class:`RegistrySnapshot`). A registry older than
its legal limit (31 days US, 28 days UK) is stale; :mod:`pipeline.registry.check` then blocks every
number it covers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal

from pipeline.registry.errors import RegistryError

FORMAT_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input file of an import and what its parse found."""

    role: Literal["full", "additions", "deletions"]
    path: str
    sha256: str
    """Of the file as given (the .zip itself for a zipped list)."""
    lines: int
    numbers: int
    blank_lines: int
    bad_lines: int


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """What a persisted registry holds and as of when. Times are UTC-aware."""

    registry: str
    snapshot_date: date
    """The date the registry's own data is as of (the download date), not the import date."""
    max_age_days: int
    imported_at: datetime
    numbers: int
    added: int
    """Numbers newly on the list through this import (for a full list: all of them)."""
    removed: int
    sources: tuple[SourceFile, ...]
    data_file: str
    """File name, relative to the metadata file's directory."""
    data_sha256: str
    area_codes: tuple[int, ...] = ()
    """US only: the area code of each bitmap row, in row order."""
    previous_snapshot_date: date | None = None
    """For a change list: the snapshot it was applied to."""
    format_version: int = FORMAT_VERSION

    @property
    def expires_at(self) -> datetime:
        """The instant this snapshot stops satisfying the law.

        The snapshot counts from 00:00 UTC of its date (the earliest it can have been taken), so it
        expires ``max_age_days`` later: a day early at worst, never late.
        """
        return datetime.combine(self.snapshot_date, time(0), tzinfo=UTC) + timedelta(days=self.max_age_days)

    def age(self, now: datetime) -> timedelta:
        _require_aware(now)
        return now - datetime.combine(self.snapshot_date, time(0), tzinfo=UTC)

    def is_stale(self, now: datetime) -> bool:
        """True from :attr:`expires_at` on: numbers this registry covers must then not be called."""
        _require_aware(now)
        return now >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "registry": self.registry,
            "snapshot_date": self.snapshot_date.isoformat(),
            "max_age_days": self.max_age_days,
            "imported_at": self.imported_at.isoformat(),
            "numbers": self.numbers,
            "added": self.added,
            "removed": self.removed,
            "previous_snapshot_date": (
                self.previous_snapshot_date.isoformat() if self.previous_snapshot_date is not None else None
            ),
            "sources": [
                {"role": s.role, "path": s.path, "sha256": s.sha256, "lines": s.lines, "numbers": s.numbers,
                 "blank_lines": s.blank_lines, "bad_lines": s.bad_lines}
                for s in self.sources
            ],
            "data_file": self.data_file,
            "data_sha256": self.data_sha256,
            "area_codes": list(self.area_codes),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RegistrySnapshot:
        try:
            if raw["format_version"] != FORMAT_VERSION:
                raise RegistryError(f"registry metadata format {raw['format_version']!r} is not {FORMAT_VERSION}")
            imported_at = datetime.fromisoformat(raw["imported_at"])
            if imported_at.tzinfo is None:
                raise RegistryError("registry metadata imported_at has no UTC offset")
            previous = raw.get("previous_snapshot_date")
            return cls(
                registry=str(raw["registry"]),
                snapshot_date=date.fromisoformat(raw["snapshot_date"]),
                max_age_days=int(raw["max_age_days"]),
                imported_at=imported_at,
                numbers=int(raw["numbers"]),
                added=int(raw["added"]),
                removed=int(raw["removed"]),
                sources=tuple(
                    SourceFile(role=s["role"], path=str(s["path"]), sha256=str(s["sha256"]), lines=int(s["lines"]),
                               numbers=int(s["numbers"]), blank_lines=int(s["blank_lines"]),
                               bad_lines=int(s["bad_lines"]))
                    for s in raw["sources"]
                ),
                data_file=str(raw["data_file"]),
                data_sha256=str(raw["data_sha256"]),
                area_codes=tuple(int(a) for a in raw.get("area_codes", ())),
                previous_snapshot_date=date.fromisoformat(previous) if previous else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RegistryError(f"registry metadata is malformed: {exc!r}") from exc


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
