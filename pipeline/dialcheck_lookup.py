"""``leadpipe dial-checks``: what the dial-time check answered, read back from the ``dial-check`` topic.

    leadpipe dial-checks --call-id C          every answer given for call C (the dialer's call id)
    leadpipe dial-checks --request-id R       the answer with request id R (returned in the answer body)
    leadpipe dial-checks --phone +13055550101 every answer about a number (only its partition is read)

Prints one JSON object per matching record (instants in ISO-8601), oldest first, then a summary
line on stderr. Reads every partition from the beginning without joining a consumer group, until
it has reached the end of each partition and nothing new arrived for ``--idle`` seconds (the
embedded broker's end offsets can lag by a batch, so the end is confirmed by quiet, not trusted).
Needs ``LEADPIPE_BOOTSTRAP_SERVERS`` (and the schema registry settings, if one is used).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped]  # aiokafka ships no types
from confluent_kafka import KafkaException, TopicPartition

from pipeline.codec import Codec, make_codec
from pipeline.config import DialCheckLookupSettings
from pipeline.errors import CodecError, ConfigError
from pipeline.kafka_clients import reader_consumer
from pipeline.topics import DIAL_CHECK


def matches(record: Mapping[str, Any], *, call_id: str | None, request_id: str | None, phone: str | None) -> bool:
    """Whether an audit record is one asked for (every given criterion holds)."""
    return ((call_id is None or record.get("call_id") == call_id)
            and (request_id is None or record.get("request_id") == request_id)
            and (phone is None or record.get("phone_e164") == phone))


def read_answers(kafka_config: Mapping[str, Any], codec: Codec, keep: Callable[[Mapping[str, Any]], bool], *,
                 idle_s: float = 2.0, key: bytes | None = None) -> Iterator[dict[str, Any]]:
    """Every decodable ``dial-check`` record ``keep`` accepts, in offset order per partition. With
    ``key`` (a phone number) only the partition holding the key is read."""
    consumer = reader_consumer(kafka_config, "leadpipe-dial-check-lookup")
    try:
        metadata = consumer.list_topics(DIAL_CHECK, timeout=10)
        topic = metadata.topics.get(DIAL_CHECK)
        if topic is None or topic.error is not None:
            raise ConfigError(f"topic {DIAL_CHECK} not found: create the topics first (leadpipe topics create)")
        wanted = sorted(topic.partitions)
        if key is not None:
            wanted = [_partition_of(key, len(wanted))]
        ends = {p: consumer.get_watermark_offsets(TopicPartition(DIAL_CHECK, p), timeout=10)[1] for p in wanted}
        consumer.assign([TopicPartition(DIAL_CHECK, p, -2) for p in wanted])  # -2: from the beginning
        reached: set[int] = {p for p, end in ends.items() if end == 0}
        quiet_since = time.monotonic()
        while True:
            msg = consumer.poll(0.2)
            if msg is None:
                if reached >= set(wanted) and time.monotonic() - quiet_since >= idle_s:
                    return
                continue
            if msg.error():
                raise KafkaException(msg.error())
            quiet_since = time.monotonic()
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            if offset + 1 >= ends.get(partition, 0):
                reached.add(partition)
            value = msg.value()
            if value is None:
                continue
            try:
                record = codec.decode(value).record
            except CodecError:
                print(f"dial-checks: partition {partition} offset {offset} does not decode; skipped",
                      file=sys.stderr)
                continue
            if keep(record):
                yield record
    finally:
        consumer.close()


def _partition_of(key: bytes, partitions: int) -> int:
    """The partition a key lands on with Kafka's default partitioner (murmur2), as the worker's
    producer (aiokafka's, Faust's) and every leadpipe confluent-kafka producer place it."""
    return int(DefaultPartitioner()(key, list(range(partitions)), list(range(partitions))))


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def cmd_dial_checks(args: argparse.Namespace) -> int:
    settings = DialCheckLookupSettings.from_env(os.environ)
    if settings.embedded:
        raise ConfigError("set LEADPIPE_BOOTSTRAP_SERVERS to the cluster whose dial-check topic should be read")
    if args.call_id is None and args.request_id is None and args.phone is None:
        raise ConfigError("give --call-id, --request-id or --phone")
    found = 0
    keep = lambda record: matches(record, call_id=args.call_id, request_id=args.request_id,  # noqa: E731
                                  phone=args.phone)
    key = args.phone.encode() if args.phone else None
    for record in read_answers(settings.kafka_client_config(), make_codec(settings), keep, idle_s=args.idle,
                               key=key):
        print(json.dumps(record, default=_json, sort_keys=False), flush=True)
        found += 1
    print(f"dial-checks: {found} answer(s) found on {DIAL_CHECK}", file=sys.stderr)
    return 0 if found else 1


def add_dialcheck_commands(sub: Any) -> None:
    """Add ``leadpipe dial-checks`` to the CLI's subparsers."""
    p = sub.add_parser("dial-checks", help="read dial-check answers back from the dial-check topic",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--call-id", help="the dialer's call id (the call_id it passed)")
    p.add_argument("--request-id", help="the answer's request_id")
    p.add_argument("--phone", help="an E.164 number: every answer about it")
    p.add_argument("--idle", type=float, default=2.0, help="seconds of quiet at the end before stopping")
    p.set_defaults(func=cmd_dial_checks)
