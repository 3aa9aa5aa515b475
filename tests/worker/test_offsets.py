"""OffsetGate: at-least-once, records are decided in offset order from the group's committed offset,
a record past a gap sends the partition back to read what was dropped, and only durable offsets
are committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import IllegalStateError  # type: ignore[import-untyped]  # aiokafka ships no types
from faust.types import TP

from pipeline.worker.offsets import EmptyRanges, OffsetGate

P0, P1 = TP("number-events", 0), TP("number-events", 1)


@dataclass
class Message:
    tp: TP
    offset: int


@dataclass
class Event:
    message: Message


def events(tp: TP, *offsets: int) -> list[Any]:
    return [Event(Message(tp, o)) for o in offsets]


@dataclass
class Consumer:
    """Stands in for Faust's consumer: an assignment, the group's commits, seeks."""

    assigned: set[TP]
    broker_committed: dict[TP, int]
    earliest: int = 0
    sought: list[tuple[TP, int]] = field(default_factory=list)
    commits: list[dict[TP, int]] = field(default_factory=list)
    taken: set[TP] = field(default_factory=set)
    """Partitions the group gave to another worker that ``assignment()`` does not show yet."""

    def __post_init__(self) -> None:
        self._thread = self
        self._committed_offset: dict[TP, int] = {}

    def assignment(self) -> set[TP]:
        return self.assigned

    def _ensure_consumer(self) -> Consumer:
        return self

    def committed(self, tp: TP) -> int | None:
        return self.broker_committed.get(tp)

    async def call_thread(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    async def earliest_offsets(self, tp: TP) -> dict[TP, int]:
        return {tp: self.earliest}

    async def seek_wait(self, partitions: dict[TP, int]) -> None:  # not seek: see OffsetGate._seek
        if set(partitions) & self.taken:
            raise IllegalStateError(f"No current assignment for partition {sorted(partitions)}")
        self.sought.extend(partitions.items())

    async def _commit(self, offsets: dict[TP, int]) -> bool:
        self.commits.append(dict(offsets))
        self.broker_committed.update(offsets)
        return True


@dataclass
class App:
    consumer: Consumer
    consumer_generation_id: int = 1


def gate(consumer: Consumer, accept_after_s: float = 60.0,
         log: dict[tuple[str, int], list[int]] | None = None,
         empty: EmptyRanges | None = None) -> tuple[OffsetGate, App]:
    """A gate over ``consumer``; ``log``: the offsets each partition holds (for a gap's check)."""
    app = App(consumer)

    def first_offset_from(topic: str, partition: int, offset: int) -> int | None:
        return next((o for o in sorted((log or {}).get((topic, partition), [])) if o >= offset), None)

    return OffsetGate(app, ["number-events"], first_offset_from, gap_accepted_after_s=accept_after_s,
                      empty=empty), app


def offsets(admitted: list[Any]) -> list[tuple[int, int]]:
    return [(e.message.tp.partition, e.message.offset) for e in admitted]


async def test_records_in_order_from_the_committed_offset_are_admitted_and_committed_once_durable() -> None:
    consumer = Consumer({P0, P1}, {P0: 10, P1: 3})
    g, _ = gate(consumer)
    admitted = await g.admit(events(P0, 10, 11) + events(P1, 3))
    assert offsets(admitted) == [(0, 10), (0, 11), (1, 3)]
    await g.commit()
    assert consumer.commits == []  # nothing durable yet
    g.done(admitted)
    await g.commit()
    assert consumer.commits == [{P0: 12, P1: 4}]
    await g.commit()
    assert consumer.commits == [{P0: 12, P1: 4}]  # nothing moved: nothing committed again


async def test_a_record_past_a_gap_sends_the_partition_back_and_waits_for_the_dropped_ones() -> None:
    consumer = Consumer({P0, P1}, {P0: 10, P1: 0})
    g, _ = gate(consumer)
    assert offsets(await g.admit(events(P0, 10))) == [(0, 10)]
    # 11 and 12 were fetched and dropped: 13 comes next; P1 is not held up.
    assert offsets(await g.admit(events(P0, 13, 14) + events(P1, 0))) == [(1, 0)]
    assert consumer.sought == [(P0, 11)]
    assert offsets(await g.admit(events(P0, 15))) == []  # fetched before the seek: not admitted, no new seek
    assert consumer.sought == [(P0, 11)]
    assert offsets(await g.admit(events(P0, 11, 12, 13))) == [(0, 11), (0, 12), (0, 13)]


async def test_records_already_decided_and_records_of_partitions_no_longer_ours_are_skipped() -> None:
    consumer = Consumer({P0}, {P0: 5})
    g, _ = gate(consumer)
    assert offsets(await g.admit(events(P0, 3, 4, 5) + events(P1, 7))) == [(0, 5)]
    assert g.skipped == 3


async def test_a_gap_still_there_well_after_the_seek_holds_no_records_and_is_accepted() -> None:
    consumer = Consumer({P0}, {P0: 10})
    g, _ = gate(consumer, accept_after_s=0.0, log={("number-events", 0): [12, 13]})
    assert offsets(await g.admit(events(P0, 12))) == []  # 10 and 11: transaction markers of an earlier run
    assert offsets(await g.admit(events(P0, 12, 13))) == [(0, 12), (0, 13)]
    assert consumer.sought == [(P0, 10)]


async def test_a_gap_still_there_after_the_seek_whose_records_exist_is_read_again_not_accepted() -> None:
    consumer = Consumer({P0}, {P0: 10})
    g, _ = gate(consumer, accept_after_s=0.0, log={("number-events", 0): [10, 11, 12, 13]})
    assert offsets(await g.admit(events(P0, 12))) == []
    assert offsets(await g.admit(events(P0, 12, 13))) == []  # 10 and 11 exist: the seek is repeated
    assert consumer.sought == [(P0, 10), (P0, 10)]
    assert offsets(await g.admit(events(P0, 10, 11, 12))) == [(0, 10), (0, 11), (0, 12)]


async def test_a_partition_never_committed_starts_at_the_start_of_its_log() -> None:
    consumer = Consumer({P0}, {}, earliest=4)
    g, _ = gate(consumer)
    assert offsets(await g.admit(events(P0, 6))) == []
    assert consumer.sought == [(P0, 4)]


async def test_a_new_assignment_starts_again_from_what_the_group_committed() -> None:
    consumer = Consumer({P0}, {P0: 0})
    g, app = gate(consumer)
    g.done(await g.admit(events(P0, 0, 1, 2)))
    consumer.broker_committed[P0] = 8  # another worker had the partition meanwhile
    app.consumer_generation_id = 2
    assert offsets(await g.admit(events(P0, 3, 8))) == [(0, 8)]
    await g.commit([P0])
    assert consumer.commits == []  # 8 is committed already; 9 once durable


def test_empty_ranges_merge_what_touches_and_cover_only_what_they_hold() -> None:
    ranges = EmptyRanges()
    ranges.add("t", 0, 4, 5)
    ranges.add("t", 0, 7, 9)
    ranges.add("t", 0, 5, 6)  # touches [4, 5)
    ranges.add("t", 0, 3, 3)  # empty: nothing
    assert ranges.covers("t", 0, 4, 6) and ranges.covers("t", 0, 7, 9) and ranges.covers("t", 0, 8, 9)
    assert not ranges.covers("t", 0, 4, 7)  # 6 holds a record
    assert not ranges.covers("t", 0, 3, 5) and not ranges.covers("t", 1, 4, 5)
    ranges.add("t", 0, 6, 7)  # closes the hole: one range
    assert ranges.covers("t", 0, 4, 9)
    ranges.add("t", 0, 2, 20)  # swallows it
    assert ranges.covers("t", 0, 2, 20) and not ranges.covers("t", 0, 1, 3)


def test_empty_ranges_keep_only_the_newest() -> None:
    ranges = EmptyRanges(max_ranges=2)
    for start in (10, 20, 30):
        ranges.add("t", 0, start, start + 1)
    assert not ranges.covers("t", 0, 10, 11)
    assert ranges.covers("t", 0, 20, 21) and ranges.covers("t", 0, 30, 31)


async def test_a_gap_the_fetches_passed_over_is_admitted_at_once_and_any_other_gap_is_read_again() -> None:
    """Exactly-once, the worker's transactions leave markers between records: a gap of those is
    ordinary. A gap the fetches did not pass over is records Faust dropped."""
    consumer = Consumer({P0}, {P0: 10})
    empty = EmptyRanges()
    empty.add("number-events", 0, 12, 13)  # a commit marker
    g, _ = gate(consumer, empty=empty)
    assert offsets(await g.admit(events(P0, 10, 11, 13, 14))) == [(0, 10), (0, 11), (0, 13), (0, 14)]
    assert consumer.sought == [] and g.markers == 1
    assert offsets(await g.admit(events(P0, 17))) == []  # 15 and 16 were never passed over
    assert consumer.sought == [(P0, 15)]


async def test_exactly_once_a_partition_kept_across_a_rebalance_starts_after_its_own_last_transaction() -> None:
    """The group's offset a transaction committed shows only once its markers are written: a worker
    that keeps the partition does not go back to an older one and decide a batch twice."""
    consumer = Consumer({P0}, {P0: 0})
    app = App(consumer)
    g = OffsetGate(app, ["number-events"], lambda *_: None, transactional=True)
    g.done(await g.admit(events(P0, 0, 1, 2)))  # committed in a transaction; the group still says 0
    app.consumer_generation_id = 2
    assert offsets(await g.admit(events(P0, 3))) == [(0, 3)]
    assert consumer.sought == []


async def test_a_partition_whose_missing_record_never_comes_is_sought_back_again() -> None:
    """Faust's fetch loop can drop the records read again (it was still handing out older ones): with
    no record of the partition coming any more, only the gate's own timer notices."""
    consumer = Consumer({P0, P1}, {P0: 10, P1: 0})
    g, _ = gate(consumer, accept_after_s=0.0)
    assert offsets(await g.admit(events(P0, 13))) == []
    assert consumer.sought == [(P0, 10)]
    await g.retry_seeks()
    assert consumer.sought == [(P0, 10), (P0, 10)]
    assert offsets(await g.admit(events(P0, 10))) == [(0, 10)]
    await g.retry_seeks()  # it came: nothing more to read again
    assert consumer.sought == [(P0, 10), (P0, 10)]


async def test_a_partition_taken_away_during_its_seek_is_left_to_its_new_owner() -> None:
    """aiokafka refuses to seek a partition no longer assigned (IllegalStateError): the worker goes on."""
    consumer = Consumer({P0, P1}, {P0: 10, P1: 0}, taken={P0})
    g, _ = gate(consumer, accept_after_s=0.0)
    assert offsets(await g.admit(events(P0, 13) + events(P1, 0))) == [(1, 0)]
    assert consumer.sought == [] and P0 not in g.seeking
    await g.retry_seeks()
    assert consumer.sought == []
