"""A local copy of compacted topics: every partition read from the beginning, then followed.

A background thread consumes the topics (no consumer group, ``read_committed``) and hands each
record to ``apply``; :attr:`ready` is set once it has read what the topics held when it started
(judged by consumer *position*, so partitions that end in transaction markers are passed too).
While it runs it tracks how far behind it is: :meth:`lag_records` (records on the broker not yet
applied, measured every second) and :meth:`behind_s`: every second it notes the topics' ends, and
once it has read past a note it is *current as of* that note's instant — under a steady stream of
writes it is never "at the end", but it is always current as of a second or two ago. A reader that
cannot show it is current says so, and a caller that must not answer from stale state refuses.

The worker's email index and the dial-check replica are both built on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from confluent_kafka import Consumer, KafkaError, TopicPartition

log = logging.getLogger("leadpipe.replica")

Apply = Callable[[str, bytes | None, bytes | None], None]
"""(topic, key, value) of one record; a None value is a tombstone."""

LAG_EVERY_S = 1.0


class ChangelogReader:
    """Follows ``topics`` (each with ``partitions`` partitions) into ``apply``, in a thread."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], topics: Sequence[str], partitions: int,
                 apply: Apply, *, name: str, read_committed: bool = True) -> None:
        self.topics, self.partitions, self.apply, self.name = tuple(topics), partitions, apply, name
        self.ready = threading.Event()
        self.applied = 0
        self._lag = -1
        self._caught_up_at: float | None = None
        self._stop = threading.Event()
        self._consumer = Consumer({
            **kafka_config, "group.id": f"leadpipe-{name}", "enable.auto.commit": False,
            "enable.partition.eof": False, "fetch.wait.max.ms": 10, "log.connection.close": False,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        })
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> ChangelogReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def lag_records(self) -> int:
        """Records on the broker this reader has not applied yet, at the last measure (-1: not yet measured)."""
        return self._lag

    def behind_s(self) -> float | None:
        """Seconds since the instant this copy is known to be current as of (it had read everything
        the topics held then); None before it ever was."""
        return None if self._caught_up_at is None else time.monotonic() - self._caught_up_at

    def _run(self) -> None:
        consumer = self._consumer
        try:
            tps = [TopicPartition(t, p, 0) for t in self.topics for p in range(self.partitions)]  # 0: the beginning
            consumer.assign(tps)
            targets = self._high_waters(tps, fresh=True)
            targets = {tp: high for tp, high in targets.items() if high > 0}
            if not targets:
                self._mark_current(time.monotonic(), 0)
            notes: list[tuple[float, dict[tuple[str, int], int]]] = []  # (when, the topics' ends then)
            noted = time.monotonic()
            while not self._stop.is_set():
                for msg in consumer.consume(1000, timeout=0.1):
                    error = msg.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            log.warning("%s: read error: %s", self.name, error)
                        continue
                    self.apply(str(msg.topic()), msg.key(), msg.value())
                    self.applied += 1
                if targets:  # still loading: positions, not record offsets (partitions may end in markers)
                    for tp in consumer.position([TopicPartition(t, p) for t, p in targets]):
                        if tp.offset >= targets[(tp.topic, tp.partition)]:
                            del targets[(tp.topic, tp.partition)]
                    if not targets:
                        log.info("%s: loaded (%d records)", self.name, self.applied)
                        self._mark_current(time.monotonic(), 0)
                    continue
                if time.monotonic() - noted >= LAG_EVERY_S:
                    noted = time.monotonic()
                    notes.append((noted, self._high_waters(tps)))
                if notes:
                    positions = {(tp.topic, tp.partition): tp.offset for tp in consumer.position(tps)}
                    while notes and all(positions.get(tp, -1) >= end for tp, end in notes[0][1].items() if end > 0):
                        when, _ = notes.pop(0)
                        self._mark_current(when, sum(max(0, end - max(0, positions.get(tp, 0)))
                                                     for tp, end in self._high_waters(tps).items()))
        except Exception:  # the owner reports itself not ready rather than answering from a dead copy
            log.exception("%s: reader stopped", self.name)
            self._lag = -1
            self._caught_up_at = None
        finally:
            consumer.close()

    def _high_waters(self, tps: Sequence[TopicPartition], *, fresh: bool = False) -> dict[tuple[str, int], int]:
        """Each partition's end: asked of the broker (``fresh``), or as the last fetch saw it."""
        return {(tp.topic, tp.partition): self._consumer.get_watermark_offsets(tp, timeout=30, cached=not fresh)[1]
                for tp in tps}

    def _mark_current(self, as_of: float, lag: int) -> None:
        """Everything the topics held at ``as_of`` (monotonic) is applied; ``lag`` records are unread now."""
        self._lag = lag
        self._caught_up_at = as_of
        self.ready.set()
