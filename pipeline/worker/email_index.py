"""The email index: which leads each email was seen with, readable by every worker.

A lead's email decides whether it is a duplicate of a lead on *another* number (see
:mod:`pipeline.core.routing`), so the number's writer must read rows that other writers wrote. The
index is a compacted topic (``<app>-emails-changelog``, keyed by a keyed hash of the email, one
:class:`~pipeline.core.email_stage.EmailLeads` row per email, :mod:`pipeline.state_codec`) that every
worker reads whole into memory in a background thread: a replicated lookup table, with no hop for the
lead.

Writes go to the topic with the batch's outputs (so they are acknowledged before the batch's state,
and in its transaction on Kafka) and into the local copy at once, so the next lead in the same
batch sees them. The reader skips a key's records while a local write to it has not come back.

What it leaves open, by design: two leads with the same email on different numbers, decided by two
*different* workers within the time one worker's write takes to reach the other (milliseconds), are
both decided as new (neither is marked DUPLICATE); the index keeps the later write. One worker, or
any two leads further apart, never race.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from pipeline.core.email_stage import EmailLeads
from pipeline.replica.reader import ChangelogReader
from pipeline.state_codec import encode
from pipeline.worker.state import load

log = logging.getLogger("leadpipe.email-index")


class EmailIndex:
    """An in-memory email index; :class:`ReplicatedEmailIndex` keeps it fed from the topic."""

    def __init__(self) -> None:
        self._rows: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> EmailLeads:
        """The row of ``key`` (an ``email_table_key``), empty when the email was never seen."""
        return load(EmailLeads, self._rows.get(key))

    def put(self, key: bytes, row: EmailLeads) -> bytes:
        """Keep ``row`` for ``key`` locally now; returns its bytes, to be sent to the topic."""
        raw = encode(row)
        self._rows[key] = raw
        return raw

    def __len__(self) -> int:
        return len(self._rows)


class ReplicatedEmailIndex(EmailIndex):
    """An :class:`EmailIndex` kept from ``topic`` by a :class:`~pipeline.replica.reader.ChangelogReader`;
    :attr:`ready` is set once it has read what was there when it started."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], topic: str, partitions: int, *,
                 read_committed: bool = False) -> None:
        super().__init__()
        self._pending: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self._reader = ChangelogReader(kafka_config, [topic], partitions, self._apply, name="email-index",
                                       read_committed=read_committed)
        self.ready = self._reader.ready

    def start(self) -> ReplicatedEmailIndex:
        self._reader.start()
        return self

    def stop(self) -> None:
        self._reader.stop()

    def put(self, key: bytes, row: EmailLeads) -> bytes:
        raw = encode(row)
        with self._lock:
            self._rows[key] = raw
            self._pending[key] = raw
        return raw

    def _apply(self, _topic: str, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                # Our own write is newer than anything before its echo: skip until the echo arrives.
                if value == pending:
                    del self._pending[key]
                return
            if value is None:
                self._rows.pop(key, None)
            else:
                self._rows[key] = value
