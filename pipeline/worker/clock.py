"""The decision clock: the system clock, a frozen instant (tests, replays), or — tests only — the
instant written in a file, read on every call so a test can move it across days.

Every clock ticks in whole milliseconds, the precision of every instant on the wire (Avro
``timestamp-millis``): an instant the core keeps in state — a callback due "now" — comes back in a
release event unchanged, and the core can match the two exactly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pipeline.config import DecisionClock
from pipeline.errors import ConfigError

Clock = Callable[[], datetime]


def to_millis(instant: datetime) -> datetime:
    """``instant`` cut to whole milliseconds, as a ``timestamp-millis`` field carries it."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def system_clock() -> datetime:
    return to_millis(datetime.now(UTC))


def make_clock(settings: DecisionClock) -> Clock:
    """``LEADPIPE_CLOCK_FILE`` wins over ``LEADPIPE_FIXED_CLOCK``, which wins over the system clock."""
    if settings.clock_file is not None:
        return _file_clock(settings.clock_file)
    if settings.fixed_clock is None:
        return system_clock
    fixed = to_millis(settings.fixed_clock)
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
        last[:] = [to_millis(instant)]
        return last[0]

    return now
