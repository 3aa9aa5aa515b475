"""The validated rule pack, and the lookups built once per pack: rules by id, by jurisdiction, in force
at an instant, and the window plans of each combination of jurisdictions.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from pipeline.core.rulepack.model import HoursParams, HouseHours, Rule, country_of
from pipeline.core.rulepack.plans import WindowPlan

_WINDOW_KINDS = frozenset({"hours", "no_call_days", "holidays"})
_PLAN_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class RulePack:
    """A validated, immutable rule pack; ``rules`` keep the file's order."""

    version: str
    rules: tuple[Rule, ...]
    about: str = ""
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _Index(self.rules))

    def get(self, rule_id: str) -> Rule | None:
        return self._index.by_id.get(rule_id)

    def to_json(self) -> dict[str, object]:
        """The pack as JSON data; ``load_rule_pack`` reads it back to an equal pack."""
        data: dict[str, object] = {"version": self.version}
        if self.about:
            data["about"] = self.about
        data["rules"] = [rule.to_json() for rule in self.rules]
        return data


class _Index:
    """Lookups over one pack's rules, built once per pack. The plan cache is bounded and lives with
    the pack, so an overridden pack never sees another pack's plans."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.by_id = {rule.id: rule for rule in rules}
        self.position = {rule.id: index for index, rule in enumerate(rules)}
        by_jurisdiction: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.enabled:
                by_jurisdiction.setdefault(rule.jurisdiction, []).append(rule)
        self.by_jurisdiction = {key: tuple(value) for key, value in by_jurisdiction.items()}
        self._plans: dict[tuple[tuple[str, ...], bool, HouseHours | None], WindowPlan] = {}
        self._rules_of: dict[tuple[str, ...], tuple[Rule, ...]] = {}
        # Every instant at which some rule starts or stops being in force (``Rule.in_force_at``):
        # between two of them the rules in force do not change, so ``in_force`` caches per interval.
        self._bounds = sorted({bound for rule in rules for bound in (rule._from, rule._until) if bound is not None})
        self._in_force: dict[tuple[tuple[str, ...], int], tuple[Rule, ...]] = {}
        self._known_in: dict[frozenset[str], tuple[str, ...]] = {}

    def known_in(self, countries: frozenset[str]) -> tuple[str, ...]:
        """The jurisdictions of ``countries`` with an enabled rule: countries first (cached)."""
        found = self._known_in.get(countries)
        if found is None:
            known = [j for j in self.by_jurisdiction if country_of(j) in countries]
            found = self._known_in[countries] = tuple(sorted(known, key=lambda j: "-" in j))
        return found

    def in_force(self, jurisdictions: tuple[str, ...], at: datetime) -> tuple[Rule, ...]:
        """``rules_of(jurisdictions)`` in force at ``at`` (cached per interval between rule dates)."""
        key = (jurisdictions, bisect.bisect_right(self._bounds, at))
        found = self._in_force.get(key)
        if found is None:
            if len(self._in_force) >= _PLAN_CACHE_SIZE:
                self._in_force.clear()
            found = self._in_force[key] = tuple(rule for rule in self.rules_of(jurisdictions) if rule.in_force_at(at))
        return found

    def rules_of(self, jurisdictions: Iterable[str]) -> tuple[Rule, ...]:
        """The enabled rules of ``jurisdictions`` and of their countries, in pack order."""
        key = tuple(jurisdictions)
        rules = self._rules_of.get(key)
        if rules is None:
            found = {
                rule.id: rule
                for jurisdiction in key
                for rule in (
                    *self.by_jurisdiction.get(country_of(jurisdiction), ()), *self.by_jurisdiction.get(jurisdiction, ())
                )
            }
            if len(self._rules_of) >= _PLAN_CACHE_SIZE:
                self._rules_of.clear()
            rules = self._rules_of[key] = tuple(sorted(found.values(), key=lambda rule: self.position[rule.id]))
        return rules

    def plan(self, jurisdictions: tuple[str, ...], autodialed: bool, house_hours: HouseHours | None) -> WindowPlan:
        key = (jurisdictions, autodialed, house_hours)
        plan = self._plans.get(key)
        if plan is None:
            rules = [r for r in self.rules_of(jurisdictions) if r.kind in _WINDOW_KINDS and r.covers(autodialed)]
            # State (subdivision) rules first, so ties and day bans name the most specific rule.
            rules.sort(key=lambda rule: "-" not in rule.jurisdiction)
            if house_hours is not None:
                # Last, so a tie names the law; "*" is no country, so it never covers one.
                rules.append(Rule(
                    id=house_hours.rule_id, jurisdiction="*", kind="hours",
                    params=HoursParams(house_hours.start, house_hours.end), citation="house hours",
                    effective=date.min,
                ))
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            countries = frozenset(country_of(jurisdiction) for jurisdiction in jurisdictions)
            plan = self._plans[key] = WindowPlan(tuple(rules), countries)
        return plan
