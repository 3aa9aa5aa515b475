"""The national registries in memory (or memory-mapped), their snapshot metadata, and how both persist.

- :class:`UsRegistry` — the FTC National Do Not Call Registry. A US number is a 3-digit area code and
  a 7-digit subscriber number, so each area code that appears gets one bitmap of 10^7 bits (1.25 MB):
  about 400 area codes make ~500 MB for the full registry, whatever the count of numbers, and a
  lookup is two array reads. Bulk lookups and loads are vectorized with numpy.
- :class:`UkRegistry` — TPS or CTPS: a sorted array of national significant numbers (the number
  without ``+44`` or the trunk ``0``), looked up with a binary search (``np.searchsorted``).
- :class:`RegistrySnapshot` — what was loaded, from which files, and as of which date. A registry
  older than its legal limit (31 days US, 28 days UK) is stale; :mod:`pipeline.registry.check` then
  blocks every number it covers.

Numbers are plain integers: the US *national number* ``AAANNNNNNN`` (e.g. ``2125550123``) and the UK
*national significant number* (e.g. ``2079460018`` for ``020 7946 0018``).

On disk, under ``<data dir>/registries/``, each registry is ``<name>.json`` (the metadata, the commit
point) and the ``.npy`` data file it names. A worker opens the data file memory-mapped: opening is
instant, and every worker on a machine shares the same pages of the page cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from pipeline.errors import LeadpipeError

Numbers = npt.NDArray[np.int64]
"""An array of national numbers (US ``AAANNNNNNN`` or UK significant numbers)."""
Flags = npt.NDArray[np.bool_]

AREA_CODES: Final = 1000
SUBSCRIBERS_PER_AREA: Final = 10_000_000
ROW_BYTES: Final = SUBSCRIBERS_PER_AREA // 8
US_NATIONAL_MAX: Final = AREA_CODES * SUBSCRIBERS_PER_AREA - 1
FORMAT_VERSION: Final = 1


class RegistryError(LeadpipeError):
    """A registry file cannot be imported, or a persisted snapshot cannot be opened."""


class RegistryImportRefused(RegistryError):
    """An import was parsed but not saved (too many bad lines, an empty full list, a date going back).

    ``reports`` holds what the parse found, so the caller can still show the bad lines.
    """

    def __init__(self, message: str, reports: Sequence[Any]) -> None:
        super().__init__(message)
        self.reports = tuple(reports)


@dataclass(frozen=True, slots=True)
class RegistryKind:
    """A national registry leadpipe knows how to load, and the law that bounds its age."""

    name: str
    """``us-dnc``, ``uk-tps`` or ``uk-ctps``: the name on the command line, on disk and in metrics."""
    title: str
    country: str
    """ISO 3166 alpha-2 country whose numbers it covers."""
    calling_code: str
    max_age_days: int
    """A snapshot older than this no longer satisfies the law: every covered number is blocked."""
    freshness_rule_id: str
    layout: Literal["us", "uk"]


US_DNC: Final = RegistryKind(
    name="us-dnc", title="FTC National Do Not Call Registry", country="US", calling_code="1",
    max_age_days=31, freshness_rule_id="us.registry.sync", layout="us",
)
UK_TPS: Final = RegistryKind(
    name="uk-tps", title="UK Telephone Preference Service", country="GB", calling_code="44",
    max_age_days=28, freshness_rule_id="uk.tps.rescreen", layout="uk",
)
UK_CTPS: Final = RegistryKind(
    name="uk-ctps", title="UK Corporate Telephone Preference Service", country="GB", calling_code="44",
    max_age_days=28, freshness_rule_id="uk.tps.rescreen", layout="uk",
)
US_DNC_REGIONS: Final = frozenset({"US", "PR", "GU", "VI", "MP", "AS"})
"""NANP regions the US registry covers: the states and the territories. The other +1 countries
(Canada, the Caribbean nations) have registries of their own or none."""
REGISTRY_KINDS: Final[Mapping[str, RegistryKind]] = {kind.name: kind for kind in (US_DNC, UK_TPS, UK_CTPS)}


def registry_kind(name: str) -> RegistryKind:
    try:
        return REGISTRY_KINDS[name]
    except KeyError:
        raise RegistryError(f"unknown registry {name!r}: expected one of {', '.join(REGISTRY_KINDS)}") from None


def _as_numbers(values: npt.ArrayLike) -> Numbers:
    return np.ascontiguousarray(values, dtype=np.int64).reshape(-1)


def sorted_unique(values: npt.ArrayLike) -> Numbers:
    """The distinct values, ascending. Sort-based: np.unique's hash path is ~20x slower on 17 M int64."""
    result = np.sort(_as_numbers(values))
    if result.size > 1:
        keep = np.empty(result.size, dtype=np.bool_)
        keep[0] = True
        np.not_equal(result[1:], result[:-1], out=keep[1:])
        result = result[keep]
    return result


