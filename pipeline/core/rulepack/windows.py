"""The legal call window: when a number may be called, the intersection of every applicable hours,
no-call-day and holiday rule over all of its time zones, with the rule that decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.rulepack.model import HouseHours, require_aware
from pipeline.core.rulepack.pack import RulePack
from pipeline.core.window import Window, first_common_stretch, zone_info

RULE_LOCAL_TIME = "rulepack.local_time"
"""Deciding rule when the callee's local time is unknown (no time zone, or one the database lacks)."""

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    window: Window
    """``window.rule_id`` is ``deciding_rule``."""
    deciding_rule: str
    """The rule that keeps the number closed now, or that sets the current closing time."""
    rules_considered: tuple[str, ...]
    """Every window rule (hours, no-call days, holidays) of the jurisdictions in force from the day
    before ``now`` to the day after the horizon: state rules first, then country rules, then the
    house hours, each in pack order."""
    detail: str
    """One line for the trace: why closed, or open until when."""


def legal_window(
    pack: RulePack,
    jurisdictions: Sequence[str],
    time_zones: Sequence[str],
    now: datetime,
    *,
    autodialed: bool = False,
    house_hours: HouseHours | None = None,
    horizon_days: int = 8,
) -> WindowVerdict:
    """When a number may be called: the intersection of every applicable hours, no-call-day and
    holiday rule of every jurisdiction, in the local time of every one of ``time_zones``.

    ``autodialed`` means an autodialed or prerecorded call: rules with ``"calls": "automated"`` apply
    too. ``house_hours`` (a campaign's calling hours) narrow the window further.

    The window is open when ``now`` is inside it; otherwise it describes the next one opening within
    ``horizon_days``, or has no bounds when none does. ``deciding_rule`` is the rule that forbids
    ``now`` (a day ban in any zone first, else the hours rule whose opening or closing ``now`` is
    outside, in the first zone where it is), or, when open, the rule that sets the closing time;
    ties go to the state rule over the federal one (then the house hours), then to pack order.

    Fails closed: no time zone, or one the time-zone database lacks → closed with no next window
    (``RULE_LOCAL_TIME``); a country among ``jurisdictions`` (``US-TX`` implies ``US``) without a
    country-level hours rule in force that day → closed (``RULE_NO_COVERAGE``): the pack must know a
    country's law before its numbers are called. Raises ValueError for a naive ``now`` or a negative
    horizon.
    """
    require_aware(now, "now")
    if horizon_days < 0:
        raise ValueError(f"horizon_days must not be negative, got {horizon_days}")
    plan = pack._index.plan(tuple(jurisdictions), autodialed, house_hours)
    now_utc = now.astimezone(UTC)
    latest_opening = now_utc + timedelta(days=horizon_days)
    considered = plan.considered(now_utc.date() - _ONE_DAY, latest_opening.date() + _ONE_DAY)
    if not time_zones:
        return _unknown_local_time(considered, "the number has no time zone")
    zones: list[ZoneInfo] = []
    for name in dict.fromkeys(time_zones):
        try:
            zones.append(zone_info(name))
        except (ZoneInfoNotFoundError, ValueError):
            return _unknown_local_time(considered, f"time zone {name!r} is not in the time-zone database")

    found = first_common_stretch([plan.stretches(zone, now_utc, latest_opening) for zone in zones], latest_opening)
    if found is not None and found[0] <= now_utc:
        opens_at, closes_at, rule_id = found
        return WindowVerdict(
            Window(True, opens_at, closes_at, rule_id), rule_id, considered,
            f"open until {closes_at.isoformat()} ({rule_id})",
        )
    rule_id, why = plan.why_closed(zones, now_utc)
    if found is None:
        return WindowVerdict(
            Window(False, None, None, rule_id), rule_id, considered,
            f"{why}; no window opens within {horizon_days} days",
        )
    return WindowVerdict(
        Window(False, found[0], found[1], rule_id), rule_id, considered,
        f"{why}; next window opens {found[0].isoformat()}",
    )


def _unknown_local_time(considered: tuple[str, ...], why: str) -> WindowVerdict:
    return WindowVerdict(
        Window(False, None, None, RULE_LOCAL_TIME), RULE_LOCAL_TIME, considered,
        f"closed: callee-local time unknown: {why}",
    )
