"""Faust's aiokafka transport with a consumer fetch wait we choose.

Faust hard-codes ``fetch_max_wait_ms=1500`` for its consumer. Tansu holds a fetch for that long even
when only some of the requested partitions have data, so every hop of the pipeline added up to 1.5 s
of latency (measured: p50 3.1 s over two hops at 400 leads/s). The wait is
``Settings.fetch_max_wait_ms`` instead (default 10 ms: an idle worker sends ~100 small fetches a
second per broker, which costs nothing measurable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    fetch_max_wait_ms = 10
    read_committed = False

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads these when it builds its fetcher at start(), after this point.
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        if self.read_committed:  # Faust sets it only for its own exactly_once, which we do not use
            consumer._isolation_level = "read_committed"
        return consumer


EndsOf = Callable[[list[tuple[str, int]]], Mapping[tuple[str, int], int]]
"""The true end of each (topic, partition), read from fetch responses (blocking: run in a thread)."""


def transport_for(fetch_max_wait_ms: int, read_committed: bool = False,
                  commit_offsets: bool = True, ends_of: EndsOf | None = None) -> type[driver.Transport]:
    """A Faust transport class whose consumer waits at most ``fetch_max_wait_ms`` per fetch and,
    with ``read_committed``, reads only committed transactions (inputs, re-keys, changelogs).

    Without ``commit_offsets`` Faust never commits the group's offsets itself: under exactly-once
    only the worker's transactions do (pipeline.worker.transactions). Faust commits the offsets of
    the events its streams acknowledged, and a batch whose transaction was given up (its partition
    moving away mid-commit) is acknowledged too: a commit by Faust would skip it for good.

    With ``ends_of`` the high-water marks Faust's table recovery reads changelogs up to are checked
    against fetch responses: on a broker whose ListOffsets reports too low an end (the embedded
    Tansu, see :func:`pipeline.kafka_clients.partition_ends`) recovery stopped short of the newest
    rows, and a worker restarted with tables missing them."""

    class ConsumerThread(_ConsumerThread):
        pass

    ConsumerThread.fetch_max_wait_ms = fetch_max_wait_ms
    ConsumerThread.read_committed = read_committed

    class Consumer(driver.Consumer):
        def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

        async def highwaters(self, *partitions: Any) -> Mapping[Any, int]:
            listed: Mapping[Any, int] = await super().highwaters(*partitions)
            if ends_of is None or not partitions:
                return listed
            fetched = await asyncio.to_thread(ends_of, [(tp.topic, tp.partition) for tp in partitions])
            return {tp: max(listed.get(tp) or 0, fetched.get((tp.topic, tp.partition), 0)) for tp in partitions}

        async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
            if not commit_offsets:
                return False
            result: bool = await super().commit(topics, start_new_transaction=start_new_transaction)
            return result

    class Transport(driver.Transport):
        pass

    Transport.Consumer = Consumer
    return Transport


class LeadpipeApp(faust.App):
    """faust.App using :func:`transport_for`; ``fetch_max_wait_ms`` and ``read_committed`` are given
    at construction. :attr:`early_tasks` start with the app, before table recovery — Faust starts its
    own tasks and timers only once recovery completed."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int = 10, read_committed: bool = False,
                 commit_offsets: bool = True, ends_of: EndsOf | None = None, **kwargs: Any) -> None:
        self.early_tasks: list[Callable[[], Awaitable[None]]] = []
        self.stop_tasks: list[Callable[[], Awaitable[None]]] = []
        """Run when the app stops (before Faust's own services), e.g. to flush a producer of ours."""
        self._transport_class = transport_for(fetch_max_wait_ms, read_committed, commit_offsets, ends_of)
        super().__init__(*args, **kwargs)

    async def on_start(self) -> None:
        await super().on_start()
        for task in self.early_tasks:
            self.add_future(task())

    async def on_stop(self) -> None:
        for task in self.stop_tasks:
            await task()
        await super().on_stop()

    def _new_transport(self) -> Any:
        return self._transport_class(self.conf.broker_consumer, self)
