"""``leadpipe bench``: the I/O ceiling, the compute floor and the full pipeline, side by side.

(i)   passthrough: a plain confluent-kafka consume → produce loop over lead-sized Avro records on
      the same broker — the most any Kafka pipeline could do here; and a bare Faust agent that
      consumes and does nothing (``pipeline.bench.bare_faust``) — the framework's own ceiling;
(ii)  pure core: intake (validate + normalize the phone) and ``process`` (decide) per lead,
      without and with Avro decode/encode — what the Python domain logic alone costs;
(iii) full pipeline: a real worker process; a backlog of leads is produced and the time until
      every ``call-ready`` arrives gives leads/s; then leads are offered at a steady rate and each
      lead's produce → ``call-ready`` arrival time gives p50/p99 latency; then a second worker joins
      the group and the backlog is measured again. Leads are keyed by their E.164 number, as the
      gateway and the importer key them.

Every figure is the median of ``--runs`` runs; the ratios come from the same invocation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]  # exported at runtime

from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import Codec, make_codec
from pipeline.config import Settings
from pipeline.core.intake import Routed, intake
from pipeline.core.number import NumberState, process
from pipeline.errors import LeadpipeError
from pipeline.events import LeadCaptured
from pipeline.kafka_broker import KafkaBroker
from pipeline.kafka_clients import PARTITIONER, EventProducer, TopicTail
from pipeline.processes import WorkerProcess
from pipeline.topics import CALL_READY, LEAD_CAPTURED, LEAD_DECISION, NUMBER_EVENT_SCHEMA
from pipeline.worker.policies import load_policies
from pipeline.worker.wire import branch_named

BENCH_NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # Tue 12:00 New York: every US lead is callable


_runs = itertools.count()


def next_run() -> tuple[str, int]:
    """A run tag and the first number index of a run: every run dials numbers no run used before."""
    return uuid.uuid4().hex[:8], next(_runs) * 1_000_000


def bench_lead(i: int, run: str, base: int = 0) -> LeadCaptured:
    """A realistic web-form lead with a valid US number (area codes 212/305/415/617), unique per ``base + i``."""
    g = base + i
    area = (212, 305, 415, 617)[g % 4]
    return {
        "event_id": f"{run}-{i}", "occurred_at": BENCH_NOW - timedelta(seconds=30),
        "lead_id": f"B{run}-{i}", "source": "web-form:bench", "campaign_id": "solar-q4",
        "phone": f"+1{area}{2000000 + (g // 4) % 7999999:07d}", "country": "US",
        "first_name": "Sam", "last_name": "Lee", "email": f"sam.lee.{run}.{g}@example.com", "address": None,
        "consent": {"purpose": "marketing", "channel": "ANY", "granted_at": BENCH_NOW - timedelta(minutes=3),
                    "form_url": "https://example.com/q", "consent_text": "I agree to be called.",
                    "certificate_id": "cert-1", "ip": "203.0.113.9", "expires_at": None},
        "attributes": {"timeline": "this_month", "budget": "15000"},
    }


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _pct(xs: list[float], p: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_passthrough(settings: Settings, codec: Codec, n: int) -> float:
    """msgs/s of a plain consume → produce loop (no group, batch consume) on fresh topics."""
    run, base = next_run()
    src, dst = f"bench-{run}-in", f"bench-{run}-out"
    conf = settings.kafka_client_config()
    admin = AdminClient(conf)
    for f in admin.create_topics([NewTopic(t, settings.partitions, settings.replication_factor)
                                  for t in (src, dst)]).values():
        f.result(15)
    payloads = [(r["lead_id"].encode(), codec.encode(LEAD_CAPTURED, r)) for r in
                (bench_lead(i, run, base) for i in range(n))]
    producer = Producer({**conf, "partitioner": PARTITIONER, "linger.ms": 5, "acks": "all"})
    for key, value in payloads:
        _produce(producer, src, key, value)
    producer.flush(60)
    consumer = Consumer({**conf, "group.id": f"bench-{run}", "enable.auto.commit": False,
                         "fetch.wait.max.ms": 10})
    consumer.assign([TopicPartition(src, p, 0) for p in range(settings.partitions)])
    seen = 0
    start = time.perf_counter()
    try:
        while seen < n:
            for msg in consumer.consume(1000, timeout=1.0):
                payload = msg.value()
                if msg.error() or payload is None:
                    continue
                _produce(producer, dst, msg.key(), payload)
                seen += 1
        producer.flush(60)
    finally:
        consumer.close()
    return n / (time.perf_counter() - start)


def bench_bare_agent(settings: Settings, codec: Codec, n: int) -> float:
    """events/s of a bare Faust agent (``pipeline.bench.bare_faust``) consuming n lead-sized records."""
    run, base = next_run()
    topic = f"bench-{run}-bare"
    conf = settings.kafka_client_config()
    admin = AdminClient(conf)  # kept until its futures are done: a dropped client fails them (_DESTROY)
    for f in admin.create_topics([NewTopic(topic, settings.partitions, settings.replication_factor)]).values():
        f.result(15)
    producer = Producer({**conf, "partitioner": PARTITIONER, "linger.ms": 5, "acks": "all"})
    for i in range(n):
        record = bench_lead(i, run, base)
        _produce(producer, topic, record["phone"].encode(), codec.encode(LEAD_CAPTURED, record))
    producer.flush(60)
    env = {**os.environ, "LEADPIPE_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
           "LEADPIPE_PARTITIONS": str(settings.partitions)}
    # Our own module with arguments we chose.
    done = subprocess.run([sys.executable, "-m", "pipeline.bench.bare_faust", topic, str(n)],  # noqa: S603
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BARE "):
            return float(line.split()[1])
    raise LeadpipeError(f"the bare agent printed no rate (exit {done.returncode}): {done.stderr[-2000:]}")


def _produce(producer: Producer, topic: str, key: bytes | None, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key)
            return
        except BufferError:
            producer.poll(0.01)


def bench_core(settings: Settings, codec: Codec, n: int, *, with_codec: bool, internal_hop: bool = True) -> float:
    """leads/s through intake + process on empty state (each lead a new number), no broker.

    ``with_codec``: the input is decoded and every output encoded; ``internal_hop`` (with it): the
    routed event is also encoded and decoded, as when it crosses ``<app>-number-events`` (an input
    keyed by its number is decided in place, without that hop)."""
    policies = load_policies(settings, with_registries=False)
    pack = policies.rule_pack
    ctx = policies.context(BENCH_NOW)
    run, base = next_run()
    leads = [bench_lead(i, run, base) for i in range(n)]
    raw = [codec.encode(LEAD_CAPTURED, r) for r in leads] if with_codec else []
    empty = NumberState.empty()
    start = time.perf_counter()
    for i in range(n):
        record: Any = codec.decode(raw[i]).record if with_codec else leads[i]
        routed = intake(LEAD_CAPTURED, LEAD_CAPTURED, record, partition=0, offset=i,
                        default_region=settings.default_region, now=BENCH_NOW, rule_pack_version=pack.version)
        assert isinstance(routed, Routed)
        if with_codec and internal_hop:
            # Named union branch, as the worker sends it.
            named = branch_named(routed.number_event)
            routed_event: Any = codec.decode(codec.encode(NUMBER_EVENT_SCHEMA, named)).record
        else:
            routed_event = routed.number_event
        _, emits = process(empty, routed_event, ctx)
        if with_codec:
            for emit in emits:
                codec.encode(emit.schema, emit.record)
    return n / (time.perf_counter() - start)


def bench_pipeline_throughput(settings: Settings, codec: Codec, n: int) -> float:
    """leads/s: a backlog of n leads produced at once, until every call-ready has arrived."""
    run, base = next_run()
    tail = TopicTail(settings.kafka_client_config(), codec, [CALL_READY], from_beginning=False).start()
    try:
        producer = EventProducer(settings.kafka_client_config(), codec)
        start = time.monotonic()
        for i in range(n):
            record = bench_lead(i, run, base)
            producer.send(LEAD_CAPTURED, record, key=record["phone"])  # by E.164, as the gateway keys it
        producer.flush(120)
        arrivals = tail.wait_for(CALL_READY, lambda r: r.record is not None and
                                 r.record["lead_id"].startswith(f"B{run}-"), count=n, timeout_s=600)
        return n / (max(r.received_at for r in arrivals) - start)
    finally:
        tail.stop()


def bench_pipeline_latency(settings: Settings, codec: Codec, rate: int, seconds: float) -> list[float]:
    """Per-lead produce → call-ready arrival latencies (ms) at a steady offered rate."""
    run, base = next_run()
    n = int(rate * seconds)
    sent_at: dict[str, float] = {}
    tail = TopicTail(settings.kafka_client_config(), codec, [CALL_READY], from_beginning=False).start()
    try:
        producer = EventProducer(settings.kafka_client_config(), codec, linger_ms=0)
        start = time.monotonic()
        for i in range(n):
            due = start + i / rate
            while (now := time.monotonic()) < due:
                time.sleep(min(due - now, 0.001))
            lead_id = f"B{run}-{i}"
            sent_at[lead_id] = time.monotonic()
            record = bench_lead(i, run, base)
            producer.send(LEAD_CAPTURED, record, key=record["phone"])
        producer.flush(60)
        arrivals = tail.wait_for(CALL_READY, lambda r: r.record is not None and
                                 r.record["lead_id"] in sent_at, count=n, timeout_s=300)
        return [(r.received_at - sent_at[r.record["lead_id"]]) * 1000 for r in arrivals if r.record]
    finally:
        tail.stop()


BENCH_READ_KEY = secrets.token_urlsafe(24)
"""This run's read key: the bench worker's dial-check and /metrics need one, as in production."""


class LeadFeeder:
    """Leads at a steady rate in a background thread (keyed by E.164, as the gateway keys them), and
    a count of the decisions the worker made on them: work for the worker while something else is
    measured."""

    def __init__(self, settings: Settings, codec: Codec, rate: float) -> None:
        self.settings, self.codec, self.rate = settings, codec, rate
        self.run, self.base = next_run()
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, name="lead-feeder", daemon=True)
        self._tail = TopicTail(settings.kafka_client_config(), codec, [LEAD_DECISION], from_beginning=False)
        self.started_at = self.stopped_at = 0.0

    def __enter__(self) -> LeadFeeder:
        self._tail.start()
        self.started_at = time.monotonic()
        self._thread.start()
        return self

    def _feed(self) -> None:
        producer = EventProducer(self.settings.kafka_client_config(), self.codec, linger_ms=5)
        while not self._stop.is_set():
            due = self.started_at + self.sent / self.rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(min(wait, 0.01))
                continue
            record = bench_lead(self.sent, self.run, self.base)
            producer.send(LEAD_CAPTURED, record, key=record["phone"])
            self.sent += 1
        producer.flush(60)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self.stopped_at = time.monotonic()
        prefix = f"B{self.run}-"
        try:  # the decisions of everything sent; the last ones may still be on their way
            self._tail.wait_for(LEAD_DECISION, lambda r: r.record is not None
                                and r.record["lead_id"].startswith(prefix), count=self.sent, timeout_s=60)
        except TimeoutError:
            pass  # decided_per_s counts what came
        finally:
            self._tail.stop()

    @property
    def decided(self) -> int:
        prefix = f"B{self.run}-"
        return sum(1 for r in self._tail.records(LEAD_DECISION)
                   if r.record is not None and r.record["lead_id"].startswith(prefix))

    def decided_per_s(self) -> float:
        return self.decided / max(1e-9, self.stopped_at - self.started_at)


@dataclass(frozen=True)
class BenchSite:
    """Where a benchmark runs: settings pointed at a broker with every topic, a codec, a worker."""

    settings: Settings
    codec: Codec
    worker: WorkerProcess
    broker_name: str
    """"embedded Tansu" or "configured cluster", for the report."""
    worker_env: dict[str, str]
    workdir: Path

    def another_worker(self, name: str, **extra_env: str) -> WorkerProcess:
        """A (not yet started) worker like ``worker`` with ``extra_env`` on top; the caller stops it."""
        return WorkerProcess(bootstrap=self.settings.bootstrap_servers or "", env={**self.worker_env, **extra_env},
                             log_path=self.workdir / f"{name}.log", embedded=self.broker_name == "embedded Tansu")

    @contextlib.contextmanager
    def second_worker(self) -> Iterator[WorkerProcess]:
        """Another worker in the same group, stopped on exit (the first rebalances back)."""
        worker = self.another_worker("worker-2")
        try:
            yield worker.start()
        finally:
            worker.stop()
            self.worker.wait_ready(timeout_s=300)


@contextlib.contextmanager
def bench_site(settings: Settings, name: str, broker_kind: str = "tansu") -> Iterator[BenchSite]:
    """A fresh broker of ``broker_kind`` (the embedded Tansu, or Apache Kafka as ``leadpipe kafka``
    runs it) unless a cluster is configured, topics, a codec and one (not yet started) worker with
    the bench clock; everything is stopped and the work dir removed on exit."""
    workdir = Path(tempfile.mkdtemp(prefix=f"leadpipe-{name}-"))
    settings = dataclasses.replace(settings, fixed_clock=BENCH_NOW)
    broker: EmbeddedBroker | KafkaBroker | None = None
    if settings.embedded:
        broker = (KafkaBroker(workdir / "kafka", log_path=workdir / "broker.log") if broker_kind == "kafka"
                  else EmbeddedBroker(log_path=workdir / "broker.log"))
    worker: WorkerProcess | None = None
    try:
        if broker is not None:
            settings = settings.with_bootstrap(broker.start())
        ensure_topics(settings)
        keys = workdir / "api-keys.json"
        keys.write_text(json.dumps({"keys": [{"key_id": "bench", "source": "bench", "key": BENCH_READ_KEY,
                                              "hmac_secret": None, "scopes": ["read"]}]}), encoding="utf-8")
        env = {**os.environ, "LEADPIPE_FIXED_CLOCK": BENCH_NOW.isoformat(), "LEADPIPE_LOG_LEVEL": "warning",
               "LEADPIPE_API_KEYS_PATH": str(keys), "LEADPIPE_ERASURE_KEY": secrets.token_urlsafe(32)}
        tansu = isinstance(broker, EmbeddedBroker)
        if broker is not None and not tansu:  # Kafka's default, stated: a broker without transactions fails
            env["LEADPIPE_PROCESSING_GUARANTEE"] = "exactly_once"
        worker = WorkerProcess(bootstrap=settings.bootstrap_servers or "", env=env, log_path=workdir / "worker.log",
                               embedded=tansu)
        name_of_broker = ("embedded Tansu" if tansu else "Apache Kafka, exactly-once" if broker is not None
                          else "configured cluster")
        yield BenchSite(settings, make_codec(settings), worker, name_of_broker, env, workdir)
    finally:
        if worker is not None:
            worker.stop()
        if broker is not None:
            broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_bench(settings: Settings, *, leads: int = 20000, runs: int = 3, rate: int = 1000, broker: str = "tansu",
              figures: dict[str, str] | None = None) -> int:
    """Print every figure; with ``figures``, also keep the headline ones there (label → value)."""
    say: Callable[[str], None] = lambda s: print(s, flush=True)  # noqa: E731
    kept = figures if figures is not None else {}
    with bench_site(settings, "bench", broker) as site:
        settings, codec = site.settings, site.codec
        say(f"leadpipe bench: {leads} leads per run, {runs} runs, medians; broker {settings.bootstrap_servers}"
            f" ({site.broker_name}), {settings.partitions} partitions")

        def show(label: str, unit: str, xs: list[float], goal: str = "") -> float:
            say(f"{label:<38}{_median(xs):>10,.0f} {unit:<9} runs: " + ", ".join(f"{x:,.0f}" for x in xs)
                + (f"   goal {goal}" if goal else ""))
            kept[label.removeprefix("(i)").removeprefix("(ii)").removeprefix("(iii)").strip()] = (
                f"{_median(xs):,.0f} {unit}")
            return _median(xs)

        passthrough = show("(i)   passthrough consume→produce", "msgs/s",
                           [bench_passthrough(settings, codec, leads) for _ in range(runs)])
        bare = show("      bare Faust agent, consume only", "events/s",
                    [bench_bare_agent(settings, codec, leads) for _ in range(runs)])
        show("(ii)  pure core (intake+decide)", "leads/s",
             [bench_core(settings, codec, leads, with_codec=False) for _ in range(runs)])
        core_codec = show("      pure core + Avro codec", "leads/s",
                          [bench_core(settings, codec, leads, with_codec=True) for _ in range(runs)], ">= 8,000")
        show("      the same without the internal hop", "leads/s",
             [bench_core(settings, codec, leads, with_codec=True, internal_hop=False) for _ in range(runs)])

        site.worker.start().wait_ready(timeout_s=300)
        one = show("(iii) full pipeline, 1 worker", "leads/s",
                   [bench_pipeline_throughput(settings, codec, leads) for _ in range(runs)], ">= 2,500")
        p50s, p99s = [], []
        for _ in range(runs):
            lat = bench_pipeline_latency(settings, codec, rate, 5.0)
            p50s.append(_pct(lat, 50))
            p99s.append(_pct(lat, 99))
        say(f"      latency at {rate:,} leads/s offered for 5 s: p50 {_median(p50s):.1f} ms, "
            f"p99 {_median(p99s):.1f} ms   runs p99: " + ", ".join(f"{x:.1f}" for x in p99s)
            + "   goal p99 <= 100 ms at 1,000/s")
        kept[f"latency p50 / p99 at {rate:,} leads/s"] = f"{_median(p50s):.1f} / {_median(p99s):.1f} ms"
        with site.second_worker() as second:
            second.wait_ready(timeout_s=300)
            site.worker.wait_ready(timeout_s=300)
            two = show("      full pipeline, 2 workers", "leads/s",
                       [bench_pipeline_throughput(settings, codec, leads) for _ in range(runs)])
        say("ratios:")
        say(f"      pipeline / bare Faust agent   {one / bare:>10.3f}")
        say(f"      pipeline / pure core+codec    {one / core_codec:>10.3f}")
        say(f"      pipeline / passthrough        {one / passthrough:>10.3f}")
        say(f"      2 workers / 1 worker          {two / one:>10.3f}")
        kept["pipeline / bare Faust agent"] = f"{one / bare:.3f}"
        return 0


def side_by_side(by_broker: dict[str, dict[str, str]], say: Callable[[str], None]) -> None:
    """One table of the headline figures of every broker measured in this run."""
    brokers = list(by_broker)
    labels = list(dict.fromkeys(label for figures in by_broker.values() for label in figures))
    say("side by side (same run):")
    say(f"  {'figure':<40}" + "".join(f"{b:>22}" for b in brokers))
    for label in labels:
        say(f"  {label:<40}" + "".join(f"{by_broker[b].get(label, '-'):>22}" for b in brokers))