def _popcount(rows: npt.NDArray[np.uint8]) -> int:
    """Set bits in ``rows``, a few rows at a time so no full-size temporary is made."""
    step = 16
    total = 0
    for i in range(0, rows.shape[0], step):
        block = rows[i:i + step]
        if _bitwise_count is not None:
            total += int(_bitwise_count(block.reshape(-1).view(np.uint64)).sum(dtype=np.int64))
        else:
            total += int(_BIT_COUNTS[block].sum(dtype=np.int64))
    return total


_bitwise_count: Any = getattr(np, "bitwise_count", None)  # numpy >= 2.0; a lookup table before
_BIT_COUNTS: Final = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class UsRegistry:
    """The US registry: per area code present, a bitmap of its 10^7 subscriber numbers.

    Bit ``s`` of an area code's row is byte ``s >> 3``, bit ``s & 7`` (little-endian bit order).
    Rows are numbered in the order area codes first appear; ``area_codes[row]`` names each.
    A registry opened memory-mapped is read-only; build or change one with :meth:`empty` or
    :func:`open_registry` ``(writable=True)``.
    """

    def __init__(self, area_codes: Sequence[int], bits: npt.NDArray[np.uint8], *, writable: bool) -> None:
        if bits.ndim != 2 or bits.shape[1] != ROW_BYTES or bits.dtype != np.uint8:
            raise RegistryError(f"US registry data has shape {bits.shape} {bits.dtype}, expected (rows, {ROW_BYTES})")
        if len(area_codes) > bits.shape[0] or len(set(area_codes)) != len(area_codes):
            raise RegistryError("US registry area codes do not match its rows")
        self._bits = bits
        self._flat = bits.reshape(-1)
        # A memoryview reads one byte ~10x faster than numpy scalar indexing: the single-lookup path.
        self._bytes = self._flat.data if self._flat.size else memoryview(b"")
        self._writable = writable
        self._slots = np.full(AREA_CODES, -1, dtype=np.int64)
        self._slot_list = [-1] * AREA_CODES  # the same, as a list: faster for one lookup at a time
        self._area_codes: list[int] = []
        for area in area_codes:
            self._assign_row(int(area))

    @classmethod
    def empty(cls) -> UsRegistry:
        """A writable, empty registry. Room for every area code is reserved but not touched: only
        rows that receive a number become resident memory (numpy allocates zeros lazily)."""
        return cls((), np.zeros((AREA_CODES, ROW_BYTES), dtype=np.uint8), writable=True)

    def _assign_row(self, area: int) -> int:
        if not 0 <= area < AREA_CODES:
            raise RegistryError(f"area code {area} out of range")
        row = len(self._area_codes)
        if row >= self._bits.shape[0]:
            raise RegistryError("no room for another area code in a read-only registry")
        self._slots[area] = row
        self._slot_list[area] = row
        self._area_codes.append(area)
        return row

    @property
    def area_codes(self) -> tuple[int, ...]:
        """Area codes in row order."""
        return tuple(self._area_codes)

    @property
    def writable(self) -> bool:
        return self._writable

    def rows(self) -> npt.NDArray[np.uint8]:
        """The bitmaps of the area codes present, in row order (a view, not a copy)."""
        return self._bits[: len(self._area_codes)]

    def count(self) -> int:
        """How many numbers are on the list (a popcount over every row)."""
        return _popcount(self.rows())

    def _check_writable(self) -> None:
        if not self._writable:
            raise RegistryError("this US registry is read-only (memory-mapped); open it writable to change it")

    def _split(self, numbers: Numbers) -> tuple[Numbers, Numbers]:
        if numbers.size and (int(numbers.min()) < 0 or int(numbers.max()) > US_NATIONAL_MAX):
            raise ValueError("US national numbers are 10 digits: 0 <= n <= 9_999_999_999")
        areas = numbers // SUBSCRIBERS_PER_AREA
        return areas, numbers - areas * SUBSCRIBERS_PER_AREA

    def add_many(self, numbers: npt.ArrayLike) -> None:
        """Put every number in ``numbers`` on the list (duplicates and numbers already on it are fine)."""
        self._check_writable()
        values = _as_numbers(numbers)
        if not values.size:
            return
        areas, subs = self._split(values)
        seen = np.flatnonzero(np.bincount(areas, minlength=AREA_CODES))
        for area in seen[self._slots[seen] < 0]:
            self._assign_row(int(area))
        offsets = self._slots[areas] * ROW_BYTES + (subs >> 3)
        masks = np.left_shift(1, subs & 7).astype(np.uint8)
        # ufunc.at applies every element, so two numbers sharing a byte both land.
        np.bitwise_or.at(self._flat, offsets, masks)

    def remove_many(self, numbers: npt.ArrayLike) -> None:
        """Take every number in ``numbers`` off the list (numbers not on it are ignored)."""
        self._check_writable()
        values = _as_numbers(numbers)
        if not values.size:
            return
        areas, subs = self._split(values)
        rows = self._slots[areas]
        keep = rows >= 0
        offsets = rows[keep] * ROW_BYTES + (subs[keep] >> 3)
        masks = np.invert(np.left_shift(1, subs[keep] & 7).astype(np.uint8))
        np.bitwise_and.at(self._flat, offsets, masks)

    def add(self, number: int) -> None:
        self.add_many([number])

    def remove(self, number: int) -> None:
        self.remove_many([number])

    def contains(self, number: int) -> bool:
        """Is the 10-digit national number ``number`` on the list? Out-of-range numbers are not."""
        area, sub = divmod(number, SUBSCRIBERS_PER_AREA)
        if not 0 <= area < AREA_CODES:
            return False
        row = self._slot_list[area]
        if row < 0:
            return False
        return bool((self._bytes[row * ROW_BYTES + (sub >> 3)] >> (sub & 7)) & 1)

    def contains_many(self, numbers: npt.ArrayLike) -> Flags:
        """``contains`` for every element of ``numbers``, vectorized: a bool array of the same length."""
        values = _as_numbers(numbers)
        in_range = (values >= 0) & (values <= US_NATIONAL_MAX)
        values = np.where(in_range, values, 0)
        areas = values // SUBSCRIBERS_PER_AREA
        subs = values - areas * SUBSCRIBERS_PER_AREA
        rows = self._slots[areas]
        present = in_range & (rows >= 0)
        offsets = np.where(present, rows * ROW_BYTES + (subs >> 3), 0)
        if not self._flat.size:
            return np.zeros(values.shape, dtype=np.bool_)
        bits = np.right_shift(self._flat[offsets], (subs & 7).astype(np.uint8)) & 1
        found: Flags = (bits == 1) & present
        return found


