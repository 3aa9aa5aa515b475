"""At-least-once offsets kept by the worker, not by Faust: every record decided, in order, once per
assignment, and no offset committed past a record that was not.

Faust's at-least-once commit trusted its stream's acknowledgements and filled the offsets between
them as if acknowledged. Around a rebalance its consumer drops records it already fetched (its fetch
loop stops mid-batch on a generation change, its streams skip events of an older generation), and
its commit then went past them: seen with two workers under kill -9 on Tansu, where the first 281
leads of a ``number-events`` partition were never decided while the group's offset stood at the
partition's end.

:class:`OffsetGate` admits a batch's records per source partition only in offset order from the
offset the group committed when the partition was assigned. A record behind that is decided already
and skipped; one ahead of it means records in between were dropped: the partition is sought back
and its records are not admitted until the missing one comes. If, well after the seek, the first
record is still ahead, a plain consumer reads the partition from the missing offset: when the first
record there is the one that came, there are no records in between (transaction markers, left by
an earlier exactly-once run) and the gap is accepted; otherwise the partition is sought back
again. Records of a partition no longer assigned are left to its new owner. :meth:`OffsetGate.commit`
commits, every second and when partitions are revoked, the offsets after the records whose outputs
and rows the broker acknowledged.

Exactly-once, the gate admits the same way (the batch's transaction commits the offsets, not the
gate). There gaps are ordinary: the worker's own transactions leave a commit marker after their
records on ``<app>-number-events``, and an aborted transaction's records are skipped by
``read_committed`` readers. :func:`watch_fetches` has the consumer's fetches say which offsets they
passed over without a record (:class:`EmptyRanges`); a gap made only of those is accepted at once.
A gap the fetches did not see — records Faust fetched and dropped — is read again as above.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import faust
from aiokafka.errors import IllegalStateError  # type: ignore[import-untyped]  # aiokafka ships no types
from faust.types import TP

log = logging.getLogger("leadpipe")

GAP_ACCEPTED_AFTER_S = 5.0
"""How long after seeking back a gap that is still there is checked for offsets without records."""

FirstOffset = Callable[[str, int, int], "int | None"]
"""The offset of the first record at or after an offset of a (topic, partition), None when there is
none (blocking: run in a thread); :func:`pipeline.kafka_clients.first_offset_from`."""


MAX_EMPTY_RANGES = 4096
"""Empty ranges kept per partition (the lowest go first): a gap is always near the newest."""


class EmptyRanges:
    """Offset ranges ``[start, end)`` of each (topic, partition) that a consumer's fetch passed over
    without returning a record — transaction markers, aborted transactions' records, compacted
    records. Written from the consumer's thread, read from the event loop."""

    def __init__(self, max_ranges: int = MAX_EMPTY_RANGES) -> None:
        self._lock = threading.Lock()
        self._starts: dict[tuple[str, int], list[int]] = {}
        self._ends: dict[tuple[str, int], list[int]] = {}
        self.max_ranges = max_ranges

    def add(self, topic: str, partition: int, start: int, end: int) -> None:
        if end <= start:
            return
        with self._lock:
            starts = self._starts.setdefault((topic, partition), [])
            ends = self._ends.setdefault((topic, partition), [])
            i = bisect.bisect_left(starts, start)
            # merge with every range that overlaps or touches [start, end)
            lo = i
            if lo > 0 and ends[lo - 1] >= start:
                lo -= 1
            hi = i
            while hi < len(starts) and starts[hi] <= end:
                hi += 1
            if lo < hi:
                start, end = min(start, starts[lo]), max(end, ends[hi - 1])
            starts[lo:hi] = [start]
            ends[lo:hi] = [end]
            if len(starts) > self.max_ranges:
                del starts[0], ends[0]

    def covers(self, topic: str, partition: int, start: int, end: int) -> bool:
        """Whether every offset of ``[start, end)`` was passed over without a record."""
        with self._lock:
            starts = self._starts.get((topic, partition), [])
            i = bisect.bisect_right(starts, start) - 1
            return i >= 0 and self._ends[(topic, partition)][i] >= end


EMPTY_RANGES = EmptyRanges()
"""What this process's consumers' fetches passed over (:func:`watch_fetches` fills it)."""


