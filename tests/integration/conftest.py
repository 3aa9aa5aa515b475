"""Integration harness: a real broker — the embedded Tansu one and Apache Kafka, per ``--broker``
(tests/conftest.py) — a real ``leadpipe worker`` process, plain confluent-kafka clients writing and
reading real Avro bytes. Nothing is mocked. On Kafka the worker runs with Faust's recovery
consistency check on; on Tansu off (its high-water marks can be short by a batch).

One broker and one worker per broker kind serve the whole session (a worker takes ~4 s to join its group);
tests stay independent by using numbers and lead ids no other test uses. The decision clock is
frozen at a Tuesday noon in New York so call windows are deterministic. It is read from a file
(``LEADPIPE_CLOCK_FILE``) so a test can move it across days with ``Pipeline.clock_moved()``, which
puts it back at NOW afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import phonenumbers
import pytest
from broker_kinds import Broker

from pipeline.admin import ensure_topics
from pipeline.codec import Codec, make_codec
from pipeline.config import Settings
from pipeline.kafka_clients import EventProducer, Received, TopicTail, wait_group_caught_up
from pipeline.processes import WorkerProcess
from pipeline.topics import (
    CALL_READY,
    DEAD_LETTER,
    DIAL_CHECK,
    INPUT_TOPICS,
    LEAD_DECISION,
    QUALIFIED_LEAD,
    number_events_topic,
)
from pipeline.worker.app import partitioner

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # Tue 12:00 in New York: inside every US window
READ_KEY = "integration-read-key-0123456789"
"""The key tests send to the worker's dial-check and /metrics (scope read)."""
KEYS_DOCUMENT = {"keys": [
    {"key_id": "tests-read", "source": "tests", "key": READ_KEY, "hmac_secret": None, "scopes": ["read"]},
    {"key_id": "tests-write", "source": "tests", "key": "integration-write-key-0123456789", "hmac_secret": None},
]}
ERASURE_KEY = "integration-tests-erasure-key-0123456789"


