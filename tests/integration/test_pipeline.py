"""The spine end to end: real worker, real embedded broker, real Avro bytes in and out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition
from conftest import NOW, Pipeline, call_outcome, lead, new_id, opt_out

from pipeline.kafka_clients import PARTITIONER, EventProducer
from pipeline.topics import CALL_READY, DEAD_LETTER, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT, QUALIFIED_LEAD

pytestmark = pytest.mark.integration


def test_valid_lead_becomes_call_ready(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    phone = us_number()
    national = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"  # as typed into a web form
    record = lead(national)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])

    [ready] = pipeline.wait(CALL_READY, lead_id=record["lead_id"])
    assert ready["action"] == "READY"
    assert ready["phone_e164"] == phone
    assert ready["callable_until"] is not None and ready["callable_until"] > NOW
    assert ready["seconds_left"] == int((ready["callable_until"] - NOW).total_seconds())
    assert ready["time_zones"] == ["America/New_York"]
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])
    assert decision["outcome"] == "CALL_READY"
    assert decision["decision_id"] == ready["decision_id"]
    assert decision["input_event_id"] == record["event_id"]
    assert decision["rule_pack_version"] == ready["rule_pack_version"]


def test_opt_out_then_lead_is_suppressed_with_reason(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    phone = us_number()
    stop = opt_out(phone)
    pipeline.send(OPT_OUT, stop, key=phone)  # keyed by its number: decided at once, no hop
    pipeline.wait_blocked(phone)  # applied: a lead sent now is decided after it
    record = lead(phone)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])

    [decision] = pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])
    assert decision["outcome"] == "SUPPRESSED"
    assert decision["reasons"][0]["code"] == "DNC_OPT_OUT"
    assert stop["event_id"] in decision["reasons"][0]["detail"]
    assert pipeline.outputs(CALL_READY, phone_e164=phone) == []


def test_lead_then_opt_out_withdraws_and_blocks_later_leads(pipeline: Pipeline,
                                                            us_number: Callable[[], str]) -> None:
    phone = us_number()
    first = lead(phone)
    pipeline.send(LEAD_CAPTURED, first, key=first["lead_id"])
    pipeline.wait(CALL_READY, lead_id=first["lead_id"], action="READY")

    pipeline.send(OPT_OUT, opt_out(phone), key=phone)
    [withdraw] = pipeline.wait(CALL_READY, phone_e164=phone, action="WITHDRAW")
    assert withdraw["lead_id"] == first["lead_id"]

    second = lead(phone, campaign_id="insurance-renewals")
    pipeline.send(LEAD_CAPTURED, second, key=second["lead_id"])
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=second["lead_id"])
    assert decision["outcome"] == "SUPPRESSED"
    ready = pipeline.outputs(CALL_READY, phone_e164=phone)
    # The only offer for this number is the first one, and it was withdrawn after it.
    assert [r["action"] for r in ready] == ["READY", "WITHDRAW"]


@pytest.mark.parametrize(("phone", "country", "code"), [
    ("12345", "US", "PHONE_INVALID"),
    ("not a phone", "US", "PHONE_UNPARSEABLE"),
    ("020 7946 001", "GB", "PHONE_INVALID"),  # one digit short
])
def test_invalid_phone_is_rejected_with_reason(pipeline: Pipeline, phone: str, country: str, code: str) -> None:
    record = lead(phone, country=country)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])
    assert decision["outcome"] == "REJECTED"
    assert decision["phone_e164"] is None
    assert decision["phone"] == phone
    assert decision["reasons"][0]["code"] == code


def test_garbage_goes_to_dead_letter_and_the_partition_keeps_flowing(pipeline: Pipeline,
                                                                     us_number: Callable[[], str]) -> None:
    garbage = b"\xc3\x01" + b"\xff" * 8 + b"this is not a known schema " + new_id().encode()
    key = ("garbage-" + new_id()).encode()
    pipeline.producer.send_raw(LEAD_CAPTURED, garbage, key=key)
    good = lead(us_number())
    pipeline.producer.send(LEAD_CAPTURED, good, key=key)  # same key: same partition, right behind it
    pipeline.producer.flush()

    [dead] = pipeline.wait(DEAD_LETTER, value=garbage)
    assert dead["topic"] == LEAD_CAPTURED
    assert dead["stage"] == "decode"
    assert dead["key"] == key
    assert "fingerprint" in dead["error"].lower() or "schema" in dead["error"].lower()
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=good["lead_id"])
    assert decision["outcome"] == "CALL_READY"


@pytest.mark.parametrize("compression", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_from_any_producer_are_read(pipeline: Pipeline, us_number: Callable[[], str],
                                                      compression: str) -> None:
    """Producers may compress (Java and librdkafka clients often do); the worker must read every codec."""
    producer = EventProducer({**pipeline.settings.kafka_client_config(), "compression.type": compression},
                             pipeline.codec)
    record = lead(us_number())
    producer.send(LEAD_CAPTURED, record, key=record["lead_id"])
    producer.flush()
    [decision] = pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])
    assert decision["outcome"] == "CALL_READY"


def test_schema_invalid_record_goes_to_dead_letter(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    bad = opt_out(us_number(), scope="CAMPAIGN", campaign_id=None)  # campaign scope without a campaign
    pipeline.send(OPT_OUT, bad, key=bad["phone"])
    [dead] = pipeline.wait(DEAD_LETTER, topic=OPT_OUT, value=pipeline.codec.encode(OPT_OUT, bad))
    assert dead["stage"] == "validate"
    assert "campaign_id" in dead["error"]


def test_qualified_outcome_emits_one_qualified_lead(pipeline: Pipeline, us_number: Callable[[], str]) -> None:
    phone = us_number()
    record = lead(phone, first_name="Maya", last_name="Okafor")
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    [ready] = pipeline.wait(CALL_READY, lead_id=record["lead_id"])

    outcome = call_outcome(phone, record["lead_id"], "QUALIFIED", notes="Wants a quote for 8 kW",
                           answers={"timeline": "this_month", "next_step": "send proposal"})
    pipeline.send("call-outcome", outcome, key=phone)
    pipeline.send("call-outcome", outcome, key=phone)  # a redelivery must not qualify twice

    [qualified] = pipeline.wait(QUALIFIED_LEAD, lead_id=record["lead_id"])
    assert qualified["phone_e164"] == phone
    assert (qualified["first_name"], qualified["last_name"]) == ("Maya", "Okafor")
    assert qualified["notes"] == "Wants a quote for 8 kW"
    assert qualified["answers"]["next_step"] == "send proposal"
    # The score at the offer, then at the qualifying call, which counts its attempt (one point fewer left).
    assert [h["score"] for h in qualified["score_history"]] == [ready["score"], qualified["score"]]
    assert (qualified["score"], qualified["attempts"]) == (round(ready["score"] - 1, 2), 1)
    assert qualified["consent_certificate_id"] == record["consent"]["certificate_id"]
    assert qualified["outcome_event_id"] == outcome["event_id"]
    # A later lead on this number proves both outcome copies were processed before it.
    marker = lead(phone)
    pipeline.send(LEAD_CAPTURED, marker, key=marker["lead_id"])
    pipeline.wait(LEAD_DECISION, lead_id=marker["lead_id"])
    assert len(pipeline.outputs(QUALIFIED_LEAD, lead_id=record["lead_id"])) == 1


def test_a_numbers_events_land_on_the_partition_its_state_lives_on(pipeline: Pipeline,
                                                                  us_number: Callable[[], str]) -> None:
    """confluent-kafka (murmur2_random) and Faust (aiokafka murmur2) agree on key → partition."""
    phones = [us_number() for _ in range(12)]
    for phone in phones:
        pipeline.producer.send(OPT_OUT, opt_out(phone), key=phone)
    pipeline.producer.flush()
    records = [lead(phone) for phone in phones]
    for record in records:
        pipeline.producer.send(LEAD_CAPTURED, record, key=record["lead_id"])
    pipeline.producer.flush()
    for record in records:
        pipeline.wait(LEAD_DECISION, lead_id=record["lead_id"])

    consumer = Consumer({**pipeline.settings.kafka_client_config(), "group.id": "partition-check",
                         "enable.auto.commit": False})
    internal = f"{pipeline.settings.app_id}-number-events"
    input_partition, internal_partition = {}, {}
    try:
        consumer.assign([TopicPartition(t, p, 0) for t in (OPT_OUT, internal)
                         for p in range(pipeline.settings.partitions)])
        wanted = set(phones)
        while wanted - internal_partition.keys() or wanted - input_partition.keys():
            msg = consumer.poll(10)
            assert msg is not None, "ran out of records before every number was seen"
            assert msg.error() is None
            key = (msg.key() or b"").decode()  # other tests may write keyless records: not ours
            if key in wanted:
                (input_partition if msg.topic() == OPT_OUT else internal_partition)[key] = msg.partition()
    finally:
        consumer.close()
    assert PARTITIONER == "murmur2_random"
    assert input_partition == internal_partition
    assert len(set(internal_partition.values())) > 1  # the keys really spread over partitions
