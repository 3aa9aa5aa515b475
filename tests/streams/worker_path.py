"""The worker path: a stream through the worker's own batch code, in process, without Faust or a broker.

:func:`run_worker_path` plays a :class:`~streams.mixed.MixedStream` through what the ``decide`` agent
and the ``release_scheduler`` timer of :mod:`pipeline.worker.app` run:

- a :class:`~pipeline.worker.decide.Decider` built like ``create_app`` builds it — policies from
  ``load_policies`` over default :class:`~pipeline.config.Settings` with the stream's line-type
  file, the codec of ``make_codec``, :class:`~pipeline.worker.state.NumberTables` over plain dicts,
  and an in-memory email index (:class:`EchoedEmailIndex`);
- every batch's plan carried out as ``AtLeastOnce`` does: the outputs first (outputs collected,
  re-keyed events appended to ``<app>-number-events``, email index rows echoed back to the index as
  its reader would), then the rows written, then ``next_release`` noted in the
  :class:`~pipeline.worker.releases.ReleaseIndex`;
- at each :class:`~streams.mixed.Tick`, the release scheduler's body: the due numbers, their
  release events on ``<app>-number-events``.

Records go in with the stream's keys (what the producer wrote), on the partition Kafka's murmur2
partitioner gives them, at offsets counted per partition from zero — the same positions
:mod:`streams.reference` gives the stream's inputs. The worker is caught up: at each item's instant
it takes the item and everything it caused (re-keyed events, releases, and what those cause), in
arrival order, in batches of at most ``batch_max`` records, each batch decided at that instant, before
the next item arrives — as a worker that keeps up with its topics does.

What that leaves out: a batch never holds two stream items, since each is decided at its own instant
and the stream's items are seconds apart (a worker that keeps up never sees them together). So a
lead decided in place never overtakes an earlier input of the same number still on its way through
``<app>-number-events``, as it can on a broker; batches of several records come from a tick's
releases and from what one item causes.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pipeline import topics
from pipeline.codec import Codec, make_codec
from pipeline.config import Settings
from pipeline.worker.app import partitioner
from pipeline.worker.decide import Decider, Incoming, Plan
from pipeline.worker.email_index import EmailIndex
from pipeline.worker.policies import Policies, load_policies
from pipeline.worker.releases import ReleaseIndex, phone_of
from pipeline.worker.state import NumberTables
from pipeline.worker.wire import Outgoing, branch_named
from streams.mixed import Garbage, Input, MixedStream, StreamItem, Tick
from streams.reference import OUTPUT_TOPICS, Output, ReferenceConfig


class EchoedEmailIndex(EmailIndex):
    """The email index over a dict, fed like ``ReplicatedEmailIndex``: a row the worker puts is seen
    at once, and the row's record on ``<app>-emails-changelog`` comes back to it once written."""

    def __init__(self) -> None:
        super().__init__()
        self.echoes = 0

    def echo(self, key: bytes, value: bytes | None) -> None:
        """The changelog's record of ``key`` read back (what ``ReplicatedEmailIndex._apply`` does once
        its own write has come back: keep the value, or forget the key on a tombstone)."""
        self.echoes += 1
        if value is None:
            self._rows.pop(key, None)
        else:
            self._rows[key] = value


@dataclass(frozen=True, slots=True)
class WorkerRun:
    """The outputs of a stream through the worker path, and how it was batched."""

    outputs: list[Output]
    batches: int
    records: int
    """Records the decide agent took: inputs, re-keyed events and releases."""
    largest_batch: int
    rekeyed: int
    """Records the worker sent to ``<app>-number-events`` (re-keys, diverted duplicates, releases)."""
    decided: int
    """Events applied to a number's state (the plans' ``decided``), wherever they were decided."""


def worker_policies(stream: MixedStream, settings: Settings) -> Policies:
    """The worker's policies for ``settings`` with the stream's line-type file, as a worker started
    with ``LEADPIPE_LINE_TYPES_PATH`` pointing at it loads them (no national registries: the
    reference decides without them)."""
    with tempfile.TemporaryDirectory(prefix="leadpipe-stream-") as directory:
        path = Path(directory) / "line-types.csv"
        path.write_text(stream.line_types_csv, encoding="utf-8")
        return load_policies(replace(settings, line_types_path=path), with_registries=False)


def run_worker_path(stream: MixedStream, *, batch_max: int, settings: Settings | None = None,
                    codec: Codec | None = None) -> WorkerRun:
    """Every output record of ``stream`` through the worker path, in the order the worker sends them."""
    settings = settings or Settings()
    worker = _Worker(stream, settings, codec or make_codec(settings), batch_max)
    worker.run(stream.items)
    return WorkerRun(worker.outputs, worker.batches, worker.records, worker.largest_batch, worker.rekeyed,
                     worker.decided)


