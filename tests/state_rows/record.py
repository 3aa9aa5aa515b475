"""Record the rows of every table as today's worker writes them, with the state each reads as.

    PYTHONPATH=tests .venv/bin/python -m state_rows.record   # writes rows-main-<commit>.jsonl.xz here

The mixed stream of the differential test (:mod:`streams.mixed`) is played through the worker's own
batch code (:mod:`streams.worker_path`: ``NumberTables`` and the email index over dicts), and every
row written to any table is caught. Of those, a varied sample is kept: per table, every row that
shows a *feature* no earlier kept row showed (a key path, the set of keys of one object, the value
of a status/scope/category/source/action/channel field, a list's length by bucket: empty, one, a
few, many), then every ``EVERY``-th row written, and each table's ``LARGEST`` rows.
:mod:`state_rows.made` adds rows the stream does not make (bounds reached, every enum value,
non-ASCII text, instants in other zones) and rows in the shape of release 0.1.

Each line of the file is one row: who wrote it (``written_by``), the table, the key and the row
bytes (as text: rows are UTF-8 JSON), and ``state``, the value it read as when recorded
(:func:`state_rows.canonical.canonical` of what the worker decoded: ``pipeline.worker.state.load``
until d5198ea, ``pipeline.state_codec.decode`` since).
"""

from __future__ import annotations

import json
import logging
import lzma
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from streams.mixed import mixed_stream
from streams.worker_path import _Worker

from pipeline import topics
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.core.consents import ConsentLedger
from pipeline.core.email_stage import EmailLeads
from pipeline.core.erasure import Erasure
from pipeline.core.leads import NumberLeads
from pipeline.core.suppressions import SuppressionState
from pipeline.state_codec import decode, encode
from pipeline.worker.state import NumberTables
from state_rows.canonical import canonical
from state_rows.made import PREVIOUS_RELEASE, made_states

HERE = Path(__file__).resolve().parent
KINDS: dict[str, type] = {topics.TABLE_SUPPRESSIONS: SuppressionState, topics.TABLE_CONSENTS: ConsentLedger,
                          topics.TABLE_LEADS: NumberLeads, topics.TABLE_ERASURES: Erasure,
                          topics.TABLE_EMAILS: EmailLeads}
"""What each table's rows read as."""
EVERY = 251
LARGEST = 5
# Fields whose every value makes its own shape (an enum in one of the state types).
ENUM_KEYS = frozenset({"status", "scope", "category", "action", "channel", "last_outcome", "outcome",
                       "channel_specific", "offered"})


class Recording(dict[bytes, bytes]):
    """A table over a dict that remembers every value written to it, in order."""

    def __init__(self, table: str, written: list[tuple[str, bytes, bytes]]) -> None:
        super().__init__()
        self.table, self.written = table, written

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.written.append((self.table, key, value))
        super().__setitem__(key, value)


def _bucket(n: int) -> str:
    return "0" if n == 0 else "1" if n == 1 else "few" if n <= 5 else "many"


def _features(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        yield f"{path}{{{','.join(sorted(value))}}}"
        for key, item in value.items():
            here = f"{path}.{key}"
            yield here
            if key in ENUM_KEYS or (key == "source" and path.startswith((".active", ".ended"))):
                yield f"{here}={item}"
            yield from _features(item, here)
    elif isinstance(value, list):
        yield f"{path}#{_bucket(len(value))}"
        for item in value:
            yield from _features(item, f"{path}[]")


def features(raw: bytes) -> frozenset[str]:
    """What a row shows (see the module doc)."""
    return frozenset(_features(json.loads(raw)))


def written_rows() -> list[tuple[str, bytes, bytes]]:
    """Every row the worker path writes over the mixed stream, in order (index rows included)."""
    stream = mixed_stream()
    settings = Settings()
    worker = _Worker(stream, settings, make_codec(settings), Settings.batch_max)
    written: list[tuple[str, bytes, bytes]] = []
    rows = {name: Recording(name, written) for name in topics.TABLES}
    worker.rows = dict(rows)
    worker.tables = NumberTables(rows[topics.TABLE_SUPPRESSIONS], rows[topics.TABLE_CONSENTS],
                                 rows[topics.TABLE_LEADS], rows[topics.TABLE_ERASURES], worker.tables.secret)
    worker.decider.tables = worker.tables
    if worker.index is not None:
        index_rows: MutableMapping[bytes, bytes] = Recording(topics.TABLE_EMAILS, written)
        worker.index._rows = index_rows  # type: ignore[assignment]  # the index's own dict, recorded
    worker.run(stream.items)
    return written


def sample(written: list[tuple[str, bytes, bytes]]) -> list[tuple[str, bytes, bytes]]:
    """A varied sample of ``written`` (see the module doc), in the order they were written."""
    kept: dict[tuple[str, bytes], tuple[str, bytes, bytes]] = {}
    seen: dict[str, set[str]] = {table: set() for table in KINDS}
    for i, (table, key, raw) in enumerate(written):
        new = features(raw) - seen[table]
        if new or i % EVERY == 0:
            seen[table] |= new
            kept.setdefault((table, raw), (table, key, raw))
    for table in KINDS:
        ours = sorted((row for row in written if row[0] == table), key=lambda row: len(row[2]))
        for row in ours[-LARGEST:]:
            kept.setdefault((table, row[2]), row)
    order = {(table, raw): i for i, (table, _, raw) in enumerate(written)}
    return sorted(kept.values(), key=lambda row: order[row[0], row[2]])


def main() -> int:
    commit = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True,
                            check=True, cwd=HERE).stdout.strip()
    logging.disable(logging.WARNING)  # the stream's bad records are dead-lettered, each with a warning
    written = written_rows()
    chosen = [(f"main {commit}: the worker path over the mixed stream", *row) for row in sample(written)]
    chosen += [(f"main {commit}: the row encoding of a state built in state_rows.made", table, key,
                encode(state)) for table, key, state in made_states()]
    chosen += [("release 0.1 (state_rows.made.PREVIOUS_RELEASE)", *row) for row in PREVIOUS_RELEASE]
    path = HERE / f"rows-main-{commit}.jsonl.xz"
    with lzma.open(path, "wt", encoding="utf-8") as out:
        for written_by, table, key, raw in chosen:
            state = canonical(decode(KINDS[table], raw))
            line = {"written_by": written_by, "table": table, "key": key.decode(), "row": raw.decode(),
                    "state": state}
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    counts = Counter(table for _, table, _, _ in chosen)
    print(f"{len(written)} rows written by the worker path; kept {len(chosen)} in all: "
          + ", ".join(f"{table} {counts[table]}" for table in KINDS))
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
