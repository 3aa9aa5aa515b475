"""The release scheduler: re-decides waiting leads when their time comes.

A lead waits (``deferred_until``) for its window to open, its cap to free up, its retry or its
callback. The schedule is the leads table itself, so it survives restarts; this module keeps only an
index of it — for each number, the earliest instant one of its leads waits for — fed by every
batch's plan and rebuilt from the table whenever the worker becomes ready (after recovery and after
every rebalance). A tick sends a release event to ``<app>-number-events`` for each waiting lead whose
time came; the decide agent re-decides it there through every compliance check. Release ids are
derived from the lead and the instant, so a release sent twice is applied once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import datetime

from pipeline.core.leads import NumberLeads
from pipeline.core.linetype import LineTypeSource, with_line_type
from pipeline.core.number import due_releases, next_release_at
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.events import NumberEvent, PhoneInfo, ReleaseDue
from pipeline.topics import RELEASE_SCHEDULER
from pipeline.worker.state import load

_DEFERRED_MARK = b'"deferred_until"'
"""Only in a leads row with a waiting lead: lets the rebuild skip decoding every other row."""

MAX_REMEMBERED = 100_000


class ReleaseIndex:
    """For each number with a waiting lead, the earliest instant one of them waits for."""

    def __init__(self) -> None:
        self._due: dict[bytes, datetime] = {}
        self._heap: list[tuple[datetime, bytes]] = []
        self._sent: set[str] = set()

    def __len__(self) -> int:
        return len(self._due)

    def note(self, changes: Mapping[bytes, datetime | None]) -> None:
        """Record each number's next release instant (None: nothing waits any more)."""
        for key, at in changes.items():
            if at is None:
                self._due.pop(key, None)
            elif self._due.get(key) != at:
                self._due[key] = at
                heapq.heappush(self._heap, (at, key))

    def rebuild(self, rows: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Forget everything and index ``rows`` (the leads table's items) again."""
        self._due.clear()
        self._heap.clear()
        found: dict[bytes, datetime | None] = {}
        for key, raw in rows:
            if raw is not None and _DEFERRED_MARK in raw:
                found[key] = next_release_at(load(NumberLeads, raw))
        self.note(found)

    def due(self, now: datetime) -> list[bytes]:
        """Numbers with a lead whose wait is over at ``now`` (they stay indexed until a batch says
        otherwise, so a release lost in a crash is sent again)."""
        keys = []
        while self._heap and self._heap[0][0] <= now:
            at, key = heapq.heappop(self._heap)
            if self._due.get(key) == at:
                keys.append(key)
        for key in keys:  # back in the heap: due until the decide agent reports the release applied
            heapq.heappush(self._heap, (self._due[key], key))
        return keys

    def releases(self, key: bytes, raw: bytes | None, now: datetime,
                 phone: PhoneInfo) -> list[tuple[str, NumberEvent]]:
        """The release events to send for number ``key`` whose leads row is ``raw`` (each once per process)."""
        if raw is None:
            self._due.pop(key, None)
            return []
        events = []
        for release in due_releases(load(NumberLeads, raw), now):
            if release["event_id"] in self._sent:
                continue
            self._sent.add(release["event_id"])
            events.append((release["event_id"], release_event(phone, release)))
        if len(self._sent) > MAX_REMEMBERED:
            self._sent.clear()
        return events


def release_event(phone: PhoneInfo, release: ReleaseDue) -> NumberEvent:
    """The number event that carries ``release`` to the number's writer."""
    return {"phone": phone, "input_topic": RELEASE_SCHEDULER, "input_partition": -1, "input_offset": -1,
            "event": release, "duplicate_of": None}


def phone_of(key: bytes, default_region: str, line_types: LineTypeSource | None) -> PhoneInfo | None:
    """The enriched phone of a table key (an E.164 number), or None when it is not one (a bug)."""
    phone = normalize_phone(key.decode(), None, default_region)
    if isinstance(phone, PhoneError):
        return None
    return with_line_type(phone, line_types)
