"""``--decisions OUT.csv``: wait for the pipeline's decision on every imported row and write it next
to the row.

Before the first row is sent, :class:`DecisionWaiter` starts reading ``lead-decision`` from its end
in a background thread. Each imported row's ``event_id`` is registered with its line number; the
first decision whose ``input_event_id`` is one of them is kept (outcome, reason codes with their
rule ids, the legal window). Once every row has its decision — or nothing new arrived for the idle
timeout — :func:`write_decisions` reads the input file again and writes each row's cells followed by
its decision columns; rows the import refused carry ``NOT_SENT`` and the reason.

A row whose ``event_id`` the pipeline already applied (the same file imported twice) gets no new
decision: it is reported as ``NO_DECISION`` after the idle timeout; its decision is the one from
the first import, on ``lead-decision``.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from pipeline.codec import Codec
from pipeline.errors import CodecError
from pipeline.topics import LEAD_DECISION

DECISION_COLUMNS = ("decision", "reasons", "callable_from", "callable_until", "lead_id", "decision_id")


@dataclass(frozen=True, slots=True)
class RowDecision:
    outcome: str
    reasons: str
    """``CODE (rule id): detail`` for each reason, separated by `` | ``."""
    callable_from: str
    callable_until: str
    lead_id: str
    decision_id: str

    def cells(self) -> list[str]:
        return [self.outcome, self.reasons, self.callable_from, self.callable_until, self.lead_id,
                self.decision_id]


def row_decision(record: Mapping[str, Any]) -> RowDecision:
    """The columns written for one ``lead-decision`` record."""
    reasons = " | ".join(f"{r['code']} ({r['rule_id']}): {r['detail']}" for r in record["reasons"])
    window_from, window_until = record.get("callable_from"), record.get("callable_until")
    return RowDecision(record["outcome"], reasons, window_from.isoformat() if window_from else "",
                       window_until.isoformat() if window_until else "", record["lead_id"], record["decision_id"])


class DecisionWaiter:
    """Reads ``lead-decision`` from where it ends now and keeps the decisions of registered events."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], codec: Codec) -> None:
        self._codec = codec
        self._consumer = Consumer({**kafka_config, "group.id": "leadpipe-import-decisions",
                                   "enable.auto.commit": False, "fetch.wait.max.ms": 50,
                                   "log.connection.close": False})
        self._lines: dict[str, int] = {}
        self.decided: dict[int, RowDecision] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-decisions", daemon=True)
        self.last_progress = time.monotonic()
        self.error: BaseException | None = None

    def start(self) -> DecisionWaiter:
        """Position at the end of every partition (before anything is sent), then read on."""
        metadata = self._consumer.list_topics(LEAD_DECISION, timeout=10)
        partitions = metadata.topics[LEAD_DECISION].partitions
        self._consumer.assign([TopicPartition(LEAD_DECISION, p, -1) for p in partitions])  # -1: the end
        for p in partitions:  # resolve "the end" now, not when the first fetch happens
            self._consumer.position([TopicPartition(LEAD_DECISION, p)])
        self._thread.start()
        return self

    def expect(self, event_id: str, line_number: int) -> None:
        with self._lock:
            self._lines[event_id] = line_number

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._lines)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for msg in self._consumer.consume(1000, timeout=0.2):
                    value = msg.value()
                    if msg.error() is not None or value is None:
                        continue
                    try:
                        record = self._codec.decode(value).record
                    except CodecError:
                        continue  # not ours to judge here: the worker wrote it
                    with self._lock:
                        line = self._lines.pop(record["input_event_id"], None)
                        if line is not None:
                            self.decided[line] = row_decision(record)
                            self.last_progress = time.monotonic()
        except BaseException as exc:  # surfaced to the importer instead of dying silently
            self.error = exc
        finally:
            self._consumer.close()

    def wait(self, *, idle_timeout_s: float, on_progress: Any = None) -> int:
        """Block until every expected row is decided or nothing was decided for ``idle_timeout_s``;
        return how many are still undecided."""
        self.last_progress = max(self.last_progress, time.monotonic())
        while self.waiting and self.error is None and time.monotonic() - self.last_progress < idle_timeout_s:
            if on_progress is not None:
                on_progress()
            time.sleep(0.1)
        return self.waiting

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def write_decisions(out: Path, header: list[str], rows: Iterable[tuple[int, list[str], str | None]],
                    decided: Mapping[int, RowDecision]) -> None:
    """Write ``rows`` — (line number, cells, reason it was not sent or None) — each followed by its
    decision columns."""
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["line", *header, *DECISION_COLUMNS])
        for line, cells, not_sent in rows:
            if not_sent is not None:
                extra = ["NOT_SENT", not_sent, "", "", "", ""]
            elif (decision := decided.get(line)) is not None:
                extra = decision.cells()
            else:
                extra = ["NO_DECISION", "no decision arrived (already imported before?)", "", "", "", ""]
            writer.writerow([line, *cells, *extra])
