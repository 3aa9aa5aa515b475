"""The window rules of one combination of jurisdictions, combined day by day: which local days are
closed (no-call days, holidays, a country the pack has no hours for) and the common hours of the
others, each day's plan cached and shared by every number of those jurisdictions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipeline.core.rulepack.model import (
    WEEKDAYS,
    HolidaysParams,
    HoursParams,
    NoCallDaysParams,
    Rule,
    hhmm,
)
from pipeline.core.window import Stretch, local_day_bounds

RULE_NO_COVERAGE = "rulepack.coverage"
"""Deciding rule for a day on which some country among the jurisdictions has no country-level hours
rule in the pack (say ``DE``): the pack does not know that country's law, so it is never callable."""

_DAY_CACHE_SIZE = 512
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _OpenDay:
    start: time
    end: time
    start_rule: str
    end_rule: str


@dataclass(frozen=True, slots=True)
class _ClosedDay:
    rule_id: str
    why: str


class WindowPlan:
    """The window rules of one (jurisdictions, autodialed) combination, with each local day's
    combined hours cached: a day's plan is shared by every number of those jurisdictions."""

    def __init__(self, rules: tuple[Rule, ...], countries: frozenset[str]) -> None:
        self.rules = rules
        self.countries = countries
        self._days: dict[date, _OpenDay | _ClosedDay] = {}
        self._considered: dict[tuple[date, date], tuple[str, ...]] = {}

    def considered(self, first: date, last: date) -> tuple[str, ...]:
        key = (first, last)
        ids = self._considered.get(key)
        if ids is None:
            if len(self._considered) >= _DAY_CACHE_SIZE:
                self._considered.clear()
            ids = tuple(
                rule.id for rule in self.rules
                if rule.effective <= last and (rule.ends is None or first < rule.ends)
            )
            self._considered[key] = ids
        return ids

    def day(self, day: date) -> _OpenDay | _ClosedDay:
        plan = self._days.get(day)
        if plan is None:
            if len(self._days) >= _DAY_CACHE_SIZE:
                self._days.clear()
            plan = self._days[day] = self._combine(day)
        return plan

    def _combine(self, day: date) -> _OpenDay | _ClosedDay:
        weekday = day.weekday()
        start = end = None
        start_rule = end_rule = ""
        covered: set[str] = set()
        # State rules come first (see _Index.plan), and only a strictly tighter bound replaces an
        # earlier one: ties go to the state rule.
        for rule in self.rules:
            if not rule.in_force_on(day):
                continue
            params = rule.params
            if isinstance(params, NoCallDaysParams):
                if weekday in params.weekdays:
                    return _ClosedDay(rule.id, f"no calls on {WEEKDAYS[weekday]} ({rule.id})")
            elif isinstance(params, HolidaysParams):
                if day > params.through:
                    return _ClosedDay(
                        rule.id,
                        f"holiday table {rule.id} ends {params.through.isoformat()}: closed until counsel extends it",
                    )
                name = params.holiday(day)
                if name is not None:
                    return _ClosedDay(rule.id, f"{day.isoformat()} is {name} ({rule.id})")
            elif isinstance(params, HoursParams):
                covered.add(rule.jurisdiction)
                rule_start, rule_end = params.on(weekday)
                if start is None or rule_start > start:
                    start, start_rule = rule_start, rule.id
                if end is None or rule_end < end:
                    end, end_rule = rule_end, rule.id
        uncovered = sorted(self.countries - covered)
        if uncovered or start is None or end is None:
            missing = ", ".join(uncovered) or "these jurisdictions"
            return _ClosedDay(RULE_NO_COVERAGE, f"the rule pack has no calling hours for {missing} (fail closed)")
        if start >= end:
            return _ClosedDay(end_rule, f"the hours of {start_rule} and {end_rule} do not overlap")
        return _OpenDay(start, end, start_rule, end_rule)

    def stretches(self, zone: ZoneInfo, now_utc: datetime, latest_opening: datetime) -> Iterator[Stretch[str]]:
        """``zone``'s open stretches, day by day, from the first not closed by ``now_utc`` up to the
        last local day that can open by ``latest_opening``."""
        day = now_utc.astimezone(zone).date()
        last = latest_opening.astimezone(zone).date()
        while day <= last:
            plan = self.day(day)
            if isinstance(plan, _OpenDay):
                opens_at, closes_at = local_day_bounds(zone, day, plan.start, plan.end)
                if closes_at > now_utc and opens_at < closes_at:
                    yield Stretch(opens_at, closes_at, plan.end_rule)
            day += _ONE_DAY

    def why_closed(self, zones: Sequence[ZoneInfo], now_utc: datetime) -> tuple[str, str]:
        """(rule id, reason) for ``now`` being closed: a banned day in any zone first, else the hours
        rule ``now`` is outside of in the first zone where it is."""
        hours_reason: tuple[str, str] | None = None
        for zone in zones:
            local = now_utc.astimezone(zone)
            plan = self.day(local.date())
            where = f"{local:%a %Y-%m-%d %H:%M} {zone.key}"
            if isinstance(plan, _ClosedDay):
                return plan.rule_id, f"closed: {where}: {plan.why}"
            if hours_reason is not None:
                continue
            opens_at, closes_at = local_day_bounds(zone, local.date(), plan.start, plan.end)
            if now_utc < opens_at:
                hours_reason = plan.start_rule, f"closed: {where} is before {plan.start_rule} opens {hhmm(plan.start)}"
            elif now_utc >= closes_at:
                hours_reason = plan.end_rule, f"closed: {where} is after {plan.end_rule} closes {hhmm(plan.end)}"
        if hours_reason is None:  # unreachable: open in every zone means open now
            return RULE_NO_COVERAGE, "closed: no common window"
        return hours_reason
