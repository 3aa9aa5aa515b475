"""How registries persist: saved atomically, opened memory-mapped.

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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from pipeline.registry.errors import RegistryError
from pipeline.registry.kinds import RegistryKind, registry_kind
from pipeline.registry.memory import ROW_BYTES, NationalRegistry, UkRegistry, UsRegistry
from pipeline.registry.snapshot import RegistrySnapshot


@dataclass(frozen=True, slots=True)
class LoadedRegistry:
    kind: RegistryKind
    snapshot: RegistrySnapshot
    store: NationalRegistry


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
