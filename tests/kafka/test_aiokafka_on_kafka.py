"""The worker's Kafka client, aiokafka (under Faust), against the Apache Kafka the suite runs
(``--kafka-version``; 3.9.1 by default): produce, consume in a group, commit, and the transactional
producer Faust's ``exactly_once`` needs — commit, abort and offsets sent inside a transaction.

Kafka 4.0 removed old protocol versions (KIP-896); running this file with ``--kafka-version=4.x``
shows whether aiokafka still speaks to it (docs/production.md, "Kafka versions")."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from broker_kinds import Broker

from pipeline.worker.offsets import EMPTY_RANGES, watch_fetches

pytestmark = pytest.mark.integration


async def _new_topic(bootstrap: str) -> str:
    name = f"aiokafka-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return name


async def _read(bootstrap: str, topic: str, group: str, count: int, *, isolation: str) -> list[bytes]:
    """``count`` values read from the start in consumer group ``group``, whose position is then committed."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False, isolation_level=isolation)
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < count:
            batches = await consumer.getmany(timeout_ms=20_000)
            assert batches, f"only {len(values)} of {count} records arrived"
            values += [msg.value or b"" for msgs in batches.values() for msg in msgs]
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


@pytest.mark.parametrize("broker_kind", ["kafka"], indirect=True)  # Tansu has no transactions
async def test_produce_consume_in_a_group_commit_and_transactions(broker: Broker) -> None:
    bootstrap = broker.bootstrap_servers
    topic = await _new_topic(bootstrap)
    plain = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await plain.start()
    try:
        for n in range(3):
            await plain.send_and_wait(topic, f"plain-{n}".encode(), key=b"k")
    finally:
        await plain.stop()

    group = f"group-{uuid.uuid4().hex[:8]}"
    assert await _read(bootstrap, topic, group, 3, isolation="read_uncommitted") == [b"plain-0", b"plain-1",
                                                                                     b"plain-2"]
    check = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await check.start()
    try:
        assert await check.committed(TopicPartition(topic, 0)) == 3  # the group's commit was stored
    finally:
        await check.stop()

    transactional = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{uuid.uuid4().hex[:8]}")
    await transactional.start()
    try:
        async with transactional.transaction():
            await transactional.send_and_wait(topic, b"committed", key=b"k")
            # What Faust's exactly_once does: the input offsets committed with the outputs.
            await transactional.send_offsets_to_transaction({TopicPartition(topic, 0): 3}, f"{group}-tx")
        await transactional.begin_transaction()
        await transactional.send_and_wait(topic, b"aborted", key=b"k")
        await transactional.abort_transaction()
        async with transactional.transaction():
            await transactional.send_and_wait(topic, b"sentinel", key=b"k")
    finally:
        await transactional.stop()

    # read_committed: the aborted record never shows; the sentinel proves the reader got past it.
    seen = await _read(bootstrap, topic, f"reader-{uuid.uuid4().hex[:8]}", 5, isolation="read_committed")
    assert seen == [b"plain-0", b"plain-1", b"plain-2", b"committed", b"sentinel"]
    offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"{group}-tx", enable_auto_commit=False)
    await offsets.start()
    try:
        assert await offsets.committed(TopicPartition(topic, 0)) == 3  # committed by the transaction
    finally:
        await offsets.stop()


@pytest.mark.parametrize("broker_kind", ["kafka"], indirect=True)
async def test_the_offsets_a_fetch_passes_over_are_known_to_hold_no_records(broker: Broker) -> None:
    """What the worker's offset gate relies on exactly-once: aiokafka's fetches say which offsets
    they passed over — commit and abort markers, an aborted transaction's records — so a gap there
    is not taken for records Faust dropped."""
    watch_fetches()
    bootstrap = broker.bootstrap_servers
    topic = await _new_topic(bootstrap)
    # 0, 1 and the commit marker at 2; 3 and the abort marker at 4; 5 and the commit marker at 6
    await _transactions(bootstrap, topic, [([b"a", b"b"], True), ([b"aborted"], False), ([b"c"], True)])
    seen = await _read(bootstrap, topic, f"reader-{uuid.uuid4().hex[:8]}", 3, isolation="read_committed")
    assert seen == [b"a", b"b", b"c"]
    assert EMPTY_RANGES.covers(topic, 0, 2, 5)  # marker, aborted record, abort marker
    assert not EMPTY_RANGES.covers(topic, 0, 1, 5)  # 1 holds a record
    assert not EMPTY_RANGES.covers(topic, 0, 2, 6)  # 5 holds a record

    other = await _new_topic(bootstrap)  # read_uncommitted, the aborted record is a record
    await _transactions(bootstrap, other, [([b"aborted"], False), ([b"c"], True)])  # 0, marker 1; 2, marker 3
    seen = await _read(bootstrap, other, f"reader-{uuid.uuid4().hex[:8]}", 2, isolation="read_uncommitted")
    assert seen == [b"aborted", b"c"]
    assert EMPTY_RANGES.covers(other, 0, 1, 2)
    assert not EMPTY_RANGES.covers(other, 0, 0, 2)


async def _transactions(bootstrap: str, topic: str, transactions: list[tuple[list[bytes], bool]]) -> None:
    """Write each (values, commit) as one transaction of a new transactional producer: committed, or aborted."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{uuid.uuid4().hex[:8]}")
    await producer.start()
    try:
        for values, commit in transactions:
            await producer.begin_transaction()
            for value in values:
                await producer.send_and_wait(topic, value, key=b"k")
            await (producer.commit_transaction() if commit else producer.abort_transaction())
    finally:
        await producer.stop()
