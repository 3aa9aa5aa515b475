"""The registry structures: US bitmaps, UK sorted arrays, snapshot metadata and persistence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_builders import NOW, snapshot

from pipeline.registry.check import open_registries
from pipeline.registry.disk import open_registry, preload, read_snapshot, registry_dir, save_registry
from pipeline.registry.errors import RegistryError
from pipeline.registry.memory import ROW_BYTES, UkRegistry, UsRegistry
from pipeline.registry.snapshot import RegistrySnapshot, SourceFile

US_NUMBER = st.integers(0, 9_999_999_999)
# Numbers clustered in a few area codes and bytes, so collisions within one byte are common.
CLUSTERED = st.builds(lambda area, sub: area * 10_000_000 + sub, st.sampled_from([212, 305, 999]),
                      st.integers(5_550_100, 5_550_140))


def test_us_add_remove_contains() -> None:
    store = UsRegistry.empty()
    assert not store.contains(2125550123)
    store.add(2125550123)
    store.add(2125550123)  # idempotent
    assert store.contains(2125550123)
    assert not store.contains(2125550122) and not store.contains(2125550124)
    assert store.area_codes == (212,)
    store.remove(2125550123)
    store.remove(3055550188)  # never there: ignored
    assert not store.contains(2125550123)
    assert store.count() == 0


def test_us_numbers_sharing_a_byte_in_one_batch_all_land() -> None:
    store = UsRegistry.empty()
    batch = [2125550120 + i for i in range(8)] * 2  # the same byte eight times over, twice
    store.add_many(batch)
    assert store.count() == 8
    store.remove_many([2125550121, 2125550121, 2125550126])
    assert store.contains_many([2125550120 + i for i in range(8)]).tolist() == [
        True, False, True, True, True, True, False, True,
    ]


def test_us_out_of_range() -> None:
    store = UsRegistry.empty()
    with pytest.raises(ValueError, match="10 digits"):
        store.add_many([10_000_000_000])
    with pytest.raises(ValueError, match="10 digits"):
        store.add(-1)
    store.add(9_999_999_999)
    assert store.contains(9_999_999_999)
    assert not store.contains(10_000_000_000) and not store.contains(-5)
    assert store.contains_many([-5, 10_000_000_000, 9_999_999_999]).tolist() == [False, False, True]


def test_us_memory_is_one_row_per_area_code() -> None:
    store = UsRegistry.empty()
    store.add_many([2125550123, 2129999999, 3055550188])
    assert store.rows().shape == (2, ROW_BYTES)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(US_NUMBER, CLUSTERED), max_size=200), st.lists(st.one_of(US_NUMBER, CLUSTERED),
                                                                           max_size=100),
       st.lists(st.one_of(US_NUMBER, CLUSTERED, st.integers(-10**12, 10**12)), max_size=200))
def test_us_contains_many_agrees_with_contains_and_a_set(added: list[int], removed: list[int],
                                                          queries: list[int]) -> None:
    store = UsRegistry.empty()
    store.add_many(added)
    store.remove_many(removed)
    expected = set(added) - set(removed)
    probes = queries + added + removed
    bulk = store.contains_many(probes).tolist()
    assert bulk == [store.contains(n) for n in probes] == [n in expected for n in probes]
    assert store.count() == len(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(100_000_000, 9_999_999_999), max_size=100),
       st.lists(st.integers(100_000_000, 9_999_999_999), max_size=50),
       st.lists(st.integers(0, 10**11), max_size=100))
def test_uk_contains_many_agrees_with_contains_and_a_set(added: list[int], removed: list[int],
                                                          queries: list[int]) -> None:
    store = UkRegistry.from_numbers(added)
    store.remove_many(removed)
    expected = set(added) - set(removed)
    probes = queries + added + removed
    assert store.contains_many(probes).tolist() == [store.contains(n) for n in probes] == [
        n in expected for n in probes
    ]
    assert store.count() == len(expected)


def test_uk_add_remove() -> None:
    store = UkRegistry.empty()
    assert not store.contains(2079460018)
    store.add(2079460018)
    store.add_many([7700900123, 2079460018])
    assert store.numbers().tolist() == [2079460018, 7700900123]
    store.remove(2079460018)
    assert not store.contains(2079460018) and store.contains(7700900123)


# --- snapshot metadata ----------------------------------------------------------------------------


def test_staleness_boundary_us_31_days_uk_28() -> None:
    us = snapshot("us-dnc", date(2025, 6, 1))
    assert us.expires_at == datetime(2025, 7, 2, tzinfo=UTC)
    assert not us.is_stale(datetime(2025, 7, 1, 23, 59, 59, 999999, tzinfo=UTC))
    assert us.is_stale(datetime(2025, 7, 2, tzinfo=UTC))
    uk = snapshot("uk-tps", date(2025, 6, 1))
    assert not uk.is_stale(datetime(2025, 6, 28, 23, 0, tzinfo=UTC))
    assert uk.is_stale(datetime(2025, 6, 29, tzinfo=UTC))
    assert uk.age(datetime(2025, 6, 3, 12, tzinfo=UTC)) == timedelta(days=2, hours=12)


def test_staleness_needs_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        snapshot("us-dnc", date(2025, 6, 1)).is_stale(datetime(2025, 6, 2))  # noqa: DTZ001  # the point


def test_metadata_json_round_trip() -> None:
    original = RegistrySnapshot(
        registry="us-dnc", snapshot_date=date(2025, 6, 8), max_age_days=31, imported_at=NOW, numbers=3, added=2,
        removed=1, sources=(SourceFile("additions", "/x/add.txt", "ab" * 32, 3, 3, 0, 0),), data_file="f.npy",
        data_sha256="cd" * 32, area_codes=(212, 305), previous_snapshot_date=date(2025, 6, 1),
    )
    assert RegistrySnapshot.from_json(original.to_json()) == original
    with pytest.raises(RegistryError, match="malformed"):
        RegistrySnapshot.from_json({"format_version": 1, "registry": "us-dnc"})


# --- persistence ----------------------------------------------------------------------------------


def test_us_persistence_round_trip_memory_mapped_and_writable(tmp_path: Path) -> None:
    directory = registry_dir(tmp_path)
    store = UsRegistry.empty()
    numbers = np.array([2125550123, 3055550188, 3055550189, 9999999999], dtype=np.int64)
    store.add_many(numbers)
    saved = save_registry(directory, snapshot("us-dnc", date(2025, 6, 1), 4), store)
    assert saved.area_codes == (212, 305, 999)
    assert len(saved.data_sha256) == 64
    assert read_snapshot(directory, "us-dnc") == saved

    mapped = open_registry(directory, "us-dnc")
    assert mapped is not None and isinstance(mapped.store, UsRegistry)
    assert not mapped.store.writable
    assert isinstance(mapped.store.rows(), np.memmap)
    preload(mapped.store)
    assert mapped.store.contains_many(numbers).all()
    assert mapped.store.contains(3055550189) and not mapped.store.contains(3055550187)
    assert mapped.store.count() == 4
    with pytest.raises(RegistryError, match="read-only"):
        mapped.store.add(2015550123)

    writable = open_registry(directory, "us-dnc", writable=True)
    assert writable is not None and writable.store.writable
    writable.store.add(2015550123)  # a new area code after the loaded rows
    assert writable.store.contains_many([*numbers.tolist(), 2015550123]).all()


def test_uk_and_empty_round_trip(tmp_path: Path) -> None:
    directory = registry_dir(tmp_path)
    save_registry(directory, snapshot("uk-tps", date(2025, 6, 1), 2), UkRegistry.from_numbers([7700900123, 2079460018]))
    save_registry(directory, snapshot("uk-ctps", date(2025, 6, 1), 0), UkRegistry.empty())
    save_registry(directory, snapshot("us-dnc", date(2025, 6, 1), 0), UsRegistry.empty())
    registries = open_registries(tmp_path)
    assert set(registries.loaded) == {"us-dnc", "uk-tps", "uk-ctps"}
    tps = registries.loaded["uk-tps"].store
    assert tps.contains(2079460018) and tps.contains(7700900123) and not tps.contains(7700900124)
    assert registries.loaded["uk-ctps"].store.count() == 0
    assert not registries.loaded["us-dnc"].store.contains(2125550123)
    assert registries.loaded["us-dnc"].store.contains_many([2125550123]).tolist() == [False]


def test_a_new_save_replaces_the_data_file(tmp_path: Path) -> None:
    directory = registry_dir(tmp_path)
    first = save_registry(directory, snapshot("uk-tps", date(2025, 6, 1), 1), UkRegistry.from_numbers([2079460018]))
    later = RegistrySnapshot(**{**{f: getattr(snapshot("uk-tps", date(2025, 6, 2), 1), f)
                                   for f in RegistrySnapshot.__dataclass_fields__},
                                "imported_at": NOW + timedelta(seconds=1)})
    second = save_registry(directory, later, UkRegistry.from_numbers([7700900123]))
    assert sorted(p.name for p in directory.glob("uk-tps*.npy")) == [second.data_file]
    assert first.data_file != second.data_file
    entry = open_registry(directory, "uk-tps")
    assert entry is not None and entry.store.contains(7700900123) and not entry.store.contains(2079460018)


def test_a_damaged_data_file_is_detected_when_read_for_a_change(tmp_path: Path) -> None:
    directory = registry_dir(tmp_path)
    store = UsRegistry.empty()
    store.add(2125550123)
    saved = save_registry(directory, snapshot("us-dnc", date(2025, 6, 1), 1), store)
    path = directory / saved.data_file
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(RegistryError, match="damaged"):
        open_registry(directory, "us-dnc", writable=True)


def test_missing_registry_and_unknown_names(tmp_path: Path) -> None:
    assert open_registry(registry_dir(tmp_path), "us-dnc") is None
    with pytest.raises(RegistryError, match="unknown registry"):
        open_registry(registry_dir(tmp_path), "de-robinson")
    registries = open_registries(tmp_path, required=("us-dnc",))
    assert registries.loaded == {} and registries.required == {"us-dnc"}
