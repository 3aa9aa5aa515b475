"""The CRM connector end to end: real broker, real Avro, real `leadpipe crm` and `leadpipe crm-sink`
processes talking HTTP on loopback. The sink fails on purpose; nothing is mocked.

Each test gets its own broker (Tansu: about a second to start; Apache Kafka for the exactly-once
test's second run: a few seconds), so every consumer group reads only that
test's records from the beginning of ``qualified-lead``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from broker_kinds import BrokerFactory
from confluent_kafka import Producer
from waiting import wait_until

from connectors.demo.crm_local import start_local_crm
from pipeline.admin import ensure_topics
from pipeline.broker import free_port
from pipeline.codec import Codec, make_codec
from pipeline.config import Settings
from pipeline.kafka_clients import EventProducer, TopicTail
from pipeline.processes import ServiceProcess
from pipeline.topics import DEAD_LETTER, OPT_OUT, QUALIFIED_LEAD
from pipeline.worker.app import partitioner

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
READ_KEY = "crm-tests-read-key-0123456789"
WRITE_KEY = "crm-tests-write-key-0123456789"
KEYS_DOCUMENT = {"keys": [
    {"key_id": "ops", "source": "ops", "key": READ_KEY, "hmac_secret": None, "scopes": ["read"]},
    {"key_id": "web", "source": "web", "key": WRITE_KEY, "hmac_secret": None, "scopes": ["write"]},
]}


def read(url: str, key: str = READ_KEY) -> bytes:
    request = urllib.request.Request(url, headers={"X-API-Key": key})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback
        return bytes(resp.read())


class Bench:
    """A broker with the topics, a producer, and helpers to start the sink and connectors."""

    def __init__(self, settings: Settings, codec: Codec, log_dir: Path) -> None:
        self.settings = settings
        self.codec = codec
        self.log_dir = log_dir
        self.producer = EventProducer(settings.kafka_client_config(), codec)
        self.processes: list[ServiceProcess] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
        keys_file = log_dir / "api-keys.json"
        keys_file.write_text(json.dumps(KEYS_DOCUMENT), encoding="utf-8")
        self.env["LEADPIPE_API_KEYS_PATH"] = str(keys_file)  # the connector's /metrics needs READ_KEY

    def sink(self, *args: str) -> ServiceProcess:
        port = free_port()
        sink = ServiceProcess(["crm-sink", "--port", str(port), *args], env=self.env, web_port=port,
                              log_path=self.log_dir / f"sink-{port}.log")
        self.processes.append(sink.start())
        sink.wait_ready(timeout_s=30)
        return sink

    def connector(self, url: str, *, group: str = "crm-test", **settings: str) -> ServiceProcess:
        port = free_port()
        extra = {
            "LEADPIPE_BOOTSTRAP_SERVERS": self.settings.bootstrap_servers or "", "LEADPIPE_CRM_URL": url,
            "LEADPIPE_CRM_PORT": str(port), "LEADPIPE_CRM_GROUP_ID": group,
            "LEADPIPE_CRM_BACKOFF_BASE_S": "0.02", "LEADPIPE_CRM_BACKOFF_CAP_S": "0.2", "LEADPIPE_CRM_TIMEOUT_S": "5",
            **{f"LEADPIPE_{k.upper()}": v for k, v in settings.items()},
        }
        connector = ServiceProcess(["crm"], env=self.env, extra_env=extra, web_port=port,
                                   log_path=self.log_dir / f"crm-{port}.log")
        self.processes.append(connector.start())
        connector.wait_ready(timeout_s=60)
        return connector

    def send_one_per_partition(self) -> list[tuple[dict[str, Any], bytes]]:
        """One qualified lead on each partition of qualified-lead (keys chosen by their hash)."""
        return _send_one_per_partition(self)

    def send_leads(self, count: int, **extra: Any) -> list[tuple[dict[str, Any], bytes]]:
        """Produce ``count`` qualified leads; return each record with the exact bytes sent."""
        sent = []
        for _ in range(count):
            record = qualified_lead(**extra)
            value = self.codec.encode(QUALIFIED_LEAD, record)
            self.producer.send_raw(QUALIFIED_LEAD, value, key=record["phone_e164"])
            sent.append((record, value))
        self.producer.flush()
        return sent


def _send_one_per_partition(bench: Bench) -> list[tuple[dict[str, Any], bytes]]:
    partition_of = partitioner(bench.settings.partitions)
    wanted = set(range(bench.settings.partitions))
    chosen: list[dict[str, Any]] = []
    while wanted:
        record = qualified_lead()
        partition = partition_of(record["phone_e164"].encode())
        if partition in wanted:
            wanted.discard(partition)
            chosen.append(record)
    sent = []
    for record in chosen:
        value = bench.codec.encode(QUALIFIED_LEAD, record)
        bench.producer.send_raw(QUALIFIED_LEAD, value, key=record["phone_e164"])
        sent.append((record, value))
    bench.producer.flush()
    return sent


def qualified_lead(**extra: Any) -> dict[str, Any]:
    n = uuid.uuid4().int % 10_000_000
    record: dict[str, Any] = {
        "event_id": str(uuid.uuid4()), "occurred_at": NOW, "lead_id": f"L-{n}", "phone_e164": f"+1305{n:07d}",
        "campaign_id": "solar-q4", "source": "web-form:quote", "first_name": "Ana", "last_name": "Silva",
        "email": "ana@example.com", "agent_id": "agent-7", "outcome": "QUALIFIED", "notes": None,
        "answers": {"company": "Silva Roofing"}, "score": 40.0, "score_breakdown": [],
        "captured_at": NOW - timedelta(hours=1), "consent_certificate_id": None, "outcome_event_id": str(uuid.uuid4()),
    }
    record.update(extra)
    return record


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback test server
        return dict(json.loads(resp.read()))


@pytest.fixture
def bench(request: pytest.FixtureRequest, broker_factory: BrokerFactory, tmp_path: Path) -> Iterator[Bench]:
    """A fresh broker: Tansu, or the test's ``broker_kind`` when it takes one."""
    kind = str(request.getfixturevalue("broker_kind")) if "broker_kind" in request.fixturenames else "tansu"
    broker = broker_factory(kind, "crm")
    handle: Bench | None = None
    try:
        settings = Settings().with_bootstrap(broker.start())
        ensure_topics(settings)
        handle = Bench(settings, make_codec(settings), tmp_path)
        yield handle
    finally:
        if handle is not None:
            for process in reversed(handle.processes):
                process.stop()
        broker.stop()


