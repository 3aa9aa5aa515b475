"""The rule pack: compliance rules as versioned data, and the pure functions that evaluate them.

The pack ships in ``pipeline/data/rulepack/pack.json`` (``default_rule_pack``)::

    {"version": "2026.11.2", "about": "...", "rules": [
        {"id": "us.fl.hours", "jurisdiction": "US-FL", "kind": "hours",
         "params": {"start": "08:00", "end": "20:00"},
         "citation": "Fla. Stat. § 501.059", "effective": "2021-07-01", "note": "..."}, ...]}

Every rule has an ``id``, a ``jurisdiction`` (``US``, ``US-FL``, ``GB``, ``CA``...), a ``kind`` with
its ``params``, a ``citation``, an ``effective`` date and optionally ``ends`` (exclusive), a ``note``
(conflicts, unverified facts), ``calls`` (``"all"``, the default, or ``"automated"``: autodialed or
prerecorded calls only, as 47 CFR 64.1200(a) groups them) and ``enabled`` (default true). Kinds:

- ``hours``: ``{"start": "08:00", "end": "21:00", "days": {"sun": {"start": "12:00", "end": "21:00"}}}``
  — callee-local [start, end); ``days`` overrides single weekdays (mon..sun).
- ``no_call_days``: ``{"weekdays": ["sun"]}`` — no calls on those local weekdays.
- ``holidays``: ``{"through": "2027-12-31", "dates": {"2026-12-25": "Christmas Day", ...}}`` — no
  calls on the listed local dates. The table is only known up to ``through``: after it every day is
  closed (fail closed) until counsel extends it; ``stale_rules`` warns ahead of time.
- ``frequency_cap``: ``{"max_calls": 3, "per_hours": 24}`` — a sliding window per number.
- ``wireless_prohibited``: ``{}`` — no solicitation calls to mobile numbers.
- ``registry_screen``: ``{"registry": "us-dnc", "max_age_days": 31}`` — screen against that registry,
  with a copy at most that old.
- ``suppression_retention``: ``{"min_days": 365}`` — keep a removal request at least that long.
- ``ebr``: ``{"purchase_months": 18, "inquiry_months": 3}`` — how long an established business
  relationship (EBR) lasts after a purchase (or delivery, payment) and after an inquiry; the EBR
  exempts calls from the national do-not-call registry (``ebr_window``: the shortest applicable
  limit wins). Each kind takes ``<kind>_months`` or ``<kind>_days``; ``"business_days": true`` makes
  every ``_days`` count Monday to Friday only. A kind left out is not limited by the rule;
  ``"no_inquiry": true`` (or ``"no_purchase"``): that kind makes no EBR; ``"none": true``: nothing
  does. There are no ``null`` values: in overrides ``null`` removes a key, and that must never turn
  "no EBR" into "no limit" (a rule left with no parameter fails to load).
- ``revocation_scope``: ``{"channel_specific": false}`` — whether a consent revocation sent as
  channel-specific may be read as covering only its channel. ``false`` (the shipped ``us.revocation``,
  FCC 24-24): every revocation covers calls and texts. Narrower scopes exist only where counsel sets
  ``true`` by override and no other applicable rule says ``false`` (``revocation_scope``).
- ``consent_exemption``: ``{"registry": "us-dnc"}`` — prior express written consent exempts a call
  from that national registry (``us.pewc``: 47 CFR 64.1200(c)(2)(ii), TSR 16 CFR
  310.4(b)(1)(iii)(B)(1)). What counts as written consent naming the seller is
  ``pipeline.core.evaluation``'s to judge; disabling the rule turns the exemption off.

Unknown keys are errors, so a typo cannot silently weaken a rule; ``ConfigError`` names the rule id
and the key.

**Overrides.** Counsel changes the pack without touching code through an overrides document
(``merge_overrides``)::

    {"about": "why, who, when", "rules": [
        {"id": "us.ct.hours", "params": {"end": "21:00"}, "note": "counsel memo 2026-12"},
        {"id": "us.ri.weekends", "enabled": false},
        {"id": "us.xx.hours", "jurisdiction": "US-XX", "kind": "hours", ...every field of a new rule}]}

An entry naming an existing rule replaces the fields it gives; ``params`` are merged key by key
(``null`` removes a key); ``kind`` cannot change (disable the rule and add another). An entry with a
new id adds a rule. The merged pack is validated like the shipped one, and its version becomes
``<version>+local.<hash of the overrides>``, so every decision stamped with it shows an override.

**Time.** Hours, weekdays and holidays are read on the callee's local clock in every one of the
number's time zones, day by day, so DST days are exact (see ``pipeline.core.window``). ``effective``
and ``ends`` are calendar dates: for a local day they compare with that day; for an instant
(``applicable``, caps, registries) a rule counts as in force when the instant falls in its dates
*anywhere on earth* (UTC+14 to UTC-12), the stricter reading because every rule only restricts.

**Most restrictive wins.** Every rule of every plausible jurisdiction (``jurisdictions``) applies:
``legal_window`` intersects all of them, over all time zones, and names the rule that decided.
"""

from __future__ import annotations

