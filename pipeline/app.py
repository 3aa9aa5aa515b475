"""The Faust application: the thin edge around the pure core.

Three agents, all ``concurrency=1`` (faust-streaming #606 can commit past an in-flight message
when concurrency > 1)::

    lead-captured ┐
    opt-out       ├─ intake ──► <app>-number-events (keyed by phone_e164) ──► decide ──► call-ready
    consent-changed                                                   │  ▲          ├─► lead-decision
    call-outcome  ┘   │                                               ▼  │          └─► qualified-lead
                      ├─► lead-decision (REJECTED: bad phone)    tables: suppressions, consents, leads
                      └─► dead-letter (undecodable / invalid, with the original bytes)

Leads with a valid email take one more hop first (``LEADPIPE_DEDUPE_BY_EMAIL``, on by default):
``intake`` sends them to ``<app>-email-events`` keyed by a keyed hash of the email, where the
``email`` agent — one writer per email, table ``emails`` — sends each on to its own number, or to
the number of an earlier lead with the same email marked ``duplicate_of`` (see
:mod:`pipeline.core.email_stage`). Numbers are enriched with the line-type file
(``LEADPIPE_LINE_TYPES_PATH``) in intake, on release and in the dial-time check.

``intake`` decodes, validates and normalizes; every event about one number is then re-keyed by
``phone_e164`` so that ``decide`` — one writer per number — sees opt-outs, consents, outcomes and
leads for that number in order on one partition, next to that number's table rows. ``decide``
reads the three table rows, calls :func:`pipeline.core.number.process`, writes changed rows back
and emits what it returned. Processing is at-least-once (Tansu has no transactions); ``process``
is idempotent by ``event_id``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
from faust.exceptions import SameNode

from pipeline.codec import Codec, Decoded, make_codec
from pipeline.config import Settings
from pipeline.core.campaigns import CampaignBook, default_campaigns, load_campaigns
from pipeline.core.consents import ConsentLedger
from pipeline.core.dialcheck import DialCheckRequest, audit_record, dial_check, parse_request
from pipeline.core.email_stage import (
    EmailLeads,
    email_route,
    email_stage,
    email_table_key,
    forget_number,
)
from pipeline.core.erasure import Erasure, erasure_key
from pipeline.core.intake import Invalid, Rejected, Routed, intake
from pipeline.core.leads import NumberLeads
from pipeline.core.lifecycle import LifecyclePolicy, default_lifecycle, load_lifecycle
from pipeline.core.linetype import PrefixLineTypes, parse_line_types, with_line_type
from pipeline.core.number import Emit, NumberState, ProcessContext, due_releases, process
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.qualification import Framework, default_framework, load_framework
from pipeline.core.rulepack import RulePack, default_rule_pack, merge_overrides
from pipeline.core.scoring import ScoringModel, ScoringRule, default_scoring, load_scoring
from pipeline.core.suppressions import SuppressionState
from pipeline.dialcheck_audit import DialCheckAuditLog, worker_id
from pipeline.errors import CodecError, ConfigError
from pipeline.events import DeadLetter
from pipeline.http_auth import is_reader
from pipeline.redaction import exception_summary, fingerprint
from pipeline.registry.check import registry_metrics
from pipeline.registry.store import open_registries
from pipeline.reporting.prometheus import OPTOUT_LATENCY, Histogram
from pipeline.topics import (
    DEAD_LETTER,
    EMAIL_EVENTS,
    INPUT_TOPICS,
    NUMBER_EVENT_SCHEMA,
    NUMBER_EVENTS,
    OPT_OUT,
    RELEASE_SCHEDULER,
    TABLE_CONSENTS,
    TABLE_EMAILS,
    TABLE_ERASURES,
    TABLE_LEADS,
    TABLE_SUPPRESSIONS,
    email_events_topic,
    number_events_topic,
)
from pipeline.transport import LeadpipeApp
from pipeline.worker_web import faust_web_options, worker_read_keys

log = logging.getLogger("leadpipe")


Clock = Callable[[], datetime]
Handler = Callable[["faust.types.EventT[bytes]", Decoded], Awaitable[None]]
"""What an agent does with one decoded record (see ``each_record`` in :func:`create_app`)."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def make_clock(settings: Settings) -> Clock:
    """The decision clock: the system clock, or a frozen instant for tests and replays, or (tests
    only) the instant written in ``LEADPIPE_CLOCK_FILE``, read on every call."""
    if settings.clock_file is not None:
        return _file_clock(settings.clock_file)
    fixed = settings.fixed_clock
    if fixed is None:
        return system_clock
    return lambda: fixed