class _Worker:
    """One worker: its decider, tables, email index and release index, and the topics it reads."""

    def __init__(self, stream: MixedStream, settings: Settings, codec: Codec, batch_max: int) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max must be at least 1, not {batch_max}")
        self.settings, self.codec, self.batch_max = settings, codec, batch_max
        self.policies = worker_policies(stream, settings)
        # The worker refuses to start without its own secret; the reference's fixed key serves (it keys
        # erasure markers and email index rows, never an output).
        secret = ReferenceConfig.erasure_key.encode()
        self.rows: dict[str, dict[bytes, bytes]] = {name: {} for name in topics.TABLES}
        rows = self.rows
        self.tables = NumberTables(rows[topics.TABLE_SUPPRESSIONS], rows[topics.TABLE_CONSENTS],
                                   rows[topics.TABLE_LEADS], rows[topics.TABLE_ERASURES], secret)
        self.index = EchoedEmailIndex() if settings.dedupe_by_email else None
        self.number_events = topics.number_events_topic(settings.app_id)
        self.index_topic = topics.changelog_topic(settings.app_id, topics.TABLE_EMAILS)
        self.partition_of = partitioner(settings.partitions)
        self.decider = Decider(policies=self.policies, codec=codec, tables=self.tables, index=self.index,
                               number_events_topic=self.number_events, email_index_topic=self.index_topic,
                               legacy_email_topic=topics.email_events_topic(settings.app_id),
                               partition_of=self.partition_of, default_region=settings.default_region,
                               erasure_secret=secret)
        self.releases = ReleaseIndex()
        self.scanned = False
        self.offsets: dict[tuple[str, int], int] = {}
        self.waiting: deque[Incoming] = deque()
        self.outputs: list[Output] = []
        self.batches = self.records = self.largest_batch = self.rekeyed = self.decided = 0

    def run(self, items: Iterable[StreamItem]) -> None:
        for item in items:
            if isinstance(item, Tick):
                self._release_scheduler(item.at)
            elif isinstance(item, Input):
                self._append(item.topic, item.key, self.codec.encode(item.schema, item.record), item.at)
            elif isinstance(item, Garbage):
                self._append(item.topic, item.key, item.value, item.at)
            while self.waiting:
                batch = [self.waiting.popleft() for _ in range(min(self.batch_max, len(self.waiting)))]
                self._decide(batch, item.at)

    # --- the broker -------------------------------------------------------------------------------

    def _append(self, topic: str, key: bytes | None, value: bytes | None, at: datetime | float | None) -> None:
        """Write a record to a topic the decide agent reads: it waits there to be taken."""
        if key is None:
            raise ValueError(f"a keyless record for {topic}: its partition would be random")
        partition = self.partition_of(key)
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[topic, partition] = offset + 1
        timestamp = at.timestamp() if isinstance(at, datetime) else at
        self.waiting.append(Incoming(topic, partition, offset, key, value, timestamp))

    # --- the decide agent -------------------------------------------------------------------------

    def _decide(self, batch: list[Incoming], now: datetime) -> None:
        plan = Plan()
        for _ in self.decider.steps(batch, now, plan):
            pass
        self.batches += 1
        self.records += len(batch)
        self.largest_batch = max(self.largest_batch, len(batch))
        self.decided += plan.decided
        self._deliver(plan.outputs, now)
        for row in plan.rows.values():  # after the outputs were acknowledged, as AtLeastOnce writes them
            self.tables.write(row)
        self.releases.note(plan.next_release)

    def _deliver(self, outputs: Iterable[Outgoing], now: datetime) -> None:
        for out in outputs:
            if out.topic in OUTPUT_TOPICS:
                if out.value is None:
                    raise ValueError(f"a tombstone on output topic {out.topic}")
                self.outputs.append(Output(out.topic, out.key, self.codec.decode(out.value).record))
            elif out.topic == self.number_events:
                self.rekeyed += 1
                self._append(out.topic, out.key, out.value, out.timestamp if out.timestamp is not None else now)
            elif out.topic == self.index_topic and self.index is not None and out.key is not None:
                self.index.echo(out.key, out.value)
            else:  # the worker sent to a topic this driver does not know: teach it, do not guess
                raise ValueError(f"the worker path does not know topic {out.topic!r}")

    # --- the release scheduler --------------------------------------------------------------------

    def _release_scheduler(self, now: datetime) -> None:
        """The body of ``release_scheduler`` in :mod:`pipeline.worker.app`, tables complete."""
        if not self.scanned:  # the app re-indexes the leads table on its first tick after recovery
            self.releases.rebuild(list(self.rows[topics.TABLE_LEADS].items()))
            self.scanned = True
        out = []
        leads = self.rows[topics.TABLE_LEADS]
        for key in self.releases.due(now):
            phone = phone_of(key, self.settings.default_region, self.policies.line_types)
            if phone is None:
                raise ValueError(f"a leads table key ({key!r}) is not a phone number")
            for _, event in self.releases.releases(key, leads.get(key), now, phone):
                out.append(Outgoing(self.number_events, key,
                                    self.codec.encode(topics.NUMBER_EVENT_SCHEMA, branch_named(event))))
        self._deliver(out, now)
