"""The reference runner: a stream through the pure core, in one fixed order, one record at a time.

:func:`run_reference` plays a :class:`~streams.mixed.MixedStream` through the core functions the
worker calls, without Faust or a broker:

- every input is Avro-encoded as its producer would write it and decoded back (undecodable bytes go
  to dead-letter, stage ``decode``; dead-letters are built by the worker's own ``wire.dead_letter``);
- ``intake`` (validate, limits, normalize, enrich with the stream's line types): REJECTED decisions
  and dead-letters go out; a routed lead with an email passes the email stage (``email_stage``, one
  row per email identity; ``forget_number`` for erasures the core forwards), every routed event then
  goes to its number;
- ``process`` per number, the state kept as the worker keeps it: JSON rows in dicts, one per table,
  an erasure marker replacing the personal rows;
- at each :class:`~streams.mixed.Tick`, the release scheduler: ``due_releases`` of every number with
  a waiting lead, each release sent once, normalized from the table key like the worker does.

The order is the one of a worker with an email hop: every lead with an email meets its email row,
and every record an item causes — on ``<app>-email-events`` or ``<app>-number-events``, encoded and
decoded like on the wire — is handled first-in first-out before the next stream item. A worker that
decides most inputs in place and diverts only probable duplicates reaches the same decisions for
each number in the same order; across numbers (and partitions) the order differs, which is why a
broker-level comparison uses ``first_difference(..., order="per_key")``. Every output record
(call-ready, lead-decision, qualified-lead, dead-letter) is encoded with its schema and decoded
again: an :class:`Output` is what a consumer reads. The clock of everything an item causes is the
item's ``at``.

Partitions and offsets are the broker's: the key's murmur2 hash (Kafka's default partitioner, which
Faust and leadpipe's producers use) and a count per partition from zero — the values a broker gives
when the stream is written, in order, to fresh topics. They show in dead-letter records (and their
ids).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka.partitioner import murmur2

from pipeline import topics
from pipeline.codec import Codec, SchemaStore, SingleObjectCodec
from pipeline.config import Settings
from pipeline.core.campaigns import CampaignBook
from pipeline.core.consents import ConsentLedger
from pipeline.core.email_stage import EmailLeads, email_route, email_stage, email_table_key, forget_number
from pipeline.core.erasure import Erasure, erasure_key
from pipeline.core.intake import Invalid, Rejected, Routed, intake
from pipeline.core.leads import NumberLeads
from pipeline.core.lifecycle import LifecyclePolicy
from pipeline.core.linetype import LineTypeSource, with_line_type
from pipeline.core.number import Emit, NumberState, ProcessContext, due_releases, process
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.qualification import Framework
from pipeline.core.rulepack import RulePack
from pipeline.core.scoring import ScoringModel, ScoringRule
from pipeline.core.suppressions import SuppressionState
from pipeline.errors import CodecError
from pipeline.packaged import (
    default_campaigns,
    default_disposable_domains,
    default_framework,
    default_lifecycle,
    default_rule_pack,
    default_scoring,
)
from pipeline.state_codec import decode, encode
from pipeline.worker.wire import branch_named, dead_letter
from streams.mixed import Garbage, Input, MixedStream, StreamItem, Tick, line_types

OUTPUT_TOPICS = (topics.CALL_READY, topics.LEAD_DECISION, topics.QUALIFIED_LEAD, topics.DEAD_LETTER)


@dataclass(frozen=True, slots=True)
class Output:
    """One record on an output topic, as a consumer reads it (decoded from its Avro bytes)."""

    topic: str
    key: bytes | None
    record: Mapping[str, Any]


@dataclass(frozen=True)
class ReferenceConfig:
    """What the worker is configured with: the packaged defaults, the stream's line types."""

    line_types: LineTypeSource | None = None
    campaigns: CampaignBook = field(default_factory=default_campaigns)
    scoring: tuple[tuple[ScoringRule, ...], ScoringModel] = field(default_factory=default_scoring)
    rule_pack: RulePack = field(default_factory=default_rule_pack)
    lifecycle: LifecyclePolicy = field(default_factory=default_lifecycle)
    qualification: Framework = field(default_factory=default_framework)
    disposable_domains: frozenset[str] = field(default_factory=default_disposable_domains)
    default_region: str = Settings.default_region
    partitions: int = Settings.partitions
    app_id: str = Settings.app_id
    erasure_key: str = "mixed-stream-erasure-key-not-a-secret"
    """The worker refuses to start without its own secret; any fixed key serves the stream (it keys
    internal topics and tables only, never an output)."""
    dedupe_by_email: bool = Settings.dedupe_by_email

    @classmethod
    def for_stream(cls, stream: MixedStream) -> ReferenceConfig:
        """A worker with every default setting and the stream's line-type file."""
        return cls(line_types=line_types(stream))


