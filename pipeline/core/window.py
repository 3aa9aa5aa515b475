"""Legal call windows in the called party's local time."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """The legal window a number may be called in, as UTC-aware instants.

    ``open_now`` is True when ``now`` lies inside [opens_at, closes_at). When it is False,
    ``opens_at``/``closes_at`` describe the *next* window. ``opens_at``/``closes_at`` are None
    only when no window opens within the search horizon (e.g. time zones whose windows never overlap).
    """

    open_now: bool
    opens_at: datetime | None
    closes_at: datetime | None
    rule_id: str
    """Id of the hours rule that produced the window."""

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds from ``now`` until the window closes; 0 when it is not open."""
        if not self.open_now or self.closes_at is None:
            return 0
        return max(0, int((self.closes_at - now).total_seconds()))


def call_window(
    time_zones: Sequence[str],
    now: datetime,
    start: time,
    end: time,
    rule_id: str,
    *,
    horizon_days: int = 8,
) -> Window:
    """The window in which local time is in [start, end) in *every* zone of ``time_zones``.

    If ``now`` is inside it, the window is open and ``opens_at``/``closes_at`` bound the current
    stretch; otherwise they bound the next stretch that opens within ``horizon_days`` of ``now``, or
    are None when none does (e.g. zones whose windows never overlap). Returned instants are UTC.

    Fails closed: no zones, or a zone name the time-zone database does not know, means the callee's
    local time is unknown, so the window is closed with no next opening.

    Each day's bounds are built on the local wall clock, so DST days are exact. Where a bound falls
    in a DST gap or fold (never within real calling hours), the stricter instant is used: the later
    of the two readings for an opening, the earlier for a closing.

    Raises ValueError for a naive ``now``, ``start >= end`` (overnight windows are not supported) or
    a negative horizon: those are caller bugs.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    if start >= end:
        raise ValueError(f"window start {start.isoformat()} must be before its end {end.isoformat()}")
    if horizon_days < 0:
        raise ValueError(f"horizon_days must not be negative, got {horizon_days}")
    closed = Window(False, None, None, rule_id)
    if not time_zones:
        return closed
    try:
        zones = [_zone(name) for name in dict.fromkeys(time_zones)]
    except (ZoneInfoNotFoundError, ValueError):
        return closed

    now_utc = now.astimezone(UTC)
    latest_opening = now_utc + timedelta(days=horizon_days)
    days = [_daily_windows(zone, now_utc, start, end) for zone in zones]
    current = [next(windows) for windows in days]
    # Sweep the zones' daily windows in step. No overlap can start before the latest opening, so
    # each round either finds one or drops every window that closes by then.
    while True:
        opens_at = max(opening for opening, _ in current)
        if opens_at > latest_opening:
            return closed
        closes_at = min(closing for _, closing in current)
        if opens_at < closes_at:
            return Window(opens_at <= now_utc, opens_at, closes_at, rule_id)
        for index, (_, closing) in enumerate(current):
            if closing <= opens_at:
                current[index] = next(days[index])


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    # ZoneInfo keeps only a few zones strongly cached; a toll-free NANP number alone has 42.
    return ZoneInfo(name)


def _daily_windows(
    zone: ZoneInfo, now_utc: datetime, start: time, end: time
) -> Iterator[tuple[datetime, datetime]]:
    """``zone``'s [start, end) windows as UTC instants, day by day, from the first not closed by now."""
    # A day's window closes by that local midnight, so none before today's can still be open.
    day = now_utc.astimezone(zone).date()
    while True:
        opens_at = _wall_clock_instant(day, start, zone, latest=True)
        closes_at = _wall_clock_instant(day, end, zone, latest=False)
        if closes_at > now_utc and opens_at < closes_at:
            yield opens_at, closes_at
        day += timedelta(days=1)


def _wall_clock_instant(day: date, wall_time: time, zone: ZoneInfo, *, latest: bool) -> datetime:
    """The UTC instant the clock in ``zone`` reads ``wall_time`` on ``day``.

    A DST gap or fold gives two candidate readings; ``latest`` picks between them.
    """
    first = datetime.combine(day, wall_time, tzinfo=zone)
    second = first.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    candidates = (first.astimezone(UTC), second.astimezone(UTC))
    return max(candidates) if latest else min(candidates)


# Building blocks for windows whose hours change from day to day (pipeline.core.rulepack).


def zone_info(name: str) -> ZoneInfo:
    """The (cached) zone called ``name``.

    Raises ZoneInfoNotFoundError, or ValueError for a malformed name, when the time-zone database
    does not know it; callers fail closed on either.
    """
    return _zone(name)


@functools.lru_cache(maxsize=65536)
def local_day_bounds(zone: ZoneInfo, day: date, start: time, end: time) -> tuple[datetime, datetime]:
    """The UTC instants at which the clock in ``zone`` reads ``start`` and ``end`` on ``day``.

    Exact on DST days; a bound in a DST gap or fold takes the stricter reading, as in
    ``call_window``: the later instant for ``start``, the earlier for ``end``. The two may then meet
    or cross (hours wholly inside a gap), so callers check ``opens_at < closes_at``.
    """
    return (
        _wall_clock_instant(day, start, zone, latest=True),
        _wall_clock_instant(day, end, zone, latest=False),
    )


@dataclass(frozen=True, slots=True)
class Stretch(Generic[T]):
    """One zone's open stretch [opens_at, closes_at) as UTC instants, and what set its closing."""

    opens_at: datetime
    closes_at: datetime
    closed_by: T


def first_common_stretch(
    stretches: Sequence[Iterator[Stretch[T]]], latest_opening: datetime
) -> tuple[datetime, datetime, T] | None:
    """The earliest instant range inside a stretch of *every* iterator, opening by ``latest_opening``.

    Each iterator yields one zone's stretches in time order, without overlaps, and may end (no more
    stretches within the caller's horizon). Returns (opens_at, closes_at, closed_by of the stretch
    that closes first), or None when no common range opens by ``latest_opening`` or an iterator runs
    out first. The same sweep as ``call_window``: no overlap can start before the latest opening,
    so each round either finds one or drops every stretch that closes by then.
    """
    if not stretches:
        raise ValueError("first_common_stretch needs at least one zone's stretches")
    current: list[Stretch[T]] = []
    for zone_stretches in stretches:
        first = next(zone_stretches, None)
        if first is None:
            return None
        current.append(first)
    while True:
        opens_at = max(stretch.opens_at for stretch in current)
        if opens_at > latest_opening:
            return None
        closing = min(current, key=_closes_at)
        if opens_at < closing.closes_at:
            return opens_at, closing.closes_at, closing.closed_by
        for index, stretch in enumerate(current):
            if stretch.closes_at <= opens_at:
                following = next(stretches[index], None)
                if following is None:
                    return None
                current[index] = following


def _closes_at(stretch: Stretch[T]) -> datetime:
    return stretch.closes_at
