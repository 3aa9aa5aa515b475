"""How a planned batch becomes durable: at-least-once (outputs first, then state) or exactly-once
(one Kafka transaction per source partition). See :mod:`pipeline.worker.decide` for the order and
:mod:`pipeline.worker.transactions` for the transactions.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import faust
from faust.streams import _current_event
from faust.types import TP

from pipeline.topics import TABLE_ERASURES, TABLE_LEADS
from pipeline.worker.decide import Plan
from pipeline.worker.state import NumberTables, RowWrite
from pipeline.worker.transactions import ChangelogRecord, PartitionTransactions
from pipeline.worker.wire import Outgoing

log = logging.getLogger("leadpipe")


@contextmanager
def acting_for(event: faust.types.EventT[bytes]) -> Iterator[None]:
    """Make ``event`` Faust's current event: a table write goes to the changelog partition (and, with
    RocksDB, the local partition store) of the current event, so a batch writes each number's rows as
    one of that number's own events."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class Changelogs:
    """The changelog topic of each table, and where its local store's rows are known to go."""

    def __init__(self, tables: NumberTables) -> None:
        faust_tables: dict[str, Any] = dict(tables.by_name)  # Faust tables here, whatever NumberTables is typed as
        self.topic_of = {name: table.changelog_topic.get_topic_name() for name, table in faust_tables.items()}
        self._table_of_topic = {self.topic_of[name]: table for name, table in faust_tables.items()}

    def persisted(self, offsets: dict[tuple[str, int], int]) -> None:
        """The changelog records up to ``offsets`` ((topic, partition) → offset) are written: RocksDB
        remembers how far its rows go, so a warm restart reads on from there."""
        for (topic, partition), offset in offsets.items():
            self._table_of_topic[topic].data.set_persisted_offset(TP(topic, partition), offset)


class Committer(Protocol):
    async def commit(self, plan: Plan, events: Sequence[faust.types.EventT[bytes]]) -> None: ...

    def problem(self) -> str | None: ...