import bisect
import calendar
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from importlib.resources import files
from typing import Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.window import Stretch, Window, first_common_stretch, local_day_bounds, zone_info
from pipeline.errors import ConfigError
from pipeline.events import PhoneInfo

Kind = Literal[
    "hours", "no_call_days", "holidays", "frequency_cap", "wireless_prohibited", "registry_screen",
    "suppression_retention", "ebr", "revocation_scope", "consent_exemption",
]
EbrKind = Literal["purchase", "inquiry"]
Calls = Literal["all", "automated"]

RULE_LOCAL_TIME = "rulepack.local_time"
"""Deciding rule when the callee's local time is unknown (no time zone, or one the database lacks)."""
RULE_NO_EBR = "rulepack.ebr"
"""Deciding rule of ``ebr_window`` when no EBR rule of the pack applies: no EBR exemption at all."""
RULE_NO_COVERAGE = "rulepack.coverage"
"""Deciding rule for a day on which some country among the jurisdictions has no country-level hours
rule in the pack (say ``DE``): the pack does not know that country's law, so it is never callable."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as the pack spells them; index = ``date.weekday()``."""

_KINDS: tuple[Kind, ...] = get_args(Kind)
_CALLS: tuple[Calls, ...] = get_args(Calls)
_RULE_KEYS = frozenset(
    {"id", "jurisdiction", "kind", "calls", "params", "citation", "effective", "ends", "note", "enabled"}
)
_REQUIRED_KEYS = ("id", "jurisdiction", "kind", "citation", "effective")
_RULE_ID = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_JURISDICTION = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_REGISTRY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_WINDOW_KINDS = frozenset({"hours", "no_call_days", "holidays"})
# An instant is on a given calendar date somewhere on earth from that date's start at UTC+14 until
# its end at UTC-12.
_EARLIEST_ZONE = timezone(timedelta(hours=14))
_LATEST_ZONE = timezone(timedelta(hours=-12))
_ONE_DAY = timedelta(days=1)
# Line types that may be a mobile (us.autodialer.mobile): NANP numbers are FIXED_LINE_OR_MOBILE, and a
# type we do not know is treated as mobile too. Only these are known not to be mobile.
_NOT_MOBILE = frozenset(
    {"FIXED_LINE", "TOLL_FREE", "PREMIUM_RATE", "SHARED_COST", "VOIP", "UAN", "PAGER", "VOICEMAIL"}
)
_US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP"})
# Crown dependencies dial as +44: UK TPS/CTPS screening covers them.
_GB_CROWN_DEPENDENCIES = frozenset({"GG", "JE", "IM"})
_COUNTRY_ALIASES = {"UK": "GB", "GBR": "GB", "USA": "US", "CAN": "CA"}
_REGION_CODE = re.compile(r"[A-Z0-9]{1,3}")
_PLAN_CACHE_SIZE = 4096
_DAY_CACHE_SIZE = 512


# --- Rule parameters, one class per kind -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoursParams:
    """Callee-local calling hours [start, end); ``days`` gives single weekdays their own hours."""

    start: time
    end: time
    days: tuple[tuple[int, time, time], ...] = ()
    """(weekday, start, end), weekday as ``date.weekday()``, sorted."""

    def on(self, weekday: int) -> tuple[time, time]:
        """The hours on ``weekday`` (0 = Monday)."""
        for day, start, end in self.days:
            if day == weekday:
                return start, end
        return self.start, self.end

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"start": _hhmm(self.start), "end": _hhmm(self.end)}
        if self.days:
            data["days"] = {WEEKDAYS[day]: {"start": _hhmm(s), "end": _hhmm(e)} for day, s, e in self.days}
        return data


@dataclass(frozen=True, slots=True)
class NoCallDaysParams:
    weekdays: frozenset[int]

    def to_json(self) -> dict[str, object]:
        return {"weekdays": [WEEKDAYS[day] for day in sorted(self.weekdays)]}


@dataclass(frozen=True, slots=True)
class HolidaysParams:
    through: date
    """Last day the table covers; every later day is closed until it is extended."""
    dates: tuple[tuple[date, str], ...]
    """(date, holiday name), sorted."""

    def holiday(self, day: date) -> str | None:
        for holiday, name in self.dates:
            if holiday == day:
                return name
        return None

    def to_json(self) -> dict[str, object]:
        return {"through": self.through.isoformat(), "dates": {d.isoformat(): name for d, name in self.dates}}


@dataclass(frozen=True, slots=True)
class CapParams:
    max_calls: int
    per_hours: int

    def to_json(self) -> dict[str, object]:
        return {"max_calls": self.max_calls, "per_hours": self.per_hours}


@dataclass(frozen=True, slots=True)
class RegistryParams:
    registry: str
    max_age_days: int

    def to_json(self) -> dict[str, object]:
        return {"registry": self.registry, "max_age_days": self.max_age_days}


@dataclass(frozen=True, slots=True)
class WirelessParams:
    def to_json(self) -> dict[str, object]:
        return {}


@dataclass(frozen=True, slots=True)
class RevocationScopeParams:
    channel_specific: bool
    """True: a channel-specific revocation covers only its channel (counsel's narrower reading)."""

    def to_json(self) -> dict[str, object]:
        return {"channel_specific": self.channel_specific}


