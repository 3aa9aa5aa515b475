"""One batch of records, decided: what the ``decide`` agent sends and writes for them.

The agent takes records in batches (``take_events``) from the input topics and
``<app>-number-events`` and hands them to :meth:`Decider.plan`, which does all the work that needs no
I/O — decode, intake, route, ``process``, encode — in arrival order, one number's events strictly
one after the other, exactly as if they came one at a time. The agent then carries the plan out in
the order that keeps outputs and state agreeing after any crash:

1. send every output (call-ready, lead-decision, qualified-lead, dead letters, re-keyed events, email
   index rows) and wait until the broker acknowledged all of them;
2. write each number's changed rows, once per number per batch, and wait until the broker
   acknowledged their changelog records (the rows that mark events seen last);
3. let the offset gate commit the batch's offsets (:mod:`pipeline.worker.offsets`).

A crash before (2) replays the batch against the old state: the same outputs again, with the same
ids (at-least-once; consumers dedupe by ``event_id``). A crash after (2) replays events already
marked seen: they emit nothing, and their outputs were acknowledged in (1). On Apache Kafka with
exactly-once, (1) to (3) are one transaction per source partition instead.

A record that cannot be decided — undecodable, invalid, too big, or a bug — becomes a dead letter
with its original bytes; nothing it would have changed is kept, and the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from pipeline import topics
from pipeline.codec import Codec
from pipeline.core.email_stage import EmailLeads, email_route, email_table_key, forget_number
from pipeline.core.intake import Invalid, Rejected, intake
from pipeline.core.number import Emit, NumberState, ProcessContext, next_release_at, process
from pipeline.core.routing import EmailCheck, first_hop
from pipeline.errors import CodecError
from pipeline.events import NumberEvent, OptOut
from pipeline.redaction import exception_summary, fingerprint
from pipeline.worker.email_index import EmailIndex
from pipeline.worker.policies import Policies
from pipeline.worker.state import NumberTables, RowTooLarge, RowWrite
from pipeline.worker.wire import MAX_INPUT_BYTES, Outgoing, RecordTooLarge, branch_named, checked, dead_letter

log = logging.getLogger("leadpipe.decide")


@dataclass(frozen=True, slots=True)
class Incoming:
    """One consumed record, as the agent hands it over."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float | None
    """Kafka timestamp in seconds, or None."""


@dataclass(slots=True)
class Plan:
    """What one batch sends and writes, in that order."""

    outputs: list[Outgoing] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    """The source partition of each output: the partition whose transaction carries it (exactly-once)."""
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """The next offset of every (topic, partition) the batch read: what committing the batch commits."""
    rows: dict[tuple[str, bytes], RowWrite] = field(default_factory=dict)
    """The last write of each (table, key) in the batch: one write per row."""
    row_partition: dict[bytes, int] = field(default_factory=dict)
    """Partition of each number whose rows change: its changelog partition."""
    next_release: dict[bytes, datetime | None] = field(default_factory=dict)
    """For each number whose leads changed: when one of them next waits to be released."""
    opt_out_timestamps: list[float] = field(default_factory=list)
    """Kafka timestamps of the opt-outs (ADD) decided: opt-out → blocked latency, once written."""
    states: dict[bytes, NumberState] = field(default_factory=dict)
    """Each number's state after this batch, before it is written: what a dial-check must see."""
    decided: int = 0
    dead_letters: int = 0

    def add(self, source: int, out: Outgoing) -> None:
        self.outputs.append(out)
        self.sources.append(source)

    def by_source(self) -> dict[int, list[Outgoing]]:
        """The outputs of each source partition, in the order they were made."""
        grouped: dict[int, list[Outgoing]] = {p: [] for _, p in self.offsets}
        for out, source in zip(self.outputs, self.sources, strict=True):
            grouped.setdefault(source, []).append(out)
        return grouped


@dataclass(slots=True)
class _Effects:
    """What one record does, kept aside until it is known to succeed."""

    outputs: list[Outgoing] = field(default_factory=list)
    state: tuple[bytes, NumberState, NumberState] | None = None
    index_rows: list[tuple[bytes, EmailLeads]] = field(default_factory=list)
    opt_out_add: bool = False


