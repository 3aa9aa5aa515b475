"""Rules-based lead scoring: (field, operator, value, weight) rules summed, with a breakdown.

A rule matches a *fact* of the lead. :func:`lead_facts` flattens a lead and its normalized phone
into these facts (a missing value is simply not there):

==========================  =====  ==============================================================
fact                        type   meaning
==========================  =====  ==============================================================
``source``                  str    web form or vendor that produced the lead
``campaign_id``             str    campaign the lead is for
``country``                 str    the lead's country hint, upper-case (``US``)
``region``                  str    region of the phone number (``US``, ``GB``, ``PR``)
``number_type``             str    phonenumbers type name (``MOBILE``, ``FIXED_LINE_OR_MOBILE``...)
``area_code_region``        str    state/province of a US/Canadian area code (``FL``, ``ON``)
``carrier``                 str    mobile carrier as phonenumbers knows it
``has_email``               bool   an email address containing ``@`` was given
``has_name``                bool   a first or last name was given
``has_consent``             bool   consent proof came with the lead
``has_consent_certificate`` bool   that proof has a third-party certificate id
``consent.channel``         str    channel the consent covers (``ANY``, ``VOICE``...)
``consent.purpose``         str    purpose the consent covers
``address.region``          str    address state/province, upper-case
``address.country``         str    address country, upper-case
``address.postal_code``     str    address postal code
``attributes.<key>``        str    every free-form form field, e.g. ``attributes.timeline``
==========================  =====  ==============================================================

Operators (``op``) and the ``value`` each takes:

- ``eq``, ``ne``: a string, number or boolean. ``in``, ``not_in``: a non-empty list of those.
  Strings compare trimmed and case-insensitively; a number matches a numeric string (``"50000"``);
  a boolean matches a bool or the words true/false, yes/no, 1/0, on/off.
- ``gt``, ``gte``, ``lt``, ``lte``: a number. The fact must be a number or a plain numeric string
  (``"50000"``, not ``"50,000"``: a comma is a thousands separator in one locale and a decimal point
  in another); anything else does not match.
- ``contains``: a non-empty string found in the fact, case-insensitively.
- ``regex``: a Python regular expression *searched* in the fact (anchor it with ``^...$`` to match
  the whole value; prefix ``(?i)`` to ignore case). Compiled when the rules are loaded.
- ``present``, ``absent``: no value. Blank strings count as absent.

A rule on a missing fact never matches, except ``absent``; ``ne`` and ``not_in`` need the fact to be
present too. No rule ever raises on a fact: a fact of the wrong kind simply does not match.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TypeGuard

from pipeline.errors import ConfigError
from pipeline.events import LeadCaptured, PhoneInfo, ScoreContribution

DEFAULT_RULES_RESOURCE = "data/scoring-rules.json"
"""The default rule file, inside the ``pipeline`` package."""

FACT_FIELDS = frozenset({
    "source", "campaign_id", "country", "region", "number_type", "area_code_region", "carrier",
    "has_email", "has_name", "has_consent", "has_consent_certificate", "consent.channel",
    "consent.purpose", "address.region", "address.country", "address.postal_code",
})
ATTRIBUTE_PREFIX = "attributes."
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
        if fact is None or (isinstance(fact, str) and not fact.strip()):
            return self.op == "absent"
        return self._matcher(fact)


def score(facts: Mapping[str, object], rules: Sequence[ScoringRule]) -> Score:
    """Sum the weights of the rules that match; the breakdown lists them in rule order."""
    breakdown = tuple(
        ScoreContribution(rule_id=rule.rule_id, points=rule.weight, detail=rule.detail)
        for rule in rules
        if rule.matches(facts)
    )
    return Score(total=math.fsum(item["points"] for item in breakdown), breakdown=breakdown)


def lead_facts(lead: LeadCaptured, phone: PhoneInfo) -> dict[str, object]:
    """The facts scoring rules can reference (see the module docstring); missing values are left out."""
    facts: dict[str, object] = {
        "source": lead["source"],
        "campaign_id": lead["campaign_id"],
        "region": phone["region"],
        "number_type": phone["number_type"],
        "has_email": _is_email(lead["email"]),
        "has_name": not _is_blank(lead["first_name"]) or not _is_blank(lead["last_name"]),
        "has_consent": lead["consent"] is not None,
        "has_consent_certificate": False,
    }
    _put(facts, "country", _upper(lead["country"]))
    _put(facts, "area_code_region", phone["area_code_region"])
    _put(facts, "carrier", phone["carrier"])
    consent = lead["consent"]
    if consent is not None:
        facts["has_consent_certificate"] = not _is_blank(consent["certificate_id"])
        facts["consent.channel"] = consent["channel"]
        facts["consent.purpose"] = consent["purpose"]
    address = lead["address"]
    if address is not None:
        _put(facts, "address.region", _upper(address["region"]))
        _put(facts, "address.country", _upper(address["country"]))
        _put(facts, "address.postal_code", address["postal_code"])
    for key, value in lead["attributes"].items():
        facts[ATTRIBUTE_PREFIX + key] = value
    return facts


def load_scoring_rules(data: object) -> tuple[ScoringRule, ...]:
    """Validate JSON-shaped rules: a list of ``{"id", "field", "op", "value", "weight", "detail"?}``.

    ``value`` may be left out for ``present``/``absent``. Raises ConfigError naming the rule (index
    and id) and the key at fault; unknown keys and duplicate ids are errors too.
    """
    if not isinstance(data, list):
        raise ConfigError(f"scoring rules: expected a list of rules, got {type(data).__name__}")
    rules: list[ScoringRule] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        rule = _load_rule(index, item)
        if rule.rule_id in seen:
            raise ConfigError(f"scoring rule #{index} ({rule.rule_id!r}): 'id' is used by an earlier rule")
        seen.add(rule.rule_id)
        rules.append(rule)
    return tuple(rules)


@functools.cache
def default_scoring_rules() -> tuple[ScoringRule, ...]:
    """The rules shipped in ``pipeline/data/scoring-rules.json`` (read and validated once)."""
    text = resources.files("pipeline").joinpath(DEFAULT_RULES_RESOURCE).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{DEFAULT_RULES_RESOURCE}: not valid JSON: {exc}") from exc
    return load_scoring_rules(data)


def _load_rule(index: int, item: object) -> ScoringRule:
    where = f"scoring rule #{index}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected an object, got {type(item).__name__}")
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ConfigError(f"{where}: 'id' must be a non-empty string")
    where = f"scoring rule #{index} ({rule_id!r})"
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
    if not _is_number(weight) or not math.isfinite(weight):
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
        if not _is_number(value) or not math.isfinite(value):
            raise ValueError(f"'value' must be a finite number for {op!r}, got {value!r}")
        return _comparison(op, float(value))
    if op == "contains":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"'value' must be a non-empty string for 'contains', got {value!r}")
        needle = value.strip().casefold()
        return lambda fact: isinstance(fact, str) and needle in fact.casefold()
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
        elif _is_number(value) and math.isfinite(value):
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


def _is_number(value: object) -> TypeGuard[int | float]:
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


def _is_blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _is_email(text: str | None) -> bool:
    return text is not None and "@" in text.strip()


def _upper(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    return text.strip().upper()


def _put(facts: dict[str, object], name: str, value: str | None) -> None:
    if not _is_blank(value):
        facts[name] = value