@dataclass(frozen=True, slots=True)
class ConsentExemptionParams:
    registry: str
    """The national registry written consent exempts a call from, e.g. ``us-dnc``."""

    def to_json(self) -> dict[str, object]:
        return {"registry": self.registry}


@dataclass(frozen=True, slots=True)
class RetentionParams:
    min_days: int

    def to_json(self) -> dict[str, object]:
        return {"min_days": self.min_days}


@dataclass(frozen=True, slots=True)
class EbrLimit:
    """How long one kind of EBR lasts: ``count`` months, calendar days or business days; a count of 0
    means that kind makes no EBR."""

    count: int
    unit: Literal["months", "days", "business_days"]


@dataclass(frozen=True, slots=True)
class EbrParams:
    """The EBR limits of one rule per kind; None where the rule does not limit that kind."""

    purchase: EbrLimit | None
    inquiry: EbrLimit | None

    def limit(self, kind: EbrKind) -> EbrLimit | None:
        return self.purchase if kind == "purchase" else self.inquiry

    def to_json(self) -> dict[str, object]:
        if self.purchase is not None and self.purchase.count == 0 and self.inquiry is not None \
                and self.inquiry.count == 0:
            return {"none": True}
        data: dict[str, object] = {}
        for kind, limit in (("purchase", self.purchase), ("inquiry", self.inquiry)):
            if limit is None:
                continue
            if limit.count == 0:
                data[f"no_{kind}"] = True
            else:
                data[f"{kind}_{'months' if limit.unit == 'months' else 'days'}"] = limit.count
                if limit.unit == "business_days":
                    data["business_days"] = True
        return data


Params = (
    HoursParams | NoCallDaysParams | HolidaysParams | CapParams | RegistryParams | WirelessParams | RetentionParams
    | EbrParams | RevocationScopeParams | ConsentExemptionParams
)


# --- Rules and the pack ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    jurisdiction: str
    kind: Kind
    params: Params
    citation: str
    effective: date
    ends: date | None = None
    """First day the rule no longer applies; None while it has no end."""
    note: str = ""
    calls: Calls = "all"
    enabled: bool = True
    _from: datetime = field(init=False, repr=False, compare=False)
    _until: datetime | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_from", datetime.combine(self.effective, time(), tzinfo=_EARLIEST_ZONE))
        until = None if self.ends is None else datetime.combine(self.ends, time(), tzinfo=_LATEST_ZONE)
        object.__setattr__(self, "_until", until)

    def in_force_on(self, day: date) -> bool:
        """Whether the rule applies on the local calendar ``day``."""
        return self.effective <= day and (self.ends is None or day < self.ends)

    def in_force_at(self, at: datetime) -> bool:
        """Whether ``at`` falls within the rule's dates in some time zone (the stricter reading)."""
        return self._from <= at and (self._until is None or at < self._until)

    def covers(self, autodialed: bool) -> bool:
        """Whether the rule applies to a call that is (or is not) autodialed/prerecorded."""
        return self.calls == "all" or autodialed

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"id": self.id, "jurisdiction": self.jurisdiction, "kind": self.kind}
        if self.calls != "all":
            data["calls"] = self.calls
        data["params"] = self.params.to_json()
        data["citation"] = self.citation
        data["effective"] = self.effective.isoformat()
        if self.ends is not None:
            data["ends"] = self.ends.isoformat()
        data["note"] = self.note
        if not self.enabled:
            data["enabled"] = False
        return data


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


# --- What the evaluating functions return ------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class HouseHours:
    """Calling hours of our own (a campaign's), applied on top of the law like one more hours rule.
    On a tie with a legal rule the legal rule is named."""

    rule_id: str
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"house hours must end after they start ({_hhmm(self.start)}-{_hhmm(self.end)})")


@dataclass(frozen=True, slots=True)
class Cap:
    max_calls: int
    per: timedelta
    rule_id: str


class CapVerdict(NamedTuple):
    allowed: bool
    next_allowed_at: datetime | None
    """When the blocking cap next allows a call; None when allowed."""
    rule_id: str | None
    """The cap that blocks; None when allowed."""


@dataclass(frozen=True, slots=True)
class RegistryRule:
    registry: str
    """e.g. ``us-dnc``, ``uk-tps``, ``uk-ctps``."""
    max_age_days: int
    """Screen against a copy of the registry at most this old."""
    rule_id: str


@dataclass(frozen=True, slots=True)
class Retention:
    min_days: int
    rule_id: str


# --- Loading and overriding --------------------------------------------------------------------


def load_rule_pack(data: object) -> RulePack:
    """Validate parsed JSON into a ``RulePack``; ``ConfigError`` names the rule id and key."""
    return _load(data, "rule pack")


@functools.cache
def default_rule_pack() -> RulePack:
    """The rule pack shipped in ``pipeline/data/rulepack/pack.json`` (loaded once)."""
    raw = files("pipeline").joinpath("data", "rulepack", "pack.json").read_text(encoding="utf-8")
    return load_rule_pack(json.loads(raw))


