"""On Apache Kafka the table changelogs are compacted, and after an erasure the log cleaner really
removes the erased number's rows — read back raw with a plain consumer, not merely shadowed by a
later tombstone. (Tansu does not compact: Kafka only. The tombstones themselves stay until the
topic's delete.retention.ms, 24 h by default, has passed after a cleaning.)"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)
from conftest import Pipeline, lead, opt_out

from pipeline.topics import CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT, TABLE_EMAILS, TABLES, changelog_topic

pytestmark = pytest.mark.integration

# Short enough for a test: a segment rolls at the first write 100 ms after it opened, and any
# dirty part is worth cleaning. The broker's cleaner looks every 0.5 s (tests/broker_kinds.py).
TEST_COMPACTION = {"segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}


def changelogs(pipeline: Pipeline) -> list[str]:
    return [changelog_topic(pipeline.settings.app_id, t) for t in (*TABLES, TABLE_EMAILS)]


def rows_naming(pipeline: Pipeline, phone: str) -> list[tuple[str, bytes]]:
    """Every record still stored on the changelogs whose key is ``phone`` or whose value holds it,
    tombstones excepted: (topic, value)."""
    needle = phone.encode()
    consumer = Consumer({**pipeline.settings.kafka_client_config(), "group.id": "compaction-check",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    found: list[tuple[str, bytes]] = []
    try:
        partitions = [TopicPartition(topic, p, 0) for topic in changelogs(pipeline)
                      for p in range(pipeline.settings.partitions)]
        consumer.assign(partitions)
        at_end: set[tuple[str, int]] = set()
        while len(at_end) < len(partitions):
            msg = consumer.poll(10)
            assert msg is not None, "changelog read timed out"
            if msg.error():
                at_end.add((msg.topic(), msg.partition()))  # end of partition (enable.partition.eof)
                continue
            value = msg.value()
            if value is not None and (msg.key() == needle or needle in value):
                found.append((msg.topic(), value))
    finally:
        consumer.close()
    return found


@pytest.mark.parametrize("broker_kind", ["kafka"], indirect=True)
def test_erased_rows_are_compacted_away(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    admin = AdminClient(pipeline.settings.kafka_client_config())
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in changelogs(pipeline)]
    for resource, future in admin.describe_configs(resources).items():
        assert future.result(30)["cleanup.policy"].value == "compact", resource.name
    changes = [ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in TEST_COMPACTION.items()])
        for name in changelogs(pipeline)]
    for future in admin.incremental_alter_configs(changes).values():
        future.result(30)

    phone = us_number()
    first = lead(phone, first_name="Zelda", last_name="Quill")
    pipeline.send(LEAD_CAPTURED, first, key=first["lead_id"])
    pipeline.wait(CALL_READY, lead_id=first["lead_id"], action="READY")
    # At least once, the READY and the table rows are separate writes: the rows may land a moment
    # after the offer. Wait for them (an exactly-once commit would show all three at once).
    wanted = {changelog_topic(pipeline.settings.app_id, "leads"),
              changelog_topic(pipeline.settings.app_id, "consents")}
    deadline = time.monotonic() + 30
    before = rows_naming(pipeline, phone)
    while not {topic for topic, _ in before} >= wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        before = rows_naming(pipeline, phone)
    assert {topic for topic, _ in before} >= wanted
    assert any(b"Zelda" in value for _, value in before)

    erase = opt_out(phone, action="ERASE", source="privacy-portal", reason="GDPR Art. 17 request")
    pipeline.send(OPT_OUT, erase, key=phone)
    pipeline.wait(CALL_READY, phone_e164=phone, action="WITHDRAW")

    # The cleaner only cleans closed segments: other numbers' leads keep writing to every changelog
    # partition, rolling the segments that hold the erased rows and their tombstones.
    deadline = time.monotonic() + 120
    left = before
    rounds = 0
    while left and time.monotonic() < deadline:
        rounds += 1
        fillers = [lead(us_number()) for _ in range(8)]
        for record in fillers:
            pipeline.producer.send(LEAD_CAPTURED, record, key=record["lead_id"])
        pipeline.producer.flush()
        for record in fillers:
            pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])
        left = rows_naming(pipeline, phone)
    assert left == [], f"after {rounds} rounds of writes the changelogs still hold {len(left)} rows of {phone}"
    print(f"\n{len(before)} changelog rows of the erased number before, 0 after {rounds} rounds of 8 leads")

    # The objection outlives the rows: a new lead for the number is still suppressed.
    again = lead(phone)
    pipeline.send(LEAD_CAPTURED, again, key=again["lead_id"])
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=again["lead_id"])
    assert (decision["outcome"], decision["reasons"][0]["code"]) == ("SUPPRESSED", "DNC_ERASED")
