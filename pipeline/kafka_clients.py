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
                if self._on_record is not None:
                    for received in batch:
                        self._on_record(received)
        except BaseException as exc:  # surfaced to waiters instead of dying silently in a thread
            self.error = exc
            with self._cond:
                self._cond.notify_all()
        finally:
            self._consumer.close()

    def records(self, topic: str) -> list[Received]:
        with self._cond:
            return list(self._records[topic])

    def wait_for(self, topic: str, predicate: Callable[[Received], bool], *, timeout_s: float = 30.0,
                 count: int = 1) -> list[Received]:
        """Block until ``count`` records of ``topic`` match ``predicate``; return them."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self.error is not None:
                    raise BrokerError(f"topic tail failed: {self.error}") from self.error
                found = [r for r in self._records[topic] if predicate(r)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(found)}/{count} matching records on {topic} after {timeout_s}s")
                self._cond.wait(min(left, 0.5))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
