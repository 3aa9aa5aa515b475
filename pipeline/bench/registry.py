"""Registry test data and the registry benchmark.

:func:`generate_us_list` writes a realistic FTC full list: unique numbers in the geographic area
codes of the US and its territories (as phonenumbers knows them), exchanges 200-999, spread unevenly
over area codes, sorted like the FTC's files, deterministic for a seed; optionally with a bad line
every K lines.

:func:`run_registry_bench` measures, for ``count`` numbers: generating the file, importing it (in a
child process, so its peak resident memory — VmHWM — is the import's alone), reopening the saved
snapshot memory-mapped, and lookups in bulk (``contains_many`` on 1 M numbers, half of them on the
list) and one at a time. Run as ``python -m pipeline.bench.registry COUNT WORKDIR``.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import phonenumbers
from phonenumbers import PhoneNumberType

from pipeline.registry.kinds import US_DNC_REGIONS
from pipeline.registry.memory import SUBSCRIBERS_PER_AREA, Numbers, sorted_unique

DEFAULT_SEED: Final = 20250601
FIRST_SUBSCRIBER: Final = 2_000_000
"""Exchanges (the subscriber number's first 3 digits) start at 200: NANP exchanges never start with 0 or 1."""
SUBSCRIBER_SPAN: Final = SUBSCRIBERS_PER_AREA - FIRST_SUBSCRIBER

ListFormat = Literal["plain", "comma"]

# Bad lines the generator writes, as wide as a good line so they also exercise the fast path's fallback.
_BAD_LINES: Final[dict[ListFormat, tuple[bytes, ...]]] = {
    "plain": (b"21255501X3", b"0125550123", b"2120550123"),
    "comma": (b"212,55501X3", b"012,5550123", b"212,0550123"),
}


@functools.cache
def us_area_codes() -> tuple[int, ...]:
    """Geographic area codes of the US and its territories (no toll-free, 5XX or 900 codes)."""
    kinds = {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
    found = []
    for area in range(200, 1000):
        for subscriber in ("2345678", "5550123", "4567890", "2000000"):
            number = phonenumbers.parse(f"+1{area}{subscriber}")
            if phonenumbers.is_valid_number(number):
                if (phonenumbers.region_code_for_number(number) in US_DNC_REGIONS
                        and phonenumbers.number_type(number) in kinds):
                    found.append(area)
                break
    return tuple(found)


@dataclass(frozen=True, slots=True)
class GeneratedList:
    path: Path
    numbers: int
    bad_lines: int
    lines: int
    area_codes: int
    elapsed_s: float


def _choose_subscribers(rng: np.random.Generator, k: int) -> Numbers:
    """``k`` distinct subscriber numbers (2000000-9999999), sorted."""
    if k < SUBSCRIBER_SPAN // 16:
        # Sparse: draw a few more than needed, deduplicate, top up if short, drop a random surplus.
        chosen = sorted_unique(rng.integers(0, SUBSCRIBER_SPAN, k + k // 8 + 16))
        while chosen.size < k:
            chosen = sorted_unique(np.concatenate([chosen, rng.integers(0, SUBSCRIBER_SPAN, k - chosen.size + 16)]))
    else:
        # Dense: one coin per possible number, a little over k on average.
        p = min(1.0, k / SUBSCRIBER_SPAN * 1.01 + 1e-4)
        chosen = np.flatnonzero(rng.random(SUBSCRIBER_SPAN, dtype=np.float32) < p).astype(np.int64)
        while chosen.size < k:
            chosen = sorted_unique(np.concatenate([chosen, rng.integers(0, SUBSCRIBER_SPAN, k - chosen.size + 16)]))
    if chosen.size > k:
        drop = rng.choice(chosen.size, chosen.size - k, replace=False)
        keep = np.ones(chosen.size, dtype=np.bool_)
        keep[drop] = False
        chosen = chosen[keep]
    return chosen + FIRST_SUBSCRIBER


def _format_rows(numbers: Numbers, fmt: ListFormat, line_end: bytes) -> npt.NDArray[np.uint8]:
    digits = list(range(10)) if fmt == "plain" else [0, 1, 2, *range(4, 11)]
    width = (10 if fmt == "plain" else 11) + len(line_end)
    rows = np.empty((numbers.size, width), dtype=np.uint8)
    value = numbers.copy()
    for pos in reversed(digits):
        rows[:, pos] = ord("0") + value % 10
        value //= 10
    if fmt == "comma":
        rows[:, 3] = ord(",")
    rows[:, width - len(line_end):] = np.frombuffer(line_end, dtype=np.uint8)
    return rows


def generate_us_list(
    count: int,
    out: Path,
    *,
    fmt: ListFormat = "plain",
    bad_every: int = 0,
    seed: int = DEFAULT_SEED,
    crlf: bool = False,
    on_block: Callable[[int, Numbers], None] | None = None,
) -> GeneratedList:
    """Write ``count`` unique US numbers to ``out``, one per line, sorted.

    ``bad_every=K`` (K >= 2) puts a bad line after every K-1 good ones, so lines K, 2K, ... are bad.
    ``on_block(area_code, subscribers)`` sees each area code's sorted subscriber numbers (benchmarks
    sample their queries from it).
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    if bad_every == 1 or bad_every < 0:
        raise ValueError("bad_every must be 0 (none) or at least 2")
    started = time.perf_counter()
    areas = us_area_codes()
    rng = np.random.default_rng(seed)
    weights = rng.gamma(2.0, 1.0, len(areas))
    capacity = SUBSCRIBER_SPAN * len(areas)
    if count > capacity // 2:
        raise ValueError(f"count {count} is more than half of the {capacity} possible numbers")
    per_area = rng.multinomial(count, weights / weights.sum())
    while per_area.max() > SUBSCRIBER_SPAN // 2:  # keep every area code at most half full
        per_area = rng.multinomial(count, np.full(len(areas), 1 / len(areas)))
    line_end = b"\r\n" if crlf else b"\n"
    bad_rows = [
        np.frombuffer(bad + line_end, dtype=np.uint8) for bad in _BAD_LINES[fmt]
    ]
    written = bad_written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        for area, k in zip(areas, per_area.tolist(), strict=True):
            if not k:
                continue
            subscribers = _choose_subscribers(rng, k)
            if on_block is not None:
                on_block(area, subscribers)
            rows = _format_rows(area * SUBSCRIBERS_PER_AREA + subscribers, fmt, line_end)
            if bad_every:
                group = bad_every - 1
                first, last = written, written + k  # good lines [first, last)
                bad_ids = np.arange(first // group, last // group)  # bad line j follows good line (j+1)*group-1
                base = first + first // group
                goods = np.arange(first, last)
                block = np.empty((k + bad_ids.size, rows.shape[1]), dtype=np.uint8)
                block[goods + goods // group - base] = rows
                for j in bad_ids.tolist():
                    block[(j + 1) * bad_every - 1 - base] = bad_rows[j % len(bad_rows)]
                bad_written += int(bad_ids.size)
                rows = block
            f.write(rows.tobytes())
            written += k
    return GeneratedList(out, written, bad_written, written + bad_written, int((per_area > 0).sum()),
                         time.perf_counter() - started)


# --- the benchmark ------------------------------------------------------------------------------


def _vm_hwm_mib() -> float:
    """Peak resident memory of this process so far (Linux /proc), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _QuerySampler:
    """Collects ~``size`` numbers on the list and as many off it, from the generator's blocks."""

    def __init__(self, count: int, size: int, seed: int) -> None:
        self._rate = min(1.0, size / 2 / max(count, 1))
        self._rng = np.random.default_rng(seed + 1)
        self.present: list[Numbers] = []
        self.absent: list[Numbers] = []

    def __call__(self, area: int, subscribers: Numbers) -> None:
        take = int(self._rng.binomial(subscribers.size, self._rate))
        if not take:
            return
        self.present.append(area * SUBSCRIBERS_PER_AREA + self._rng.choice(subscribers, take, replace=False))
        candidates = self._rng.integers(FIRST_SUBSCRIBER, SUBSCRIBERS_PER_AREA, 2 * take + 16)
        at = np.minimum(np.searchsorted(subscribers, candidates), subscribers.size - 1)
        missing = candidates[subscribers[at] != candidates]
        self.absent.append(area * SUBSCRIBERS_PER_AREA + missing[:take])


def _child(args: list[str]) -> dict[str, Any]:
    """Run one benchmark step in a fresh interpreter; it prints a JSON object as its last line."""
    proc = subprocess.run(  # noqa: S603  # our own module, arguments we built
        [sys.executable, "-m", "pipeline.bench.registry", *args],
        check=True, capture_output=True, text=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _child_load(path: str, data_dir: str) -> dict[str, Any]:
    from pipeline.registry.importer import import_full_list
    from pipeline.registry.kinds import US_DNC

    baseline = _vm_hwm_mib()
    now = datetime.now(UTC)
    result = import_full_list(Path(data_dir), US_DNC, Path(path), snapshot_date=now.date(), now=now)
    report = result.reports[0]
    return {
        "import_s": result.elapsed_s, "parse_s": report.elapsed_s, "lines": report.lines,
        "numbers": result.snapshot.numbers, "bad_lines": report.bad_count,
        "area_codes": len(result.snapshot.area_codes), "baseline_mib": baseline, "peak_mib": _vm_hwm_mib(),
        "data_bytes": (Path(data_dir) / "registries" / result.snapshot.data_file).stat().st_size,
    }


def _child_lookup(data_dir: str, queries_path: str, expected_path: str) -> dict[str, Any]:
    from pipeline.registry.check import open_registries, registry_verdict
    from pipeline.registry.memory import UsRegistry

    queries = np.load(queries_path)
    expected = np.load(expected_path)
    baseline = _vm_hwm_mib()
    started = time.perf_counter()
    registries = open_registries(Path(data_dir), required=("us-dnc",))
    reopen_s = time.perf_counter() - started
    store = registries.loaded["us-dnc"].store
    if not isinstance(store, UsRegistry):
        raise SystemExit("the benchmark's snapshot is not a US registry")

    started = time.perf_counter()
    first = store.contains_many(queries)
    first_s = time.perf_counter() - started
    if not np.array_equal(first, expected):
        raise SystemExit("contains_many disagrees with the generated list")
    bulk = []
    for _ in range(5):
        started = time.perf_counter()
        store.contains_many(queries)
        bulk.append(time.perf_counter() - started)

    singles = queries[:300_000].tolist()
    started = time.perf_counter()
    hits = sum(store.contains(number) for number in singles)
    single_s = time.perf_counter() - started
    if hits != int(expected[:300_000].sum()):
        raise SystemExit("contains disagrees with the generated list")

    phones = [f"+1{number}" for number in singles[:100_000]]
    now = datetime.now(UTC)
    started = time.perf_counter()
    blocked = sum(registry_verdict(phone, registries, now).blocked for phone in phones)
    verdict_s = time.perf_counter() - started
    if blocked != int(expected[:100_000].sum()):
        raise SystemExit("registry_verdict disagrees with the generated list")
    return {
        "reopen_s": reopen_s, "queries": int(queries.size), "present": int(expected.sum()),
        "bulk_first_s": first_s, "bulk_best_s": min(bulk), "single_per_s": len(singles) / single_s,
        "verdict_per_s": len(phones) / verdict_s, "baseline_mib": baseline, "peak_mib": _vm_hwm_mib(),
    }


def run_registry_bench(count: int, workdir: Path, *, seed: int = DEFAULT_SEED) -> None:
    """Generate ``count`` numbers, import them, reopen the snapshot and time lookups; print the figures."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"us-dnc-{count}.txt"
    data_dir = workdir / "data"
    sampler = _QuerySampler(count, 1_000_000, seed)
    print(f"registry bench: {count:,} numbers, workdir {workdir}, {os.cpu_count()} CPUs", flush=True)

    generated = generate_us_list(count, source, seed=seed, on_block=sampler)
    size = source.stat().st_size
    print(f"generate   {generated.elapsed_s:8.1f} s   {generated.numbers:,} numbers in {generated.area_codes} "
          f"area codes, {size / 2**30:.2f} GiB", flush=True)

    load = _child(["load", str(source), str(data_dir)])
    print(f"load       {load['import_s']:8.1f} s   parse {load['parse_s']:.1f} s, "
          f"{load['lines'] / load['parse_s'] / 1e6:.1f} M lines/s; {load['numbers']:,} numbers, "
          f"{load['area_codes']} area codes, snapshot {load['data_bytes'] / 2**20:.0f} MiB", flush=True)
    print(f"peak RSS   {load['peak_mib']:8.0f} MiB (interpreter + numpy alone: {load['baseline_mib']:.0f} MiB)",
          flush=True)

    present = np.concatenate(sampler.present) if sampler.present else np.zeros(0, dtype=np.int64)
    absent = np.concatenate(sampler.absent) if sampler.absent else np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed + 2)
    order = rng.permutation(present.size + absent.size)
    queries = np.concatenate([present, absent])[order]
    expected = np.concatenate([np.ones(present.size, np.bool_), np.zeros(absent.size, np.bool_)])[order]
    np.save(workdir / "queries.npy", queries)
    np.save(workdir / "expected.npy", expected)

    look = _child(["lookup", str(data_dir), str(workdir / "queries.npy"), str(workdir / "expected.npy")])
    print(f"reopen     {look['reopen_s'] * 1000:8.1f} ms  memory-mapped", flush=True)
    print(f"bulk       {look['queries'] / look['bulk_best_s'] / 1e6:8.1f} M lookups/s  contains_many on "
          f"{look['queries']:,} numbers ({look['present']:,} on the list), best of 5; first call "
          f"{look['queries'] / look['bulk_first_s'] / 1e6:.1f} M/s", flush=True)
    print(f"single     {look['single_per_s'] / 1e6:8.2f} M lookups/s  contains(int), one Python call each",
          flush=True)
    print(f"verdict    {look['verdict_per_s'] / 1e3:8.0f} k/s        registry_verdict(E.164 string)", flush=True)
    print(f"lookup RSS {look['peak_mib']:8.0f} MiB (mapped pages touched by the lookups included)", flush=True)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "load":
        print(json.dumps(_child_load(argv[1], argv[2])))
    elif argv and argv[0] == "lookup":
        print(json.dumps(_child_lookup(argv[1], argv[2], argv[3])))
    elif len(argv) == 2:
        run_registry_bench(int(argv[0]), Path(argv[1]))
    else:
        print("usage: python -m pipeline.bench.registry COUNT WORKDIR", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
