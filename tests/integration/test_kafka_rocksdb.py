"""``LEADPIPE_STORE=rocksdb://`` on Apache Kafka: the tables live on local disk, and a worker
restarted on its warm data directory resumes from the changelog offsets RocksDB kept instead of
replaying every changelog from the start; a worker on an empty directory replays them all.

How much a worker replays is read from Faust's own recovery report in its log (the changelog
high-water marks and the offsets its reading starts at). Kafka only: on Tansu a broker restart
loses the changelogs a warm store would resume from, and production uses Kafka.
"""

from __future__ import annotations

import itertools
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from broker_kinds import BrokerFactory
from conftest import ERASURE_KEY, KEYS_DOCUMENT, NOW, READ_KEY, lead, opt_out

from pipeline.admin import ensure_topics
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.kafka_clients import EventProducer, TopicTail
from pipeline.processes import WorkerProcess
from pipeline.topics import LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration

_numbers = itertools.count(2098500)


def fresh_phone() -> str:
    while True:
        candidate = f"+1305{next(_numbers):07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def _report(text: str, title: str) -> dict[tuple[str, int], int]:
    """The last table Faust logged under ``title``: (changelog topic, partition) → offset."""
    start = text.rindex(title)
    rows: dict[tuple[str, int], int] = {}
    topic = ""
    for line in text[start:].splitlines()[4:]:  # title, border, header, border
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("+") or len(cells) != 3:
            break
        topic = topic if cells[0] == "〃" else cells[0]  # Faust writes 〃 for "same topic as above"
        rows[(topic, int(cells[1]))] = int(cells[2])
    return rows


def records_replayed(log: Path) -> int:
    """Changelog records the worker's last recovery had to read: high-water mark minus start offset."""
    text = log.read_text(encoding="utf-8")
    highwater = _report(text, "Highwater for active changelog partitions")
    starts = _report(text, "active offsets at start of reading")
    assert highwater and set(starts) <= set(highwater), "no recovery report in the worker log"
    return sum(max(0, mark - starts.get(tp, -1)) for tp, mark in highwater.items())


@pytest.fixture
def settings(broker_factory: BrokerFactory) -> Iterator[Settings]:
    broker = broker_factory("kafka", "rocksdb")
    try:
        configured = Settings(fixed_clock=NOW).with_bootstrap(broker.start())
        ensure_topics(configured)
        yield configured
    finally:
        broker.stop()


def test_a_warm_rocksdb_worker_resumes_without_replaying_the_changelogs(settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    keys = tmp_path / "api-keys.json"
    keys.write_text(json.dumps(KEYS_DOCUMENT), encoding="utf-8")
    env.update({"LEADPIPE_FIXED_CLOCK": NOW.isoformat(), "LEADPIPE_STORE": "rocksdb://",
                "LEADPIPE_API_KEYS_PATH": str(keys), "LEADPIPE_ERASURE_KEY": ERASURE_KEY,
                # exactly-once, the default on Kafka: recovery reads past transaction markers
                "LEADPIPE_PROCESSING_GUARANTEE": "exactly_once"})

    def worker(data_dir: Path, name: str) -> WorkerProcess:
        started = WorkerProcess(bootstrap=settings.bootstrap_servers or "", embedded=False,
                                env={**env, "LEADPIPE_DATA_DIR": str(data_dir)}, log_path=tmp_path / f"{name}.log")
        started.start().wait_ready(timeout_s=90)
        return started

    codec = make_codec(settings)
    producer = EventProducer(settings.kafka_client_config(), codec)
    tail = TopicTail(settings.kafka_client_config(), codec, [LEAD_DECISION]).start()
    first = worker(tmp_path / "warm", "first")
    try:
        phones = [fresh_phone() for _ in range(120)]
        blocked = phones[::3]
        for phone in blocked:
            producer.send(OPT_OUT, opt_out(phone), key=phone)
        records = [lead(phone) for phone in phones]
        for record in records:
            producer.send(LEAD_CAPTURED, record, key=record["lead_id"])
        producer.flush()
        for record in records:
            tail.wait_for(LEAD_DECISION, lambda r, lid=record["lead_id"]: r.record is not None
                          and r.record["lead_id"] == lid, timeout_s=120)
    finally:
        first.stop()  # SIGTERM: Faust commits and RocksDB keeps the tables and their offsets
        tail.stop()

    warm = worker(tmp_path / "warm", "warm")
    try:
        answers = {}
        for phone in blocked:
            url = f"{warm.url}/v1/dial-check/{urllib.parse.quote(phone)}?campaign_id=solar-q4"
            request = urllib.request.Request(url, headers={"X-API-Key": READ_KEY})  # noqa: S310 - loopback
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
                answers[phone] = json.loads(resp.read())["reasons"][0]["code"]
        assert set(answers.values()) == {"DNC_OPT_OUT"}  # the state is there, read from RocksDB
    finally:
        warm.stop()
    cold = worker(tmp_path / "cold", "cold")
    cold.stop()

    replayed_warm, replayed_cold = records_replayed(tmp_path / "warm.log"), records_replayed(tmp_path / "cold.log")
    print(f"\nchangelog records replayed at start-up: warm RocksDB {replayed_warm}, empty data dir {replayed_cold}")
    assert replayed_cold >= 2 * len(phones)  # at least a consent and a lead row per number
    assert replayed_warm <= replayed_cold // 20
    assert any((tmp_path / "warm").rglob("CURRENT")), "no RocksDB database in the worker's data dir"