def stored_keys(sink: ServiceProcess) -> list[str]:
    return [lead["idempotency_key"] for lead in get_json(f"{sink.url}/received")["leads"]]


def test_every_lead_reaches_a_flaky_crm_exactly_once(broker_kind: str, bench: Bench) -> None:
    # 30 % of requests fail before storing; 20 % are stored and then answered with a failure, so the
    # connector retries requests that in fact succeeded: only the idempotency key prevents duplicates.
    sent = bench.send_leads(40)
    crm = start_local_crm(bench.settings.bootstrap_servers or "", log_dir=bench.log_dir, preset="hubspot",
                          env=bench.env, read_key=READ_KEY,
                          sink_args=["--failure-rate", "0.3", "--fail-after-store-rate", "0.2", "--seed", "11"],
                          connector_env={"LEADPIPE_CRM_MAX_ATTEMPTS": "30", "LEADPIPE_CRM_BACKOFF_BASE_S": "0.02",
                                         "LEADPIPE_CRM_BACKOFF_CAP_S": "0.2", "LEADPIPE_CRM_GROUP_ID": "crm-flaky"})
    try:
        wait_until(lambda: len(crm.received()["leads"]) >= 40, "40 leads stored", timeout_s=60)
        wait_until(lambda: crm.stats().get("delivered") == 40, "40 deliveries counted", timeout_s=30)
        received = crm.received()
        keys = [lead["idempotency_key"] for lead in received["leads"]]
        assert sorted(keys) == sorted(record["event_id"] for record, _ in sent)  # each once, none missing
        assert received["failures_before_store"] > 0
        assert received["failures_after_store"] > 0
        assert received["replayed"] >= received["failures_after_store"]  # lost answers were retried, not re-created
        by_key = {lead["idempotency_key"]: lead for lead in received["leads"]}
        record = sent[0][0]
        assert by_key[record["event_id"]]["body"]["properties"]["phone"] == record["phone_e164"]
        assert by_key[record["event_id"]]["path"] == "/crm/v3/objects/contacts"
        stats = crm.stats()
        assert isinstance(stats["retried"], int) and stats["retried"] > 0
        assert stats["dead_lettered"] == 0
        metrics = read(f"{crm.connector.url}/metrics").decode()
        assert "leadpipe_crm_delivered_total 40" in metrics
        assert "leadpipe_crm_dead_lettered_total 0" in metrics
        assert "leadpipe_crm_ready 1" in metrics
    finally:
        crm.stop()


