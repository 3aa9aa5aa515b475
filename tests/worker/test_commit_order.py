"""At-least-once, the rows that make a replay skip an event are made durable last."""

from __future__ import annotations

from pipeline.worker.commit import in_durable_order
from pipeline.worker.state import RowWrite


def row(table: str, number: bytes = b"+12125550100") -> RowWrite:
    return RowWrite(table, number, b"{}", number)


def test_the_rows_that_mark_events_seen_come_after_every_other_row_of_the_batch() -> None:
    """A kill -9 between the two groups leaves the event unmarked: the replay applies it again to the
    suppression and consent rows (each idempotent by event id) instead of skipping it."""
    rows = [row("leads"), row("consents"), row("erasures", b"marker"), row("suppressions"),
            row("leads", b"+12125550101"), row("consents", b"+12125550101")]
    first, last = in_durable_order(rows)
    assert [(r.table, r.key) for r in first] == [("consents", b"+12125550100"), ("suppressions", b"+12125550100"),
                                                 ("consents", b"+12125550101")]
    assert [(r.table, r.key) for r in last] == [("leads", b"+12125550100"), ("erasures", b"marker"),
                                                ("leads", b"+12125550101")]


def test_a_batch_with_one_kind_of_row_is_one_group() -> None:
    assert in_durable_order([row("consents")]) == ([row("consents")], [])
    assert in_durable_order([row("leads")]) == ([], [row("leads")])