def merge_overrides(pack: RulePack, overrides: object) -> RulePack:
    """``pack`` with counsel's overrides applied (format in the module doc), validated.

    The version becomes ``<version>+local.<8 hex digits of the overrides' SHA-256>`` (``.<hash>`` is
    appended when the version already has a ``+`` part). Overrides without rules change nothing and
    return ``pack`` itself.
    """
    source = "rule pack overrides"
    if not isinstance(overrides, Mapping) or "rules" not in overrides or set(overrides) - {"rules", "about"}:
        raise ConfigError(f'{source}: expected an object with "rules" (and optionally "about")')
    entries = overrides["rules"]
    if not isinstance(entries, list):
        raise ConfigError(f'{source}: "rules" must be a list of rule objects, got {entries!r}')
    if not entries:
        return pack
    merged: dict[str, dict[str, object]] = {rule.id: rule.to_json() for rule in pack.rules}
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise ConfigError(f'{source}: rule #{index}: expected an object with an "id", got {entry!r}')
        rule_id: str = entry["id"]
        if rule_id in seen:
            raise ConfigError(f"{source}: rule {rule_id!r}: overridden twice")
        seen.add(rule_id)
        base = merged.get(rule_id)
        merged[rule_id] = dict(entry) if base is None else _override(source, rule_id, base, entry)
    try:
        digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: not plain JSON data: {exc}") from exc
    separator = "." if "+" in pack.version else "+local."
    data = {"version": f"{pack.version}{separator}{digest[:8]}", "rules": list(merged.values())}
    if pack.about:
        data["about"] = pack.about
    return _load(data, source)


def _override(
    source: str, rule_id: str, base: dict[str, object], entry: Mapping[str, object]
) -> dict[str, object]:
    result = dict(base)
    for key, value in entry.items():
        if key == "kind" and value != base["kind"]:
            raise _fail(source, rule_id, key, "cannot change; disable this rule and add one with a new id")
        if key == "params":
            if not isinstance(value, Mapping):
                raise _fail(source, rule_id, key, f"expected an object, got {value!r}")
            params = dict(base["params"]) if isinstance(base["params"], Mapping) else {}
            for param, param_value in value.items():
                if param_value is None:
                    params.pop(param, None)
                else:
                    params[param] = param_value
            result["params"] = params
        elif value is None:  # removes an optional key ("ends"); a required one then fails validation
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _fail(source: str, rule_id: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: rule {rule_id!r}: key {key!r}: {problem}")


def _load(data: object, source: str) -> RulePack:
    if not isinstance(data, Mapping) or set(data) - {"version", "rules", "about"} or "rules" not in data:
        raise ConfigError(f'{source}: expected an object with "version", "rules" and optionally "about"')
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ConfigError(f'{source}: "version" must be a non-empty string, got {version!r}')
    about = data.get("about", "")
    if not isinstance(about, str):
        raise ConfigError(f'{source}: "about" must be a string, got {about!r}')
    raw_rules = data["rules"]
    if not isinstance(raw_rules, list):
        raise ConfigError(f'{source}: "rules" must be a list, got {raw_rules!r}')
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule = _rule(source, index, raw)
        if rule.id in seen:
            raise ConfigError(f"{source}: rule {rule.id!r}: duplicate id")
        seen.add(rule.id)
        rules.append(rule)
    return RulePack(version=version, rules=tuple(rules), about=about)


def _rule(source: str, index: int, raw: object) -> Rule:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: rule #{index}: expected an object, got {raw!r}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
        raise ConfigError(
            f"{source}: rule #{index}: key 'id': expected a lower-case id like \"us.fl.hours\", got {rule_id!r}"
        )

    def fail(key: str, problem: str) -> ConfigError:
        return _fail(source, rule_id, key, problem)

    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known: {', '.join(sorted(_RULE_KEYS))})")
    for key in _REQUIRED_KEYS:
        if key not in raw:
            raise fail(key, "missing")
    jurisdiction = raw["jurisdiction"]
    if not isinstance(jurisdiction, str) or not _JURISDICTION.fullmatch(jurisdiction):
        raise fail("jurisdiction", f'expected a country or subdivision code like "US" or "US-FL", got {jurisdiction!r}')
    kind = raw["kind"]
    if kind not in _KINDS:
        raise fail("kind", f"expected one of {', '.join(_KINDS)}, got {kind!r}")
    calls = raw.get("calls", "all")
    if calls not in _CALLS:
        raise fail("calls", f"expected one of {', '.join(_CALLS)}, got {calls!r}")
    citation = raw["citation"]
    if not isinstance(citation, str) or not citation.strip():
        raise fail("citation", f"expected a non-empty string, got {citation!r}")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise fail("note", f"expected a string, got {note!r}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", f"expected true or false, got {enabled!r}")
    effective = _date(raw["effective"], "effective", fail)
    ends = None if raw.get("ends") is None else _date(raw["ends"], "ends", fail)
    if ends is not None and ends <= effective:
        raise fail("ends", f"must be after effective {effective.isoformat()}, got {ends.isoformat()}")
    raw_params = raw.get("params", {})
    if not isinstance(raw_params, Mapping):
        raise fail("params", f"expected an object, got {raw_params!r}")
    known_kind = next(k for k in _KINDS if k == kind)  # narrows the str to the Kind literal
    params = _params(known_kind, raw_params, fail)
    return Rule(
        id=rule_id,
        jurisdiction=jurisdiction,
        kind=known_kind,
        params=params,
        citation=citation,
        effective=effective,
        ends=ends,
        note=note,
        calls=next(c for c in _CALLS if c == calls),
        enabled=enabled,
    )