def test_refused_exhausted_and_undecodable_records_go_to_dead_letter_with_their_bytes(bench: Bench) -> None:
    tail = TopicTail(bench.settings.kafka_client_config(), bench.codec, [DEAD_LETTER]).start()
    try:
        sink = bench.sink("--reject-marker", "REJECT-ME")
        good = bench.send_leads(3)
        [(refused, refused_bytes)] = bench.send_leads(1, notes="REJECT-ME please")
        bench.producer.send_raw(QUALIFIED_LEAD, b"not avro at all", key=b"garbage")
        bench.producer.flush()
        more = bench.send_leads(2)
        bench.connector(f"{sink.url}/leads", group="crm-refuse")

        letters = tail.wait_for(DEAD_LETTER, lambda r: r.record is not None, count=2, timeout_s=60)
        by_type = {r.record["error_type"]: r.record for r in letters if r.record is not None}
        assert by_type["CrmRefused"]["value"] == refused_bytes
        assert by_type["CrmRefused"]["stage"] == "crm-delivery"
        assert by_type["CrmRefused"]["topic"] == QUALIFIED_LEAD
        assert "HTTP 400" in by_type["CrmRefused"]["error"]
        assert by_type["DecodeError"]["value"] == b"not avro at all"
        # The partition kept flowing: every other lead was delivered once.
        wait_until(lambda: len(stored_keys(sink)) >= 5, "5 leads stored", timeout_s=30)
        assert sorted(stored_keys(sink)) == sorted(r["event_id"] for r, _ in good + more)
        assert refused["event_id"] not in stored_keys(sink)

        # A CRM that answers 500 to everything: three attempts each, then dead-letter, then commit.
        down = bench.sink("--fail-first", "1000000", "--failure-status", "500")
        bench.connector(f"{down.url}/leads", group="crm-down", crm_max_attempts="3")
        exhausted = tail.wait_for(DEAD_LETTER, lambda r: r.record is not None and r.record["error_type"] ==
                                  "CrmUnavailable", count=6, timeout_s=60)
        assert sorted(r.record["value"] for r in exhausted if r.record is not None) == sorted(
            value for _, value in [*good, (refused, refused_bytes), *more])
        assert all("3 attempts failed, last: HTTP 500" in (r.record or {})["error"] for r in exhausted)
        assert get_json(f"{down.url}/received")["requests"] == 6 * 3
    finally:
        tail.stop()


def test_a_connector_killed_mid_stream_loses_nothing_and_duplicates_nothing(bench: Bench) -> None:
    sink = bench.sink("--failure-rate", "0.2", "--fail-after-store-rate", "0.1", "--latency-ms", "40",
                      "--seed", "5")
    sent = bench.send_leads(80)
    url = f"{sink.url}/leads"
    first = bench.connector(url, group="crm-restart", crm_max_attempts="30")
    wait_until(lambda: len(stored_keys(sink)) >= 15, "15 leads stored", timeout_s=60)
    first.kill()  # kill -9: whatever was delivered but not committed comes again
    stored_at_kill = len(stored_keys(sink))
    assert stored_at_kill < 80, "the connector finished before it could be killed: slow the sink down"

    bench.connector(url, group="crm-restart", crm_max_attempts="30")
    wait_until(lambda: len(stored_keys(sink)) >= 80, "80 leads stored", timeout_s=120)
    # One more lead on every partition, sent after the 80: a redelivery of any of them would come
    # before these on its partition, so once they are stored every duplicate would have shown.
    markers = {record["event_id"] for record, _ in bench.send_one_per_partition()}
    wait_until(lambda: markers <= set(stored_keys(sink)), "a marker lead on every partition", timeout_s=120)
    keys = [key for key in stored_keys(sink) if key not in markers]
    assert len(keys) == 80
    assert sorted(keys) == sorted(record["event_id"] for record, _ in sent)


