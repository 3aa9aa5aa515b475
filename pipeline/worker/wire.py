"""What the worker puts on Kafka besides table rows: encoded outputs, re-keyed events and dead letters,
each checked against the size a broker accepts before anything is sent.

Sizes (bytes, see README "Sizes"): an output record is at most :data:`MAX_RECORD_BYTES` (Kafka's
default ``max.message.bytes`` is 1 MiB; a record must fit with its batch overhead). A dead letter
copies the original value up to :data:`DEAD_LETTER_COPY_BYTES`; a bigger original is dead-lettered
by reference — topic, partition, offset, size, SHA-256 and its first :data:`DEAD_LETTER_HEAD_BYTES`
bytes — so the dead letter itself can never be refused by the broker.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.events import DeadLetter

MAX_INPUT_BYTES = 64 * 1024
"""Largest input record (key + value) the worker decides: the gateway's body limit. A bigger one
(possible only when written straight to Kafka) is dead-lettered by reference, undecoded."""
MAX_RECORD_BYTES = 900 * 1024
"""Largest record (key + value) the worker sends; over it the input that caused it is dead-lettered."""
DEAD_LETTER_COPY_BYTES = 64 * 1024
"""Largest original (key or value) copied whole into a dead letter: the gateway's body limit."""
DEAD_LETTER_HEAD_BYTES = 1024
"""How much of a bigger original a dead letter keeps."""

EVENT_BRANCH = {
    "lead-captured": "io.leadpipe.LeadCaptured", "opt-out": "io.leadpipe.OptOut",
    "consent-changed": "io.leadpipe.ConsentChanged", "call-outcome": "io.leadpipe.CallOutcome",
}
"""Union branch of each input in ``internal/number-event``: naming it spares fastavro trying the
record against every branch (2-4x faster)."""
RELEASE_BRANCH = "io.leadpipe.internal.ReleaseDue"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to send: bytes ready for the producer."""

    topic: str
    key: bytes | None
    value: bytes | None
    timestamp: float | None = None
    """Kafka timestamp in seconds; None: the producer's clock."""
    partition: int | None = None
    """The partition to write to; None: the key's (a changelog record names its partition)."""


class RecordTooLarge(ValueError):
    """An output the broker would refuse: the input that caused it is dead-lettered instead."""


def checked(out: Outgoing) -> Outgoing:
    """``out`` when it fits :data:`MAX_RECORD_BYTES`, else :class:`RecordTooLarge`."""
    size = len(out.key or b"") + len(out.value or b"")
    if size > MAX_RECORD_BYTES:
        raise RecordTooLarge(f"a {out.topic} record of {size} bytes is over the {MAX_RECORD_BYTES}-byte limit")
    return out


def branch_named(number_event: Any) -> dict[str, object]:
    """A number event with its union branch named for the encoder (an input or a release)."""
    inner = number_event["event"]
    branch = EVENT_BRANCH.get(number_event["input_topic"], RELEASE_BRANCH)
    return {**number_event, "event": (branch, inner)}


def dead_letter(*, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                stage: str, error: BaseException | str, now: datetime) -> DeadLetter:
    """A dead letter keeping the original bytes (or, when too big to copy, a reference to them)."""
    error_type = type(error).__name__ if isinstance(error, BaseException) else "InvalidInput"
    kept_value, truncated = value, False
    if value is not None and len(value) > DEAD_LETTER_COPY_BYTES:
        kept_value, truncated = value[:DEAD_LETTER_HEAD_BYTES], True
    kept_key = key
    if key is not None and len(key) > DEAD_LETTER_COPY_BYTES:
        kept_key, truncated = key[:DEAD_LETTER_HEAD_BYTES], True
    return {
        # Deterministic id: a replay of the same input yields the same dead-letter id.
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"leadpipe:dead-letter/{topic}/{partition}/{offset}")),
        "occurred_at": now,
        "topic": topic, "partition": partition, "offset": offset,
        "key": kept_key, "value": kept_value, "stage": stage,
        "error_type": error_type, "error": str(error)[:2000],
        "value_size": len(value) if value is not None else None,
        "value_sha256": hashlib.sha256(value).hexdigest() if value is not None else None,
        "value_truncated": truncated,
    }