_Fail = Callable[[str, str], ConfigError]
"""Builds the ConfigError for (key, problem) of the rule being loaded."""

_KIND_PARAMS: dict[Kind, frozenset[str]] = {
    "hours": frozenset({"start", "end", "days"}),
    "no_call_days": frozenset({"weekdays"}),
    "holidays": frozenset({"through", "dates"}),
    "frequency_cap": frozenset({"max_calls", "per_hours"}),
    "wireless_prohibited": frozenset(),
    "registry_screen": frozenset({"registry", "max_age_days"}),
    "suppression_retention": frozenset({"min_days"}),
    "ebr": frozenset({"purchase_months", "purchase_days", "inquiry_months", "inquiry_days", "business_days",
                      "no_purchase", "no_inquiry", "none"}),
    "revocation_scope": frozenset({"channel_specific"}),
    "consent_exemption": frozenset({"registry"}),
}
_OPTIONAL_PARAMS = frozenset({"days"})


def _params(kind: Kind, raw: Mapping[str, object], fail: _Fail) -> Params:
    known = _KIND_PARAMS[kind]
    unknown = sorted(set(raw) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise fail(f"params.{unknown[0]}", f"unknown parameter for kind {kind} (known: {listed})")
    if kind == "ebr":  # every parameter is optional; _ebr_params checks the combination
        return _ebr_params(raw, fail)
    for name in sorted(known - _OPTIONAL_PARAMS):
        if name not in raw:
            raise fail(f"params.{name}", f"missing (kind {kind})")
    if kind == "hours":
        start, end = _span(raw["start"], raw["end"], "params", fail)
        raw_days = raw.get("days", {})
        if not isinstance(raw_days, Mapping):
            raise fail("params.days", f'expected an object of weekdays like {{"sun": {{...}}}}, got {raw_days!r}')
        days: list[tuple[int, time, time]] = []
        for name, hours in raw_days.items():
            key = f"params.days.{name}"
            if name not in WEEKDAYS:
                raise fail(key, f"expected a weekday ({', '.join(WEEKDAYS)})")
            if not isinstance(hours, Mapping) or set(hours) != {"start", "end"}:
                raise fail(key, f'expected {{"start": "HH:MM", "end": "HH:MM"}}, got {hours!r}')
            days.append((WEEKDAYS.index(name), *_span(hours["start"], hours["end"], key, fail)))
        return HoursParams(start, end, tuple(sorted(days)))
    if kind == "no_call_days":
        weekdays = raw["weekdays"]
        if (
            not isinstance(weekdays, list) or not weekdays
            or any(day not in WEEKDAYS for day in weekdays) or len(set(weekdays)) != len(weekdays)
        ):
            raise fail("params.weekdays", f"expected a non-empty list of distinct weekdays, got {weekdays!r}")
        return NoCallDaysParams(frozenset(WEEKDAYS.index(day) for day in weekdays))
    if kind == "holidays":
        through = _date(raw["through"], "params.through", fail)
        raw_dates = raw["dates"]
        if not isinstance(raw_dates, Mapping):
            raise fail("params.dates", f'expected an object like {{"2026-12-25": "Christmas Day"}}, got {raw_dates!r}')
        dates: list[tuple[date, str]] = []
        for raw_day, name in raw_dates.items():
            key = f"params.dates.{raw_day}"
            day = _date(raw_day, key, fail)
            if not isinstance(name, str) or not name.strip():
                raise fail(key, f"expected the holiday's name, got {name!r}")
            if day > through:
                raise fail(key, f"after the table's end ('through' {through.isoformat()})")
            dates.append((day, name))
        return HolidaysParams(through, tuple(sorted(dates)))
    if kind == "frequency_cap":
        return CapParams(_positive(raw["max_calls"], "params.max_calls", fail),
                         _positive(raw["per_hours"], "params.per_hours", fail))
    if kind == "registry_screen":
        registry = raw["registry"]
        if not isinstance(registry, str) or not _REGISTRY.fullmatch(registry):
            raise fail("params.registry", f'expected a registry name like "us-dnc", got {registry!r}')
        return RegistryParams(registry, _positive(raw["max_age_days"], "params.max_age_days", fail))
    if kind == "suppression_retention":
        return RetentionParams(_positive(raw["min_days"], "params.min_days", fail))
    if kind == "revocation_scope":
        specific = raw["channel_specific"]
        if not isinstance(specific, bool):
            raise fail("params.channel_specific", f"expected true or false, got {specific!r}")
        return RevocationScopeParams(specific)
    if kind == "consent_exemption":
        registry = raw["registry"]
        if not isinstance(registry, str) or not _REGISTRY.fullmatch(registry):
            raise fail("params.registry", f'expected a registry name like "us-dnc", got {registry!r}')
        return ConsentExemptionParams(registry)
    return WirelessParams()


def _ebr_params(raw: Mapping[str, object], fail: _Fail) -> EbrParams:
    for flag in ("business_days", "no_purchase", "no_inquiry", "none"):
        if flag in raw and raw[flag] is not True:
            raise fail(f"params.{flag}", f"expected true (leave the key out for false), got {raw[flag]!r}")
    if raw.get("none"):
        others = sorted(set(raw) - {"none"})
        if others:
            raise fail(f"params.{others[0]}", '"none" (no EBR at all) takes no other parameter')
        return EbrParams(EbrLimit(0, "months"), EbrLimit(0, "months"))
    business = bool(raw.get("business_days"))
    if business and "purchase_days" not in raw and "inquiry_days" not in raw:
        raise fail("params.business_days", "needs purchase_days or inquiry_days to count")
    limits: dict[EbrKind, EbrLimit | None] = {}
    for kind in get_args(EbrKind):
        given = [key for key in (f"{kind}_months", f"{kind}_days", f"no_{kind}") if key in raw]
        if len(given) > 1:
            raise fail(f"params.{given[1]}", f"give one of {kind}_months, {kind}_days and no_{kind}")
        if not given:
            limits[kind] = None
        elif given[0] == f"no_{kind}":
            limits[kind] = EbrLimit(0, "months")
        elif given[0].endswith("_months"):
            limits[kind] = EbrLimit(_positive(raw[given[0]], f"params.{given[0]}", fail), "months")
        else:
            limits[kind] = EbrLimit(_positive(raw[given[0]], f"params.{given[0]}", fail),
                                    "business_days" if business else "days")
    if limits["purchase"] is None and limits["inquiry"] is None:
        raise fail("params", "an ebr rule limits purchases, inquiries or both (or says \"none\": true)")
    return EbrParams(limits["purchase"], limits["inquiry"])


def _date(raw: object, key: str, fail: _Fail) -> date:
    if not isinstance(raw, str):
        raise fail(key, f'expected a date like "2026-01-31", got {raw!r}')
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise fail(key, f'expected a date like "2026-01-31", got {raw!r}') from None


def _time(raw: object, key: str, fail: _Fail) -> time:
    if not isinstance(raw, str):
        raise fail(key, f'expected a time like "08:00", got {raw!r}')
    try:
        value = time.fromisoformat(raw)
    except ValueError:
        raise fail(key, f'expected a time like "08:00", got {raw!r}') from None
    if value.tzinfo is not None:
        raise fail(key, f"calling hours are callee-local: drop the offset from {raw!r}")
    return value


def _span(raw_start: object, raw_end: object, key: str, fail: _Fail) -> tuple[time, time]:
    start, end = _time(raw_start, f"{key}.start", fail), _time(raw_end, f"{key}.end", fail)
    if start >= end:
        raise fail(f"{key}.end", f"hours must end after they start ({_hhmm(start)}-{_hhmm(end)})")
    return start, end


def _positive(raw: object, key: str, fail: _Fail) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise fail(key, f"expected a whole number of at least 1, got {raw!r}")
    return raw


def _hhmm(value: time) -> str:
    return value.isoformat(timespec="seconds" if value.second else "minutes")


# --- Which jurisdictions and rules apply -------------------------------------------------------


def jurisdictions(phone: PhoneInfo, address_region: str | None, address_country: str | None) -> tuple[str, ...]:
    """Every jurisdiction whose rules may apply to a call to ``phone``; all of them apply.

    The number's country (a US territory is ``US`` plus ``US-PR``...; a UK crown dependency, +44, is
    ``GB`` for TPS plus ``GB-GG``/``GB-JE``/``GB-IM``), its area-code state or province (``US-FL``, ``CA-ON``: several
    states presume an area-code resident lives there), and the address's country and region
    (``US-TX``). A region without a readable country (ISO 3166-1 alpha-2, any case, or UK/USA) is
    read in the number's country; a region that is not a 1-3 character code (``"Texas"``) is
    ignored, so normalise addresses to codes upstream.
    """
    found: dict[str, None] = {}
    phone_country = _country_jurisdictions(phone["region"].strip().upper())
    found.update(dict.fromkeys(phone_country))
    country = phone_country[0]
    area_code_region = phone["area_code_region"]
    if area_code_region and country in ("US", "CA"):
        found[f"{country}-{area_code_region.strip().upper()}"] = None
    base = country
    if address_country is not None:
        code = address_country.strip().upper()
        code = _COUNTRY_ALIASES.get(code, code)
        if len(code) == 2 and code.isalpha():
            address_jurisdictions = _country_jurisdictions(code)
            found.update(dict.fromkeys(address_jurisdictions))
            base = address_jurisdictions[0]
    if address_region is not None:
        region = address_region.strip().upper().removeprefix(f"{base}-")
        if _REGION_CODE.fullmatch(region):
            found[f"{base}-{region}"] = None
    return tuple(found)


def _country_jurisdictions(region: str) -> tuple[str, ...]:
    if region in _US_TERRITORIES:
        return ("US", f"US-{region}")
    if region in _GB_CROWN_DEPENDENCIES:
        return ("GB", f"GB-{region}")
    return (region,)


def applicable(pack: RulePack, jurisdictions: Iterable[str], at: datetime) -> tuple[Rule, ...]:
    """The enabled rules of ``jurisdictions`` in force at ``at``, in pack order. A subdivision
    implies its country: ``US-TX`` alone gets the federal rules too."""
    _require_aware(at, "at")
    return pack._index.in_force(tuple(jurisdictions), at)


def stale_rules(pack: RulePack, at: datetime, *, within: timedelta = timedelta(days=90)) -> tuple[str, ...]:
    """Ids of enabled holiday rules whose table ends before ``at + within``: extend them, or those
    states close for good (fail closed) after ``through``. For a start-up or health warning."""
    _require_aware(at, "at")
    horizon = (at + within).date()
    return tuple(
        rule.id for rule in pack.rules
        if rule.enabled and isinstance(rule.params, HolidaysParams) and rule.params.through < horizon
    )


# --- The legal call window ---------------------------------------------------------------------


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
    _require_aware(now, "now")
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


class _Plan:
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
                hours_reason = plan.start_rule, f"closed: {where} is before {plan.start_rule} opens {_hhmm(plan.start)}"
            elif now_utc >= closes_at:
                hours_reason = plan.end_rule, f"closed: {where} is after {plan.end_rule} closes {_hhmm(plan.end)}"
        if hours_reason is None:  # unreachable: open in every zone means open now
            return RULE_NO_COVERAGE, "closed: no common window"
        return hours_reason


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
        self._plans: dict[tuple[tuple[str, ...], bool, HouseHours | None], _Plan] = {}
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
            known = [j for j in self.by_jurisdiction if _country(j) in countries]
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
                    *self.by_jurisdiction.get(_country(jurisdiction), ()), *self.by_jurisdiction.get(jurisdiction, ())
                )
            }
            if len(self._rules_of) >= _PLAN_CACHE_SIZE:
                self._rules_of.clear()
            rules = self._rules_of[key] = tuple(sorted(found.values(), key=lambda rule: self.position[rule.id]))
        return rules

    def plan(self, jurisdictions: tuple[str, ...], autodialed: bool, house_hours: HouseHours | None) -> _Plan:
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
            countries = frozenset(_country(jurisdiction) for jurisdiction in jurisdictions)
            plan = self._plans[key] = _Plan(tuple(rules), countries)
        return plan