class UkRegistry:
    """TPS or CTPS: a sorted array of unique national significant numbers.

    Built whole (the lists are ~17 M and ~1.3 M numbers); a change rebuilds the array, so ``add``
    and ``remove`` of single numbers cost O(n) and exist for tests and small corrections.
    """

    def __init__(self, numbers: Numbers, *, writable: bool = True) -> None:
        if numbers.ndim != 1 or numbers.dtype != np.int64:
            raise RegistryError(f"UK registry data has shape {numbers.shape} {numbers.dtype}, expected (n,) int64")
        self._numbers = numbers
        self._writable = writable

    @classmethod
    def empty(cls) -> UkRegistry:
        return cls(np.zeros(0, dtype=np.int64))

    @classmethod
    def from_numbers(cls, numbers: npt.ArrayLike) -> UkRegistry:
        """From numbers in any order, duplicates allowed."""
        return cls(sorted_unique(numbers))

    @property
    def writable(self) -> bool:
        return self._writable

    def numbers(self) -> Numbers:
        """The sorted numbers (a view)."""
        return self._numbers

    def count(self) -> int:
        return int(self._numbers.size)

    def add_many(self, numbers: npt.ArrayLike) -> None:
        if not self._writable:
            raise RegistryError("this UK registry is read-only (memory-mapped); open it writable to change it")
        self._numbers = sorted_unique(np.concatenate([self._numbers, _as_numbers(numbers)]))

    def remove_many(self, numbers: npt.ArrayLike) -> None:
        if not self._writable:
            raise RegistryError("this UK registry is read-only (memory-mapped); open it writable to change it")
        gone = sorted_unique(numbers)
        self._numbers = self._numbers[~self._member(self._numbers, gone)]

    def add(self, number: int) -> None:
        self.add_many([number])

    def remove(self, number: int) -> None:
        self.remove_many([number])

    @staticmethod
    def _member(values: Numbers, sorted_set: Numbers) -> Flags:
        if not sorted_set.size:
            return np.zeros(values.shape, dtype=np.bool_)
        at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
        found: Flags = sorted_set[at] == values
        return found

    def contains(self, number: int) -> bool:
        numbers = self._numbers
        at = int(np.searchsorted(numbers, number))
        return at < numbers.size and int(numbers[at]) == number

    def contains_many(self, numbers: npt.ArrayLike) -> Flags:
        return self._member(_as_numbers(numbers), self._numbers)


