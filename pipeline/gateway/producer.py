"""An asyncio face on a confluent-kafka producer: ``await send(...)`` returns once the broker
acknowledged the record (acks=all, idempotent) and raises :class:`BrokerUnavailable` otherwise.

One thread polls the producer for delivery reports and hands each batch of reports to the event
loop in a single ``call_soon_threadsafe``; each request awaits its own future. Every record gets a
delivery report within ``message.timeout.ms`` (the gateway's delivery timeout): a broker that is
down costs a request at most that long, and while librdkafka reports every broker down new
requests are refused at once instead of queueing behind a dead connection.

After an outage (every broker down, writes timing out) or a fatal producer error, writes stay refused
until a probe reaches the broker and finds the topics; the producer is then replaced by a fresh one
(a fresh idempotent producer id), because the old one's sequence numbers are in doubt — and a
restarted embedded broker, which forgets producer ids, would otherwise refuse it for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from pipeline.errors import BrokerError
from pipeline.kafka_clients import PARTITIONER

log = logging.getLogger(__name__)

_PROBE_EVERY_S = 1.0


class BrokerUnavailable(BrokerError):
    """The record was not acknowledged: not written, or (after a timeout) not known to be written."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=True)


class AckProducer:
    """Acknowledged writes for asyncio code. ``start()`` in the loop that will call ``send``."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], *, delivery_timeout_s: float,
                 linger_ms: int = 2, required_topics: tuple[str, ...] = ()) -> None:
        self.delivery_timeout_s = delivery_timeout_s
        self.required_topics = required_topics
        self._config: dict[str, object] = {
            **kafka_config,
            "partitioner": PARTITIONER,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": linger_ms,
            "message.timeout.ms": int(delivery_timeout_s * 1000),
            # Notice a dead broker within about a second, not after librdkafka's default backoff.
            "reconnect.backoff.max.ms": 1000,
            "socket.connection.setup.timeout.ms": max(1000, int(delivery_timeout_s * 1000)),
            "log.connection.close": False,
            "error_cb": self._on_error,
            "logger": log,  # librdkafka's own lines through logging, not raw stderr
        }
        self._producer = Producer(self._config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reports: list[tuple[asyncio.Future[None], KafkaError | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-producer-poll", daemon=True)
        self.ready = False
        """True once the broker answered and every required topic exists."""
        self.down: str | None = "not connected yet"
        """Why writes are refused right now, or None when they are not."""
        self._renew = False
        """Replace the producer before writing again (after a fatal error or an outage)."""
        self._fatal = False

    # -- thread side: this thread alone creates, polls and replaces the producer -----------------

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fail(str(err))
        elif err.code() == KafkaError._ALL_BROKERS_DOWN:
            self.down = f"all brokers down: {err.str()}"
            self._renew = True

    def _fail(self, reason: str) -> None:
        # An idempotent producer that lost its sequence (e.g. a broker that forgot its producer id,
        # as the embedded broker does on restart) can write nothing more: a new one is made.
        log.error("producer failed, replacing it: %s", reason)
        self.down = f"producer failed: {reason}"
        self._renew = True
        self._fatal = True

    def _run(self) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("AckProducer.start() sets the loop before the thread runs")
        next_probe = 0.0
        while not self._stop.is_set():
            try:
                self._producer.poll(0.05)
            except KafkaException as exc:  # a fatal error surfaces here as well as in error_cb
                self._fail(str(exc))
            if self._reports:
                batch, self._reports = self._reports, []
                loop.call_soon_threadsafe(_resolve, batch)
                if any(err is not None and err.code() == KafkaError._MSG_TIMED_OUT for _, err in batch):
                    # Timed-out writes leave an idempotent producer's sequence in doubt (and a restarted
                    # embedded broker never answers it): refuse writes until a probe gets through with
                    # a fresh producer.
                    self.down = self.down or "writes are timing out"
                    self._renew = True
            if self.down is not None and time.monotonic() >= next_probe:
                next_probe = time.monotonic() + _PROBE_EVERY_S
                self._probe()

    def _probe(self) -> None:
        if self._fatal:  # a failed producer cannot be trusted even to ask for metadata
            self._replace()
        try:
            metadata = self._producer.list_topics(timeout=1.0)
        except KafkaException as exc:
            self.down = f"broker unreachable: {exc}"
            return
        missing = [t for t in self.required_topics if t not in metadata.topics]
        if missing:
            self.down = f"topics missing: {', '.join(missing)} (run leadpipe topics create)"
            return
        if self._renew:
            self._replace()
        self.down = None
        self.ready = True

    def _replace(self) -> None:
        """A fresh producer (fresh producer id); what the old one still held is reported failed."""
        old, self._producer = self._producer, Producer(self._config)
        self._renew = self._fatal = False
        with contextlib.suppress(KafkaException):
            old.purge()
            old.poll(0)  # the purged records' delivery reports: their requests get 503
            old.flush(0)

    # -- loop side ------------------------------------------------------------------------------

    def start(self) -> AckProducer:
        self._loop = asyncio.get_running_loop()
        self._thread.start()
        return self

    @property
    def started(self) -> bool:
        return self._loop is not None

    async def send(self, topic: str, value: bytes, key: bytes | None) -> None:
        """Write and wait for the acknowledgement; raise :class:`BrokerUnavailable` when there is none."""
        if self.down is not None:
            raise BrokerUnavailable(self.down)
        if self._loop is None:
            raise RuntimeError("AckProducer.start() first")
        future: asyncio.Future[None] = self._loop.create_future()

        def on_delivery(err: KafkaError | None, _msg: Any) -> None:
            # Runs in the poll thread; the list is swapped there too, so no lock is needed.
            self._reports.append((future, err))

        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
        except BufferError as exc:
            raise BrokerUnavailable("producer queue full: the broker is not keeping up") from exc
        except KafkaException as exc:
            raise BrokerUnavailable(f"produce failed: {exc}") from exc
        # message.timeout.ms bounds the report; this margin only covers a stalled poll thread.
        # (A timer handle, not asyncio.wait_for: that costs a task per request on the hot path.)
        limit = self.delivery_timeout_s + 2.0
        guard = self._loop.call_later(limit, _give_up, future, limit)
        try:
            await future
        finally:
            guard.cancel()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the poll thread, then flush what is in flight (bounded) and answer its requests.

        Call after the server stopped taking requests. One thread at a time serves delivery
        reports, so none is lost between two threads.
        """
        self._stop.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, timeout_s)
        with contextlib.suppress(KafkaException):
            await asyncio.to_thread(self._producer.flush, timeout_s)
        batch, self._reports = self._reports, []
        _resolve(batch)


def _give_up(future: asyncio.Future[None], limit: float) -> None:
    if not future.done():
        future.set_exception(BrokerUnavailable(f"no acknowledgement within {limit:.1f}s"))


def _resolve(batch: list[tuple[asyncio.Future[None], KafkaError | None]]) -> None:
    for future, err in batch:
        if future.done():  # the request gave up waiting (timeout, client gone)
            continue
        if err is None:
            future.set_result(None)
        else:
            future.set_exception(BrokerUnavailable(f"write not acknowledged: {err.str()}"))