def _file_clock(path: Path) -> Clock:
    last: list[datetime] = []

    def now() -> datetime:
        # A test rewrites the file while the worker reads it: a partial read keeps the last instant.
        try:
            instant = datetime.fromisoformat(path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            instant = None
        if instant is None or instant.tzinfo is None:
            if not last:
                raise ConfigError(f"LEADPIPE_CLOCK_FILE={path}: no ISO-8601 instant with an offset in it")
            return last[0]
        last[:] = [instant]
        return instant

    return now


def load_lifecycle_policies(settings: Settings) -> tuple[LifecyclePolicy, Framework]:
    """Retry/attempt policy and qualification framework from the configured files or the packaged defaults."""
    lifecycle = (load_lifecycle(_read_json(settings.lifecycle_path, "LEADPIPE_LIFECYCLE_PATH"))
                 if settings.lifecycle_path else default_lifecycle())
    framework = (load_framework(_read_json(settings.qualification_path, "LEADPIPE_QUALIFICATION_PATH"))
                 if settings.qualification_path else default_framework())
    return lifecycle, framework


def load_rule_pack(settings: Settings) -> RulePack:
    """The packaged rule pack, with counsel's overrides file applied when one is configured."""
    pack = default_rule_pack()
    if settings.rule_pack_overrides_path is not None:
        pack = merge_overrides(pack, _read_json(settings.rule_pack_overrides_path,
                                                "LEADPIPE_RULE_PACK_OVERRIDES_PATH"))
    return pack


def load_policies(settings: Settings) -> tuple[CampaignBook, tuple[ScoringRule, ...]]:
    """Campaign policies and scoring rules from the configured files or the packaged defaults."""
    campaigns = (load_campaigns(_read_json(settings.campaigns_path, "LEADPIPE_CAMPAIGNS_PATH"))
                 if settings.campaigns_path else default_campaigns())
    return campaigns, load_scoring_config(settings)[0]


def load_scoring_config(settings: Settings) -> tuple[tuple[ScoringRule, ...], ScoringModel]:
    """Scoring rules and the decision-time scoring model (a rule file in list form has none)."""
    if settings.scoring_rules_path is None:
        return default_scoring()
    return load_scoring(_read_json(settings.scoring_rules_path, "LEADPIPE_SCORING_RULES_PATH"))


def load_line_types(settings: Settings) -> PrefixLineTypes | None:
    """The line-type file (``LEADPIPE_LINE_TYPES_PATH``), or None when none is configured."""
    path = settings.line_types_path
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"LEADPIPE_LINE_TYPES_PATH={path}: {exc}") from exc
    return parse_line_types(text, f"LEADPIPE_LINE_TYPES_PATH={path}")


def _read_json(path: Path, setting: str) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{setting}={path}: {exc}") from exc


def faust_broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip()]


def dead_letter(*, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                stage: str, error: BaseException | str, now: datetime) -> DeadLetter:
    """A dead-letter record keeping the original bytes and where they came from."""
    error_type = type(error).__name__ if isinstance(error, BaseException) else "InvalidInput"
    return {
        # Deterministic id: a replay of the same input yields the same dead-letter id.
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"leadpipe:dead-letter/{topic}/{partition}/{offset}")),
        "occurred_at": now,
        "topic": topic, "partition": partition, "offset": offset,
        "key": key, "value": value, "stage": stage,
        "error_type": error_type, "error": str(error),
    }


