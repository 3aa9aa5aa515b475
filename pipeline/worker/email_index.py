"""The email index: which leads each email was seen with, readable by every worker.

A lead's email decides whether it is a duplicate of a lead on *another* number (see
:mod:`pipeline.core.routing`), so the number's writer must read rows that other writers wrote. The
index is a compacted topic (``<app>-emails-changelog``, keyed by a keyed hash of the email, one
JSON :class:`~pipeline.core.email_stage.EmailLeads` row per email) that every worker reads whole
into memory in a background thread: a replicated lookup table, with no hop for the lead.

Writes go to the topic with the batch's outputs (so they are acknowledged before the batch's state,
and in its transaction on Kafka) and into the local copy at once, so the next lead in the same
batch sees them. The reader skips a key's records while a local write to it has not come back.

What it leaves open, by design: two leads with the same email on different numbers, decided by two
*different* workers within the time one worker's write takes to reach the other (milliseconds), are
both decided as new (neither is marked DUPLICATE); the index keeps the later write. One worker, or
any two leads further apart, never race.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from confluent_kafka import Consumer, KafkaError, TopicPartition

from pipeline.core.email_stage import EmailLeads
from pipeline.worker.state import dump, load

log = logging.getLogger("leadpipe.email-index")


class EmailIndex:
    """An in-memory email index; :class:`ReplicatedEmailIndex` keeps it fed from the topic."""

    def __init__(self) -> None:
        self._rows: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> EmailLeads:
        """The row of ``key`` (an ``email_table_key``), empty when the email was never seen."""
        return load(EmailLeads, self._rows.get(key))  # type: ignore[no-any-return]

    def put(self, key: bytes, row: EmailLeads) -> bytes:
        """Keep ``row`` for ``key`` locally now; returns its bytes, to be sent to the topic."""
        raw = dump(row)
        self._rows[key] = raw
        return raw

    def __len__(self) -> int:
        return len(self._rows)


class ReplicatedEmailIndex(EmailIndex):
    """An :class:`EmailIndex` that reads every partition of ``topic`` from the beginning and stays
    subscribed; :attr:`ready` is set once it has read what was there when it started."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], topic: str, partitions: int, *,
                 read_committed: bool = False) -> None:
        super().__init__()
        self.topic, self.partitions = topic, partitions
        self.ready = threading.Event()
        self._pending: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = Consumer({
            **kafka_config, "group.id": f"{topic}-reader", "enable.auto.commit": False,
            "enable.partition.eof": False, "fetch.wait.max.ms": 50, "log.connection.close": False,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        })
        self._thread = threading.Thread(target=self._run, name="email-index", daemon=True)

    def start(self) -> ReplicatedEmailIndex:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def put(self, key: bytes, row: EmailLeads) -> bytes:
        raw = dump(row)
        with self._lock:
            self._rows[key] = raw
            self._pending[key] = raw
        return raw

    def _run(self) -> None:
        consumer = self._consumer
        try:
            tps = [TopicPartition(self.topic, p, 0) for p in range(self.partitions)]  # 0: from the beginning
            consumer.assign(tps)
            targets = {}
            for tp in tps:
                low, high = consumer.get_watermark_offsets(tp, timeout=30, cached=False)
                if high > low:
                    targets[tp.partition] = high
            if not targets:
                self.ready.set()
            while not self._stop.is_set():
                for msg in consumer.consume(500, timeout=0.2):
                    error = msg.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            log.warning("email index read error: %s", error)
                        continue
                    self._apply(msg.key(), msg.value())
                if targets:
                    # Positions, not record offsets: a partition may end with transaction markers.
                    for tp in consumer.position([TopicPartition(self.topic, p) for p in targets]):
                        if tp.offset >= targets[tp.partition]:
                            del targets[tp.partition]
                    if not targets:
                        log.info("email index loaded: %d emails", len(self._rows))
                        self.ready.set()
        except Exception:  # the worker reports itself not ready rather than deciding without the index
            log.exception("email index reader stopped")
        finally:
            consumer.close()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                # Our own write is newer than anything before its echo: skip until the echo arrives.
                if value == pending:
                    del self._pending[key]
                return
            if value is None:
                self._rows.pop(key, None)
            else:
                self._rows[key] = value
