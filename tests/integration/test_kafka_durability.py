"""Apache Kafka stopped mid-stream (SIGTERM in one run, kill -9 in the other) under a running worker
and gateway, then started again on the same data directory and port.

What must hold: every lead the gateway answered 202 gets its decision; the worker and the gateway
recover by themselves (same processes); the group's committed offsets never go back; and no table
row is lost — a new worker recovering from the changelogs answers every dial-check exactly as the
worker that lived through the outage did. Tansu keeps nothing across a restart: Kafka only.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from broker_kinds import Broker, BrokerFactory
from confluent_kafka import Consumer, TopicPartition
from conftest import ERASURE_KEY, NOW, READ_KEY
from waiting import wait_until

from pipeline.admin import ensure_topics
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.kafka_clients import TopicTail
from pipeline.processes import GatewayProcess, WorkerProcess
from pipeline.topics import CALL_READY, INPUT_TOPICS, LEAD_DECISION

pytestmark = pytest.mark.integration

API_KEY = "durability-key-0123456789"
SENT_AT = "2026-11-24T16:59:00Z"  # the worker's clock is frozen at NOW: events say when they happened
_numbers = itertools.count(2097000)


def fresh_phone() -> str:
    while True:
        candidate = f"+1305{next(_numbers):07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


@dataclass
class Stack:
    broker: Broker
    settings: Settings
    worker: WorkerProcess
    gateway: GatewayProcess
    tail: TopicTail
    env: dict[str, str]
    log_dir: Path


@pytest.fixture(scope="module")
def stack(broker_factory: BrokerFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("durability")
    broker = broker_factory("kafka", "durability")
    processes: list[WorkerProcess | GatewayProcess] = []
    tail: TopicTail | None = None
    try:
        settings = Settings(fixed_clock=NOW).with_bootstrap(broker.start())
        ensure_topics(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
        keys = log_dir / "keys.json"
        keys.write_text(json.dumps({"keys": [
            {"key_id": "forms", "source": "web-form:quote", "key": API_KEY, "hmac_secret": None},
            {"key_id": "reads", "source": "tests", "key": READ_KEY, "hmac_secret": None, "scopes": ["read"]}]}))
        env.update({"LEADPIPE_FIXED_CLOCK": NOW.isoformat(), "LEADPIPE_API_KEYS_PATH": str(keys),
                    "LEADPIPE_ERASURE_KEY": ERASURE_KEY,
                    # exactly-once, the default on Kafka: recovery reads past transaction markers
                    "LEADPIPE_PROCESSING_GUARANTEE": "exactly_once"})
        worker = WorkerProcess(bootstrap=broker.bootstrap_servers, env=env, log_path=log_dir / "worker.log",
                               embedded=False)
        gateway = GatewayProcess(bootstrap=broker.bootstrap_servers, api_keys_path=keys, env=env,
                                 extra_env={"LEADPIPE_GATEWAY_DELIVERY_TIMEOUT_S": "2"},
                                 log_path=log_dir / "gateway.log")
        for process in (worker, gateway):
            processes.append(process.start())
        worker.wait_ready(timeout_s=90)
        gateway.wait_ready(timeout_s=60)
        tail = TopicTail(settings.kafka_client_config(), make_codec(settings), [LEAD_DECISION, CALL_READY]).start()
        handle = Stack(broker, settings, worker, gateway, tail, env, log_dir)
        yield handle
        processes[0] = handle.worker
    finally:
        if tail is not None:
            tail.stop()
        for process in reversed(processes):
            process.stop()
        broker.stop()


def post(gateway: GatewayProcess, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{gateway.url}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class Feeder:
    """Posts a lead for a new number every few milliseconds, and an opt-out for every fourth
    number whose lead was accepted, until stopped; keeps what the gateway answered."""

    gateway: GatewayProcess
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (lead_id, phone) answered 202
    opted_out: list[str] = field(default_factory=list)  # phones whose opt-out was answered 202
    opt_outs_tried: list[str] = field(default_factory=list)  # every phone an opt-out was posted for
    statuses: dict[int, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # lead ids and emails unique per run

    def run(self) -> None:
        for n in itertools.count():
            if self.stop.is_set():
                return
            phone, lead_id = fresh_phone(), f"L-durable-{self.run_id}-{n}"
            status = post(self.gateway, "/v1/leads", {
                "phone": phone, "country": "US", "campaign_id": "solar-q4", "lead_id": lead_id, "occurred_at": SENT_AT,
                "first_name": "Dara", "email": f"dara.{self.run_id}.{n}@example.com",
                "consent": {"purpose": "marketing", "channel": "ANY", "granted_at": "2026-11-24T16:58:00Z"},
                "attributes": {"timeline": "this_month"}})
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 202:
                self.accepted.append((lead_id, phone))
                if n % 4 == 0:
                    self.opt_outs_tried.append(phone)
                if n % 4 == 0 and post(self.gateway, "/v1/opt-outs", {"phone": phone, "country": "US",
                                                                     "occurred_at": SENT_AT}) == 202:
                    self.opted_out.append(phone)
            time.sleep(0.02)


def committed_offsets(settings: Settings) -> dict[tuple[str, int], int]:
    """The worker group's committed offset on every input partition (OffsetFetch; no group join)."""
    consumer = Consumer({**settings.kafka_client_config(), "group.id": settings.app_id})
    try:
        partitions = [TopicPartition(t, p) for t in INPUT_TOPICS for p in range(settings.partitions)]
        return {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(partitions, timeout=30)}
    finally:
        consumer.close()


