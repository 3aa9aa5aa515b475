"""Erasure through the real worker: tombstones on the changelogs, the objection survives."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition
from conftest import Pipeline, lead, opt_out

from pipeline.topics import CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT, TABLE_LEADS, changelog_topic

pytestmark = pytest.mark.integration


def changelog_values(pipeline: Pipeline, table: str, key: bytes, partition: int) -> list[bytes | None]:
    """Every value written for ``key`` on the table's changelog partition, in order."""
    consumer = Consumer({**pipeline.settings.kafka_client_config(), "group.id": "erasure-check",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    values: list[bytes | None] = []
    try:
        consumer.assign([TopicPartition(changelog_topic(pipeline.settings.app_id, table), partition, 0)])
        while True:
            msg = consumer.poll(10)
            assert msg is not None, "changelog read timed out"
            if msg.error():
                break  # end of partition (enable.partition.eof)
            if msg.key() == key:
                values.append(msg.value())
    finally:
        consumer.close()
    return values


def test_erasure_tombstones_personal_rows_and_the_objection_survives(pipeline: Pipeline,
                                                                      us_number: Callable[[], str]) -> None:
    phone = us_number()
    first = lead(phone, first_name="Erin", last_name="Vale")
    pipeline.send(LEAD_CAPTURED, first, key=first["lead_id"])
    pipeline.wait(CALL_READY, lead_id=first["lead_id"], action="READY")

    erase = opt_out(phone, action="ERASE", source="privacy-portal", reason="GDPR Art. 17 request")
    pipeline.send(OPT_OUT, erase, key=phone)
    [withdraw] = pipeline.wait(CALL_READY, phone_e164=phone, action="WITHDRAW")
    assert withdraw["reasons"][0]["code"] == "DNC_ERASED"
    partition = pipeline.partition_of(phone)

    later = lead(phone)  # a vendor sells the same number again
    pipeline.send(LEAD_CAPTURED, later, key=later["lead_id"])
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=later["lead_id"])
    assert decision["outcome"] == "SUPPRESSED"
    assert decision["reasons"][0]["code"] == "DNC_ERASED"

    values = changelog_values(pipeline, TABLE_LEADS, phone.encode(), partition)
    assert values and values[-1] is None, "the leads row must end in a tombstone"
    assert any(v is not None and b"Erin" in v for v in values[:-1])  # it did hold the name before