class Decider:
    """Plans batches against the number tables and the email index (read-only while planning)."""

    def __init__(self, *, policies: Policies, codec: Codec, tables: NumberTables, index: EmailIndex | None,
                 number_events_topic: str, email_index_topic: str, legacy_email_topic: str,
                 partition_of: Callable[[bytes], int], default_region: str, erasure_secret: bytes) -> None:
        self.policies, self.codec, self.tables, self.index = policies, codec, tables, index
        self.number_events_topic = number_events_topic
        self.email_index_topic = email_index_topic
        self.legacy_email_topic = legacy_email_topic
        self.partition_of = partition_of
        self.default_region = default_region
        self.secret = erasure_secret

    def plan(self, batch: Sequence[Incoming], now: datetime) -> Plan:
        """Decide ``batch`` at ``now``. Never raises for a record's sake: a record that fails is a dead letter."""
        plan = Plan()
        for _ in self.steps(batch, now, plan):
            pass
        return plan

    def steps(self, batch: Sequence[Incoming], now: datetime, plan: Plan) -> Iterator[None]:
        """:meth:`plan`, one record at a time: yields after each record so the caller can let its
        event loop serve other work (dial-checks) in between. ``plan.states`` holds every number's
        state after the records planned so far."""
        ctx = self.policies.context(now)
        states = plan.states
        for record in batch:
            effects = _Effects()
            try:
                self._one(record, ctx, states, effects)
            except _Invalid as exc:
                self._dead_letter(record, exc.stage, exc.reason, now, plan)
            except (CodecError, RowTooLarge, RecordTooLarge) as exc:
                self._dead_letter(record, "decode" if isinstance(exc, CodecError) else "size", exc, now, plan)
            except Exception as exc:  # a bug must not stop the partition: keep the bytes, log loudly
                log.error("decide failed on %s/%s@%s: %s", record.topic, record.partition, record.offset,
                          exception_summary(exc))
                self._dead_letter(record, "decide", exc, now, plan)
            else:
                self._commit(record, effects, states, plan)
            plan.offsets[(record.topic, record.partition)] = record.offset + 1
            yield

    # --- one record ------------------------------------------------------------------------------

    def _one(self, record: Incoming, ctx: ProcessContext, states: dict[bytes, NumberState],
             effects: _Effects) -> None:
        if record.value is None:
            raise _Invalid("decode", "record without a value (a tombstone): nothing to decode")
        if record.topic != self.number_events_topic:  # the worker's own records are bounded already
            size = len(record.value) + len(record.key or b"")
            if size > MAX_INPUT_BYTES:
                raise _Invalid("size", f"a record of {size} bytes is over the {MAX_INPUT_BYTES}-byte input limit")
        decoded = self.codec.decode(record.value)
        if record.topic == self.number_events_topic:
            if record.key is None:  # the worker always keys these by the number: a bug if reached
                raise ValueError("a number event without a key")
            self._decide(record.key, cast(NumberEvent, decoded.record), record, ctx, states, effects)
            return
        if record.topic == self.legacy_email_topic:
            self._route(cast(NumberEvent, decoded.record), record, ctx, states, effects)
            return
        result = intake(record.topic, decoded.schema, decoded.record, partition=record.partition,
                        offset=record.offset, default_region=self.default_region, now=ctx.now,
                        rule_pack_version=ctx.rule_pack_version, line_types=self.policies.line_types,
                        encoded_size=len(record.value))
        if isinstance(result, Invalid):
            raise _Invalid(result.stage, result.error)
        if isinstance(result, Rejected):
            effects.outputs.extend(self._encode_emit(emit) for emit in result.emits)
            return
        self._route(result.number_event, record, ctx, states, effects)

    def _route(self, event: NumberEvent, record: Incoming, ctx: ProcessContext, states: dict[bytes, NumberState],
               effects: _Effects) -> None:
        """Decide a normalized input here, or send it to the writer of the number it belongs to."""
        if record.topic == self.legacy_email_topic and event["input_topic"] == topics.OPT_OUT:
            # An erasure forwarded to the email stage of an earlier release: forget the number here.
            if record.key is not None:
                self._forget(record.key, event["phone"]["phone_e164"], effects)
            return
        own = event["phone"]["phone_e164"]
        check = None
        email = email_route(event)
        if email is not None and self.index is not None:
            key = email_table_key(email, self.secret)
            window = ctx.campaigns.policy_for(cast(Any, event["event"])["campaign_id"]).duplicate_window
            check = EmailCheck(self.index.get(key), window)
        hop = first_hop(event, arrived_key=record.key, arrived_partition=record.partition,
                        home_partition=self.partition_of(own.encode()), email=check)
        if hop.email_row is not None and email is not None:
            effects.index_rows.append((email_table_key(email, self.secret), hop.email_row))
        if hop.here:
            self._decide(own.encode(), hop.event, record, ctx, states, effects)
        else:
            effects.outputs.append(self._number_event(hop.key, hop.event, record.timestamp))

    def _decide(self, key: bytes, event: NumberEvent, record: Incoming, ctx: ProcessContext,
                states: dict[bytes, NumberState], effects: _Effects) -> None:
        """``process`` the event on the number ``key`` (this writer's)."""
        state = states.get(key)
        if state is None:
            state = self.tables.read(key)
        new_state, emits = process(state, event, ctx)
        for emit in emits:
            if emit.topic == topics.NUMBER_EVENTS:  # a lead the core sends on to its own number
                effects.outputs.append(self._number_event(emit.key, cast(NumberEvent, emit.record), None))
            elif emit.topic == topics.EMAIL_EVENTS:  # an erasure the email index must apply too
                self._forget(email_table_key(emit.key, self.secret),
                             cast(NumberEvent, emit.record)["phone"]["phone_e164"], effects)
            else:
                effects.outputs.append(self._encode_emit(emit))
        effects.state = (key, state, new_state)
        inner = event["event"]
        effects.opt_out_add = event["input_topic"] == topics.OPT_OUT and cast(OptOut, inner)["action"] == "ADD"

    def _forget(self, key: bytes, phone_e164: str, effects: _Effects) -> None:
        """Drop ``phone_e164`` from the email index row ``key`` (its personal data was erased)."""
        if self.index is None:  # email dedupe is off: the index keeps nothing to forget
            return
        row = self.index.get(key)
        forgotten = forget_number(row, phone_e164)
        if forgotten is not row:
            effects.index_rows.append((key, forgotten))

    # --- encoding --------------------------------------------------------------------------------

    def _encode_emit(self, emit: Emit) -> Outgoing:
        return checked(Outgoing(emit.topic, emit.key.encode(), self.codec.encode(emit.schema, emit.record)))

    def _number_event(self, key: str, event: NumberEvent, timestamp: float | None) -> Outgoing:
        # A re-keyed record keeps the input's Kafka timestamp: opt-out → blocked latency counts from it.
        value = self.codec.encode(topics.NUMBER_EVENT_SCHEMA, branch_named(event))
        return checked(Outgoing(self.number_events_topic, key.encode(), value, timestamp))

    # --- outcome ---------------------------------------------------------------------------------

    def _commit(self, record: Incoming, effects: _Effects, states: dict[bytes, NumberState], plan: Plan) -> None:
        """Keep what a record did, now that all of it succeeded."""
        if effects.state is not None:
            key, old, new = effects.state
            writes = self.tables.changes(key, old, new) if new is not old else []
            states[key] = new
            for write in writes:
                plan.rows[(write.table, write.key)] = write
            if writes:
                plan.row_partition[key] = record.partition
            if new.leads is not old.leads:
                plan.next_release[key] = next_release_at(new.leads)
            plan.decided += 1
        for key, row in effects.index_rows:
            assert self.index is not None  # rows are only made when there is an index
            plan.add(record.partition, checked(Outgoing(self.email_index_topic, key, self.index.put(key, row))))
        for out in effects.outputs:
            plan.add(record.partition, out)
        if effects.opt_out_add and record.timestamp:
            plan.opt_out_timestamps.append(record.timestamp)

    def _dead_letter(self, record: Incoming, stage: str, error: BaseException | str, now: datetime,
                     plan: Plan) -> None:
        if isinstance(error, _Invalid):
            stage, error = error.stage, error.reason
        letter = dead_letter(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                             value=record.value, stage=stage, error=error, now=now)
        # The error may quote the input: the log gets its fingerprint, the dead-letter record all of it.
        log.warning("dead-letter %s/%s@%s stage=%s %s: %s", record.topic, record.partition, record.offset, stage,
                    letter["error_type"], fingerprint(letter["error"]))
        plan.add(record.partition, Outgoing(topics.DEAD_LETTER, letter["key"],
                                            self.codec.encode(topics.DEAD_LETTER, letter)))
        plan.dead_letters += 1


class _Invalid(Exception):
    """Input the pipeline refuses (not a bug): dead-lettered at ``stage`` with ``reason``."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage, self.reason = stage, reason
