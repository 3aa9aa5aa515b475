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
``line_type``               str    ``MOBILE``, ``LANDLINE``, ``VOIP`` or ``UNKNOWN`` (``pipeline.core.linetype``)
``area_code_location``      str    geocoder description of the number's prefix (``Florida``)
``email.valid``             bool   an email was given and passes the syntax check (absent: no email)
``email.disposable``        bool   its domain is a throwaway-inbox service (absent: no email)
``email.domain``            str    its domain, lower-case
``quality.flags``           list   data-quality flags (``pipeline.core.quality``); use ``contains``
``quality.flag_count``      int    how many flags were raised (0 for a clean lead)
``attributes.<key>``        str    every free-form form field, e.g. ``attributes.timeline``
==========================  =====  ==============================================================

These are the facts known when the lead is captured; the rules above give its *capture score*.
:func:`at_decision` adds, each time the lead is decided, the parts that depend on the instant
(see "Decision-time scoring" below).

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

**The rule file** is either a list of rules (the format above; decision-time scoring is then off) or
an object ``{"rules": [...], "temperature": {...}, "decay": {...}, "contactability": {...}}`` where
every key but ``rules`` is optional (see ``pipeline/data/scoring-rules.json`` and
``docs/enrichment-and-scoring.md``). Rule ids starting ``temperature.``, ``decay.`` or ``contactability.``
are reserved for the contributions below.

**Decision-time scoring** (:class:`ScoringModel`):

- *temperature*: the first temperature rule (same field/op/value as a scoring rule) that matches
  the lead's facts classifies it ``hot`` (asked for a call back, a live transfer), ``warm`` (engaged
  with content) or ``cold`` (a purchased or compiled list); none matching gives ``default``. It is
  classified at capture and adds ``points[temperature]`` as the contribution ``temperature.<t>``.
- *speed-to-lead decay*: ``points[t] * 0.5 ** (age / half_life[t])``, where age is the time from
  capture to the decision: a hot lead cools within minutes, a cold one over days (``decay.<t>``).
- *contactability*: the legal window closing soon (``contactability.window``: call it before it closes)
  or too soon for a call (a penalty), attempts left of a maximum (``contactability.attempts``), the line
  type (``contactability.line_type``) and the age of the consent on record (``contactability.consent_age``).

