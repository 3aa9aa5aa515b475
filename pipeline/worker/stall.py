"""Records Faust fetched and then dropped are read again.

Around a rebalance Faust can drop records its consumer already fetched without seeking back: its
fetch loop stops mid-batch when the consumer generation changes ("Cancelling getmany",
faust/transport/consumer.py) and its streams skip events of an older generation. The rebalance's own
seek to the committed offsets normally covers that, but not when the drop happens after it. The
consumer's position then sits past records no batch ever saw, the group's committed offset stays
behind them, and only the next rebalance would read them again: seen on Apache Kafka after a broker
killed with -9 came back while a transaction was being retried (tests/integration/
test_kafka_durability.py), where some partitions stopped being decided for good.

:class:`StallGuard` notices it. A source partition whose records the agent has not seen for
:data:`QUIET_S`, while the agent is between batches, has nothing in flight: everything the agent
took from it is committed (exactly-once commits each batch with its offsets; at-least-once the
offset gate, :mod:`pipeline.worker.offsets`, commits durable offsets every second). The gate notices
a gap only when a later record comes; this guard covers records dropped with none after them.
Records still waiting for the agent are not mistaken for lost ones: nothing is compared while the
stream's queue holds events, nor for a partition with a record taken from the stream and not yet
acknowledged (the batch being filled). If the consumer's position is nevertheless past the committed
offset — or past the start of the log, for a partition never committed — the records in between were
fetched and never processed, and the partition is sought back there. Records between them that are
only transaction markers or aborted data make the same picture; such a seek reads nothing new and is
not repeated for the same position.

Both guarantees. A record read again that was decided already changes nothing and emits nothing:
its number's rows, which remember its id, were in the broker and the local store before it was
acknowledged (:class:`pipeline.worker.commit.AtLeastOnce` waits for their changelog records; the
exactly-once transaction holds them). Seen at-least-once on Tansu with two workers under kill -9:
a partition never committed, its records all fetched and none decided, for minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from faust.types import TP

log = logging.getLogger("leadpipe")

QUIET_S = 3.0
"""How long a partition must have given the agent nothing before its position is compared."""


class StallGuard:
    def __init__(self, app: Any, source_topics: Iterable[str], *, enabled: bool = True,
                 quiet_s: float = QUIET_S) -> None:
        self.app = app
        self.enabled = enabled
        """False: :meth:`check` does nothing; the agent still reports its batches."""
        self.source_topics = frozenset(source_topics)
        self.quiet_s = quiet_s
        self.busy = False
        self.seen: dict[TP, float] = {}
        self.started = time.monotonic()
        self.generation: int | None = None
        self.sought: dict[TP, tuple[int, int]] = {}  # partition → (position, committed) already sought back
        self.seeks = 0
        self.queue_empty: Callable[[], bool] = lambda: False  # the agent's stream queue, once it runs

    def batch(self, tps: Iterable[TP]) -> None:
        """The agent took records of ``tps`` (called when a batch starts and when it ends)."""
        now = time.monotonic()
        for tp in tps:
            self.seen[tp] = now

    async def check(self) -> None:
        app = self.app
        if not self.enabled or self.busy or app.rebalancing or not app.tables.recovery.completed.is_set() \
                or not self.queue_empty():
            return
        generation = app.consumer_generation_id
        if generation != self.generation:  # a new assignment: every partition starts quiet from now
            self.generation, self.seen, self.sought, self.started = generation, {}, {}, time.monotonic()
            return
        consumer = app.consumer
        thread = consumer._thread
        inner = thread._ensure_consumer()
        now = time.monotonic()
        for tp in sorted(t for t in consumer.assignment() if t.topic in self.source_topics):
            if now - self.seen.get(tp, self.started) < self.quiet_s:
                continue
            if any(m.tp == tp for m in list(consumer._unacked_messages)):
                continue  # taken from the stream for the next batch
            position = await consumer.position(tp)
            committed = await thread.call_thread(inner.committed, tp)
            if (self.busy or app.rebalancing or app.consumer_generation_id != generation or not self.queue_empty()
                    or any(m.tp == tp for m in list(consumer._unacked_messages))):
                return  # the agent or the group moved meanwhile: look again next time
            if committed is None or committed < 0:  # never committed: read from the start of the log
                committed = (await consumer.earliest_offsets(tp)).get(tp)
            if position is None or committed is None or committed < 0 or position <= committed:
                continue
            if self.sought.get(tp) == (position, committed):
                continue
            self.sought[tp] = (position, committed)
            self.seeks += 1
            log.info("%s/%d: consumer at %d, committed %d, no record of it decided for %.0f s: "
                     "reading from %d again", tp.topic, tp.partition, position, committed,
                     now - self.seen.get(tp, self.started), committed)
            await consumer.seek_wait({tp: committed})

