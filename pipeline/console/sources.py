"""The console's edges: a topic reader feeding the aggregator, consumer-lag probes and worker scrapes.

Each runs in its own daemon thread with its own confluent-kafka client (clients are not shared
between threads) and publishes plain values under a lock for the web handlers to read.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Self

from confluent_kafka import Consumer, KafkaException, TopicPartition

from pipeline.codec import Codec
from pipeline.errors import CodecError
from pipeline.http_auth import KEY_HEADER
from pipeline.kafka_clients import reader_consumer
from pipeline.reporting.aggregate import REPORT_TOPICS, Aggregator, Report
from pipeline.reporting.prometheus import OPTOUT_LATENCY, Histogram, parse_histogram

log = logging.getLogger("leadpipe.console")

KafkaConfig = Mapping[str, str | int | float | bool]


class _Background:
    """A daemon thread running ``_run`` until :meth:`stop`; ``_stop`` is set when it should end."""

    def __init__(self, thread_name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        raise NotImplementedError


class ReportTail(_Background):
    """Reads every report topic from the beginning (assign, no group) into an :class:`Aggregator`.

    Ready once it has read up to the high-water marks that existed when it first found all topics
    (on Tansu those marks may be short by a batch, so "ready" can come a batch early; the report
    keeps updating either way).
    """

    def __init__(self, kafka_config: KafkaConfig, codec: Codec, topics: Sequence[str] = REPORT_TOPICS) -> None:
        self._codec = codec
        self._topics = list(topics)
        self._consumer = reader_consumer(kafka_config, "leadpipe-console", fetch_wait_ms=50)
        self._aggregator = Aggregator()
        self._lock = threading.Lock()
        super().__init__("report-tail")
        self._start_marks: dict[tuple[str, int], int] = {}
        self._positions: dict[tuple[str, int], int] = {}
        self._ready = False
        self.records_read = 0
        self.error: str | None = None

    @property
    def ready(self) -> bool:
        return self._ready

    def report(self, at: datetime) -> tuple[Report, int]:
        """The report at ``at`` and how many facts the aggregator holds."""
        with self._lock:
            return self._aggregator.report(at), self._aggregator.facts

    def _assign(self) -> bool:
        metadata = self._consumer.list_topics(timeout=10)
        missing = [t for t in self._topics if t not in metadata.topics]
        if missing:
            self.error = f"waiting for topics {missing} (created by `leadpipe topics create` or the worker)"
            return False
        assignment = []
        for topic in self._topics:
            for partition in metadata.topics[topic].partitions:
                _low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                self._start_marks[(topic, partition)] = high
                assignment.append(TopicPartition(topic, partition, -2))  # OFFSET_BEGINNING
        self._consumer.assign(assignment)
        self.error = None
        return True

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._assign():
                        break
                except KafkaException as exc:
                    self.error = f"broker not reachable: {exc}"
                self._stop.wait(1.0)
            while not self._stop.is_set():
                msgs = self._consumer.consume(num_messages=1000, timeout=0.1)
                decoded: list[tuple[str, dict[str, Any] | None]] = []
                for msg in msgs:
                    if msg.error():
                        log.warning("consume error: %s", msg.error())
                        continue
                    topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0)
                    self._positions[(topic, partition)] = offset + 1
                    record: dict[str, Any] | None = None
                    value = msg.value()
                    if value is not None:
                        with contextlib.suppress(CodecError):
                            record = self._codec.decode(value).record
                    decoded.append((topic, record))
                if decoded:
                    with self._lock:
                        for topic, record in decoded:
                            if record is None:
                                self._aggregator.add_undecodable(topic)
                            else:
                                self._aggregator.add(topic, record)
                    self.records_read += len(decoded)
                if not self._ready:
                    self._ready = all(self._positions.get(tp, 0) >= mark for tp, mark in self._start_marks.items())
        except Exception as exc:  # surfaced on /healthz instead of dying silently
            log.exception("report tail failed")
            self.error = f"report tail failed: {exc}"
        finally:
            self._consumer.close()


class LagProbe(_Background):
    """Consumer lag of the worker group: high-water mark minus committed offset per partition of the
    topics the group consumes. Reads offsets only: it never joins the group."""

    def __init__(self, kafka_config: KafkaConfig, group: str, topics: Sequence[str], *,
                 interval_s: float = 2.0) -> None:
        self._config = {**kafka_config, "group.id": group, "enable.auto.commit": False,
                        "log.connection.close": False}
        self._group = group
        self._topics = list(topics)
        self._interval_s = interval_s
        super().__init__("lag-probe")
        self.rows: list[dict[str, Any]] = []
        self.error: str | None = None

    def _run(self) -> None:
        consumer = Consumer(self._config)
        try:
            while not self._stop.is_set():
                try:
                    self.rows = self._probe(consumer)
                    self.error = None
                except KafkaException as exc:
                    self.error = f"lag probe: {exc}"
                self._stop.wait(self._interval_s)
        finally:
            consumer.close()

    def _probe(self, consumer: Consumer) -> list[dict[str, Any]]:
        metadata = consumer.list_topics(timeout=10)
        partitions = [TopicPartition(t, p) for t in self._topics if t in metadata.topics
                      for p in sorted(metadata.topics[t].partitions)]
        committed = consumer.committed(partitions, timeout=10)
        rows = []
        for tp in committed:
            _low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10,
                                                         cached=False)
            offset = tp.offset if tp.offset >= 0 else None  # negative: nothing committed yet
            lag = max(0, high - (offset or 0))
            rows.append({"group": self._group, "topic": tp.topic, "partition": tp.partition,
                         "committed": offset, "high_watermark": high, "lag": lag})
        return rows


class WorkerScrape(_Background):
    """Fetches each worker's /metrics and sums their opt-out-to-blocked latency histograms."""

    def __init__(self, urls: Sequence[str], *, api_key: str | None = None, interval_s: float = 2.0) -> None:
        self._urls = list(urls)
        # The workers' /metrics needs a key with the read scope (pipeline.http_auth).
        self._headers = {KEY_HEADER: api_key} if api_key else {}
        self._interval_s = interval_s
        super().__init__("worker-scrape")
        self.latency = Histogram()
        self.workers: dict[str, dict[str, Any]] = {}

    def scrape_once(self) -> None:
        total = Histogram()
        workers: dict[str, dict[str, Any]] = {}
        for url in self._urls:
            try:
                # Operator-configured worker URL (http/https checked at start-up).
                request = urllib.request.Request(f"{url}/metrics", headers=self._headers)  # noqa: S310
                with urllib.request.urlopen(request, timeout=2.0) as resp:  # noqa: S310
                    text = resp.read().decode()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                workers[url] = {"up": False, "error": str(exc)}
                continue
            histogram = parse_histogram(text, OPTOUT_LATENCY)
            workers[url] = {"up": True, "optout_latency": None if histogram is None else histogram.to_json()}
            if histogram is not None:
                total.merge(histogram)
        self.latency, self.workers = total, workers

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scrape_once()
            self._stop.wait(self._interval_s)