Every contribution has a detail sentence. An offer's priority is ``round(score)`` at its decision; a
dialer orders its hopper by priority, equal priorities in arrival order (``connectors/dialer.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import TypeGuard

from pipeline.core.email import check_email
from pipeline.core.quality import quality_flags
from pipeline.errors import ConfigError
from pipeline.events import LeadCaptured, PhoneInfo, ScoreContribution

DEFAULT_RULES_RESOURCE = "data/scoring-rules.json"
"""The default rule file, inside the ``pipeline`` package."""

FACT_FIELDS = frozenset({
    "source", "campaign_id", "country", "region", "number_type", "area_code_region", "carrier",
    "has_email", "has_name", "has_consent", "has_consent_certificate", "consent.channel",
    "consent.purpose", "address.region", "address.country", "address.postal_code",
    "line_type", "area_code_location", "email.valid", "email.disposable", "email.domain", "quality.flags",
    "quality.flag_count",
})
RESERVED_PREFIXES = ("temperature.", "decay.", "contactability.")
"""Contribution ids made at decision time; a scoring rule may not use them."""
TEMPERATURES = ("hot", "warm", "cold")
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


def quality_flags_of(facts: Mapping[str, object]) -> tuple[str, ...]:
    """The data-quality flags :func:`lead_facts` found (``quality.flags``)."""
    flags = facts.get("quality.flags", ())
    return tuple(str(flag) for flag in flags) if isinstance(flags, tuple) else ()


def lead_facts(lead: LeadCaptured, phone: PhoneInfo) -> dict[str, object]:
    """The facts scoring rules can reference (see the module docstring); missing values are left out."""
    email = check_email(lead["email"])
    flags = quality_flags(lead["first_name"], lead["last_name"], email, phone)
    facts: dict[str, object] = {
        "source": lead["source"],
        "campaign_id": lead["campaign_id"],
        "region": phone["region"],
        "number_type": phone["number_type"],
        "line_type": phone["line_type"],
        "quality.flags": flags,
        "quality.flag_count": len(flags),
        "has_email": _is_email(lead["email"]),
        "has_name": not _is_blank(lead["first_name"]) or not _is_blank(lead["last_name"]),
        "has_consent": lead["consent"] is not None,
        "has_consent_certificate": False,
    }
    _put(facts, "country", _upper(lead["country"]))
    _put(facts, "area_code_region", phone["area_code_region"])
    _put(facts, "carrier", phone["carrier"])
    _put(facts, "area_code_location", phone["area_code_location"])
    if email is not None:
        facts["email.valid"] = email.valid
        facts["email.disposable"] = email.disposable
        _put(facts, "email.domain", email.domain)
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
    """Validate JSON-shaped rules: a list of ``{"id", "field", "op", "value", "weight", "detail"?}``,
    or the object form of the module docstring (its ``rules``; the rest is :func:`load_scoring`'s).

    ``value`` may be left out for ``present``/``absent``. Raises ConfigError naming the rule (index
    and id) and the key at fault; unknown keys and duplicate ids are errors too.
    """
    return load_scoring(data)[0]


def load_scoring(data: object) -> tuple[tuple[ScoringRule, ...], ScoringModel]:
    """The rules and the decision-time model of a rule file (a list: rules only, model off)."""
    if isinstance(data, dict):
        unknown = sorted(str(key) for key in data if key not in _FILE_KEYS)
        if unknown:
            raise ConfigError(f"scoring: unknown key(s) {', '.join(map(repr, unknown))}; expected {_FILE_KEYS}")
        return _load_rules(data.get("rules", [])), load_model(data)
    return _load_rules(data), ScoringModel()


def _load_rules(data: object) -> tuple[ScoringRule, ...]:
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


def default_scoring_rules() -> tuple[ScoringRule, ...]:
    """The rules shipped in ``pipeline/data/scoring-rules.json`` (read and validated once)."""
    return default_scoring()[0]


@functools.cache
def default_scoring() -> tuple[tuple[ScoringRule, ...], ScoringModel]:
    text = resources.files("pipeline").joinpath(DEFAULT_RULES_RESOURCE).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{DEFAULT_RULES_RESOURCE}: not valid JSON: {exc}") from exc
    return load_scoring(data)


def _load_rule(index: int, item: object) -> ScoringRule:
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


# --- Decision-time scoring -----------------------------------------------------------------------

_FILE_KEYS = ("rules", "temperature", "decay", "contactability")


@dataclass(frozen=True)
class TemperatureRule:
    """Classify a lead ``temperature`` when ``condition`` matches its facts."""

    rule_id: str
    temperature: str
    condition: ScoringRule


@dataclass(frozen=True)
class ScoringModel:
    """The decision-time parts of scoring (module docstring); the empty model adds nothing."""

    temperature_rules: tuple[TemperatureRule, ...] = ()
    default_temperature: str | None = None
    temperature_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    decay_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    half_life_minutes: Mapping[str, float] = dataclasses.field(default_factory=dict)
    window_closing_s: int | None = None
    """A window closing within this many seconds earns ``window_closing_points`` (call it now)..."""
    window_closing_points: float = 0.0
    window_too_short_s: int | None = None
    """...unless it closes within this many: too little time for a call, ``window_too_short_points``."""
    window_too_short_points: float = 0.0
    max_attempts: int | None = None
    points_per_attempt_left: float = 0.0
    line_type_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    consent_fresh_days: float | None = None
    consent_fresh_points: float = 0.0
    consent_stale_days: float | None = None
    consent_stale_points: float = 0.0

    def temperature(self, facts: Mapping[str, object]) -> tuple[str, str] | None:
        """(temperature, why) of a lead with ``facts``: the first matching rule, else the default."""
        for rule in self.temperature_rules:
            if rule.condition.matches(facts):
                return rule.temperature, f"rule {rule.rule_id}"
        if self.default_temperature is None:
            return None
        return self.default_temperature, "no temperature rule matched (default)"


def capture_score(facts: Mapping[str, object], rules: Sequence[ScoringRule], model: ScoringModel) -> Score:
    """The score of a lead at capture: the rules, then its temperature's points (``temperature.<t>``)."""
    static = score(facts, rules)
    found = model.temperature(facts)
    if found is None:
        return static
    temperature, why = found
    item: ScoreContribution = {"rule_id": f"temperature.{temperature}",
                               "points": model.temperature_points.get(temperature, 0.0),
                               "detail": f"{temperature} lead: {why}"}
    breakdown = (*static.breakdown, item)
    return Score(total_of(breakdown), breakdown)


def temperature_of(breakdown: Sequence[ScoreContribution]) -> str | None:
    """The temperature recorded in a capture score's breakdown, or None."""
    for item in breakdown:
        if item["rule_id"].startswith("temperature."):
            return item["rule_id"].removeprefix("temperature.")
    return None


def at_decision(captured: Score, model: ScoringModel, *, now: datetime, captured_at: datetime | None,
                seconds_left: int, attempts: int, line_type: str,
                consent_granted_at: datetime | None) -> Score:
    """``captured`` (a capture score, or an earlier decision's score) re-scored for a decision at ``now``.

    Earlier decision-time contributions (``decay.``, ``contactability.``) are replaced, never stacked, so
    re-deciding a deferred lead gives the same score a first decision at that instant would. The
    breakdown keeps the capture contributions in order, then decay, window, attempts, line type and
    consent age. Pure; ``seconds_left`` is 0 when the legal window is not open at ``now``.
    """
    kept = [c for c in captured.breakdown if not c["rule_id"].startswith(("decay.", "contactability."))]
    added: list[ScoreContribution] = []
    temperature = temperature_of(kept)
    if temperature is not None and model.decay_points.get(temperature) and captured_at is not None:
        full = model.decay_points[temperature]
        half_life = model.half_life_minutes.get(temperature, 0.0)
        age_min = max(0.0, (now - captured_at).total_seconds() / 60)
        points = full * 0.5 ** (age_min / half_life) if half_life > 0 else 0.0
        added.append({
            "rule_id": f"decay.{temperature}", "points": round(points, 2),
            "detail": (f"speed to lead: {_minutes(age_min)} old, {temperature} leads lose half their "
                       f"{full:g} points every {_minutes(half_life)}")})
    if seconds_left > 0 and model.window_too_short_s is not None and seconds_left < model.window_too_short_s:
        added.append({
            "rule_id": "contactability.window", "points": model.window_too_short_points,
            "detail": f"the legal window closes in {seconds_left} s: too little time for a call"})
    elif seconds_left > 0 and model.window_closing_s is not None and seconds_left < model.window_closing_s:
        added.append({
            "rule_id": "contactability.window", "points": model.window_closing_points,
            "detail": f"the legal window closes in {_minutes(seconds_left / 60)}: call before it closes"})
    if model.max_attempts is not None:
        left = max(0, model.max_attempts - attempts)
        added.append({
            "rule_id": "contactability.attempts", "points": left * model.points_per_attempt_left,
            "detail": f"attempts made so far: {attempts}; {left} of {model.max_attempts} left"})
    if line_type in model.line_type_points:
        added.append({
            "rule_id": "contactability.line_type", "points": model.line_type_points[line_type],
            "detail": f"line type {line_type}"})
    consent = _consent_age(model, now, consent_granted_at)
    if consent is not None:
        added.append(consent)
    breakdown = (*kept, *added)
    return Score(total_of(breakdown), tuple(breakdown))


def _consent_age(model: ScoringModel, now: datetime, granted_at: datetime | None) -> ScoreContribution | None:
    if granted_at is None:
        return None
    days = max(0.0, (now - granted_at).total_seconds() / 86_400)
    if model.consent_fresh_days is not None and days <= model.consent_fresh_days:
        return {"rule_id": "contactability.consent_age", "points": model.consent_fresh_points,
                "detail": f"consent given {days:.1f} days ago (fresh: {model.consent_fresh_days:g} days)"}
    if model.consent_stale_days is not None and days > model.consent_stale_days:
        return {"rule_id": "contactability.consent_age", "points": model.consent_stale_points,
                "detail": f"consent given {days:.0f} days ago (stale after {model.consent_stale_days:g})"}
    return None


def _minutes(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 120:
        return f"{minutes:.1f} min"
    if minutes < 2880:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def load_model(data: Mapping[str, object]) -> ScoringModel:
    """The decision-time model of a rule file's object form; ConfigError names the key at fault."""
    temperature = _section(data, "temperature", ("rules", "default", "points"))
    decay = _section(data, "decay", ("points", "half_life_minutes"))
    contact = _section(data, "contactability", ("window", "attempts", "line_type", "consent_age"))
    window = _section(contact, "window", ("closing_within_s", "closing_points", "too_short_s", "too_short_points"),
                      "contactability.")
    attempts = _section(contact, "attempts", ("max", "points_per_attempt_left"), "contactability.")
    consent = _section(contact, "consent_age", ("fresh_days", "fresh_points", "stale_days", "stale_points"),
                       "contactability.")
    default = temperature.get("default")
    if default is not None and default not in TEMPERATURES:
        raise ConfigError(f"scoring: temperature.default must be one of {', '.join(TEMPERATURES)}, got {default!r}")
    line_points = _points(contact, "line_type", ("MOBILE", "LANDLINE", "VOIP", "UNKNOWN"), "contactability.")
    max_attempts = _number(attempts, "max", "contactability.attempts.")
    if max_attempts is not None and (max_attempts < 0 or max_attempts != int(max_attempts)):
        raise ConfigError(f"scoring: contactability.attempts.max must be a whole number >= 0, got {max_attempts!r}")
    half_lives = _points(decay, "half_life_minutes", TEMPERATURES, "decay.")
    if any(v <= 0 for v in half_lives.values()):
        raise ConfigError("scoring: decay.half_life_minutes must be positive")
    closing = _number(window, "closing_within_s", "contactability.window.")
    too_short = _number(window, "too_short_s", "contactability.window.")
    return ScoringModel(
        temperature_rules=_temperature_rules(temperature.get("rules", [])),
        default_temperature=default if isinstance(default, str) else None,
        temperature_points=_points(temperature, "points", TEMPERATURES, "temperature."),
        decay_points=_points(decay, "points", TEMPERATURES, "decay."),
        half_life_minutes=half_lives,
        window_closing_s=int(closing) if closing is not None else None,
        window_closing_points=_number(window, "closing_points", "contactability.window.") or 0.0,
        window_too_short_s=int(too_short) if too_short is not None else None,
        window_too_short_points=_number(window, "too_short_points", "contactability.window.") or 0.0,
        max_attempts=int(max_attempts) if max_attempts is not None else None,
        points_per_attempt_left=_number(attempts, "points_per_attempt_left", "contactability.attempts.") or 0.0,
        line_type_points=line_points,
        consent_fresh_days=_number(consent, "fresh_days", "contactability.consent_age."),
        consent_fresh_points=_number(consent, "fresh_points", "contactability.consent_age.") or 0.0,
        consent_stale_days=_number(consent, "stale_days", "contactability.consent_age."),
        consent_stale_points=_number(consent, "stale_points", "contactability.consent_age.") or 0.0,
    )


def _section(data: Mapping[str, object], key: str, keys: tuple[str, ...], where: str = "") -> Mapping[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"scoring: {where}{key} must be an object, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise ConfigError(f"scoring: {where}{key}: unknown key(s) {', '.join(map(repr, unknown))}; expected {keys}")
    return value


def _number(data: Mapping[str, object], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(f"scoring: {where}{key} must be a finite number, got {value!r}")
    return float(value)


def _points(data: Mapping[str, object], key: str, names: tuple[str, ...], where: str) -> dict[str, float]:
    section = _section(data, key, names, where)
    return {name: number for name in section if (number := _number(section, name, f"{where}{key}.")) is not None}


def _temperature_rules(data: object) -> tuple[TemperatureRule, ...]:
    if not isinstance(data, list):
        raise ConfigError(f"scoring: temperature.rules must be a list, got {type(data).__name__}")
    rules: list[TemperatureRule] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ConfigError(f"scoring: temperature rule #{index}: expected an object, got {type(item).__name__}")
        temperature = item.get("temperature")
        if temperature not in TEMPERATURES:
            raise ConfigError(f"scoring: temperature rule #{index}: 'temperature' must be one of "
                              f"{', '.join(TEMPERATURES)}, got {temperature!r}")
        condition = {k: v for k, v in item.items() if k != "temperature"}
        try:
            rule = _load_rule(index, {**condition, "weight": 0})
        except ConfigError as exc:
            raise ConfigError(f"scoring: temperature {exc}") from exc
        rules.append(TemperatureRule(rule.rule_id, str(temperature), rule))
    return tuple(rules)
