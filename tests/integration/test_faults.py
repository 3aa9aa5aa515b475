"""Input that once stopped the worker, fed to the real worker: each is refused or kept, never a crash.

After each case a valid lead must still be decided: proof the partition kept flowing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Producer
from conftest import Pipeline, lead, opt_out

from pipeline.kafka_clients import PARTITIONER
from pipeline.topics import CALL_READY, DEAD_LETTER, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration


def big_producer(pipeline: Pipeline) -> Producer:
    """A producer allowed records up to 2 MB (the broker's own limit is about 1 MB)."""
    return Producer({**pipeline.settings.kafka_client_config(), "partitioner": PARTITIONER, "acks": "all",
                     "message.max.bytes": 2_000_000})


def send_raw(pipeline: Pipeline, topic: str, value: bytes, key: bytes | None) -> None:
    producer = big_producer(pipeline)
    errors: list[Any] = []
    producer.produce(topic, value=value, key=key, on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(30)
    assert errors == [None], errors


def still_deciding(pipeline: Pipeline, phone: str) -> None:
    """A valid lead keyed by its number is offered: the worker is alive and its partition flows."""
    record = lead(phone)
    pipeline.send(LEAD_CAPTURED, record, key=phone)
    [ready] = pipeline.wait(CALL_READY, lead_id=record["lead_id"], action="READY")
    assert ready["phone_e164"] == phone


def test_garbage_near_the_size_limit_is_dead_lettered_by_reference(pipeline: Pipeline,
                                                                   us_number: Callable[[], str]) -> None:
    phone = us_number()
    garbage = b"\xc3\x01" + bytes(range(256)) * 3_800  # ~973 KB: a copy of it would not fit a record
    send_raw(pipeline, LEAD_CAPTURED, garbage, phone.encode())

    [letter] = pipeline.wait(DEAD_LETTER, value_sha256=hashlib.sha256(garbage).hexdigest())
    assert letter["value_truncated"] is True and letter["value_size"] == len(garbage)
    assert garbage.startswith(letter["value"]) and 0 < len(letter["value"]) <= 1024
    assert (letter["topic"], letter["stage"]) == (LEAD_CAPTURED, "size")  # refused before decoding
    still_deciding(pipeline, phone)


def test_a_huge_valid_lead_is_refused_and_the_number_keeps_working(pipeline: Pipeline,
                                                                   us_number: Callable[[], str]) -> None:
    phone = us_number()
    huge = lead(phone, attributes={f"note{i}": "x" * 500 for i in range(1_700)})  # ~900 KB, valid Avro
    value = pipeline.codec.encode(LEAD_CAPTURED, huge)
    assert len(value) > 850_000
    send_raw(pipeline, LEAD_CAPTURED, value, phone.encode())

    [letter] = pipeline.wait(DEAD_LETTER, value_sha256=hashlib.sha256(value).hexdigest())
    assert letter["value_truncated"] is True
    assert pipeline.outputs(LEAD_DECISION, lead_id=huge["lead_id"]) == []
    # The number is untouched by it: a normal lead is offered and an opt-out withdraws that offer.
    still_deciding(pipeline, phone)
    pipeline.send(OPT_OUT, opt_out(phone), key=phone)
    [withdraw] = pipeline.wait(CALL_READY, phone_e164=phone, action="WITHDRAW")
    assert withdraw["reasons"][0]["code"] == "DNC_OPT_OUT"


def test_large_opt_outs_on_one_number_never_stop_the_worker(pipeline: Pipeline,
                                                            us_number: Callable[[], str]) -> None:
    """Eight opt-outs of 60 KB each (under the gateway's body limit) once built a 1 MB row."""
    phone, other = us_number(), us_number()
    for i in range(8):
        big = opt_out(phone, reason="é" * 15_000, evidence=f"form-{i}-" + "ü" * 14_000)  # 58 KB
        pipeline.send(OPT_OUT, big, key=phone)
    # An opt-out is never lost for its free text: the number is blocked whatever became of the text.
    pipeline.wait_blocked(phone)
    still_deciding(pipeline, other)