def status(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_connectors_reads_need_a_read_key_and_healthz_tells_only_readers_where_it_delivers(
        bench: Bench) -> None:
    sink = bench.sink()
    connector = bench.connector(f"{sink.url}/leads", group="crm-auth")
    url = f"{connector.url}/metrics"
    assert status(url, {}) == 401
    assert status(url, {"X-API-Key": WRITE_KEY}) == 403
    assert status(url, {"X-API-Key": READ_KEY}) == 200
    assert status(url, {"Authorization": f"Bearer {READ_KEY}"}) == 200
    assert get_json(f"{connector.url}/healthz") == {"ready": True, "status": "ok"}
    detailed = json.loads(read(f"{connector.url}/healthz"))
    assert detailed["url"] == f"{sink.url}/leads" and "last_error" in detailed


# --- erasure reaches the CRM ----------------------------------------------------------------------

PRESET_PATHS = {"generic": "/leads", "hubspot": "/crm/v3/objects/contacts",
                "salesforce": "/services/data/v60.0/sobjects/Lead"}


def erase(phone: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": f"erase-{uuid.uuid4()}", "occurred_at": NOW, "phone": phone, "country": "US", "action": "ERASE",
        "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None, "expires_at": None,
        "source": "privacy-desk", "reason": "GDPR art. 17 request", "evidence": "ticket-77"}
    record.update(extra)
    return record


def valid_number() -> str:
    """A US number that exists in the numbering plan (the connector normalizes erasures' numbers)."""
    while True:
        candidate = f"+1305{uuid.uuid4().int % 10_000_000:07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def holds(sink: ServiceProcess, number: str) -> bool:
    """True when any lead stored at the sink holds ``number`` anywhere in its body."""
    return number in json.dumps([lead["body"] for lead in get_json(f"{sink.url}/received")["leads"]])


@pytest.mark.parametrize("preset", ["generic", "hubspot", "salesforce"])
def test_an_erasure_makes_the_crm_forget_the_number(bench: Bench, preset: str) -> None:
    sink = bench.sink()
    connector = bench.connector(f"{sink.url}{PRESET_PATHS[preset]}", group=f"crm-erase-{preset}", crm_preset=preset)
    number = valid_number()
    bench.send_leads(1, phone_e164=number)
    wait_until(lambda: holds(sink, number), "the qualified lead stored at the CRM", timeout_s=30)

    # As people write it: national format, country given; the connector normalizes it to E.164.
    national = f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    bench.producer.send(OPT_OUT, erase(national), key=national)
    bench.producer.send(OPT_OUT, erase(national, action="ADD", event_id=f"add-{uuid.uuid4()}"), key=national)
    [(sentinel, _)] = bench.send_leads(1)  # read after the erasure: delivered, so the erasure was handled
    bench.producer.flush()
    wait_until(lambda: holds(sink, sentinel["phone_e164"]), "the sentinel lead stored", timeout_s=30)
    wait_until(lambda: not holds(sink, number), "the CRM forgot the number", timeout_s=30)
    assert get_json(f"{sink.url}/received")["forgotten"] == 1
    stats = json.loads(read(f"{connector.url}/healthz"))
    assert (stats["forgotten"], stats["forget_dead_lettered"], stats["dead_lettered"]) == (1, 0, 0)


def test_a_lead_written_before_an_erasure_read_first_is_withheld(bench: Bench) -> None:
    sink = bench.sink()
    connector = bench.connector(f"{sink.url}/leads", group="crm-withheld")
    number = valid_number()
    bench.producer.send(OPT_OUT, erase(number), key=number)
    bench.producer.flush()
    wait_until(lambda: json.loads(read(f"{connector.url}/healthz")).get("forgotten") == 1,
               "the erasure handled (nothing stored: 404 counts as forgotten)", timeout_s=30)
    # A lead the worker wrote a minute before the erasure, read only now (the topics are read side by side).
    stale = qualified_lead(phone_e164=number)
    written = Producer(bench.settings.kafka_client_config())
    written.produce(QUALIFIED_LEAD, bench.codec.encode(QUALIFIED_LEAD, stale), key=number,
                    timestamp=int(time.time() * 1000) - 60_000)
    written.flush(10)
    [(sentinel, _)] = bench.send_leads(1)
    wait_until(lambda: holds(sink, sentinel["phone_e164"]), "the sentinel lead stored", timeout_s=30)
    assert not holds(sink, number)
    assert json.loads(read(f"{connector.url}/healthz"))["withheld"] == 1


def test_the_connectors_log_holds_no_personal_data_even_when_the_crm_echoes_it(bench: Bench) -> None:
    tail = TopicTail(bench.settings.kafka_client_config(), bench.codec, [DEAD_LETTER]).start()
    try:
        # A CRM that refuses with the lead quoted back, and fails some requests before that (retries).
        sink = bench.sink("--reject-marker", "REJECT-ME", "--echo-body", "--fail-first", "2")
        connector = bench.connector(f"{sink.url}/leads", group="crm-pii")
        person = {"first_name": "Zelda", "last_name": "Quixotic", "email": "zelda.quixotic@example.org",
                  "notes": "REJECT-ME: call Zelda Quixotic after six"}
        [(refused, refused_bytes)] = bench.send_leads(1, **person)
        [dead] = tail.wait_for(DEAD_LETTER, lambda r: r.record is not None and r.record["value"] == refused_bytes,
                               timeout_s=60)
        assert dead.record is not None and "Quixotic" in dead.record["error"]  # kept with the bytes, for operators
        log_path = connector.log_path
        connector.stop()
    finally:
        tail.stop()
    assert log_path is not None
    log = log_path.read_text(encoding="utf-8")
    assert f"lead {refused['lead_id']} dead-lettered: refused by the CRM: HTTP 400 (answer: " in log  # it did log
    assert "attempt 1 failed (HTTP 503 (answer: " in log
    for personal in ("Zelda", "Quixotic", "zelda.quixotic", refused["phone_e164"], refused["phone_e164"][2:]):
        assert personal not in log, f"{personal!r} in the connector's log:\n{log}"
