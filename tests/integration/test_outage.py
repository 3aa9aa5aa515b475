"""Broker outages: the worker recovers by itself, within 30 s, every time.

The embedded broker keeps its data in memory, so an outage here is the broker frozen (SIGSTOP) and
thawed (SIGCONT) — what a network partition or a stalled broker looks like to a client, data kept.
Half the outages outlast the consumer session timeout. The worker runs at log level WARNING, where
Faust's terminal spinner used to set the root logger to DEBUG: its /metrics shows it does not.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import NOW, lead

from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.kafka_clients import EventProducer, TopicTail
from pipeline.processes import WorkerProcess
from pipeline.topics import CALL_READY, LEAD_CAPTURED

pytestmark = pytest.mark.integration

OUTAGES = 10


def test_the_worker_recovers_from_ten_broker_outages_within_30_s(tmp_path: Path,
                                                                   us_number: Callable[[], str]) -> None:
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log")
    worker = tail = None
    try:
        settings = Settings(fixed_clock=NOW).with_bootstrap(broker.start())
        ensure_topics(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
        env["LEADPIPE_FIXED_CLOCK"] = NOW.isoformat()
        env["LEADPIPE_ERASURE_KEY"] = "outage-test-erasure-key-0123456789"
        env["LEADPIPE_OPEN_READS"] = "true"  # loopback only
        env["LEADPIPE_LOG_LEVEL"] = "warning"  # the level at which Faust's spinner once set the root to DEBUG
        worker = WorkerProcess(bootstrap=settings.bootstrap_servers or "", env=env,
                               log_path=tmp_path / "worker.log").start()
        worker.wait_ready(timeout_s=90)
        with urllib.request.urlopen(f"{worker.url}/metrics", timeout=10) as resp:  # noqa: S310 - loopback
            metrics = resp.read().decode()
        # A running worker's root logger is at the level asked for, not DEBUG (see pipeline.worker.main).
        assert f"leadpipe_worker_root_log_level {logging.WARNING}" in metrics
        codec = make_codec(settings)
        tail = TopicTail(settings.kafka_client_config(), codec, [CALL_READY]).start()
        producer = EventProducer(settings.kafka_client_config(), codec)
        recoveries = []
        for n in range(OUTAGES):
            assert broker.pid is not None
            os.kill(broker.pid, signal.SIGSTOP)
            time.sleep(7.0 if n % 2 else 2.0)  # the outage (7 s > the 6 s session timeout): its length is the point
            os.kill(broker.pid, signal.SIGCONT)
            thawed = time.monotonic()
            phone = us_number()
            record = lead(phone)
            producer.send(LEAD_CAPTURED, record, key=phone)
            producer.flush(30)
            tail.wait_for(CALL_READY, lambda r, lead_id=record["lead_id"]: r.record is not None
                          and r.record["lead_id"] == lead_id, timeout_s=60)
            recoveries.append(time.monotonic() - thawed)
        print(f"\nrecovery after each outage (s): {', '.join(f'{r:.1f}' for r in recoveries)}")
        assert max(recoveries) <= 30.0, recoveries
    finally:
        if tail is not None:
            tail.stop()
        if worker is not None:
            worker.stop()
        broker.stop()