# --- Caps, wireless, registries, retention -----------------------------------------------------


def frequency_caps(
    pack: RulePack, jurisdictions: Iterable[str], at: datetime, *, autodialed: bool = False
) -> tuple[Cap, ...]:
    """Every call-frequency cap in force at ``at``; ``autodialed`` adds the automated-calls-only ones."""
    return tuple(
        Cap(rule.params.max_calls, timedelta(hours=rule.params.per_hours), rule.id)
        for rule in applicable(pack, jurisdictions, at)
        if isinstance(rule.params, CapParams) and rule.covers(autodialed)
    )


def frequency_cap(
    pack: RulePack, jurisdictions: Iterable[str], at: datetime, *, autodialed: bool = False
) -> Cap | None:
    """The most restrictive cap: the lowest call rate, then the shortest period (it forbids bursts).

    Caps such as 3 per 24 h and 1 per 8 h do not nest, so give ``cap_verdict`` all of
    ``frequency_caps`` when several may apply.
    """
    caps = frequency_caps(pack, jurisdictions, at, autodialed=autodialed)
    if not caps:
        return None
    return min(caps, key=lambda cap: (cap.max_calls / cap.per.total_seconds(), cap.per))


def cap_verdict(cap: Cap | Iterable[Cap] | None, attempts: Sequence[datetime], now: datetime) -> CapVerdict:
    """Whether one more call at ``now`` stays within ``cap`` (or within every cap given).

    A cap counts the attempts in the sliding period (now - per, now]; attempts stamped after ``now``
    count too (clock skew fails closed). When blocked, ``next_allowed_at`` is when enough attempts
    have aged out — the latest such instant over all caps that block.
    """
    _require_aware(now, "now")
    for attempt in attempts:
        _require_aware(attempt, "attempt")
    caps: Iterable[Cap] = () if cap is None else (cap,) if isinstance(cap, Cap) else cap
    blocked = CapVerdict(True, None, None)
    for one in caps:
        counted = sorted(attempt for attempt in attempts if attempt > now - one.per)
        if len(counted) < one.max_calls:
            continue
        next_allowed_at = counted[len(counted) - one.max_calls] + one.per
        if blocked.next_allowed_at is None or next_allowed_at > blocked.next_allowed_at:
            blocked = CapVerdict(False, next_allowed_at, one.rule_id)
    return blocked