def create_app(settings: Settings, *, codec: Codec | None = None, clock: Clock | None = None) -> faust.App:
    """Build the Faust app for ``settings`` (whose bootstrap servers must be set)."""
    if settings.bootstrap_servers is None:
        raise ValueError("create_app needs bootstrap servers; start the embedded broker first")
    codec = codec or make_codec(settings)
    clock = clock or make_clock(settings)
    campaigns, _ = load_policies(settings)
    scoring_rules, scoring_model = load_scoring_config(settings)
    line_types = load_line_types(settings)
    if line_types is not None:
        log.info("line types: %d numbers or prefixes from %s", len(line_types), line_types.origin)
    lifecycle, qualification = load_lifecycle_policies(settings)
    rule_pack = load_rule_pack(settings)
    log.info("settings (secrets hidden):\n%s", settings.describe())
    log.info("rule pack %s", rule_pack.version)
    read_keys = worker_read_keys(settings)  # refuses to start with reads open to anyone
    registries = open_registries(settings.data_dir, required=settings.required_registries)
    credentials = None
    if settings.sasl_username is not None:
        credentials = faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                            mechanism=settings.sasl_mechanism or "PLAIN")

    app = LeadpipeApp(
        settings.app_id,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
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
        processing_guarantee="at_least_once",  # exactly_once needs transactions Tansu lacks
        recovery_consistency_check=settings.recovery_consistency_check,
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        # Where other workers send dial-checks for numbers this worker owns.
        canonical_url=f"http://{settings.web_host}:{settings.web_port}",
        **faust_web_options(settings, read_keys),  # a read key for every view; Faust's own views off
    )

    inputs = app.topic(*INPUT_TOPICS)
    number_events_name = number_events_topic(settings.app_id)
    number_events = app.topic(number_events_name)

    def table(name: str) -> Any:
        # Raw bytes in and out (JSON made by the state types): the app's serializers are raw.
        return app.Table(name, default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes)

    suppressions_table = table(TABLE_SUPPRESSIONS)
    consents_table = table(TABLE_CONSENTS)
    leads_table = table(TABLE_LEADS)
    erasures_table = table(TABLE_ERASURES)
    erasure_secret = settings.erasure_secret()  # refuses an unset or public key
    # The email stage (pipeline.core.email_stage): its own topic and table, keyed by a keyed hash of
    # the email so that no address appears in a topic key.
    email_events_name = email_events_topic(settings.app_id)
    email_events = app.topic(email_events_name)
    emails_table = table(TABLE_EMAILS)

    async def send_dead_letter(event: faust.types.EventT[bytes], stage: str, error: BaseException | str) -> None:
        msg = event.message
        record = dead_letter(topic=msg.topic, partition=msg.partition, offset=msg.offset,
                             key=msg.key, value=msg.value, stage=stage, error=error, now=clock())
        # The error may quote the input: the log gets its fingerprint, the dead-letter record all of it.
        log.warning("dead-letter %s/%s@%s stage=%s %s: %s", msg.topic, msg.partition, msg.offset, stage,
                    record["error_type"], fingerprint(record["error"]))
        await send(DEAD_LETTER, msg.key, codec.encode(DEAD_LETTER, record))

    async def send(topic: str, key: bytes | None, value: bytes, timestamp: float | None = None) -> None:
        # Straight to the producer: Faust's channel machinery costs ~2x per record here. Still
        # at-least-once: Faust flushes the producer before it commits any offset, and the default
        # partitioner is murmur2 like Faust's own sends.
        await app.producer.send(topic, key, value, None, timestamp, None)

    async def send_emits(emits: tuple[Emit, ...]) -> None:
        for emit in emits:
            if emit.topic == NUMBER_EVENTS:  # a lead the core sends on to its own number
                await send(number_events_name, emit.key.encode(),
                           codec.encode(NUMBER_EVENT_SCHEMA, _event_branch_named(emit.record)))
            elif emit.topic == EMAIL_EVENTS:  # an erasure the email stage must apply too
                if settings.dedupe_by_email:  # off: the stage keeps nothing to forget
                    await send(email_events_name, email_table_key(emit.key, erasure_secret),
                               codec.encode(NUMBER_EVENT_SCHEMA, _event_branch_named(emit.record)))
            else:
                await send(emit.topic, emit.key.encode(), codec.encode(emit.schema, emit.record))

    async def decode(event: faust.types.EventT[bytes]) -> Decoded | None:
        """The record in ``event``, or None after dead-lettering bytes that are not one."""
        value = event.message.value
        if value is None:
            await send_dead_letter(event, "decode", "record without a value (a tombstone): nothing to decode")
            return None
        try:
            return codec.decode(value)
        except CodecError as exc:
            await send_dead_letter(event, "decode", exc)
            return None

    def write_back(key: bytes, old: NumberState, new: NumberState) -> None:
        """Write changed state parts back (t[k] = v: only that reaches the changelog); an erasure
        deletes the personal rows instead (tombstones) and keeps only the keyed-hash marker."""
        if new.erasure is not None and old.erasure is None:
            for personal in (suppressions_table, consents_table, leads_table):
                if key in personal:
                    del personal[key]
            erasures_table[erasure_key(key.decode(), erasure_secret)] = _dump(new.erasure)
            return
        if new.suppressions is not old.suppressions:
            suppressions_table[key] = _dump(new.suppressions)
        if new.consents is not old.consents:
            consents_table[key] = _dump(new.consents)
        if new.leads is not old.leads:
            value = leads_table[key] = _dump(new.leads)
            if _DEFERRED_MARK in value:
                deferred_numbers.add(key)
            else:
                deferred_numbers.discard(key)

    async def each_record(stream: faust.StreamT[bytes], stage: str, handle: Handler) -> None:
        """Decode every record of ``stream`` and hand it to ``handle``. Undecodable bytes, and any bug
        in ``handle``, go to dead-letter with the original bytes; the partition keeps flowing."""
        async for event in stream.events():
            msg = event.message
            if (decoded := await decode(event)) is None:
                continue
            try:
                await handle(event, decoded)
            except Exception as exc:  # a bug must not stop the partition: keep the bytes, log loudly
                log.error("%s failed on %s/%s@%s: %s", stage, msg.topic, msg.partition, msg.offset,
                          exception_summary(exc))
                await send_dead_letter(event, stage, exc)

    async def take_input(event: faust.types.EventT[bytes], decoded: Decoded) -> None:
        msg = event.message
        result = intake(msg.topic, decoded.schema, decoded.record, partition=msg.partition,
                        offset=msg.offset, default_region=settings.default_region, now=clock(),
                        rule_pack_version=rule_pack.version, line_types=line_types,
                        encoded_size=len(msg.value or b""))
        email = email_route(result.number_event) if isinstance(result, Routed) else None
        if isinstance(result, Routed) and email is not None and settings.dedupe_by_email:
            await send(email_events_name, email_table_key(email, erasure_secret),
                       codec.encode(NUMBER_EVENT_SCHEMA, _branch_named(result)))
        elif isinstance(result, Routed):
            # The re-keyed record keeps the input's Kafka timestamp: decide measures
            # opt-out-to-blocked latency from it.
            await send(number_events_name, result.key.encode(),
                       codec.encode(NUMBER_EVENT_SCHEMA, _branch_named(result)), msg.timestamp)
        elif isinstance(result, Rejected):
            await send_emits(result.emits)
        elif isinstance(result, Invalid):
            await send_dead_letter(event, result.stage, result.error)

    async def decide_number(event: faust.types.EventT[bytes], decoded: Decoded) -> None:
        msg = event.message
        if msg.key is None:  # intake and the email stage always key by the number: a bug if reached
            raise ValueError("a number event without a key")
        state = number_state(msg.key)
        ctx = ProcessContext(now=clock(), rule_pack_version=rule_pack.version, campaigns=campaigns,
                             scoring_rules=scoring_rules, rule_pack=rule_pack, registries=registries,
                             scoring_model=scoring_model, lifecycle=lifecycle, qualification=qualification)
        new_state, emits = process(state, decoded.record, ctx)  # type: ignore[arg-type]
        write_back(msg.key, state, new_state)
        if msg.timestamp and _is_opt_out_add(decoded.record):
            optout_latency.observe(max(0.0, time.time() - msg.timestamp))  # wall clock, not the decision clock
        await send_emits(emits)

    async def pass_email_stage(event: faust.types.EventT[bytes], decoded: Decoded) -> None:
        """One writer per email: finds a lead whose email was seen in its campaign on another number."""
        key = event.message.key
        number_event: Any = decoded.record
        state = _load(EmailLeads, emails_table.get(key))
        if number_event["input_topic"] == OPT_OUT:  # an erasure forwarded by the number's writer
            forgotten = forget_number(state, number_event["phone"]["phone_e164"])
            if forgotten is not state:
                emails_table[key] = _dump(forgotten)
            return
        window = campaigns.policy_for(number_event["event"]["campaign_id"]).duplicate_window
        new_state, phone_key, onward = email_stage(state, number_event, window)
        if new_state is not state:
            emails_table[key] = _dump(new_state)
        await send(number_events_name, phone_key.encode(),
                   codec.encode(NUMBER_EVENT_SCHEMA, _event_branch_named(onward)))

    @app.agent(inputs, concurrency=1)
    async def intake_agent(stream: faust.StreamT[bytes]) -> None:
        await each_record(stream, "intake", take_input)

    @app.agent(number_events, concurrency=1)
    async def decide_agent(stream: faust.StreamT[bytes]) -> None:
        await each_record(stream, "decide", decide_number)

    @app.agent(email_events, concurrency=1)
    async def email_agent(stream: faust.StreamT[bytes]) -> None:
        await each_record(stream, "email", pass_email_stage)

    def number_state(key: bytes) -> NumberState:
        marker = erasures_table.get(erasure_key(key.decode(), erasure_secret))
        if marker is not None:
            return NumberState(erasure=Erasure.from_json(json.loads(marker)))
        return NumberState(
            suppressions=_load(SuppressionState, suppressions_table.get(key)),
            consents=_load(ConsentLedger, consents_table.get(key)),
            leads=_load(NumberLeads, leads_table.get(key)),
        )

    optout_latency = Histogram()  # opt-out input's Kafka timestamp → its suppression written (per process)
    sent_releases: set[str] = set()  # per process; after a restart releases are re-sent and deduped
    # Numbers with a deferred lead, kept as the decide agent writes rows, so a release tick looks at
    # those rows only. It is an index, not state: a full scan of the table rebuilds it each time
    # the worker becomes ready (after start-up recovery and after every rebalance) and every
    # FULL_SCAN_EVERY ticks.
    deferred_numbers: set[bytes] = set()
    ticks = itertools.count()
    scan = {"needed": True}

    @app.timer(interval=settings.release_interval_s)  # type: ignore[untyped-decorator]  # Faust is untyped here
    async def release_scheduler() -> None:
        """Re-decide waiting leads whose time came (window opened, cap freed up, retry or callback
        due): the schedule is the leads table itself (``deferred_until``), so it survives restarts."""
        now = clock()
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager, typed as its interface
        if app.rebalancing or not recovery.completed.is_set():
            scan["needed"] = True  # tables are incomplete: release nothing yet, rescan once ready
            return
        if scan["needed"] or next(ticks) % FULL_SCAN_EVERY == 0:
            deferred_numbers.update(k for k, v in list(leads_table.items()) if v is not None and _DEFERRED_MARK in v)
            scan["needed"] = False
        for key in list(deferred_numbers):
            raw = leads_table.get(key)
            if raw is None or _DEFERRED_MARK not in raw:
                deferred_numbers.discard(key)
                continue
            for release in due_releases(_load(NumberLeads, raw), now):
                if release["event_id"] in sent_releases:
                    continue
                phone = normalize_phone(key.decode(), None, settings.default_region)
                if isinstance(phone, PhoneError):  # keys are E.164 made by intake: a bug if reached
                    log.error("a leads table key (%s) is not a phone number: %s", fingerprint(key), phone.code)
                    continue
                phone = with_line_type(phone, line_types)
                event = {"phone": phone, "input_topic": RELEASE_SCHEDULER, "input_partition": -1,
                         "input_offset": -1, "event": (_RELEASE_BRANCH, release), "duplicate_of": None}
                await send(number_events_name, key, codec.encode(NUMBER_EVENT_SCHEMA, event))
                sent_releases.add(release["event_id"])
        if len(sent_releases) > 100_000:
            sent_releases.clear()

    # Every answer on record (pipeline.dialcheck_audit): sent in the background, failures counted.
    answered_by = worker_id(settings.web_host, settings.web_port)
    audit = DialCheckAuditLog(lambda topic, key, value: app.producer.send(topic, key, value, None, None, None),
                              codec, enabled=settings.dial_check_audit)

    @app.page("/v1/dial-check/{phone}")
    async def dial_check_view(web: Any, request: Any, phone: str) -> Any:
        """Allowed or not, why, and seconds left — from the tables of the worker owning the number,
        which puts the answer on the dial-check topic."""
        parsed = parse_request(phone, request.query, settings.default_region)
        if not isinstance(parsed, DialCheckRequest):
            return web.json({"error": "invalid request", "fields": parsed}, status=400)
        parsed = dataclasses.replace(parsed, phone=with_line_type(parsed.phone, line_types))
        key = parsed.phone["phone_e164"].encode()
        try:  # another worker owns the number's partition: it answers (Faust proxies the request)
            return await app.router.route_req(suppressions_table.name, key, web, request)
        except SameNode:
            pass
        result = dial_check(parsed, number_state(key), campaigns=campaigns, pack=rule_pack, now=clock(),
                            registries=registries, lifecycle=lifecycle)
        request_id = str(uuid.uuid4())
        audit.submit(audit_record(parsed, result, answered_by, request_id))
        return web.json(result.to_json(request_id=request_id, worker_id=answered_by))

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        """Prometheus text: national registry age and staleness (stale = numbers blocked, fail closed)."""
        text = registry_metrics(registries, clock()) + optout_latency.render(
            OPTOUT_LATENCY, "opt-out Kafka timestamp to its suppression written by this worker") + audit.metrics()
        return web.text(text, content_type="text/plain; version=0.0.4")

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        # Ready once partitions are assigned and table recovery finished: only then are
        # decisions made from complete state.
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager, typed as its interface
        ready = recovery.completed.is_set() and not app.rebalancing
        body = {"status": "ok" if ready else "starting", "ready": ready}
        if is_reader(request, read_keys):  # open to anyone: status only, unless a reader asks
            body["app_id"] = settings.app_id
        return web.json(body, status=200 if ready else 503)

    return app


