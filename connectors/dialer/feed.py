"""Reading ``call-ready``: every partition, no consumer group (a dialer owns its campaigns' hopper)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from confluent_kafka import TopicPartition

from connectors.dialer.hopper import Offer
from pipeline.codec import Codec
from pipeline.errors import BrokerError, CodecError
from pipeline.kafka_clients import reader_consumer
from pipeline.redaction import exception_summary
from pipeline.topics import CALL_READY

log = logging.getLogger(__name__)


class CallReadyFeed:
    """Every partition of ``call-ready``, without a consumer group (see the module docstring)."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], codec: Codec, *,
                 from_beginning: bool = True) -> None:
        self._codec = codec
        self._from_beginning = from_beginning
        self._consumer = reader_consumer(kafka_config, "leadpipe-dialer")

    def start(self) -> CallReadyFeed:
        # All topics, not just ours: asking for one by name can make a broker auto-create it.
        topic = self._consumer.list_topics(timeout=10).topics.get(CALL_READY)
        if topic is None or topic.error is not None or not topic.partitions:
            raise BrokerError(f"topic {CALL_READY} does not exist")
        assignment = []
        for p in topic.partitions:
            if self._from_beginning:
                offset = -2  # OFFSET_BEGINNING
            else:  # the end now, pinned: "from now on" means from this call, not from a later first fetch
                _, offset = self._consumer.get_watermark_offsets(TopicPartition(CALL_READY, p), timeout=10,
                                                                cached=False)
            assignment.append(TopicPartition(CALL_READY, p, offset))
        self._consumer.assign(assignment)
        return self

    def poll(self, timeout_s: float) -> list[Offer | None]:
        """Records that arrived within ``timeout_s``; None for one that did not decode."""
        records: list[Offer | None] = []
        for msg in self._consumer.consume(num_messages=500, timeout=timeout_s):
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise BrokerError(f"call-ready consumer: {err}")
                log.warning("call-ready consumer: %s", err)  # librdkafka retries transient errors
                continue
            try:
                _, record = self._codec.decode(msg.value() or b"")
            except CodecError as exc:
                log.error("call-ready %s@%s does not decode: %s", msg.partition(), msg.offset(),
                          exception_summary(exc))
                records.append(None)
                continue
            records.append(record)
        return records

    def close(self) -> None:
        self._consumer.close()
