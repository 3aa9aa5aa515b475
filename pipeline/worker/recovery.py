"""Table recovery past transaction markers (exactly-once only).

With exactly-once (:mod:`pipeline.worker.transactions`) every changelog partition ends with a
transaction commit marker: it takes an offset but no consumer ever receives it. Faust's recovery
waits until it has *received* the record at each partition's last offset, so a worker recovering
from such a changelog never became ready (seen on Kafka: a warm RocksDB worker, a new worker after
a broker outage). Faust knows this case — it checks the consumer's *position* against the high
water instead — but only when its own ``exactly_once`` guarantee is configured, which this worker
does not use (the transactions module says why).

:class:`MarkerAwareRecovery` does that check for the worker: while recovery runs, a changelog
partition whose consumer position has passed its last offset, with nothing left queued for
recovery, seen so twice in a row (so a record fetched but not yet queued is never skipped), is
marked recovered. Faust's recovery loop then ends on its next turn, as it would have.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("leadpipe.recovery")

CHECK_EVERY_S = 1.0


class MarkerAwareRecovery:
    """:meth:`run` checks every second while the worker runs."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._seen_once: set[Any] = set()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            try:
                await self.tick()
            except Exception:  # a check that failed is made again; it must not end the worker
                log.exception("checking changelog positions failed")

    async def tick(self) -> None:
        recovery = self.app.tables.recovery
        if not recovery.in_recovery:
            self._seen_once.clear()
            return
        queue = self.app.tables.changelog_queue
        passed = set()
        if queue.empty():
            for tp, highwater in list(recovery.active_highwaters.items()):
                offset = recovery.active_offsets.get(tp)
                if highwater is None or highwater < 0 or (offset is not None and offset >= highwater):
                    continue
                position = await self.app.consumer.position(tp)
                if position is not None and position > highwater:
                    passed.add(tp)
        for tp in passed & self._seen_once:
            log.info("changelog %s recovered up to its last offset %s (a transaction marker)", tp,
                     recovery.active_highwaters[tp])
            recovery.active_offsets[tp] = recovery.active_highwaters[tp]
        self._seen_once = passed - self._seen_once