class Pipeline:
    """Handles to the running system for a test."""

    def __init__(self, settings: Settings, worker: WorkerProcess, producer: EventProducer, tail: TopicTail,
                 codec: Codec, env: dict[str, str], log_dir: Path, clock_file: Path | None = None, *,
                 broker: Broker) -> None:
        self.settings = settings
        self.broker = broker
        self.worker = worker
        self.producer = producer
        self.tail = tail
        self.codec = codec
        self.env = env
        self.log_dir = log_dir
        self._restarts = itertools.count(1)
        self.clock_file = clock_file
        self.read_headers = {"X-API-Key": READ_KEY}
        """Headers of a request with the read scope (dial-check, /metrics)."""

    def read(self, url: str) -> bytes:
        """GET ``url`` on a worker with the read key; HTTPError for an answer other than 2xx."""
        request = urllib.request.Request(url, headers=self.read_headers)  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
            return bytes(resp.read())

    def set_clock(self, at: datetime) -> None:
        """Move the worker's decision clock to ``at`` (it reads the file on every decision and tick)."""
        if self.clock_file is None:
            raise RuntimeError("the worker was started without LEADPIPE_CLOCK_FILE")
        scratch = self.clock_file.with_suffix(".tmp")
        scratch.write_text(at.isoformat(), encoding="utf-8")
        scratch.replace(self.clock_file)  # atomic: the worker never reads half an instant

    @contextmanager
    def clock_moved(self) -> Iterator[Callable[[datetime], None]]:
        """Yield ``set_clock``; the clock is back at NOW afterwards, whatever happened."""
        try:
            yield self.set_clock
        finally:
            self.set_clock(NOW)

    def send(self, topic: str, record: dict[str, Any], key: str | None = None) -> None:
        self.producer.send(topic, record, key=key)
        self.producer.flush()

    def outputs(self, topic: str, /, **match: Any) -> list[dict[str, Any]]:
        return [r.record for r in self.tail.records(topic) if r.record is not None and _matches(r, match)]

    def wait(self, topic: str, /, *, timeout_s: float = 30.0, count: int = 1, **match: Any) -> list[dict[str, Any]]:
        found = self.tail.wait_for(topic, lambda r: _matches(r, match), timeout_s=timeout_s, count=count)
        return [r.record for r in found if r.record is not None]

    def partition_of(self, phone: str) -> int:
        """The partition a number's events and table rows live on (Kafka's murmur2 of the E.164 key)."""
        return int(partitioner(self.settings.partitions)(phone.encode()))

    def dial_check(self, phone: str, **query: str) -> dict[str, Any]:
        """The worker's dial-time check for ``phone`` (any status: a 4xx body is returned too)."""
        url = (f"{self.worker.url}/v1/dial-check/{urllib.parse.quote(phone)}?"
               f"{urllib.parse.urlencode({'campaign_id': 'solar-q4', **query})}")
        try:
            return cast(dict[str, Any], json.loads(self.read(url)))
        except urllib.error.HTTPError as exc:
            return cast(dict[str, Any], json.loads(exc.read()))

    def wait_blocked(self, phone: str, code: str = "DNC_OPT_OUT", *, timeout_s: float = 30.0) -> dict[str, Any]:
        """Wait until the worker's dial-check blocks ``phone`` with ``code``: proof that the event
        behind it (an opt-out, a revocation...) was applied, so later events for the number are
        decided after it. Returns that answer."""
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self.dial_check(phone)
            if not answer.get("allowed", True) and any(r["code"] == code for r in answer.get("reasons", [])):
                return answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"dial-check of {phone} never blocked with {code}: last answer {answer}")
            time.sleep(0.05)

    def wait_settled(self, timeout_s: float = 60.0) -> None:
        """Wait until the worker's group has committed every input and ``number-events`` record.
        At-least-once, a worker commits an offset only after the rows that record changed are
        acknowledged (exactly-once, on Kafka: committed with them), so after this a kill -9 replays
        nothing: what a new worker does next can only come from the recovered tables. (Without it, a
        kill right after an output was seen may replay the input — at the new worker's clock.)"""
        number_events = number_events_topic(self.settings.app_id)
        wait_group_caught_up(self.settings.kafka_client_config(), self.settings.app_id,
                             [*INPUT_TOPICS, number_events], timeout_s=timeout_s,
                             marker_topics=[number_events] if self.on_kafka else [])  # exactly-once there

    def restart_worker(self, *, kill: bool, clock: datetime = NOW, extra_env: dict[str, str] | None = None) -> None:
        """Stop the worker (kill -9 or SIGTERM) and start a new one, with its clock frozen at
        ``clock``, that must recover the tables."""
        if kill:
            self.worker.kill()
        else:
            self.worker.stop()
        n = next(self._restarts)
        env = {**self.env, "LEADPIPE_FIXED_CLOCK": clock.isoformat(), **(extra_env or {})}
        if self.clock_file is not None:  # the clock file wins over LEADPIPE_FIXED_CLOCK
            self.set_clock(clock)
        self.worker = self.new_worker(env=env, log_path=self.log_dir / f"worker-{n}.log").start()
        self.worker.wait_ready(timeout_s=90)

    @property
    def on_kafka(self) -> bool:
        return self.broker.kind == "kafka"

    def new_worker(self, *, env: dict[str, str] | None = None, log_path: Path) -> WorkerProcess:
        """An unstarted worker on this pipeline's broker (recovery consistency check on for Kafka)."""
        return WorkerProcess(bootstrap=self.settings.bootstrap_servers or "", env=self.env if env is None else env,
                             log_path=log_path, embedded=not self.on_kafka)


def _matches(r: Received, match: dict[str, Any]) -> bool:
    return r.record is not None and all(r.record.get(k) == v for k, v in match.items())


