"""The worker's dial-check audit sender: the answer never waits for the broker, and a record that
is not delivered is counted on /metrics, never dropped in silence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.codec import SchemaStore, SingleObjectCodec
from pipeline.events import DialCheckAudit
from pipeline.gateway.producer import BrokerUnavailable
from pipeline.topics import DIAL_CHECK
from pipeline.worker.audit import DialCheckAuditLog

T0 = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
RECORD: DialCheckAudit = {
    "event_id": "req-1", "occurred_at": T0, "request_id": "req-1", "call_id": "call-1", "lead_id": None,
    "phone_e164": "+13052094411", "campaign_id": "solar-q4", "channel": "AUTODIALED_VOICE", "purpose": "marketing",
    "at": T0, "allowed": True, "reasons": [{"code": "CALLABLE", "rule_id": "decision.callable", "detail": "ok"}],
    "rules_fired": ["decision.callable"], "seconds_left": 60, "callable_from": T0, "callable_until": T0,
    "state_as_of": T0, "state_note": "today's state", "rule_pack_version": "2026.11.2", "worker_id": "w",
}
CODEC = SingleObjectCodec(SchemaStore())


class Broker:
    """Stands in for the producer: queues at once, delivers when told, or fails."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.queued: list[tuple[str, bytes, bytes]] = []
        self.deliveries: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        self.queued.append((topic, key, value))
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail:
            delivery.set_exception(ConnectionError("broker down"))
        self.deliveries.append(delivery)
        return delivery


def metric(log: DialCheckAuditLog, name: str) -> int:
    return int(next(line.split()[1] for line in log.metrics().splitlines() if line.startswith(name + " ")))


async def test_submit_returns_before_delivery_and_counts_it_when_the_broker_acknowledges() -> None:
    broker = Broker()
    log = DialCheckAuditLog(broker.send, CODEC)
    log.submit(RECORD)  # not awaited: the answer goes out now
    assert (log.answers, log.pending, broker.queued) == (1, 1, [])
    await asyncio.sleep(0)
    [(topic, key, value)] = broker.queued
    assert (topic, key, CODEC.decode(value).record) == (DIAL_CHECK, b"+13052094411", RECORD)
    assert metric(log, "leadpipe_dial_check_audit_pending") == 1  # queued, not yet acknowledged
    broker.deliveries[0].set_result(None)
    await log.drain()
    assert (metric(log, "leadpipe_dial_check_audit_sent_total"), log.pending) == (1, 0)


async def test_a_record_the_broker_does_not_take_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    log = DialCheckAuditLog(Broker(fail=True).send, CODEC)
    log.submit(RECORD)
    await log.drain()
    assert (metric(log, "leadpipe_dial_check_audit_failed_total"), log.sent) == (1, 0)
    assert "req-1" in caplog.text and "call-1" in caplog.text


class Starting(Broker):
    """A producer that refuses the first ``refusals`` writes, as one does before it has connected."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        if self.refusals > 0:
            self.refusals -= 1
            raise BrokerUnavailable("not connected yet")
        delivery = await super().send(topic, key, value)
        delivery.set_result(None)
        return delivery


async def test_a_record_refused_while_the_producer_connects_is_sent_once_it_has() -> None:
    broker = Starting(refusals=3)
    log = DialCheckAuditLog(broker.send, CODEC)
    log.submit(RECORD)
    await log.wait_sent()
    assert (log.sent, log.failed, len(broker.queued)) == (1, 0, 1)


async def test_at_shutdown_a_refused_record_is_counted_at_once_not_retried() -> None:
    log = DialCheckAuditLog(Starting(refusals=1_000).send, CODEC)
    log.submit(RECORD)
    await asyncio.wait_for(log.drain(), timeout=5)  # the 60 s patience does not hold up a stop
    assert (log.sent, log.failed) == (0, 1)


async def test_a_producer_that_stays_down_gets_the_record_counted_as_failed_after_the_patience() -> None:
    log = DialCheckAuditLog(Starting(refusals=1_000).send, CODEC, patience_s=0.3)
    log.submit(RECORD)
    await log.wait_sent()
    assert (log.sent, log.failed) == (0, 1)


async def test_switched_off_it_sends_nothing_and_counts_what_it_skipped() -> None:
    broker = Broker()
    log = DialCheckAuditLog(broker.send, CODEC, enabled=False)
    log.submit(RECORD)
    await log.drain()
    assert (broker.queued, metric(log, "leadpipe_dial_check_audit_skipped_total"), log.answers) == ([], 1, 1)