def watch_fetches() -> None:
    """Have aiokafka's fetches record in :data:`EMPTY_RANGES` the offsets they pass over without a record.

    Each fetched partition's records are unpacked from the fetch offset on, in order
    (``aiokafka.consumer.fetcher.PartitionRecords``): the offsets between two records it returns,
    and between the last one and where the next fetch starts, hold none a ``read_committed``
    consumer is given. Idempotent."""
    from aiokafka.consumer import fetcher  # type: ignore[import-untyped]  # aiokafka ships no types

    records_class: Any = fetcher.PartitionRecords
    if getattr(records_class, "_leadpipe_watched", False):
        return
    unpack = records_class._unpack_records
    ranges = EMPTY_RANGES

    def _unpack_records(self: Any) -> Iterator[Any]:
        topic, partition = self._tp.topic, self._tp.partition
        expected = self.next_fetch_offset  # the fetch offset: nothing returned yet
        for record in unpack(self):
            if record.offset > expected:
                ranges.add(topic, partition, expected, record.offset)
            expected = record.offset + 1
            yield record
        ranges.add(topic, partition, expected, self.next_fetch_offset)

    records_class._unpack_records = _unpack_records
    records_class._leadpipe_watched = True


class OffsetGate:
    def __init__(self, app: Any, source_topics: Iterable[str], first_offset_from: FirstOffset, *,
                 gap_accepted_after_s: float = GAP_ACCEPTED_AFTER_S, empty: EmptyRanges | None = None,
                 transactional: bool = False) -> None:
        self.app = app
        self.empty = empty
        self.transactional = transactional
        """Offsets are committed by the batches' transactions. The group's offsets a transaction
        committed show only once its markers are written, after the commit returned: a partition
        this worker keeps starts from the later of the group's offset and its own."""
        self.first_offset_from = first_offset_from
        self.source_topics = frozenset(source_topics)
        self.gap_accepted_after_s = gap_accepted_after_s
        self.generation: int | None = None
        self.expected: dict[TP, int] = {}
        """The next offset to admit, per source partition of the current assignment."""
        self.durable: dict[TP, int] = {}
        """The offset after the last record whose batch is durable (the offset to commit)."""
        self.committed: dict[TP, int] = {}
        self.seeking: dict[TP, float] = {}
        """Partitions sought back to their expected offset, and when last."""
        self.seeks = self.skipped = self.markers = 0

    def _assigned(self) -> set[TP]:
        return {tp for tp in self.app.consumer.assignment() if tp.topic in self.source_topics}

    async def _start_assignment(self, assigned: set[TP]) -> None:
        consumer = self.app.consumer
        thread = consumer._thread
        inner = thread._ensure_consumer()
        starts: dict[TP, int] = {}
        for tp in sorted(assigned):
            committed = await thread.call_thread(inner.committed, tp)
            if committed is None or committed < 0:  # never committed: the group starts at the log's start
                committed = (await consumer.earliest_offsets(tp)).get(tp, 0)
            if self.transactional and tp in self.durable:
                committed = max(committed, self.durable[tp])
            starts[tp] = committed
        self.expected = dict(starts)
        self.durable = dict(starts)
        self.committed = dict(starts)
        self.seeking = {}

    async def admit(self, events: Sequence[faust.types.EventT[bytes]]) -> list[faust.types.EventT[bytes]]:
        """The events of ``events`` to decide, in their order."""
        generation = self.app.consumer_generation_id
        assigned = self._assigned()
        if generation != self.generation or not assigned <= set(self.expected):
            self.generation = generation
            await self._start_assignment(assigned)
        admitted = []
        seek: dict[TP, int] = {}
        now = time.monotonic()
        for event in events:
            message = event.message
            tp, offset = message.tp, message.offset
            expected = self.expected.get(tp)
            if tp not in assigned or expected is None or offset < expected or tp in seek:
                self.skipped += 1  # another worker's now, decided already, or behind a gap
                continue
            if offset > expected and self.empty is not None and self.empty.covers(tp.topic, tp.partition,
                                                                                   expected, offset):
                self.markers += 1  # transaction markers or aborted records: nothing to decide there
            elif offset > expected:
                since = self.seeking.get(tp)
                if since is not None and now - since < self.gap_accepted_after_s:
                    self.skipped += 1  # fetched before the seek back: the missing records come first
                    continue
                if since is not None:
                    try:
                        first = await asyncio.to_thread(self.first_offset_from, tp.topic, tp.partition, expected)
                    except Exception as exc:  # the broker did not answer: read from the gap again
                        log.warning("%s/%d: could not read from %d (%r): reading from it again",
                                    tp.topic, tp.partition, expected, exc)
                        first = expected
                if since is None or (first is not None and first < offset):  # records there: read them
                    seek[tp] = expected
                    self.skipped += 1
                    continue
                log.warning("%s/%d: offsets %d to %d hold no records: going on from %d",
                            tp.topic, tp.partition, expected, offset - 1, offset)
            self.seeking.pop(tp, None)
            admitted.append(event)
            self.expected[tp] = offset + 1
        for tp, offset in seek.items():
            self.seeks += 1
            self.seeking[tp] = now
            log.warning("%s/%d: a record at %d came before the one at %d (dropped by the consumer): "
                        "reading from %d again", tp.topic, tp.partition, self._first(events, tp), offset, offset)
            await self._seek(tp, offset)
        return admitted

    async def retry_seeks(self) -> None:
        """Seek again each partition sought back whose missing record has not come within
        ``gap_accepted_after_s`` of the last seek. Faust's fetch loop may still be handing out records
        it fetched before the seek; each moves its read offset on, and it then drops the records read
        again below it as old. Nothing else would notice: no record of the partition comes any more."""
        now = time.monotonic()
        assigned = self._assigned()
        for tp, at in list(self.seeking.items()):
            if tp not in assigned:
                del self.seeking[tp]
            elif now - at >= self.gap_accepted_after_s:
                offset = self.expected[tp]
                self.seeking[tp] = now
                self.seeks += 1
                log.warning("%s/%d: the record at %d has not come %.0f s after reading from it again: reading from "
                            "it again", tp.topic, tp.partition, offset, now - at)
                await self._seek(tp, offset)

    async def _seek(self, tp: TP, offset: int) -> None:
        """Read ``tp`` from ``offset`` on. Through ``seek_wait``, which runs in the consumer's own
        thread: Faust's ``seek`` calls aiokafka's from the event loop's thread, where it deletes the
        fetcher's buffered records while the consumer thread walks them — a ``KeyError`` in
        ``Fetcher.fetched_records`` that crashed a worker of the torture test (the same crash:
        robinhood/aiokafka#19). A partition taken away meanwhile is left to its new owner."""
        try:
            await self.app.consumer.seek_wait({tp: offset})
        except IllegalStateError:
            self.seeking.pop(tp, None)
            log.warning("%s/%d: no longer assigned, not read again here", tp.topic, tp.partition)

    @staticmethod
    def _first(events: Sequence[faust.types.EventT[bytes]], tp: TP) -> int:
        return min(e.message.offset for e in events if e.message.tp == tp)

    def done(self, events: Sequence[faust.types.EventT[bytes]]) -> None:
        """``events`` (admitted) are durable: their outputs and rows acknowledged."""
        for event in events:
            tp = event.message.tp
            self.durable[tp] = max(self.durable.get(tp, 0), event.message.offset + 1)

    async def commit(self, only: Iterable[TP] | None = None) -> None:
        """Commit the durable offsets that moved (of ``only``, when given) for partitions still ours."""
        assigned = self._assigned()
        wanted = set(only) if only is not None else assigned
        offsets = {tp: offset for tp, offset in self.durable.items()
                   if tp in wanted and tp in assigned and offset > self.committed.get(tp, -1)}
        if not offsets:
            return
        try:
            if await self.app.consumer._commit(offsets):
                self.committed.update(offsets)
                faust_committed: Any = getattr(self.app.consumer, "_committed_offset", None)
                if faust_committed is not None:  # Faust's commit-livelock watch reads these
                    faust_committed.update(offsets)
        except Exception as exc:  # a rebalance under way: the next owner reads from the last commit
            log.info("committing %d offsets failed (%r); they are committed next time or read again",
                     len(offsets), exc)
