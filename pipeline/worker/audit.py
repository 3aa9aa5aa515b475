"""Every dial-check answer on record: the worker-side sender of the ``dial-check`` audit topic.

The pure core builds the record (``pipeline.core.dialcheck.audit_record``); this edge sends it
without holding up the answer: :meth:`DialCheckAudit.submit` schedules the send as a task and
returns at once, so the dialer gets its answer without waiting for a broker round trip. Nothing is
lost silently: a record that could not be encoded, queued or delivered is logged with its request
id and counted (``leadpipe_dial_check_audit_failed_total`` on the worker's ``/metrics``), as are the
records still waiting for the broker (``leadpipe_dial_check_audit_pending``).

Turned off (``LEADPIPE_DIAL_CHECK_AUDIT=false``) it sends nothing and counts the answers it did not
record (``leadpipe_dial_check_audit_skipped_total``): the switch exists to measure the audit's cost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.codec import Codec
from pipeline.events import DialCheckAudit
from pipeline.gateway.producer import AckProducer, BrokerUnavailable
from pipeline.topics import DIAL_CHECK

log = logging.getLogger("leadpipe.dial-check")

Send = Callable[[str, bytes, bytes], Awaitable[Awaitable[Any]]]
"""Queue (topic, key, value) on the producer; the awaitable it returns resolves on delivery (Faust's
``producer.send`` with partition, timestamp and headers bound)."""

_METRICS = (
    ("leadpipe_dial_check_answers_total", "counter", "dial-check answers given by this worker"),
    ("leadpipe_dial_check_audit_sent_total", "counter", "dial-check audit records the broker acknowledged"),
    ("leadpipe_dial_check_audit_failed_total", "counter",
     "dial-check audit records that could not be encoded, queued or delivered (logged with their request id)"),
    ("leadpipe_dial_check_audit_pending", "gauge", "dial-check audit records sent but not yet acknowledged"),
    ("leadpipe_dial_check_audit_skipped_total", "counter",
     "dial-check answers not recorded because LEADPIPE_DIAL_CHECK_AUDIT=false"),
)


def ack_sender(producer: AckProducer) -> Send:
    """A :data:`Send` on librdkafka (:class:`~pipeline.gateway.producer.AckProducer`): the record is
    queued in C and its delivery report comes back from another thread, so an audited answer costs
    the event loop a produce call, not a Python producer's batching and socket writes. The producer
    starts on first use, in the loop that serves the answers."""

    async def send(topic: str, key: bytes, value: bytes) -> Awaitable[None]:
        if not producer.started:
            producer.start()
        return asyncio.ensure_future(producer.send(topic, value, key))

    return send


def worker_id(web_host: str, web_port: int) -> str:
    """Which worker answered: its host name, web address and process id."""
    return f"{socket.gethostname()}/{web_host}:{web_port}/pid-{os.getpid()}"


class DialCheckAuditLog:
    """Sends audit records to ``dial-check`` in the background; counts answers, deliveries, failures."""

    def __init__(self, send: Send, codec: Codec, *, enabled: bool = True, patience_s: float = 60.0) -> None:
        self._send = send
        self._codec = codec
        self.enabled = enabled
        self.patience_s = patience_s
        """How long a record the producer refuses (not connected yet, broker down) is retried."""
        self.closing = False
        """Set by :meth:`drain` at shutdown: a refused record is then counted at once, not retried."""
        self.answers = self.sent = self.failed = self.skipped = 0
        self._pending: set[asyncio.Task[None]] = set()

    def submit(self, record: DialCheckAudit) -> None:
        """Record one answer: returns at once; the send and its delivery happen in a task."""
        self.answers += 1
        if not self.enabled:
            self.skipped += 1
            return
        task = asyncio.ensure_future(self._deliver(record))
        self._pending.add(task)  # a reference, or the loop may drop the task before it runs
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, record: DialCheckAudit) -> None:
        try:
            value = self._codec.encode(DIAL_CHECK, record)
            await self._send_patiently(record["phone_e164"].encode(), value)
        except Exception:  # counted and logged, never raised into the loop: the answer was given
            self.failed += 1
            log.exception("dial-check audit record %s (call %s) was not recorded", record["request_id"],
                          record["call_id"])
        else:
            self.sent += 1

    async def _send_patiently(self, key: bytes, value: bytes) -> None:
        """Send; while the producer refuses the write (it has not connected yet after a start, or the
        broker is down), wait and try again, up to :attr:`patience_s`. A refused write was never
        taken, so trying again cannot write it twice."""
        deadline = asyncio.get_running_loop().time() + self.patience_s
        delay = 0.05
        while True:
            try:
                delivered = await self._send(DIAL_CHECK, key, value)
                await delivered
                return
            except BrokerUnavailable:
                if self.closing or asyncio.get_running_loop().time() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def drain(self) -> None:
        """Wait for every record sent so far to be delivered or counted as failed (tests, shutdown):
        from now on a refused record is not retried."""
        self.closing = True
        await self.wait_sent()

    async def wait_sent(self) -> None:
        """Wait for every record sent so far to be delivered or counted as failed."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def metrics(self) -> str:
        """Prometheus text of the counters above."""
        values = {"leadpipe_dial_check_answers_total": self.answers, "leadpipe_dial_check_audit_sent_total": self.sent,
                  "leadpipe_dial_check_audit_failed_total": self.failed,
                  "leadpipe_dial_check_audit_pending": self.pending,
                  "leadpipe_dial_check_audit_skipped_total": self.skipped}
        lines = []
        for name, kind, help_text in _METRICS:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {values[name]}"]
        return "\n".join(lines) + "\n"
