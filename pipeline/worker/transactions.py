"""Exactly-once on Apache Kafka: one Kafka transaction per source partition per batch.

Faust's own ``exactly_once`` guarantee does not hold here. It picks the transactional producer by
the *destination* partition of each send (faust/transport/consumer.py ``TransactionManager.send``),
so a record re-keyed onto another number's partition, or an email index row, is committed with
another partition's transaction than the input offsets that caused it; it raises ``KeyError`` for
topics the app only writes (faust-streaming #440); and its table writes leave the transaction
through the plain producer buffer (#177). So the worker runs Faust at-least-once and commits each
batch itself, per source partition ``p``, with a transactional producer whose ``transactional.id``
is ``<app>-decide-<p>``:

    begin → every output the batch's records from ``p`` made (wherever it goes)
          → the changelog records of the rows they changed (all on ``p``: one writer per number)
          → the input offsets of ``p`` (send_offsets_to_transaction, the app's consumer group)
          → commit

Readers with ``isolation.level=read_committed`` — the worker itself (inputs, re-keys and changelog
recovery), the email index, dialers and CRM connectors that ask for it — see a batch entirely or
not at all. The same ``transactional.id`` on the worker that takes partition ``p`` over fences a
worker that lost it (a zombie after a long pause): its commit fails and it stops rather than write
twice. The local table stores are written only after the commit, without a second changelog write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]  # aiokafka ships no types
from aiokafka.structs import TopicPartition  # type: ignore[import-untyped]

from pipeline.config import KafkaConnection
from pipeline.worker.wire import Outgoing

log = logging.getLogger("leadpipe.transactions")

TRANSACTION_TIMEOUT_MS = 10_000
"""How long the broker keeps a transaction open without a commit (Kafka's default is 60 s): a
worker killed mid-batch whose partitions nobody takes over holds readers back at most this long."""

COMMIT_TIMEOUT_S = 30.0
"""Longest wait for one transaction (begin to commit). A commit that takes longer is given up: its
producer is dropped, the broker aborts what it wrote (:data:`TRANSACTION_TIMEOUT_MS`) and the batch is
committed again by a fresh producer, which fences the old one. A broker that restarts mid-transaction
can leave aiokafka waiting on a request that never completes; this bounds it."""

STOP_TIMEOUT_S = 5.0
"""Longest wait for a dropped producer to stop; a producer that does not is abandoned."""


@dataclass(frozen=True, slots=True)
class ChangelogRecord:
    topic: str
    partition: int
    key: bytes
    value: bytes | None


def aiokafka_client_options(settings: KafkaConnection) -> dict[str, Any]:
    """The security settings of ``settings`` as aiokafka client arguments."""
    options: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
    if settings.sasl_username is not None:
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password
    return options


async def transactions_unsupported(bootstrap_servers: Sequence[str], client_options: Mapping[str, Any],
                                   app_id: str) -> str | None:
    """None when the broker gives transactions, else why not (the embedded broker does not)."""
    probe = AIOKafkaProducer(bootstrap_servers=list(bootstrap_servers), transactional_id=f"{app_id}-probe",
                             enable_idempotence=True, acks="all", **client_options)
    try:
        await probe.start()
        async with probe.transaction():
            pass
    except Exception as exc:  # aiokafka answers an unsupported broker with several error types
        return f"{type(exc).__name__}: {exc}"
    finally:
        await probe.stop()
    return None


class PartitionTransactions:
    """Transactional producers, one per source partition this worker decides, started on first use."""

    def __init__(self, *, bootstrap_servers: Sequence[str], app_id: str, group_id: str,
                 client_options: Mapping[str, Any] | None = None) -> None:
        self.bootstrap_servers = list(bootstrap_servers)
        self.app_id, self.group_id = app_id, group_id
        self.client_options = dict(client_options or {})
        self._producers: dict[int, AIOKafkaProducer] = {}
        self.committed = 0
        # One operation at a time: a producer is never started twice for a partition (the second
        # would fence the first) nor stopped by own()/forget() while a commit is using it.
        self._lock = asyncio.Lock()

    def transactional_id(self, partition: int) -> str:
        return f"{self.app_id}-decide-{partition}"

    async def _producer(self, partition: int) -> AIOKafkaProducer:
        producer = self._producers.get(partition)
        if producer is None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers,
                                        transactional_id=self.transactional_id(partition),
                                        enable_idempotence=True, acks="all", linger_ms=5,
                                        max_request_size=1_000_000, transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
                                        **self.client_options)
            await producer.start()  # InitProducerId: fences any earlier producer with this id
            self._producers[partition] = producer
        return producer

    async def commit(self, partition: int, outputs: Iterable[Outgoing], changelog: Iterable[ChangelogRecord],
                     offsets: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Everything one batch did for source ``partition``, with its input offsets, atomically.
        Returns the offset of the last changelog record written to each (topic, partition). Raises
        ``TimeoutError`` after :data:`COMMIT_TIMEOUT_S` (nothing of the batch is then visible)."""
        async with self._lock:
            return await asyncio.wait_for(self._commit(partition, outputs, changelog, offsets), COMMIT_TIMEOUT_S)

    async def _commit(self, partition: int, outputs: Iterable[Outgoing], changelog: Iterable[ChangelogRecord],
                      offsets: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        producer = await self._producer(partition)
        written: dict[tuple[str, int], int] = {}
        async with producer.transaction():
            pending = []
            for out in outputs:
                timestamp_ms = int(out.timestamp * 1000) if out.timestamp else None
                pending.append(await producer.send(out.topic, out.value, key=out.key, timestamp_ms=timestamp_ms))
            logged = [await producer.send(record.topic, record.value, key=record.key, partition=record.partition)
                      for record in changelog]
            for future in pending:
                await future
            for future in logged:
                meta = await future
                written[(meta.topic, meta.partition)] = max(meta.offset, written.get((meta.topic, meta.partition), -1))
            await producer.send_offsets_to_transaction(
                {TopicPartition(topic, p): offset for (topic, p), offset in offsets.items()}, self.group_id)
        self.committed += 1
        return written

    async def own(self, partitions: Iterable[int]) -> None:
        """Hold a producer for exactly ``partitions`` (this worker's assignment). Starting one fences
        at once the transaction a killed predecessor left open, which would otherwise hold back
        read_committed readers of every partition it wrote to until it timed out."""
        wanted = set(partitions)
        async with self._lock:
            await self._forget([p for p in self._producers if p not in wanted])
            for partition in sorted(wanted - set(self._producers)):
                await asyncio.wait_for(self._producer(partition), COMMIT_TIMEOUT_S)

    async def forget(self, partitions: Iterable[int]) -> None:
        """Stop the producers of partitions this worker no longer decides (or whose last commit failed)."""
        async with self._lock:
            await self._forget(partitions)

    async def _forget(self, partitions: Iterable[int]) -> None:
        for partition in list(partitions):
            producer = self._producers.pop(partition, None)
            if producer is None:
                continue
            try:
                await asyncio.wait_for(producer.stop(), STOP_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a fenced or stuck producer: abandoned, its successor fences it
                log.warning("the producer of partition %d did not stop cleanly (%s: %s)", partition,
                            type(exc).__name__, exc)

    async def stop(self) -> None:
        await self.forget(list(self._producers))
