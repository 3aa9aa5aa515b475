"""The row codec: rows written by earlier code read as the state they were written for, what it
writes reads back the same, and a row that does not fit the schema is refused with the place named.

tests/state_rows/rows-main-*.jsonl.xz hold rows of every table as the worker of that commit wrote
them (and rows in release 0.1's shape), each with the state that worker read it as (see
:mod:`state_rows.record`; rows-main-d5198ea is from before this codec, when each state type had its
own ``to_json``/``from_json``).
"""

from __future__ import annotations

import json
import lzma
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from state_rows.canonical import as_recorded, canonical
from state_rows.made import PREVIOUS_RELEASE
from state_rows.record import KINDS

from pipeline.core.consents import ConsentEntry, ConsentLedger
from pipeline.core.leads import LeadRecord, NumberLeads
from pipeline.core.suppressions import Suppression, SuppressionState
from pipeline.state_codec import RowError, decode, encode

FIXTURES = sorted((Path(__file__).resolve().parent / "state_rows").glob("rows-main-*.jsonl.xz"))
T0 = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)


def _rows(path: Path) -> list[dict[str, Any]]:
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module", params=FIXTURES, ids=[path.name for path in FIXTURES])
def rows(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _rows(request.param)


def test_there_are_recorded_rows_of_every_table_from_before_this_codec() -> None:
    assert "rows-main-d5198ea.jsonl.xz" in [path.name for path in FIXTURES]
    for path in FIXTURES:
        counts = Counter(row["table"] for row in _rows(path))
        assert set(counts) == set(KINDS) and min(counts.values()) >= 5, counts


def test_every_recorded_row_reads_as_the_state_it_was_written_for(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        state = decode(KINDS[row["table"]], row["row"].encode())
        assert as_recorded(canonical(state)) == row["state"], (row["written_by"], row["table"], row["row"][:200])


def test_a_recorded_row_written_back_reads_the_same_and_encodes_the_same(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        kind = KINDS[row["table"]]
        once = encode(decode(kind, row["row"].encode()))
        again = decode(kind, once)
        assert as_recorded(canonical(again)) == row["state"], (row["written_by"], row["table"], row["row"][:200])
        assert encode(again) == once


def test_a_row_keeps_the_stored_names_and_leaves_out_defaults() -> None:
    lead = LeadRecord("L1", "c", "s", "NEW", T0, callback={"requested_at": T0, "promised_by_agent": None,
                                                           "notes": None})
    leads = NumberLeads(leads=(lead,), seen_event_ids=("e1",), call_attempts=(T0,), non_working_until=T0,
                        attempts_dropped_until=T0)
    assert json.loads(encode(leads)) == {
        "leads": [{"lead_id": "L1", "campaign_id": "c", "source": "s", "status": "NEW",
                   "captured_at": "2025-06-02T15:00:00Z",
                   "callback": {"requested_at": "2025-06-02T15:00:00Z", "promised_by_agent": None, "notes": None}}],
        "seen": ["e1"], "calls": ["2025-06-02T15:00:00Z"], "non_working": {"until": "2025-06-02T15:00:00Z"},
        "history": {"attempts_dropped_until": "2025-06-02T15:00:00Z"},
    }
    suppression = Suppression("s1", "VOICE", "PERMANENT", None, "OPT_OUT", "sms", None, None, T0, None)
    assert json.loads(encode(SuppressionState(active=(suppression,), history_from=T0))) == {
        "active": [{"id": "s1", "scope": "VOICE", "category": "PERMANENT", "source": "OPT_OUT", "added_by": "sms",
                    "created_at": "2025-06-02T15:00:00Z"}],
        "history": {"from": "2025-06-02T15:00:00Z"},
    }
    # "history" is always written, even empty: a row without it is release 0.1's, read with its bounds.
    assert json.loads(encode(ConsentLedger())) == {"history": {}}


def test_a_release_0_1_row_reads_its_history_from_what_it_recorded() -> None:
    suppressions, leads = PREVIOUS_RELEASE[0][2], PREVIOUS_RELEASE[5][2]
    assert decode(SuppressionState, suppressions).history_from == datetime(2025, 12, 3, 17, tzinfo=UTC)
    assert decode(NumberLeads, leads).attempts_dropped_until == datetime(2025, 12, 1, 17, tzinfo=UTC) - timedelta(7)
    entries = tuple(ConsentEntry(f"e{i}", "GRANT", "m", "VOICE", False, T0 + timedelta(hours=i), "f")
                    for i in range(3))
    assert decode(ConsentLedger, encode(ConsentLedger(entries))).history_from is None


@pytest.mark.parametrize(("kind", "raw", "where"), [
    (SuppressionState, b'{"active":[{"id":"x","scope":"EVERYWHERE","category":"PERMANENT","source":"OPT_OUT",'
                       b'"added_by":"a","created_at":"2025-06-02T15:00:00+00:00"}],"history":{}}', "$.active[0].scope"),
    (SuppressionState, b'{"active":[{"id":"x","scope":"VOICE","category":"PERMANENT","source":"OPT_OUT",'
                       b'"added_by":"a","created_at":"2025-06-02T15:00:00"}],"history":{}}', "$.active[0].created_at"),
    (ConsentLedger, b'{"entries":[{"event_id":"e","action":"GRANT","purpose":"m","channel":"FAX",'
                    b'"effective_at":"2025-06-02T15:00:00Z","source":"f"}]}', "$.entries[0].channel"),
    (NumberLeads, b'{"leads":[{"lead_id":"L","campaign_id":"c","source":"s","status":"NEW",'
                  b'"callback":{"notes":"x"}}],"history":{}}', "$.leads[0].callback"),
    (NumberLeads, b'{"leads":[],"seen":"e1","history":{}}', "$.seen"),
    (NumberLeads, b'[]', "got `array`"),
    (NumberLeads, b'{"leads":', "not JSON"),
])
def test_a_row_that_does_not_fit_the_schema_is_refused_naming_where(kind: type, raw: bytes, where: str) -> None:
    with pytest.raises(RowError, match=f"{kind.__name__} row .*{re.escape(where)}"):
        decode(kind, raw)
