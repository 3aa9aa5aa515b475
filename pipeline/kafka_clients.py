"""Plain confluent-kafka clients for leadpipe's topics, shared by the services, the connectors and
the tools: an Avro producer and a topic tail."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from pipeline.codec import Codec
from pipeline.errors import BrokerError, CodecError

# Faust (aiokafka) and the Java client hash keys with murmur2; librdkafka's default differs.
PARTITIONER = "murmur2_random"


class EventProducer:
    """Produces Avro records with acknowledged, idempotent writes; delivery errors are raised."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], codec: Codec, *,
                 linger_ms: int = 5) -> None:
        self._codec = codec
        self._errors: list[str] = []
        self.delivered = 0
        """Records the broker acknowledged so far (counted as delivery reports are served)."""
        self.failed = 0
        """Records that failed delivery so far."""
        self._producer = Producer({
            **kafka_config,
            "partitioner": PARTITIONER,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": linger_ms,
            "log.connection.close": False,  # a broker stopping is not news to the user
        })

    def _on_delivery(self, err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            self.failed += 1
            self._errors.append(str(err))
        else:
            self.delivered += 1

    def send(self, topic: str, record: Mapping[str, object], *, key: str | bytes | None = None,
             schema: str | None = None) -> None:
        """Queue ``record`` (schema defaults to the topic name) for ``topic``."""
        self.send_raw(topic, self._codec.encode(schema or topic, record), key=key)

    def send_raw(self, topic: str, value: bytes, *, key: str | bytes | None = None) -> None:
        """Queue bytes as they are (also used to prove garbage reaches the dead-letter topic)."""
        raw_key = key.encode() if isinstance(key, str) else key
        while True:
            try:
                self._producer.produce(topic, value=value, key=raw_key, on_delivery=self._on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain
                self._producer.poll(0.05)
        self._producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait for every queued record to be acknowledged; raise if any was not."""
        remaining = self._producer.flush(timeout_s)
        if remaining:
            raise BrokerError(f"{remaining} records not acknowledged within {timeout_s}s", retriable=True)
        if self._errors:
            errors, self._errors = self._errors, []
            raise BrokerError(f"{len(errors)} records failed: {errors[0]}", retriable=True)


@dataclass(frozen=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    schema: str | None
    record: dict[str, Any] | None
    """None when the value did not decode (kept as ``value``)."""
    value: bytes | None
    received_at: float
    """time.monotonic() when the record was read."""


def reader_consumer(kafka_config: Mapping[str, str | int | float | bool], label: str, *,
                    fetch_wait_ms: int = 20) -> Consumer:
    """A consumer that reads partitions it is assigned and never joins a group or commits: readers of
    outputs (tests, the demo, the dialer's feed, the console) that each want every partition.
    ``label`` is the ``group.id`` librdkafka requires; no group is ever joined with it."""
    return Consumer({
        **kafka_config,
        "group.id": label,
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": fetch_wait_ms,
        "log.connection.close": False,
    })


class TopicTail:
    """Reads topics from the beginning (or end) in a background thread, without a consumer group.

    No group means no group join to wait for and no committed offsets: this is a reader for
    demos, tests and benchmarks. Every record is kept in arrival order per topic; ``wait_for``
    blocks until a record matching a predicate arrives.
    """

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], codec: Codec, topics: Iterable[str], *,
                 from_beginning: bool = True, on_record: Callable[[Received], None] | None = None) -> None:
        self._codec = codec
        self._topics = list(topics)
        self._from_beginning = from_beginning
        self._on_record = on_record
        self._consumer = reader_consumer(kafka_config, "leadpipe-tail")
        self._records: dict[str, list[Received]] = defaultdict(list)
        self._positions: dict[tuple[str, int], int] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="topic-tail", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> TopicTail:
        metadata = self._consumer.list_topics(timeout=10)
        assignment = []
        for topic in self._topics:
            if topic not in metadata.topics:
                raise BrokerError(f"topic {topic} does not exist")
            for partition in metadata.topics[topic].partitions:
                offset = -2 if self._from_beginning else -1  # OFFSET_BEGINNING / OFFSET_END
                assignment.append(TopicPartition(topic, partition, offset))
        self._consumer.assign(assignment)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                msgs = self._consumer.consume(num_messages=500, timeout=0.05)
                if not msgs:
                    self._note_positions()  # a position can pass transaction markers with no record
                    continue
                now = time.monotonic()
                batch = []
                for msg in msgs:
                    if msg.error():
                        raise KafkaException(msg.error())
                    value = msg.value()
                    schema: str | None = None
                    record: dict[str, Any] | None = None
                    if value is not None:
                        # An undecodable record is kept with record=None: shown as such, never dropped.
                        with contextlib.suppress(CodecError):
                            schema, record = self._codec.decode(value)
                    batch.append(Received(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0),
                                          msg.key(), schema, record, value, now))
                with self._cond:
                    for received in batch:
                        self._records[received.topic].append(received)
                    self._cond.notify_all()
                self._note_positions()
                if self._on_record is not None:
                    for received in batch:
                        self._on_record(received)
        except BaseException as exc:  # surfaced to waiters instead of dying silently in a thread
            self.error = exc
            with self._cond:
                self._cond.notify_all()
        finally:
            self._consumer.close()

    def _note_positions(self) -> None:
        positions = {(str(tp.topic), int(tp.partition)): int(tp.offset)
                     for tp in self._consumer.position(self._consumer.assignment()) if tp.offset >= 0}
        with self._cond:
            self._positions.update(positions)
            self._cond.notify_all()

    def wait_passed(self, ends: Mapping[tuple[str, int], int], *, timeout_s: float = 60.0) -> None:
        """Block until this tail's position is at or past ``ends`` (``(topic, partition)`` → offset) on
        every partition named: every record written below those offsets has been read."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self.error is not None:
                    raise BrokerError(f"topic tail failed: {self.error}") from self.error
                behind = {tp: end for tp, end in ends.items() if end > 0 and self._positions.get(tp, 0) < end}
                if not behind:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"topic tail still behind after {timeout_s}s: {sorted(behind.items())[:4]}")
                self._cond.wait(min(left, 0.5))

    def records(self, topic: str) -> list[Received]:
        with self._cond:
            return list(self._records[topic])

    def wait_for(self, topic: str, predicate: Callable[[Received], bool], *, timeout_s: float = 30.0,
                 count: int = 1, distinct: Callable[[Received], object] | None = None) -> list[Received]:
        """Block until ``count`` records of ``topic`` match ``predicate`` — ``count`` different values
        of ``distinct`` when given, so that duplicates do not stand in for a missing record; return
        the matching records."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self.error is not None:
                    raise BrokerError(f"topic tail failed: {self.error}") from self.error
                found = [r for r in self._records[topic] if predicate(r)]
                if (len(found) if distinct is None else len({distinct(r) for r in found})) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(found)}/{count} matching records on {topic} after {timeout_s}s")
                self._cond.wait(min(left, 0.5))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)


def end_offsets(kafka_config: Mapping[str, str | int | float | bool], topics: Iterable[str], *,
                timeout_s: float = 30.0) -> dict[tuple[str, int], int]:
    """Every partition of ``topics`` and its end (see :func:`partition_ends`)."""
    consumer = reader_consumer(kafka_config, "leadpipe-ends")
    try:
        metadata = consumer.list_topics(timeout=10)
    finally:
        consumer.close()
    return partition_ends(kafka_config, [(t, p) for t in topics for p in metadata.topics[t].partitions],
                          timeout_s=timeout_s)


def partition_ends(kafka_config: Mapping[str, str | int | float | bool], partitions: Iterable[tuple[str, int]], *,
                   timeout_s: float = 30.0) -> dict[tuple[str, int], int]:
    """Each partition's end: the offset the next record written there will get. Taken from fetch
    responses, not from ListOffsets alone: the embedded broker's (Tansu 0.6) ListOffsets reports too
    low an end once a second producer wrote to a partition (two producers of 10,000 records each,
    one after the other: 10,001 idempotent, 18,440 not), while its fetch responses carry the right
    high-water mark."""
    consumer = reader_consumer(kafka_config, "leadpipe-ends")
    try:
        listed: dict[tuple[str, int], int] = {}
        for topic, partition in partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            listed[(topic, partition)] = int(high)
        consumer.assign([TopicPartition(t, p, max(high - 1, 0)) for (t, p), high in listed.items()])
        ends: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + timeout_s
        while len(ends) < len(listed):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no fetch response for {sorted(set(listed) - set(ends))[:4]} in {timeout_s}s")
            consumer.consume(num_messages=500, timeout=0.1)
            for (topic, partition), high in listed.items():
                _, fetched = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
                if fetched is not None and fetched >= 0:
                    ends[(topic, partition)] = max(int(fetched), high)
        return ends
    finally:
        consumer.close()


def first_offset_from(kafka_config: Mapping[str, str | int | float | bool], topic: str, partition: int,
                      offset: int, *, timeout_s: float = 5.0) -> int | None:
    """The offset of the first record at or after ``offset`` in one partition, or None when there
    is none up to its end (a record is read, with librdkafka's default isolation: committed only)."""
    consumer = reader_consumer(kafka_config, "leadpipe-first")
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1, timeout=0.2):
                if msg.error() is None:
                    return int(msg.offset() or 0)
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            position = consumer.position([TopicPartition(topic, partition)])[0].offset
            if high is not None and 0 <= high <= max(position, offset):
                return None  # at the end: nothing from offset on
        raise TimeoutError(f"{topic}/{partition}: nothing read from {offset} in {timeout_s}s")
    finally:
        consumer.close()


def wait_group_caught_up(kafka_config: Mapping[str, str | int | float | bool], group: str, topics: Iterable[str], *,
                         marker_topics: Iterable[str] = (), timeout_s: float = 120.0) -> None:
    """Block until consumer group ``group`` has committed every partition of ``topics`` up to its end:
    every record there is processed (with everything it wrote, which a worker sends before it
    commits). The committed offsets are read before the ends, so a record a processed one wrote on
    another of ``topics`` is seen. On ``marker_topics`` (written in transactions) the last offset
    may be a commit marker, which no consumer commits past."""
    topics, markers = list(topics), set(marker_topics)
    deadline = time.monotonic() + timeout_s
    consumer = reader_consumer(kafka_config, group)  # never subscribes: reads the group's commits only
    try:
        while True:
            partitions = [TopicPartition(t, p) for t, p in end_offsets(kafka_config, topics)]
            committed = {(str(tp.topic), int(tp.partition)): max(int(tp.offset), 0)
                         for tp in consumer.committed(partitions, timeout=30)}
            ends = end_offsets(kafka_config, topics)
            behind = {tp: (committed.get(tp, 0), end) for tp, end in ends.items()
                      if committed.get(tp, 0) < end - (1 if tp[0] in markers else 0)}
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"group {group} still behind after {timeout_s}s (committed, end): "
                                   f"{sorted(behind.items())[:4]}")
            time.sleep(0.2)
    finally:
        consumer.close()
