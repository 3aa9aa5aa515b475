"""``leadpipe bench --recovery``: how long a cold worker takes to rebuild its tables from Kafka.

A real worker writes one suppression (an opt-out through the pipeline); its changelog record is
the template for ``--rows`` more, one per number, written straight onto the suppressions
changelog with the worker's partitioner. Then a worker with an empty data directory starts
(``--store``, rocksdb:// by default) and the time from its start to ready — partitions assigned,
every changelog read, ``/healthz`` ready — is printed, with one number's dial-check answered from
the recovered table as a check. The goal: 1,000,000 rows in at most 30 s.

Runs on ``LEADPIPE_BOOTSTRAP_SERVERS`` when set (a fresh app id, so fresh topics), else on a local
Apache Kafka it starts and removes (``leadpipe kafka``'s broker). A benchmark, not a test: run it
on a quiet machine.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from pipeline.admin import ensure_topics
from pipeline.bench.end_to_end import BENCH_NOW
from pipeline.config import Settings
from pipeline.errors import LeadpipeError
from pipeline.kafka_broker import KafkaBroker
from pipeline.kafka_clients import PARTITIONER, EventProducer
from pipeline.processes import WorkerProcess
from pipeline.topics import OPT_OUT, TABLE_SUPPRESSIONS, changelog_topic

RECOVERY_GOAL_S = 30.0


def _template_row(settings: Settings, workdir: Path, env: dict[str, str]) -> tuple[str, bytes]:
    """One real suppression row: the number and the changelog value the worker wrote for it."""
    from pipeline.codec import make_codec

    phone = "+13052094411"
    worker = WorkerProcess(bootstrap=settings.bootstrap_servers or "", env=env, embedded=False,
                           log_path=workdir / "worker-template.log").start()
    try:
        worker.wait_ready(timeout_s=120)
        producer = EventProducer(settings.kafka_client_config(), make_codec(settings))
        producer.send(OPT_OUT, {
            "event_id": str(uuid.uuid4()), "occurred_at": BENCH_NOW - timedelta(minutes=1), "phone": phone,
            "country": "US", "action": "ADD", "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None,
            "expires_at": None, "source": "bench:recovery", "reason": "template row", "evidence": None,
        }, key=phone)
        producer.flush()
        return phone, _read_row(settings, phone.encode())
    finally:
        worker.stop()


def _read_row(settings: Settings, key: bytes, timeout_s: float = 60.0) -> bytes:
    topic = changelog_topic(settings.app_id, TABLE_SUPPRESSIONS)
    consumer = Consumer({**settings.kafka_client_config(), "group.id": f"bench-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(settings.partitions)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None and msg.key() == key and msg.value():
                return bytes(msg.value() or b"")
    finally:
        consumer.close()
    raise LeadpipeError(f"the worker wrote no suppression row for {key.decode()} within {timeout_s}s")


def _numbers(rows: int) -> list[str]:
    """``rows`` distinct US numbers (valid NANP shapes over four area codes)."""
    return [f"+1{(212, 305, 415, 617)[i % 4]}{2000000 + i // 4:07d}" for i in range(rows)]


def _write_rows(settings: Settings, template_phone: str, template: bytes, numbers: list[str]) -> float:
    producer = Producer({**settings.kafka_client_config(), "partitioner": PARTITIONER, "linger.ms": 20,
                         "batch.num.messages": 10000, "acks": "all"})  # uncompressed, as Faust writes changelogs
    topic = changelog_topic(settings.app_id, TABLE_SUPPRESSIONS)
    started = time.monotonic()
    needle = template_phone.encode()
    for phone in numbers:
        encoded = phone.encode()
        while True:
            try:
                producer.produce(topic, template.replace(needle, encoded), key=encoded)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(300) != 0:
        raise LeadpipeError("not every changelog row was acknowledged within 300 s")
    return time.monotonic() - started


def run_recovery_bench(settings: Settings, *, rows: int, store: str) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="leadpipe-bench-recovery-"))
    broker = None
    finished = False
    try:
        if settings.embedded:
            broker = KafkaBroker(workdir / "kafka", log_path=workdir / "kafka.log")
            print(f"starting Apache Kafka {broker.version} in {workdir / 'kafka'} ...", flush=True)
            settings = settings.with_bootstrap(broker.start())
        settings = dataclasses.replace(settings, app_id=f"recovery-bench-{uuid.uuid4().hex[:6]}")
        ensure_topics(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
        env.update({"LEADPIPE_APP_ID": settings.app_id, "LEADPIPE_PARTITIONS": str(settings.partitions),
                    "LEADPIPE_FIXED_CLOCK": BENCH_NOW.isoformat(), "LEADPIPE_DATA_DIR": str(workdir / "template"),
                    # A throwaway key for throwaway rows; reads open on loopback for the one dial-check.
                    "LEADPIPE_ERASURE_KEY": secrets.token_urlsafe(32), "LEADPIPE_OPEN_READS": "true"})
        template_phone, template = _template_row(settings, workdir, env)
        numbers = _numbers(rows)
        took = _write_rows(settings, template_phone, template, numbers)
        print(f"wrote {rows:,} suppression rows ({len(template)} bytes each) onto "
              f"{changelog_topic(settings.app_id, TABLE_SUPPRESSIONS)} in {took:.1f} s", flush=True)

        cold = WorkerProcess(bootstrap=settings.bootstrap_servers or "", embedded=False,
                             env={**env, "LEADPIPE_STORE": store, "LEADPIPE_DATA_DIR": str(workdir / "cold")},
                             log_path=workdir / "worker-cold.log")
        started = time.monotonic()
        cold.start()
        try:
            cold.wait_ready(timeout_s=1800)
            recovery_s = time.monotonic() - started
            sample = numbers[rows // 2]
            url = f"{cold.url}/v1/dial-check/{urllib.parse.quote(sample)}?campaign_id=solar-q4"
            with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback
                answer = json.loads(resp.read())
        finally:
            cold.stop()
        codes = [r["code"] for r in answer.get("reasons", [])]
        verdict = "met" if recovery_s <= RECOVERY_GOAL_S else "NOT met"
        print(f"cold worker ({store}) start → ready with {rows + 1:,} table rows: {recovery_s:.1f} s "
              f"({(rows + 1) / recovery_s:,.0f} rows/s); goal ≤ {RECOVERY_GOAL_S:.0f} s: {verdict}", flush=True)
        print(f"check: dial-check {sample} → allowed={answer.get('allowed')} reasons={codes}", flush=True)
        finished = True
        return 0 if "DNC_OPT_OUT" in codes else 1
    finally:
        if broker is not None:
            broker.stop()
        if finished:
            shutil.rmtree(workdir, ignore_errors=True)
        else:  # keep the logs of what went wrong
            print(f"logs kept in {workdir}", flush=True)