# Naming the union branch spares fastavro trying the record against every branch (2-4x faster).
_EVENT_BRANCH = {
    "lead-captured": "io.leadpipe.LeadCaptured", "opt-out": "io.leadpipe.OptOut",
    "consent-changed": "io.leadpipe.ConsentChanged", "call-outcome": "io.leadpipe.CallOutcome",
}


_RELEASE_BRANCH = "io.leadpipe.internal.ReleaseDue"
_DEFERRED_MARK = b'"deferred_until"'  # present in a leads row only while one of its leads waits
FULL_SCAN_EVERY = 60


def _is_opt_out_add(number_event: dict[str, Any]) -> bool:
    event = number_event.get("event")
    return number_event.get("input_topic") == OPT_OUT and isinstance(event, dict) and event.get("action") == "ADD"


def _branch_named(routed: Routed) -> dict[str, object]:
    return _event_branch_named(routed.number_event)


def _event_branch_named(event: Any) -> dict[str, object]:
    """A number event (an input event, not a release) with its union branch named for the encoder."""
    return {**event, "event": (_EVENT_BRANCH[event["input_topic"]], event["event"])}


def _load(kind: Any, raw: bytes | None) -> Any:
    """A state value from its table bytes (JSON), or the empty value for a new number."""
    return kind() if raw is None else kind.from_json(json.loads(raw))


def _dump(value: Any) -> bytes:
    return json.dumps(value.to_json(), separators=(",", ":")).encode()