NationalRegistry = UsRegistry | UkRegistry


# --- metadata -----------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class LoadedRegistry:
    kind: RegistryKind
    snapshot: RegistrySnapshot
    store: NationalRegistry


# --- persistence --------------------------------------------------------------------------------


def registry_dir(data_dir: Path) -> Path:
    """Where registries live under leadpipe's data directory."""
    return data_dir / "registries"


def _metadata_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.json"


class _HashingWriter:
    """A write-only file object that also feeds a sha256 (np.save writes through it in chunks)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self._raw.write(data)


@contextlib.contextmanager
def registry_lock(directory: Path, name: str) -> Iterator[None]:
    """Serialize imports of one registry (another import waits rather than interleaving files)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_registry(directory: Path, snapshot: RegistrySnapshot, store: NationalRegistry) -> RegistrySnapshot:
    """Write ``store`` and its metadata atomically; return the metadata as saved.

    The data goes to a new file first; the metadata's rename is the commit, so a crash at any point
    leaves the previous snapshot whole. Data files no longer named by the metadata are then removed
    (a worker that has one mapped keeps reading it: unlinking does not unmap).
    """
    directory.mkdir(parents=True, exist_ok=True)
    stamp = snapshot.imported_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    data_file = f"{snapshot.registry}.{snapshot.snapshot_date.isoformat()}.{stamp}.npy"
    array: npt.NDArray[Any] = store.rows() if isinstance(store, UsRegistry) else store.numbers()
    tmp = directory / (data_file + ".tmp")
    try:
        with open(tmp, "wb") as raw:
            writer = _HashingWriter(raw)
            np.save(writer, array, allow_pickle=False)
            raw.flush()
            os.fsync(raw.fileno())
        tmp.replace(directory / data_file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    saved = dataclasses.replace(
        snapshot, data_file=data_file, data_sha256=writer.sha256.hexdigest(),
        area_codes=store.area_codes if isinstance(store, UsRegistry) else (),
    )
    meta_tmp = _metadata_path(directory, snapshot.registry).with_suffix(".json.tmp")
    with open(meta_tmp, "w", encoding="utf-8") as out:
        json.dump(saved.to_json(), out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    meta_tmp.replace(_metadata_path(directory, snapshot.registry))
    _fsync_dir(directory)
    for old in directory.glob(f"{snapshot.registry}.*.npy"):
        if old.name != data_file:
            old.unlink(missing_ok=True)
    return saved


def read_snapshot(directory: Path, name: str) -> RegistrySnapshot | None:
    """The metadata of registry ``name``, or None when it was never imported."""
    path = _metadata_path(directory, name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot read registry metadata: {exc}") from exc
    snapshot = RegistrySnapshot.from_json(raw)
    if snapshot.registry != name:
        raise RegistryError(f"{path}: metadata is for {snapshot.registry!r}, not {name!r}")
    return snapshot


def _read_npy_into(path: Path, target: npt.NDArray[Any], expected_sha256: str) -> None:
    """Fill ``target`` (C-contiguous) from an .npy file, checking its sha256 on the way."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if fortran or dtype != target.dtype or shape != target.shape:
            raise RegistryError(f"{path}: holds {shape} {dtype}, expected {target.shape} {target.dtype}")
        header_len = f.tell()
        f.seek(0)
        sha = hashlib.sha256(f.read(header_len))
        view = target.reshape(-1).data.cast("B")
        done = 0
        step = 64 << 20
        while done < len(view):
            got = f.readinto(view[done:done + step])
            if not got:
                raise RegistryError(f"{path}: truncated")
            sha.update(view[done:done + got])
            done += got
    if sha.hexdigest() != expected_sha256:
        raise RegistryError(f"{path}: sha256 does not match its metadata: the file is damaged")


def open_registry(directory: Path, name: str, *, writable: bool = False) -> LoadedRegistry | None:
    """Open a persisted registry, or return None when it was never imported.

    ``writable=False`` (workers): memory-mapped read-only, opened in milliseconds, pages shared by
    every process on the machine. ``writable=True`` (imports applying a change list): read into
    memory, its sha256 checked against the metadata.
    """
    kind = registry_kind(name)
    for attempt in range(3):
        snapshot = read_snapshot(directory, name)
        if snapshot is None:
            return None
        path = directory / snapshot.data_file
        try:
            return LoadedRegistry(kind, snapshot, _open_data(kind, snapshot, path, writable=writable))
        except FileNotFoundError:
            # An import committed a new snapshot and removed this file between our two reads.
            if attempt == 2:
                raise RegistryError(f"{path}: named by {name}.json but missing") from None
    raise AssertionError("unreachable")


def _open_data(kind: RegistryKind, snapshot: RegistrySnapshot, path: Path, *, writable: bool) -> NationalRegistry:
    if kind.layout == "us":
        n_rows = len(snapshot.area_codes)
        if writable:
            store = UsRegistry.empty()
            _read_npy_into(path, store._bits[:n_rows], snapshot.data_sha256)
            for area in snapshot.area_codes:
                store._assign_row(area)
            return store
        # numpy cannot map a zero-length array: an empty registry is read into memory instead.
        bits = np.load(path, mmap_mode="r" if n_rows else None, allow_pickle=False)
        if bits.shape != (n_rows, ROW_BYTES):
            raise RegistryError(f"{path}: shape {bits.shape} does not match its {n_rows} area codes")
        return UsRegistry(snapshot.area_codes, bits, writable=False)
    if writable:
        numbers = np.empty(snapshot.numbers, dtype=np.int64)
        _read_npy_into(path, numbers, snapshot.data_sha256)
        return UkRegistry(numbers)
    mapped = np.load(path, mmap_mode="r" if snapshot.numbers else None, allow_pickle=False)
    if mapped.shape != (snapshot.numbers,):
        raise RegistryError(f"{path}: holds {mapped.shape[0]} numbers, its metadata says {snapshot.numbers}")
    return UkRegistry(mapped, writable=False)


def preload(store: NationalRegistry) -> None:
    """Touch every page of a memory-mapped registry so the first lookups do not wait on the disk."""
    array: npt.NDArray[Any] = store.rows() if isinstance(store, UsRegistry) else store.numbers()
    flat = array.reshape(-1).view(np.uint8)
    step = 4096
    for start in range(0, flat.size, 256 << 20):
        int(flat[start:start + (256 << 20):step].sum())