def worker_health(worker: WorkerProcess) -> str:
    """The worker's own account of itself (what it waits for), for a failure message."""
    try:
        with urllib.request.urlopen(f"{worker.url}/healthz", timeout=10) as resp:  # noqa: S310 - loopback
            return resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read().decode(errors='replace')}"
    except OSError as exc:
        return f"unreachable ({exc})"


def dial_checks(worker: WorkerProcess, phones: list[str]) -> dict[str, tuple[bool, tuple[str, ...]]]:
    answers = {}
    for phone in phones:
        url = f"{worker.url}/v1/dial-check/{urllib.parse.quote(phone)}?campaign_id=solar-q4"
        request = urllib.request.Request(url, headers={"X-API-Key": READ_KEY})  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
            answer = json.loads(resp.read())
        answers[phone] = (bool(answer["allowed"]), tuple(r["code"] for r in answer["reasons"]))
    return answers


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill-9"])
def test_kafka_stopped_mid_stream_loses_no_acknowledged_lead_offset_or_row(stack: Stack, kill: bool) -> None:
    worker_pid, gateway_pid = stack.worker.pid, stack.gateway.pid
    feeder = Feeder(stack.gateway)
    thread = threading.Thread(target=feeder.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(feeder.accepted) >= 60, timeout_s=60, what="60 leads accepted before the stop")
        before = committed_offsets(stack.settings)
        accepted_before = len(feeder.accepted)
        if kill:
            stack.broker.kill()
        else:
            stack.broker.stop()
        refused_at_stop = feeder.statuses.get(503, 0)
        wait_until(lambda: feeder.statuses.get(503, 0) >= refused_at_stop + 5, timeout_s=30,
                   what="the gateway refusing (503) while Kafka is down")
        stack.broker.start()  # same data dir, same port
        accepted_at_restart = len(feeder.accepted)
        wait_until(lambda: len(feeder.accepted) >= accepted_at_restart + 60, timeout_s=120,
                   what="60 more leads accepted after the restart")
    finally:
        feeder.stop.set()
        thread.join(30)

    decided = {}
    for number, (lead_id, _) in enumerate(feeder.accepted):
        try:
            [decision, *_] = stack.tail.wait_for(LEAD_DECISION, lambda r, lid=lead_id: r.record is not None
                                                 and r.record["lead_id"] == lid, timeout_s=120)
        except TimeoutError as exc:
            raise AssertionError(f"accepted lead {number + 1} of {len(feeder.accepted)} (accepted before the stop: "
                                 f"{accepted_before}) never decided; worker /healthz: "
                                 f"{worker_health(stack.worker)}") from exc
        decided[lead_id] = decision
    def applied(phone: str) -> bool:
        """The opt-out withdrew the number's offer, or (re-keyed first) suppressed its lead."""
        return any(r.record is not None and r.record["phone_e164"] == phone and r.record["action"] == "WITHDRAW"
                   for r in stack.tail.records(CALL_READY)) or any(
            r.record is not None and r.record["phone_e164"] == phone and r.record["outcome"] == "SUPPRESSED"
            for r in stack.tail.records(LEAD_DECISION))

    wait_until(lambda: all(applied(phone) for phone in feeder.opted_out), timeout_s=60,
               what="every accepted opt-out applied")
    after = committed_offsets(stack.settings)
    assert all(after[tp] >= offset for tp, offset in before.items()), (before, after)
    assert stack.worker.pid == worker_pid and stack.worker.alive(), "the worker did not ride out the outage"
    assert stack.gateway.pid == gateway_pid and stack.gateway.alive(), "the gateway did not ride out the outage"

    phones = [phone for _, phone in feeder.accepted]
    lived_through = dial_checks(stack.worker, phones)
    stack.worker.kill()  # a new worker must rebuild every row from the changelogs Kafka kept
    stack.worker = WorkerProcess(bootstrap=stack.broker.bootstrap_servers, env=stack.env, embedded=False,
                                 log_path=stack.log_dir / f"worker-after-{'kill' if kill else 'sigterm'}.log").start()
    stack.worker.wait_ready(timeout_s=90)
    recovered = dial_checks(stack.worker, phones)
    assert recovered == lived_through
    blocked = {phone for phone, (allowed, _) in recovered.items() if not allowed}
    # Every acknowledged opt-out blocks; a 503 may still have been written (its acknowledgement lost
    # with the broker), as a caller's retry would be: no number is blocked without an opt-out posted.
    assert set(feeder.opted_out) <= blocked, {p: recovered[p] for p in set(feeder.opted_out) - blocked}
    assert blocked <= set(feeder.opt_outs_tried), {p: recovered[p] for p in blocked - set(feeder.opt_outs_tried)}
    assert {codes[0] for phone, (_, codes) in recovered.items() if phone in blocked} == {"DNC_OPT_OUT"}
    ours = {lead_id for lead_id, _ in feeder.accepted}
    ids = [r.record["decision_id"] for r in stack.tail.records(LEAD_DECISION)
           if r.record is not None and r.record["lead_id"] in ours]
    repeated = len(ids) - len(set(ids))  # at-least-once: a decision written again after a replay
    print(f"\n[{'kill -9' if kill else 'SIGTERM'}] gateway answers {feeder.statuses}; accepted {len(feeder.accepted)} "
          f"({accepted_before} before the stop), opt-outs acknowledged {len(feeder.opted_out)} "
          f"(blocked: {len(blocked)}); decisions for "
          f"{len(decided)}/{len(feeder.accepted)} accepted leads, {repeated} repeated; committed input offsets "
          f"{sum(max(o, 0) for o in before.values())} before the stop, "
          f"{sum(max(o, 0) for o in after.values())} after; dial-check answers equal after "
          f"a worker recovery for {len(phones)} numbers")