def wireless_restricted(
    pack: RulePack, jurisdictions: Iterable[str], number_type: str, at: datetime
) -> str | None:
    """The id of a rule prohibiting solicitation calls to this number as a mobile, or None.

    ``number_type`` is phonenumbers' type name (``PhoneInfo.number_type``) or a line-type source's.
    ``MOBILE`` is a mobile. ``FIXED_LINE_OR_MOBILE`` (every NANP number), a type we do not know and
    ``PERSONAL_NUMBER`` are possibly mobile: treated as mobile (fail closed, COMPLIANCE
    us.autodialer.mobile) unless a line-type source says ``FIXED_LINE``.
    """
    if number_type.strip().upper() in _NOT_MOBILE:
        return None
    for rule in applicable(pack, jurisdictions, at):
        if isinstance(rule.params, WirelessParams):
            return rule.id
    return None


def registry_rules(pack: RulePack, jurisdictions: Iterable[str], at: datetime) -> tuple[RegistryRule, ...]:
    """The registries a number must be screened against at ``at`` (one entry per registry: the
    shortest maximum age wins), in pack order."""
    found: dict[str, RegistryRule] = {}
    for rule in applicable(pack, jurisdictions, at):
        params = rule.params
        if isinstance(params, RegistryParams):
            known = found.get(params.registry)
            if known is None or params.max_age_days < known.max_age_days:
                found[params.registry] = RegistryRule(params.registry, params.max_age_days, rule.id)
    return tuple(found.values())