@pytest.fixture(scope="session")
def pipeline(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    log_dir = tmp_path_factory.mktemp(f"logs-{broker.kind}")
    worker: WorkerProcess | None = None
    tail: TopicTail | None = None
    try:
        settings = Settings(fixed_clock=NOW).with_bootstrap(broker.bootstrap_servers)
        ensure_topics(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
        env["LEADPIPE_FIXED_CLOCK"] = NOW.isoformat()
        clock_file = log_dir / "clock"
        clock_file.write_text(NOW.isoformat(), encoding="utf-8")
        env["LEADPIPE_CLOCK_FILE"] = str(clock_file)
        env["LEADPIPE_RELEASE_INTERVAL_S"] = "0.5"
        keys_file = log_dir / "api-keys.json"
        keys_file.write_text(json.dumps(KEYS_DOCUMENT), encoding="utf-8")
        env["LEADPIPE_API_KEYS_PATH"] = str(keys_file)
        env["LEADPIPE_ERASURE_KEY"] = ERASURE_KEY
        worker = WorkerProcess(bootstrap=settings.bootstrap_servers or "", env=env,
                               log_path=log_dir / "worker-0.log", embedded=broker.kind == "tansu").start()
        worker.wait_ready(timeout_s=90)
        codec = make_codec(settings)
        tail = TopicTail(settings.kafka_client_config(), codec,
                         [CALL_READY, LEAD_DECISION, QUALIFIED_LEAD, DEAD_LETTER, DIAL_CHECK,
                          number_events_topic(settings.app_id)]).start()
        handle = Pipeline(settings, worker, EventProducer(settings.kafka_client_config(), codec), tail, codec,
                          env, log_dir, clock_file, broker=broker)
        yield handle
        worker = handle.worker
    finally:
        if tail is not None:
            tail.stop()
        if worker is not None:
            worker.stop()


_numbers = itertools.count(2094000)


@pytest.fixture
def us_number() -> Callable[[], str]:
    """A fresh valid Florida number (E.164) on every call."""

    def make() -> str:
        while True:
            candidate = f"+1305{next(_numbers):07d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                return candidate

    return make


def new_id() -> str:
    return str(uuid.uuid4())


def consent_proof(at: datetime = NOW - timedelta(minutes=5)) -> dict[str, Any]:
    return {"purpose": "marketing", "channel": "ANY", "granted_at": at,
            "form_url": "https://example.com/quote", "consent_text": "I agree to be called about solar quotes.",
            "certificate_id": "cert-" + new_id()[:8], "ip": "203.0.113.7", "expires_at": None}


def lead(phone: str, *, lead_id: str | None = None, country: str | None = "US", consent: bool = True,
         campaign_id: str = "solar-q4", **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": new_id(), "occurred_at": NOW - timedelta(minutes=1),
        "lead_id": lead_id or "L-" + new_id()[:8], "source": "web-form:quote", "campaign_id": campaign_id,
        "phone": phone, "country": country, "first_name": "Ana", "last_name": "Silva",
        "email": f"ana.silva.{new_id()[:8]}@example.com", "address": None,  # unique: leads dedupe by email
        "consent": consent_proof() if consent else None, "attributes": {"timeline": "this_month"},
    }
    record.update(extra)
    return record


def opt_out(phone: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": new_id(), "occurred_at": NOW - timedelta(minutes=2), "phone": phone, "country": "US",
        "action": "ADD", "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None,
        "expires_at": None, "source": "sms-keyword:STOP", "reason": "replied STOP", "evidence": "msg-123",
    }
    record.update(extra)
    return record


def call_outcome(phone: str, lead_id: str, outcome: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": new_id(), "occurred_at": NOW, "lead_id": lead_id, "phone": phone, "country": None,
        "campaign_id": "solar-q4", "outcome": outcome, "agent_id": "agent-7", "notes": None, "callback_at": None,
        "dnc_scope": None, "answers": {}, "tags": [],
    }
    record.update(extra)
    return record
