"""The Faust app: one agent, four tables, the release scheduler and the worker's pages.

::

    lead-captured ┐  keyed by their E.164 number (the gateway, importer and connectors do):
    opt-out       ├─ decided at once by the number's writer ─────────────────┐
    consent-changed                                                          │
    call-outcome  ┘  keyed otherwise, or a lead whose email was seen on      │
                     another number: re-keyed first ──► <app>-number-events ─┤
                                   release scheduler ──►        (by E.164)   │
                                                                             ▼
                 decide (one agent, concurrency 1, batches) ─► call-ready, lead-decision, qualified-lead,
                 tables: suppressions · consents · leads · erasures          dead-letter, email index rows

One agent, ``decide``, reads the input topics and ``<app>-number-events`` (co-partitioned: the same
partition of every topic and table belongs to one worker) in batches and hands each batch to
:class:`~pipeline.worker.decide.Decider`; it sends the plan's outputs, waits for the broker's
acknowledgement, then writes the rows (see :mod:`pipeline.worker.decide` for why in that order).
``concurrency=1``: faust-streaming #606 can commit past an in-flight message when it is higher.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import time
from typing import Any

import faust
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]  # aiokafka ships no types
from faust.types import TP

from pipeline.codec import Codec, make_codec
from pipeline.config import WorkerSettings
from pipeline.core.number import NumberState
from pipeline.gateway.producer import AckProducer
from pipeline.kafka_clients import first_offset_from, partition_ends
from pipeline.redaction import fingerprint
from pipeline.reporting.prometheus import Histogram
from pipeline.topics import (
    DIAL_CHECK,
    INPUT_TOPICS,
    NUMBER_EVENT_SCHEMA,
    TABLE_CONSENTS,
    TABLE_EMAILS,
    TABLE_ERASURES,
    TABLE_LEADS,
    TABLE_SUPPRESSIONS,
    changelog_topic,
    email_events_topic,
    number_events_topic,
)
from pipeline.transport import LeadpipeApp
from pipeline.worker.access import faust_web_options, worker_read_keys
from pipeline.worker.audit import DialCheckAuditLog, ack_sender
from pipeline.worker.clock import Clock, make_clock
from pipeline.worker.commit import AtLeastOnce, Committer, ExactlyOnce, Outbox
from pipeline.worker.decide import Decider, Incoming, Plan
from pipeline.worker.diagnostics import log_tasks
from pipeline.worker.email_index import ReplicatedEmailIndex
from pipeline.worker.offsets import EMPTY_RANGES, OffsetGate, watch_fetches
from pipeline.worker.policies import Policies, load_policies
from pipeline.worker.recovery import MarkerAwareRecovery
from pipeline.worker.releases import ReleaseIndex, phone_of
from pipeline.worker.stall import StallGuard
from pipeline.worker.state import NumberTables
from pipeline.worker.transactions import PartitionTransactions, aiokafka_client_options
from pipeline.worker.web import Health, register_pages
from pipeline.worker.wire import Outgoing, branch_named

log = logging.getLogger("leadpipe")

LOOP_SLICE_S = 0.002
"""Longest the decide agent plans without letting the event loop serve anything else (dial-checks)."""


def faust_broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip()]


def partitioner(partitions: int) -> Any:
    """Kafka's default partitioner (murmur2), as Faust's producer and ours use: the partition a key lives on."""

    def partition_of(key: bytes) -> int:
        return int(murmur2(key) & 0x7FFFFFFF) % partitions

    return partition_of


class Pending:
    """The states of the batch being decided, not written yet (the agent runs one batch at a time)."""

    def __init__(self) -> None:
        self.states: dict[bytes, NumberState] = {}


class Counters:
    def __init__(self) -> None:
        self.batches = self.records = self.decided = self.dead_letters = 0

    def add(self, records: int, plan: Plan) -> None:
        self.batches += 1
        self.records += records
        self.decided += plan.decided
        self.dead_letters += plan.dead_letters

    def render(self) -> str:
        rows = [("leadpipe_decide_batches_total", "batches decided", self.batches),
                ("leadpipe_decide_records_total", "records taken by the decide agent", self.records),
                ("leadpipe_decide_events_total", "events applied to a number's state", self.decided),
                ("leadpipe_dead_letters_total", "records dead-lettered by this worker", self.dead_letters)]
        text = "".join(f"# HELP {name} {help_}\n# TYPE {name} counter\n{name} {value}\n"
                       for name, help_, value in rows)
        # Faust's spinner once set the root logger to DEBUG (see pipeline.worker.main): shown, and tested.
        return text + ("# HELP leadpipe_worker_root_log_level numeric level of the root logger (10 = DEBUG)\n"
                       "# TYPE leadpipe_worker_root_log_level gauge\n"
                       f"leadpipe_worker_root_log_level {logging.getLogger().level}\n")


def create_app(settings: WorkerSettings, *, codec: Codec | None = None, clock: Clock | None = None,
               policies: Policies | None = None) -> faust.App:
    """Build the Faust app for ``settings`` (whose bootstrap servers must be set)."""
    if settings.bootstrap_servers is None:
        raise ValueError("create_app needs bootstrap servers; start the embedded broker first")
    codec = codec or make_codec(settings)
    clock = clock or make_clock(settings)
    policies = policies or load_policies(settings)
    if policies.line_types is not None:
        log.info("line types: %d numbers or prefixes from %s", len(policies.line_types), policies.line_types.origin)
    log.info("settings (secrets hidden):\n%s", settings.describe())
    log.info("rule pack %s", policies.rule_pack.version)
    read_keys = worker_read_keys(settings)  # refuses to start with reads open to anyone
    credentials = None
    if settings.sasl_username is not None:
        credentials = faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                            mechanism=settings.sasl_mechanism or "PLAIN")

    exactly_once = settings.processing_guarantee == "exactly_once"
    app = LeadpipeApp(
        settings.app_id,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        read_committed=exactly_once,  # see pipeline.worker.transactions
        commit_offsets=False,  # offsets go only in the worker's transactions, or OffsetGate's commits
        # A broker whose high-water marks cannot be trusted (the embedded Tansu): recovery reads the
        # changelogs up to the ends fetch responses give (pipeline.kafka_clients.partition_ends).
        ends_of=None if settings.recovery_consistency_check else functools.partial(
            partition_ends, settings.kafka_client_config()),
        broker=faust_broker_urls(settings.bootstrap_servers),
        broker_credentials=credentials,
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=False,  # every topic comes from pipeline.topics, created before start
        topic_disable_leader=True,  # no leader topic: nothing here needs a leader
        key_serializer="raw",
        value_serializer="raw",  # we decode Avro ourselves so a bad record becomes a dead letter
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.005,
        # Faust's own exactly_once is not used: pipeline.worker.transactions says why and does it per batch.
        processing_guarantee="at_least_once",
        recovery_consistency_check=settings.recovery_consistency_check,
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        # Where other workers send dial-checks for numbers this worker owns.
        canonical_url=f"http://{settings.web_host}:{settings.web_port}",
        **faust_web_options(settings, read_keys),  # a read key for every view; Faust's own views off
    )

    number_events = number_events_topic(settings.app_id)
    legacy_email_events = email_events_topic(settings.app_id)  # read until drained after an upgrade
    source = app.topic(*INPUT_TOPICS, number_events, legacy_email_events)

    def table(name: str) -> Any:
        # Raw bytes in and out (JSON made by the state types): the app's serializers are raw.
        return app.Table(name, default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes)

    secret = settings.erasure_secret()  # refuses an unset or public key
    tables = NumberTables(table(TABLE_SUPPRESSIONS), table(TABLE_CONSENTS), table(TABLE_LEADS),
                          table(TABLE_ERASURES), secret)
    index_topic = changelog_topic(settings.app_id, TABLE_EMAILS)
    index = (ReplicatedEmailIndex(settings.kafka_client_config(), index_topic, settings.partitions,
                                  read_committed=exactly_once) if settings.dedupe_by_email else None)
    decider = Decider(policies=policies, codec=codec, tables=tables, index=index,
                      number_events_topic=number_events, email_index_topic=index_topic,
                      legacy_email_topic=legacy_email_events, partition_of=partitioner(settings.partitions),
                      default_region=settings.default_region, erasure_secret=secret)
    outbox = Outbox(app)
    transactions = None
    if exactly_once:
        transactions = PartitionTransactions(bootstrap_servers=settings.bootstrap_servers.split(","),
                                             app_id=settings.app_id, group_id=settings.app_id,
                                             client_options=aiokafka_client_options(settings))
    committer: Committer = (ExactlyOnce(transactions, tables, app, frozenset(source.topics))
                            if transactions is not None else AtLeastOnce(outbox, tables))
    pending = Pending()
    releases = ReleaseIndex()
    optout_latency = Histogram()  # opt-out input's Kafka timestamp → its suppression written (per process)
    counters = Counters()
    health = Health(problem=lambda: committer.problem() or outbox.problem())
    if index is not None:
        health.checks.append(("loading the email index", index.ready.is_set))

    @app.task  # type: ignore[untyped-decorator]  # Faust is untyped here
    async def dump_tasks_on_sigusr2() -> None:
        """``kill -USR2 <worker pid>`` logs every asyncio task with what it awaits: what a stuck worker waits for."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, lambda: log_tasks(app))

    @app.task  # type: ignore[untyped-decorator]  # Faust is untyped here
    async def start_email_index() -> None:
        if index is not None:
            index.start()

    stall = StallGuard(app, source.topics)  # records Faust fetched and dropped are read again

    @app.timer(interval=1.0)  # type: ignore[untyped-decorator]  # Faust is untyped here
    async def stall_guard() -> None:
        await stall.check()

    # The worker admits records in offset order; at-least-once it also commits what is durable
    # (exactly-once, each batch's transaction commits its offsets).
    watch_fetches()
    gate = OffsetGate(app, source.topics, functools.partial(first_offset_from, settings.kafka_client_config()),
                      empty=EMPTY_RANGES, transactional=exactly_once)

    @app.timer(interval=1.0)  # type: ignore[untyped-decorator]  # Faust is untyped here
    async def retry_seeks() -> None:
        await gate.retry_seeks()

    if not exactly_once:
        @app.timer(interval=1.0)  # type: ignore[untyped-decorator]  # Faust is untyped here
        async def commit_offsets() -> None:
            await gate.commit()

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # Faust types the receiver loosely
        async def commit_revoked(sender: Any, revoked: set[TP], **_: Any) -> None:
            await gate.commit(revoked)  # the batches in flight finished first (Faust waits for acks)

    @app.agent(source, concurrency=1)
    async def decide(stream: faust.StreamT[bytes]) -> None:
        while index is not None and not index.ready.is_set():  # decide nothing without the email index
            await asyncio.sleep(0.05)
        stall.queue_empty = stream.channel.queue.empty  # type: ignore[attr-defined]  # a Channel here
        batches = stream.take_events(settings.batch_max, settings.batch_wait_ms / 1000)  # type: ignore[attr-defined]
        async for taken in batches:  # StreamT does not declare take_events; Stream has it
            events = await gate.admit(taken)
            if not events:
                continue
            incoming = [Incoming(e.message.topic, e.message.partition, e.message.offset, e.message.key,
                                 e.message.value, e.message.timestamp) for e in events]
            plan = Plan()
            pending.states = plan.states  # dial-checks see decided states before they are written
            tps = {e.message.tp for e in events}
            stall.busy = True
            stall.batch(tps)
            try:
                slice_started = time.perf_counter()
                for _ in decider.steps(incoming, clock(), plan):
                    if time.perf_counter() - slice_started > LOOP_SLICE_S:  # let dial-checks in
                        await asyncio.sleep(0)
                        slice_started = time.perf_counter()
                await committer.commit(plan, events)
                gate.done(events)
            finally:
                pending.states = {}
                stall.batch(tps)
                stall.busy = False
            releases.note(plan.next_release)
            wall = time.time()
            for ts in plan.opt_out_timestamps:
                optout_latency.observe(max(0.0, wall - ts))  # wall clock, not the decision clock
            counters.add(len(events), plan)

    scan = {"needed": True}

    if exactly_once:  # from start-up, every recovery included (Faust's timers wait for the first one)
        app.early_tasks.append(MarkerAwareRecovery(app).run)

    @app.timer(interval=settings.release_interval_s)  # type: ignore[untyped-decorator]  # Faust is untyped here
    async def release_scheduler() -> None:
        """Send a release for every waiting lead whose time came (see :mod:`pipeline.worker.releases`)."""
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager, typed as its interface
        if app.rebalancing or not recovery.completed.is_set():
            scan["needed"] = True  # tables are incomplete: release nothing yet, re-index once ready
            return
        if scan["needed"]:
            releases.rebuild(list(tables.leads.items()))
            scan["needed"] = False
        if isinstance(committer, ExactlyOnce):  # fence a predecessor's open transactions even when idle
            await committer.own()
        now = clock()
        out = []
        for key in releases.due(now):
            phone = phone_of(key, settings.default_region, policies.line_types)
            if phone is None:  # keys are E.164 numbers made by intake: a bug if reached
                log.error("a leads table key (%s) is not a phone number", fingerprint(key))
                continue
            for _, event in releases.releases(key, tables.leads.get(key), now, phone):
                out.append(Outgoing(number_events, key, codec.encode(NUMBER_EVENT_SCHEMA, branch_named(event))))
        await outbox.deliver(out)

    def current_state(key: bytes) -> NumberState:
        state = pending.states.get(key)
        return state if state is not None else tables.read(key)

    # Every dial-check answer on record (pipeline.worker.audit): sent in the background, failures counted.
    audit_producer = AckProducer(settings.kafka_client_config(), delivery_timeout_s=10.0, linger_ms=5,
                                 required_topics=(DIAL_CHECK,))
    audit = DialCheckAuditLog(ack_sender(audit_producer), codec, enabled=settings.dial_check_audit)

    @app.task  # type: ignore[untyped-decorator]  # Faust is untyped here
    async def connect_audit_producer() -> None:  # connected before the first answer, not by it
        if not audit_producer.started:
            audit_producer.start()

    async def flush_audit() -> None:  # answers given before a stop are recorded, or counted as failed
        await audit.drain()
        if audit_producer.started:
            await audit_producer.stop()

    app.stop_tasks.append(flush_audit)
    register_pages(app, settings=settings, policies=policies, tables=tables, state_of=current_state, clock=clock,
                   health=health, optout_latency=optout_latency, counters=counters.render, read_keys=read_keys,
                   audit=audit)
    return app