def revocation_scope(pack: RulePack, jurisdictions: Iterable[str], at: datetime) -> str | None:
    """The id of the rule that lets a channel-specific revocation cover only its channel, or None
    when every revocation covers every channel: the default, and the answer whenever any applicable
    ``revocation_scope`` rule says ``false`` (the stricter reading wins)."""
    allowing: str | None = None
    for rule in applicable(pack, jurisdictions, at):
        if isinstance(rule.params, RevocationScopeParams):
            if not rule.params.channel_specific:
                return None
            allowing = allowing or rule.id
    return allowing


def consent_exemptions(pack: RulePack, jurisdictions: Iterable[str], at: datetime) -> dict[str, str]:
    """Registry → id of the rule by which prior express written consent exempts a call from it."""
    found: dict[str, str] = {}
    for rule in applicable(pack, jurisdictions, at):
        if isinstance(rule.params, ConsentExemptionParams):
            found.setdefault(rule.params.registry, rule.id)
    return found


def jurisdictions_known(pack: RulePack, countries: Iterable[str]) -> tuple[str, ...]:
    """Every jurisdiction of ``countries`` the pack has an enabled rule for, countries first, then
    subdivisions in pack order: where a callee who could be anywhere in those countries may be."""
    return pack._index.known_in(frozenset(countries))


def minimum_retention(pack: RulePack, jurisdictions: Iterable[str], at: datetime) -> Retention | None:
    """The longest minimum time a removal (do-not-call) request must be kept, or None."""
    longest: Retention | None = None
    for rule in applicable(pack, jurisdictions, at):
        if isinstance(rule.params, RetentionParams) and (longest is None or rule.params.min_days > longest.min_days):
            longest = Retention(rule.params.min_days, rule.id)
    return longest


# --- Established business relationships --------------------------------------------------------


def ebr_window(
    pack: RulePack, jurisdictions: Sequence[str], kind: EbrKind, started_at: datetime
) -> tuple[datetime | None, str]:
    """When an established business relationship of ``kind`` begun at ``started_at`` ends (UTC), and
    the rule that decides it; the EBR is in force on [started_at, end).

    Every enabled ``ebr`` rule of ``jurisdictions`` (a state implies its country) that limits
    ``kind`` applies and the shortest wins; ties go to the state rule, then to pack order. Returns
    (None, rule id) when the deciding rule allows no EBR of this kind (an inquiry in MI, anything in
    IN), and (None, ``RULE_NO_EBR``) when no rule limits ``kind`` at all: the pack knows no EBR
    exemption there (say ``GB``).

    Months are calendar months on ``started_at``'s own clock (31 January + 1 month = end of
    February), days calendar days; business days are Monday to Friday on that clock, and holidays
    count as business days (the pack has no holiday table for this, and the EBR then ends no later
    than the law's). Rule dates: a rule counts from its first instant anywhere on earth; one taking
    effect after ``started_at`` cuts the EBR at its limit or at its effective date, whichever is
    later, and one whose ``ends`` comes first cuts nothing. Raises ValueError for a naive
    ``started_at``.
    """
    _require_aware(started_at, "started_at")
    best: tuple[datetime, bool, int, str] | None = None  # (end, country rule?, pack position, id): least wins
    for rule in pack._index.rules_of(jurisdictions):
        limit = rule.params.limit(kind) if isinstance(rule.params, EbrParams) else None
        if limit is None:
            continue
        end = max(_ebr_end(started_at, limit), rule._from)
        if rule._until is not None and end >= rule._until:
            continue
        candidate = (end, "-" not in rule.jurisdiction, pack._index.position[rule.id], rule.id)
        if best is None or candidate < best:
            best = candidate
    if best is None:
        return None, RULE_NO_EBR
    end, _, _, rule_id = best
    return (None if end <= started_at else end.astimezone(UTC)), rule_id


def _ebr_end(start: datetime, limit: EbrLimit) -> datetime:
    if limit.unit == "months":
        months = start.month - 1 + limit.count
        year, month = start.year + months // 12, months % 12 + 1
        return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
    if limit.unit == "days":
        return start + timedelta(days=limit.count)
    end, left = start, limit.count
    while left:
        end += _ONE_DAY
        if end.weekday() < 5:  # Monday to Friday
            left -= 1
    return end


def _country(jurisdiction: str) -> str:
    return jurisdiction.partition("-")[0]


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
