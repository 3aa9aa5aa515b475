"""Rows written by earlier code still read as the state they were written for.

tests/state_rows/rows-main-*.jsonl.xz hold rows of every table as the worker wrote them (and rows in
release 0.1's shape), each with the state it read as then (see :mod:`state_rows.record`). Today's
worker must read every one of them as that same state, and what it writes back must read again as
the same state and encode to the same bytes.
"""

from __future__ import annotations

import json
import lzma
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from state_rows.canonical import canonical
from state_rows.record import KINDS

from pipeline.worker.state import dump, load

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "state_rows").glob("rows-main-*.jsonl.xz"))


def _rows(path: Path) -> list[dict[str, Any]]:
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module", params=FIXTURES, ids=[path.name for path in FIXTURES])
def rows(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _rows(request.param)


def test_there_are_recorded_rows_of_every_table() -> None:
    assert FIXTURES
    for path in FIXTURES:
        assert set(Counter(row["table"] for row in _rows(path))) == set(KINDS)


def test_every_recorded_row_reads_as_the_state_it_was_written_for(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        state = load(KINDS[row["table"]], row["row"].encode())
        assert canonical(state) == row["state"], (row["written_by"], row["table"], row["row"][:200])


def test_a_recorded_row_written_back_reads_the_same_and_encodes_the_same(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        kind = KINDS[row["table"]]
        once = dump(load(kind, row["row"].encode()))
        again = load(kind, once)
        assert canonical(again) == row["state"], (row["written_by"], row["table"], row["row"][:200])
        assert dump(again) == once
