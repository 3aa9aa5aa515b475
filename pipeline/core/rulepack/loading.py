"""Loading a rule pack from JSON data, and applying counsel's overrides (the format is in the
package's doc): every key validated, ``ConfigError`` naming the rule id and the key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, time
from typing import get_args

from pipeline.core.rulepack.model import (
    WEEKDAYS,
    Calls,
    CapParams,
    ConsentExemptionParams,
    EbrKind,
    EbrLimit,
    EbrParams,
    HolidaysParams,
    HoursParams,
    Kind,
    NoCallDaysParams,
    Params,
    RegistryParams,
    RetentionParams,
    RevocationScopeParams,
    Rule,
    WirelessParams,
    hhmm,
)
from pipeline.core.rulepack.pack import RulePack
from pipeline.errors import ConfigError

_KINDS: tuple[Kind, ...] = get_args(Kind)
_CALLS: tuple[Calls, ...] = get_args(Calls)
_RULE_KEYS = frozenset(
    {"id", "jurisdiction", "kind", "calls", "params", "citation", "effective", "ends", "note", "enabled"}
)
_REQUIRED_KEYS = ("id", "jurisdiction", "kind", "citation", "effective")
_RULE_ID = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_JURISDICTION = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_REGISTRY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def load_rule_pack(data: object) -> RulePack:
    """Validate parsed JSON into a ``RulePack``; ``ConfigError`` names the rule id and key."""
    return _load(data, "rule pack")


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
        raise fail(f"{key}.end", f"hours must end after they start ({hhmm(start)}-{hhmm(end)})")
    return start, end


def _positive(raw: object, key: str, fail: _Fail) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise fail(key, f"expected a whole number of at least 1, got {raw!r}")
    return raw