def run_reference(stream: MixedStream, config: ReferenceConfig | None = None, *,
                  codec: Codec | None = None) -> list[Output]:
    """Every output record of ``stream``, in the order the reference worker sends them."""
    worker = _Worker(config or ReferenceConfig.for_stream(stream), codec or SingleObjectCodec(SchemaStore()))
    return worker.run(stream.items)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class _Worker:
    """One worker's agents and tables, run synchronously."""

    def __init__(self, config: ReferenceConfig, codec: Codec) -> None:
        self.config = config
        self.codec = codec
        self.number_events = topics.number_events_topic(config.app_id)
        self.email_events = topics.email_events_topic(config.app_id)
        self.secret = config.erasure_key.encode()
        self.tables: dict[str, dict[bytes, bytes]] = {name: {} for name in (*topics.TABLES, topics.TABLE_EMAILS)}
        self.waits: dict[bytes, list[datetime]] = {}
        """Numbers with a lead that has a ``deferred_until``, and those instants that no tick has passed
        yet, earliest first. The worker asks ``due_releases`` of every such number on each tick; asking
        only when one of them came due, or the row changed, sends the same releases at the same ticks."""
        self.sent_releases: set[str] = set()
        self.offsets: dict[tuple[str, int], int] = {}
        self.queue: deque[_Message] = deque()
        self.outputs: list[Output] = []
        self.now: datetime | None = None
        self.handlers: dict[str, tuple[str, Callable[[_Message, dict[str, Any], str], None]]] = {
            self.number_events: ("decide", self._decide),
            self.email_events: ("email", self._email_stage),
        }

    def run(self, items: Iterable[StreamItem]) -> list[Output]:
        for item in items:
            self.now = item.at
            if isinstance(item, Tick):
                self._release_scheduler()
            elif isinstance(item, Input):
                self._take(self._append(item.topic, item.key, self.codec.encode(item.schema, item.record)))
            elif isinstance(item, Garbage):
                self._take(self._append(item.topic, item.key, item.value))
            while self.queue:
                self._take(self.queue.popleft())
        return self.outputs

    # --- the broker -------------------------------------------------------------------------------

    def _append(self, topic: str, key: bytes | None, value: bytes) -> _Message:
        if key is None:
            raise ValueError(f"a keyless record for {topic}: its partition would be random")
        partition = partition_for(key, self.config.partitions)
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[topic, partition] = offset + 1
        return _Message(topic, partition, offset, key, value)

    def _send(self, topic: str, key: bytes | None, value: bytes) -> None:
        if topic in OUTPUT_TOPICS:
            self.outputs.append(Output(topic, key, self.codec.decode(value).record))
        elif topic in self.handlers:
            self.queue.append(self._append(topic, key, value))
        else:  # the core emitted to a topic this runner does not know: teach it, do not guess
            raise ValueError(f"the reference runner does not know topic {topic!r}")

    def _send_dead_letter(self, msg: _Message, stage: str, error: BaseException | str) -> None:
        record = dead_letter(topic=msg.topic, partition=msg.partition, offset=msg.offset, key=msg.key,
                             value=msg.value, stage=stage, error=error, now=self._now())
        self._send(topics.DEAD_LETTER, msg.key, self.codec.encode(topics.DEAD_LETTER, record))

    def _send_emits(self, emits: Iterable[Emit]) -> None:
        for emit in emits:
            if emit.topic == topics.NUMBER_EVENTS:
                self._send(self.number_events, emit.key.encode(),
                           self.codec.encode(topics.NUMBER_EVENT_SCHEMA, branch_named(emit.record)))
            elif emit.topic == topics.EMAIL_EVENTS:
                if self.config.dedupe_by_email:
                    self._send(self.email_events, email_table_key(emit.key, self.secret),
                               self.codec.encode(topics.NUMBER_EVENT_SCHEMA, branch_named(emit.record)))
            else:
                self._send(emit.topic, emit.key.encode(), self.codec.encode(emit.schema, emit.record))

    def _now(self) -> datetime:
        if self.now is None:
            raise RuntimeError("no stream item has set the clock yet")
        return self.now

    # --- the agents -------------------------------------------------------------------------------

    def _take(self, msg: _Message) -> None:
        """Decode ``msg`` and hand it to its agent; undecodable bytes and agent bugs go to dead-letter."""
        stage, handle = self.handlers.get(msg.topic, ("intake", self._intake))
        try:
            decoded = self.codec.decode(msg.value)
        except CodecError as exc:
            self._send_dead_letter(msg, "decode", exc)
            return
        try:
            handle(msg, decoded.record, decoded.schema)
        except Exception as exc:  # the worker keeps the bytes of a record its code failed on
            self._send_dead_letter(msg, stage, exc)

    def _intake(self, msg: _Message, record: dict[str, Any], schema: str) -> None:
        config = self.config
        result = intake(msg.topic, schema, record, partition=msg.partition, offset=msg.offset,
                        default_region=config.default_region, now=self._now(),
                        rule_pack_version=config.rule_pack.version, line_types=config.line_types,
                        encoded_size=len(msg.value))
        if isinstance(result, Routed):
            email = email_route(result.number_event)
            value = self.codec.encode(topics.NUMBER_EVENT_SCHEMA, branch_named(result.number_event))
            if email is not None and config.dedupe_by_email:
                self._send(self.email_events, email_table_key(email, self.secret), value)
            else:
                self._send(self.number_events, result.key.encode(), value)
        elif isinstance(result, Rejected):
            self._send_emits(result.emits)
        elif isinstance(result, Invalid):
            self._send_dead_letter(msg, result.stage, result.error)

    def _email_stage(self, msg: _Message, event: dict[str, Any], schema: str) -> None:
        key = _key(msg)
        emails = self.tables[topics.TABLE_EMAILS]
        state = _load(EmailLeads, emails.get(key))
        if event["input_topic"] == topics.OPT_OUT:  # an erasure forwarded by the number's writer
            forgotten = forget_number(state, event["phone"]["phone_e164"])
            if forgotten is not state:
                emails[key] = _dump(forgotten)
            return
        window = self.config.campaigns.policy_for(event["event"]["campaign_id"]).duplicate_window
        new_state, phone_key, onward = email_stage(state, event, window)  # type: ignore[arg-type]
        if new_state is not state:
            emails[key] = _dump(new_state)
        self._send(self.number_events, phone_key.encode(),
                   self.codec.encode(topics.NUMBER_EVENT_SCHEMA, branch_named(onward)))

    def _decide(self, msg: _Message, event: dict[str, Any], schema: str) -> None:
        key = _key(msg)
        config = self.config
        state = self._number_state(key)
        scoring_rules, scoring_model = config.scoring
        ctx = ProcessContext(now=self._now(), rule_pack_version=config.rule_pack.version, campaigns=config.campaigns,
                             scoring_rules=scoring_rules, rule_pack=config.rule_pack, scoring_model=scoring_model,
                             lifecycle=config.lifecycle, qualification=config.qualification,
                             disposable_domains=config.disposable_domains)
        new_state, emits = process(state, event, ctx)  # type: ignore[arg-type]
        self._write_back(key, state, new_state)
        self._send_emits(emits)

    def _release_scheduler(self) -> None:
        now = self._now()
        leads_table = self.tables[topics.TABLE_LEADS]
        for key in sorted(k for k, waits in self.waits.items() if waits[0] <= now):  # sorted: same order every run
            later = [at for at in self.waits[key] if at > now]
            if later:
                self.waits[key] = later
            else:
                del self.waits[key]
            for release in due_releases(_load(NumberLeads, leads_table[key]), now):
                if release["event_id"] in self.sent_releases:
                    continue
                phone = normalize_phone(key.decode(), None, self.config.default_region)
                if isinstance(phone, PhoneError):
                    raise ValueError(f"table key {key!r} is not a phone number: {phone.detail}")
                event = {"phone": with_line_type(phone, self.config.line_types),
                         "input_topic": topics.RELEASE_SCHEDULER, "input_partition": -1, "input_offset": -1,
                         "event": release, "duplicate_of": None}
                self._send(self.number_events, key, self.codec.encode(topics.NUMBER_EVENT_SCHEMA, branch_named(event)))
                self.sent_releases.add(release["event_id"])

    # --- the tables -------------------------------------------------------------------------------

    def _number_state(self, key: bytes) -> NumberState:
        marker = self.tables[topics.TABLE_ERASURES].get(erasure_key(key.decode(), self.secret))
        if marker is not None:
            return NumberState(erasure=decode(Erasure, marker))
        return NumberState(
            suppressions=_load(SuppressionState, self.tables[topics.TABLE_SUPPRESSIONS].get(key)),
            consents=_load(ConsentLedger, self.tables[topics.TABLE_CONSENTS].get(key)),
            leads=_load(NumberLeads, self.tables[topics.TABLE_LEADS].get(key)),
        )

    def _write_back(self, key: bytes, old: NumberState, new: NumberState) -> None:
        tables = self.tables
        if new.erasure is not None and old.erasure is None:
            self.waits.pop(key, None)
            for name in (topics.TABLE_SUPPRESSIONS, topics.TABLE_CONSENTS, topics.TABLE_LEADS):
                tables[name].pop(key, None)
            tables[topics.TABLE_ERASURES][erasure_key(key.decode(), self.secret)] = _dump(new.erasure)
            return
        if new.suppressions is not old.suppressions:
            tables[topics.TABLE_SUPPRESSIONS][key] = _dump(new.suppressions)
        if new.consents is not old.consents:
            tables[topics.TABLE_CONSENTS][key] = _dump(new.consents)
        if new.leads is not old.leads:
            tables[topics.TABLE_LEADS][key] = _dump(new.leads)
            waits = sorted(lead.deferred_until for lead in new.leads.leads if lead.deferred_until is not None)
            if waits:
                self.waits[key] = waits
            else:
                self.waits.pop(key, None)


def _key(msg: _Message) -> bytes:
    if msg.key is None:
        raise ValueError("an internal record without a key")
    return msg.key


def _load(kind: Any, raw: bytes | None) -> Any:
    return kind() if raw is None else decode(kind, raw)


def _dump(value: Any) -> bytes:
    return encode(value)
