"""The rule language: ``(field, operator, value, weight)`` rules over a lead's facts
(``pipeline.core.scoring.facts``), summed into a score with its breakdown.

Operators (``op``) and the ``value`` each takes:

- ``eq``, ``ne``: a string, number or boolean. ``in``, ``not_in``: a non-empty list of those.
  Strings compare trimmed and case-insensitively; a number matches a numeric string (``"50000"``);
  a boolean matches a bool or the words true/false, yes/no, 1/0, on/off.
- ``gt``, ``gte``, ``lt``, ``lte``: a number. The fact must be a number or a plain numeric string
  (``"50000"``, not ``"50,000"``: a comma is a thousands separator in one locale and a decimal point
  in another); anything else does not match.
- ``contains``: a non-empty string found in the fact, case-insensitively; for a list fact
  (``quality.flags``), an item equal to it, case-insensitively.
- ``regex``: a Python regular expression *searched* in the fact (anchor it with ``^...$`` to match
  the whole value; prefix ``(?i)`` to ignore case). Compiled when the rules are loaded.
- ``present``, ``absent``: no value. Blank strings count as absent.

A rule on a missing fact never matches, except ``absent``; ``ne`` and ``not_in`` need the fact to be
present too (an empty list counts as missing). No rule ever raises on a fact: a fact of the wrong
kind simply does not match.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from pipeline.core.scoring.facts import ATTRIBUTE_PREFIX, FACT_FIELDS
from pipeline.errors import ConfigError
from pipeline.events import ScoreContribution

RESERVED_PREFIXES = ("temperature.", "decay.", "contactability.")
"""Contribution ids made at decision time; a scoring rule may not use them."""
OPERATORS = frozenset({
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "present", "absent", "contains", "regex",
})
_RULE_KEYS = ("id", "field", "op", "value", "weight", "detail")
_TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "0", "off"})


Matcher = Callable[[object], bool]


@dataclass(frozen=True)
class Score:
    total: float
    breakdown: tuple[ScoreContribution, ...]

    @property
    def priority(self) -> int:
        """Dial priority derived from the score: higher is dialed first."""
        return round(self.total)


@dataclass(frozen=True)
class ScoringRule:
    """Add ``weight`` points when the fact ``field`` satisfies ``op`` ``value``.

    The operator and value are checked, and a regex compiled, on construction: a bad rule raises
    ValueError naming the key at fault (``load_scoring_rules`` turns it into ConfigError).
    """

    rule_id: str
    field: str
    op: str
    value: object
    weight: float
    detail: str | None = None
    _matcher: Matcher = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.value, list):
            # Rules are hashable values; a JSON list becomes a tuple.
            object.__setattr__(self, "value", tuple(self.value))
        object.__setattr__(self, "_matcher", _matcher_for(self.op, self.value))

    def matches(self, facts: Mapping[str, object]) -> bool:
        """Whether the rule applies to ``facts``; never raises."""
        fact = facts.get(self.field)
        if fact is None or (isinstance(fact, str) and not fact.strip()) or fact == ():
            return self.op == "absent"
        return self._matcher(fact)


def score(facts: Mapping[str, object], rules: Sequence[ScoringRule]) -> Score:
    """Sum the weights of the rules that match; the breakdown lists them in rule order."""
    # ScoringRule.matches, unrolled, and dict literals (a TypedDict call costs twice as much): this
    # runs for every rule of every lead.
    breakdown: list[ScoreContribution] = []
    for rule in rules:
        fact = facts.get(rule.field)
        if fact is None or (isinstance(fact, str) and not fact.strip()) or fact == ():
            matched = rule.op == "absent"
        else:
            matched = rule._matcher(fact)
        if matched:
            breakdown.append({"rule_id": rule.rule_id, "points": rule.weight, "detail": rule.detail})
    return Score(total=total_of(breakdown), breakdown=tuple(breakdown))


def total_of(breakdown: Sequence[ScoreContribution]) -> float:
    """The sum of a breakdown's points, rounded to two places: scores are read by people (68.96, not
    68.96000000000001) and the sum of decimal weights in binary floating point is not exact."""
    return round(math.fsum(item["points"] for item in breakdown), 2)


def load_rules(data: object) -> tuple[ScoringRule, ...]:
    """A list of rules, validated (``rule_file.load_scoring_rules`` has the format); ConfigError
    names the rule and the key at fault, duplicate ids too."""
    if not isinstance(data, list):
        raise ConfigError(f"scoring rules: expected a list of rules, got {type(data).__name__}")
    rules: list[ScoringRule] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        rule = load_rule(index, item)
        if rule.rule_id in seen:
            raise ConfigError(f"scoring rule #{index} ({rule.rule_id!r}): 'id' is used by an earlier rule")
        seen.add(rule.rule_id)
        rules.append(rule)
    return tuple(rules)


def load_rule(index: int, item: object) -> ScoringRule:
    """Rule number ``index`` of a rule list, validated; ConfigError names it and the key at fault."""
    where = f"scoring rule #{index}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected an object, got {type(item).__name__}")
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ConfigError(f"{where}: 'id' must be a non-empty string")
    where = f"scoring rule #{index} ({rule_id!r})"
    if rule_id.startswith(RESERVED_PREFIXES):
        reserved = ", ".join(RESERVED_PREFIXES)
        raise ConfigError(f"{where}: ids starting {reserved} are reserved for decision-time scoring")
    unknown = sorted(str(key) for key in item if key not in _RULE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; expected {_RULE_KEYS}")

    field = item.get("field")
    if not isinstance(field, str) or not _is_fact_field(field):
        raise ConfigError(
            f"{where}: 'field' must name a lead fact ({', '.join(sorted(FACT_FIELDS))} or "
            f"{ATTRIBUTE_PREFIX}<key>), got {field!r}"
        )
    op = item.get("op")
    if op not in OPERATORS:
        raise ConfigError(f"{where}: 'op' must be one of {', '.join(sorted(OPERATORS))}, got {op!r}")
    weight = item.get("weight")
    if not is_number(weight) or not math.isfinite(weight):
        raise ConfigError(f"{where}: 'weight' must be a finite number, got {weight!r}")
    detail = item.get("detail")
    if detail is not None and not isinstance(detail, str):
        raise ConfigError(f"{where}: 'detail' must be a string, got {detail!r}")
    try:
        return ScoringRule(rule_id, field, op, item.get("value"), float(weight), detail)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _is_fact_field(field: str) -> bool:
    if field.startswith(ATTRIBUTE_PREFIX):
        return len(field) > len(ATTRIBUTE_PREFIX)
    return field in FACT_FIELDS


def _matcher_for(op: str, value: object) -> Matcher:
    """A predicate over a present fact for ``op value``; ValueError names the bad key."""
    if op in ("present", "absent"):
        if value is not None:
            raise ValueError(f"'value' must be left out for {op!r}, got {value!r}")
        return lambda fact: op == "present"
    if op in ("eq", "ne"):
        equals = _equality([value], op)
        return equals if op == "eq" else lambda fact: not equals(fact)
    if op in ("in", "not_in"):
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"'value' must be a non-empty list for {op!r}, got {value!r}")
        member = _equality(value, op)
        return member if op == "in" else lambda fact: not member(fact)
    if op in ("gt", "gte", "lt", "lte"):
        if not is_number(value) or not math.isfinite(value):
            raise ValueError(f"'value' must be a finite number for {op!r}, got {value!r}")
        return _comparison(op, float(value))
    if op == "contains":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"'value' must be a non-empty string for 'contains', got {value!r}")
        needle = value.strip().casefold()
        return lambda fact: (needle in fact.casefold() if isinstance(fact, str) else
                             isinstance(fact, tuple) and any(str(item).casefold() == needle for item in fact))
    if op == "regex":
        if not isinstance(value, str) or not value:
            raise ValueError(f"'value' must be a non-empty regular expression for 'regex', got {value!r}")
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"'value' is not a valid regular expression: {exc}") from exc
        return lambda fact: isinstance(fact, str) and pattern.search(fact) is not None
    raise ValueError(f"'op' must be one of {', '.join(sorted(OPERATORS))}, got {op!r}")


def _equality(values: Sequence[object], op: str) -> Matcher:
    """True when the fact equals any of ``values``, read as the kind of value it is compared to."""
    strings: set[str] = set()
    numbers: set[float] = set()
    booleans: set[bool] = set()
    for value in values:
        if isinstance(value, bool):
            booleans.add(value)
        elif is_number(value) and math.isfinite(value):
            numbers.add(float(value))
        elif isinstance(value, str):
            strings.add(value.strip().casefold())
        else:
            raise ValueError(
                f"'value' for {op!r} must hold strings, finite numbers or booleans, got {value!r}"
            )

    def equals(fact: object) -> bool:
        if strings and isinstance(fact, str) and fact.strip().casefold() in strings:
            return True
        if numbers and _as_number(fact) in numbers:
            return True
        return bool(booleans) and _as_bool(fact) in booleans

    return equals


def _comparison(op: str, limit: float) -> Matcher:
    def compare(fact: object) -> bool:
        number = _as_number(fact)
        if number is None:
            return False
        if op == "gt":
            return number > limit
        if op == "gte":
            return number >= limit
        if op == "lt":
            return number < limit
        return number <= limit

    return compare


def is_number(value: object) -> TypeGuard[int | float]:
    # bool is an int subclass, but True is not the number 1 in a rule file.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(fact: object) -> float | None:
    if isinstance(fact, bool):
        return None
    if isinstance(fact, (int, float)):
        number = float(fact)
    elif isinstance(fact, str):
        try:
            number = float(fact.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _as_bool(fact: object) -> bool | None:
    if isinstance(fact, bool):
        return fact
    if isinstance(fact, str):
        word = fact.strip().casefold()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None
