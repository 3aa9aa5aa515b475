"""A number's table rows: read into a :class:`~pipeline.core.number.NumberState`, and the changes
``process`` made encoded back into rows — once per number per batch, after the batch's outputs
were acknowledged (see :mod:`pipeline.worker.decide`).

Rows are encoded and decoded by :mod:`pipeline.state_codec` (compact UTF-8 JSON; rows written by
earlier releases read the same). Every row is bounded: the state types keep bounded histories and a
row over :data:`MAX_ROW_BYTES` is refused here (:class:`RowTooLarge`) before it can reach the
changelog, where the broker would refuse it and stop the worker.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pipeline.core.consents import ConsentLedger
from pipeline.core.email_stage import EmailLeads
from pipeline.core.erasure import Erasure, erasure_key
from pipeline.core.leads import NumberLeads
from pipeline.core.number import NumberState
from pipeline.core.suppressions import SuppressionState
from pipeline.state_codec import decode, encode
from pipeline.worker.wire import MAX_RECORD_BYTES

DECODED_KEPT = 4096
"""Numbers whose decoded state :meth:`NumberTables.read` keeps (immutable values: safe to share)."""
MAX_ROW_BYTES = MAX_RECORD_BYTES
"""Largest table row (key + value) written to a changelog."""

Table = MutableMapping[bytes, Any]
"""A Faust table of raw bytes (or anything mapping keys to row bytes, in tests)."""


class RowTooLarge(ValueError):
    """A row over :data:`MAX_ROW_BYTES`: the event that would make it is dead-lettered instead."""


@dataclass(frozen=True, slots=True)
class RowWrite:
    """One row to write: ``value`` None deletes it (a tombstone on the changelog)."""

    table: str
    key: bytes
    value: bytes | None
    number: bytes
    """The number the row belongs to: the row lives on that number's partition."""


Part = TypeVar("Part", SuppressionState, ConsentLedger, NumberLeads, EmailLeads)
"""A row kind that has an empty value (everything but an erasure marker)."""


def load(kind: type[Part], raw: bytes | None) -> Part:
    """A state value from its row bytes, or the empty value for a new number (``kind()``); raises
    :class:`~pipeline.state_codec.RowError` for a row that does not read."""
    return kind() if raw is None else decode(kind, raw)


class NumberTables:
    """The four tables that hold a number: suppressions, consents, leads (keyed by the number) and
    erasure markers (keyed by a keyed hash of it)."""

    def __init__(self, suppressions: Table, consents: Table, leads: Table, erasures: Table, secret: bytes) -> None:
        self.suppressions, self.consents, self.leads, self.erasures = suppressions, consents, leads, erasures
        self.secret = secret
        self.by_name: dict[str, Table] = {"suppressions": suppressions, "consents": consents, "leads": leads,
                                          "erasures": erasures}
        self._decoded: OrderedDict[bytes, tuple[tuple[bytes | None, ...], NumberState]] = OrderedDict()

    def read(self, key: bytes) -> NumberState:
        """The number's state as its rows hold it. Decoding is remembered for the most recently read
        numbers (:data:`DECODED_KEPT`) while their rows are unchanged: a number asked about again —
        a dialer's checks, a busy number's events — costs a comparison, not a decode."""
        marker = self.erasures.get(erasure_key(key.decode(), self.secret))
        rows = (marker, self.suppressions.get(key), self.consents.get(key), self.leads.get(key))
        kept = self._decoded.get(key)
        if kept is not None and kept[0] == rows:
            self._decoded.move_to_end(key)
            return kept[1]
        if marker is not None:
            state = NumberState(erasure=decode(Erasure, marker))
        else:
            state = NumberState(suppressions=load(SuppressionState, rows[1]), consents=load(ConsentLedger, rows[2]),
                                leads=load(NumberLeads, rows[3]))
        self._decoded[key] = (rows, state)
        if len(self._decoded) > DECODED_KEPT:
            self._decoded.popitem(last=False)
        return state

    def changes(self, key: bytes, old: NumberState, new: NumberState) -> list[RowWrite]:
        """The rows to write for ``key`` after ``old`` became ``new`` (parts ``process`` returned
        unchanged are the same object and are not written). An erasure deletes the personal rows and
        keeps only the marker. Raises :class:`RowTooLarge`."""
        if new.erasure is not None and old.erasure is None:
            marker = erasure_key(key.decode(), self.secret)
            return [RowWrite("suppressions", key, None, key), RowWrite("consents", key, None, key),
                    RowWrite("leads", key, None, key), self._row("erasures", marker, new.erasure, key)]
        writes = []
        if new.suppressions is not old.suppressions:
            writes.append(self._row("suppressions", key, new.suppressions, key))
        if new.consents is not old.consents:
            writes.append(self._row("consents", key, new.consents, key))
        if new.leads is not old.leads:
            writes.append(self._row("leads", key, new.leads, key))
        return writes

    @staticmethod
    def _row(table: str, key: bytes, value: SuppressionState | ConsentLedger | NumberLeads | Erasure,
             number: bytes) -> RowWrite:
        raw = encode(value)
        if len(raw) + len(key) > MAX_ROW_BYTES:
            raise RowTooLarge(f"the {table} row would be {len(raw)} bytes, over the {MAX_ROW_BYTES}-byte limit")
        return RowWrite(table, key, raw, number)

    def write(self, row: RowWrite) -> None:
        """Write (or delete) one row, and its changelog record through Faust; the caller acts for an
        event of the row's partition."""
        table = self.by_name[row.table]
        if row.value is not None:
            table[row.key] = row.value
        elif row.key in table:
            del table[row.key]

    def write_local(self, row: RowWrite) -> None:
        """Write (or delete) one row in the local store only: its changelog record was committed in
        the batch's transaction (exactly-once)."""
        table: Any = self.by_name[row.table]  # a Faust table: its store is .data
        store = table.data
        if row.value is not None:
            store[row.key] = row.value
        elif row.key in store:
            del store[row.key]