class Outbox:
    """Sends outputs and waits until the broker acknowledged every one of them; while it cannot, it
    keeps trying (the batch is not acknowledged either) and says so on /healthz."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.waiting_since: float | None = None
        self.last_error: str | None = None

    async def deliver(self, outputs: Sequence[Outgoing]) -> list[Any]:
        """Send ``outputs``; return once the broker acknowledged each, with what it said (the
        record's metadata: its partition and offset)."""
        if not outputs:
            return []
        delay = 0.2
        self.waiting_since = time.monotonic()
        try:
            while True:
                try:
                    producer = self.app.producer
                    pending = [await producer.send(o.topic, o.key, o.value, o.partition, o.timestamp, None)
                               for o in outputs]
                    acknowledged = await asyncio.gather(*pending)
                    self.last_error = None
                    return list(acknowledged)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # an outage, not bad input: every output is re-sent (same ids)
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("sending %d outputs failed (%s); retrying in %.1f s", len(outputs),
                                self.last_error, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            self.waiting_since = None

    def problem(self) -> str | None:
        """Why outputs are not getting out, once they have waited more than 10 s for the broker."""
        if self.waiting_since is not None and time.monotonic() - self.waiting_since > 10:
            return f"waiting {time.monotonic() - self.waiting_since:.0f} s for the broker to acknowledge outputs" + (
                f" ({self.last_error})" if self.last_error else "")
        return None


SKIP_MARKS = (TABLE_LEADS, TABLE_ERASURES)
"""Tables whose row makes a replay skip an event: the leads row remembers the ids of the events
applied, and an erasure marker makes every later event a no-op."""


def in_durable_order(rows: Sequence[RowWrite]) -> tuple[list[RowWrite], list[RowWrite]]:
    """``rows`` in two groups to make durable one after the other: the rows a replay would skip an
    event for (:data:`SKIP_MARKS`) only once every other row of the batch is acknowledged. Otherwise
    a kill -9 between the acknowledgements could keep an event's "seen" and lose its suppression or
    consent row, which the replay would then never write (seen at-least-once in the torture suite:
    a consent row lost while the leads row that remembered its event stood)."""
    return [r for r in rows if r.table not in SKIP_MARKS], [r for r in rows if r.table in SKIP_MARKS]


class AtLeastOnce:
    """Outputs acknowledged first; then the rows' changelog records, acknowledged too, each in its
    number's source partition — the rows that mark events seen last (:func:`in_durable_order`); then
    the local stores. Only then does the offset gate count the batch durable, so no offset it
    commits can pass a row the broker does not have. (Writing rows through Faust's tables left their
    changelog records in Faust's producer buffer, whose flush before a commit gives up after 0.1 s
    without progress: under load an offset was committed ahead of its rows, and a kill -9 then lost
    them.)"""

    def __init__(self, outbox: Outbox, tables: NumberTables) -> None:
        self.outbox, self.tables = outbox, tables
        self.changelogs = Changelogs(tables)

    async def commit(self, plan: Plan, events: Sequence[faust.types.EventT[bytes]]) -> None:
        await self.outbox.deliver(plan.outputs)
        first, last = in_durable_order(list(plan.rows.values()))
        rows = first + last
        changelog = [Outgoing(self.changelogs.topic_of[r.table], r.key, r.value,
                              partition=plan.row_partition[r.number]) for r in rows]
        written = [*await self.outbox.deliver(changelog[:len(first)]),
                   *await self.outbox.deliver(changelog[len(first):])]
        act_as = {e.message.partition: e for e in events}
        for row in rows:
            with acting_for(act_as[plan.row_partition[row.number]]):
                self.tables.write_local(row)
        persisted: dict[tuple[str, int], int] = {}
        for record, meta in zip(changelog, written, strict=True):
            tp = (record.topic, meta.partition)
            persisted[tp] = max(persisted.get(tp, -1), meta.offset)
        self.changelogs.persisted(persisted)

    def problem(self) -> str | None:
        return self.outbox.problem()


class ExactlyOnce:
    """Per source partition: outputs, changelog records and input offsets in one transaction; the
    local stores are written after it committed."""

    def __init__(self, transactions: PartitionTransactions, tables: NumberTables, app: faust.App,
                 source_topics: frozenset[str]) -> None:
        self.transactions, self.tables, self.app = transactions, tables, app
        self.source_topics = source_topics
        self.changelogs = Changelogs(tables)
        self.waiting_since: float | None = None
        self.last_error: str | None = None

    async def commit(self, plan: Plan, events: Sequence[faust.types.EventT[bytes]]) -> None:
        await self.own()
        rows: dict[int, list[RowWrite]] = defaultdict(list)
        for row in plan.rows.values():
            rows[plan.row_partition[row.number]].append(row)
        act_as = {e.message.partition: e for e in events}
        for partition, outputs in sorted(plan.by_source().items()):
            offsets = {tp: offset for tp, offset in plan.offsets.items() if tp[1] == partition}
            changelog = [ChangelogRecord(self.changelogs.topic_of[r.table], partition, r.key, r.value)
                         for r in rows[partition]]
            written = await self._commit_one(partition, outputs, changelog, offsets)
            if written is None:
                continue  # no longer ours: the worker that took the partition over decides these again
            with acting_for(act_as[partition]):
                for row in rows[partition]:
                    self.tables.write_local(row)
            self.changelogs.persisted(written)
            # Faust commits no offsets here (pipeline.transport): tell it what the transaction did,
            # so its commit-livelock watch does not report committed partitions as stuck.
            committed: Any = getattr(self.app.consumer, "_committed_offset", None)
            if committed is not None:
                for (topic, p), offset in offsets.items():
                    committed[TP(topic, p)] = offset

    async def _commit_one(self, partition: int, outputs: list[Outgoing], changelog: list[ChangelogRecord],
                          offsets: dict[tuple[str, int], int]) -> dict[tuple[str, int], int] | None:
        delay = 0.2
        self.waiting_since = time.monotonic()
        try:
            while True:
                try:
                    written = await self.transactions.commit(partition, outputs, changelog, offsets)
                    self.last_error = None
                    return written
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the transaction was aborted: nothing of it is visible
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    await self.transactions.forget([partition])  # a fresh producer (it may be fenced)
                    if not self._owns(partition):
                        log.warning("partition %d moved to another worker during its commit (%s): "
                                    "its batch is left to the new owner", partition, self.last_error)
                        return None
                    log.warning("committing partition %d failed (%s); retrying in %.1f s", partition,
                                self.last_error, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            self.waiting_since = None

    async def own(self) -> None:
        """Hold producers for this worker's partitions (fencing a predecessor's open transactions);
        when the broker cannot be reached now, the commits start them when they need them."""
        try:
            await self.transactions.own(self.assigned())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("starting the transactional producers failed (%s); commits start them as needed",
                        self.last_error)

    def assigned(self) -> set[int]:
        """The partitions this worker decides now (active, not standby)."""
        assignment: Any = self.app.consumer.assignment()
        return {tp.partition for tp in assignment if tp.topic in self.source_topics}

    def _owns(self, partition: int) -> bool:
        return partition in self.assigned()

    def problem(self) -> str | None:
        if self.waiting_since is not None and time.monotonic() - self.waiting_since > 10:
            return (f"waiting {time.monotonic() - self.waiting_since:.0f} s to commit a transaction"
                    + (f" ({self.last_error})" if self.last_error else ""))
        return None
