"""The registries a worker holds, and whether a number on them may be called now: a pure function
of (number, registries, clock).

:class:`RegistrySet` holds the registries a worker opened (:func:`open_registries`) and which it
must hold; it is what the core asks (its ``Registries`` protocol). :func:`registry_verdict` for one
E.164 number:

1. a registry that covers the number's country has the number on its list → blocked,
   ``DNC_REGISTRY`` (rule ``dnc.registry``), whatever the snapshot's age;
2. otherwise a covering registry is stale (older than its legal limit: 31 days US, 28 days UK) or
   required but not loaded → blocked, ``REGISTRY_STALE`` (its freshness rule): fail closed, since
   the number may have been registered since;
3. otherwise → not blocked. Numbers of countries with no registry loaded are not blocked by this
   check (other checks still apply).

Coverage: ``us-dnc`` covers +1 numbers of the US and its territories (+1 numbers of Canada and the
Caribbean nations are not its to block; an area code phonenumbers does not know counts as US, so
staleness fails closed on it); ``uk-tps`` and ``uk-ctps`` cover every +44 number.

:func:`registry_health` and :func:`registry_metrics` say, per registry, how old its snapshot is and
whether it is stale — the gauge ``leadpipe_registry_stale`` is 1 while numbers are being blocked
for staleness.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final

import phonenumbers

# Verdicts are the core's type (pipeline.core.registries: what decisions read); re-exported here.
from pipeline.core.registries import RegistryReasonCode as RegistryReasonCode
from pipeline.core.registries import RegistryVerdict as RegistryVerdict
from pipeline.registry.disk import LoadedRegistry, open_registry, registry_dir
from pipeline.registry.kinds import REGISTRY_KINDS, US_DNC_REGIONS, RegistryKind, registry_kind

RULE_REGISTRY_LISTED: Final = "dnc.registry"

_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")
_NANP: Final = re.compile(r"\+1([0-9]{3})[0-9]{7}")


@dataclass(frozen=True)
class RegistrySet:
    """The registries a worker holds, and which of them it must hold.

    A registry in ``required`` but absent from ``loaded`` is treated like a stale one: every number
    it would cover is blocked (fail closed).
    """

    loaded: Mapping[str, LoadedRegistry] = field(default_factory=dict)
    required: frozenset[str] = frozenset()

    def verdict(self, phone_e164: str, at: datetime) -> RegistryVerdict:
        """:func:`registry_verdict` for this set (the core's ``Registries`` protocol)."""
        return registry_verdict(phone_e164, self, at)

    def covering(self, country: str) -> tuple[RegistryKind, ...]:
        """Registries (loaded or required) whose numbers are of ``country``, in a fixed order."""
        if not self.loaded and not self.required:  # no registries at all: asked for every decision
            return ()
        names = set(self.loaded) | set(self.required)
        return tuple(kind for kind in REGISTRY_KINDS.values() if kind.country == country and kind.name in names)


def open_registries(data_dir: Path, *, required: Sequence[str] = ()) -> RegistrySet:
    """Every imported registry under ``data_dir``, memory-mapped, for a worker.

    ``required`` names registries the worker must have; one that was never imported is still
    listed in the set so that :func:`pipeline.registry.check.registry_verdict` fails closed on it.
    """
    for name in required:
        registry_kind(name)
    directory = registry_dir(data_dir)
    loaded: dict[str, LoadedRegistry] = {}
    for name in REGISTRY_KINDS:
        entry = open_registry(directory, name)
        if entry is not None:
            loaded[name] = entry
    return RegistrySet(loaded=loaded, required=frozenset(required))


@functools.cache
def _non_us_nanp_area_codes() -> frozenset[int]:
    """Area codes phonenumbers places in a +1 country other than the US and its territories."""
    found = set()
    for area in range(200, 1000):
        for subscriber in ("2345678", "5550123", "4567890", "2000000"):
            number = phonenumbers.parse(f"+1{area}{subscriber}")
            if phonenumbers.is_valid_number(number):
                if phonenumbers.region_code_for_number(number) not in US_DNC_REGIONS:
                    found.add(area)
                break
    return frozenset(found)


def registry_country(phone_e164: str) -> str | None:
    """The country whose national registries cover ``phone_e164`` ("US", "GB"), or None."""
    nanp = _NANP.fullmatch(phone_e164)
    if nanp is not None:
        return None if int(nanp.group(1)) in _non_us_nanp_area_codes() else "US"
    if phone_e164.startswith("+44"):
        return "GB"
    return None


def registry_number(phone_e164: str) -> int | None:
    """The number as the registries store it: US ``AAANNNNNNN``, UK significant number; else None."""
    if _NANP.fullmatch(phone_e164):
        return int(phone_e164[2:])
    if phone_e164.startswith("+44") and len(phone_e164) > 3:
        return int(phone_e164[3:])
    return None


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} days"


def registry_verdict(phone_e164: str, registries: RegistrySet, now: datetime) -> RegistryVerdict:
    """Whether the national registries forbid calling ``phone_e164`` at ``now`` (see the module doc).

    Raises ValueError when ``phone_e164`` is not E.164 or ``now`` is naive: both are bugs upstream.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if _E164.fullmatch(phone_e164) is None:
        raise ValueError(f"{phone_e164!r} is not an E.164 number: normalize it first")
    country = registry_country(phone_e164)
    kinds = registries.covering(country) if country is not None else ()
    if not kinds:
        return RegistryVerdict(False, None, None, f"no national registry loaded covers {phone_e164}")
    number = registry_number(phone_e164)
    for kind in kinds:
        entry = registries.loaded.get(kind.name)
        if entry is not None and number is not None and entry.store.contains(number):
            return RegistryVerdict(
                True, kind.name, "DNC_REGISTRY",
                f"{phone_e164} is on the {kind.title} (snapshot of {entry.snapshot.snapshot_date.isoformat()})",
                RULE_REGISTRY_LISTED,
            )
    for kind in kinds:
        entry = registries.loaded.get(kind.name)
        if entry is None:
            return RegistryVerdict(
                True, kind.name, "REGISTRY_STALE",
                f"the {kind.title} ({kind.name}) is required but not loaded: its numbers are blocked until it is "
                "imported",
                kind.freshness_rule_id,
            )
        if entry.snapshot.is_stale(now):
            age = entry.snapshot.age(now).total_seconds()
            return RegistryVerdict(
                True, kind.name, "REGISTRY_STALE",
                f"the {kind.name} snapshot of {entry.snapshot.snapshot_date.isoformat()} is {_days(age)} old, over "
                f"the {kind.max_age_days}-day limit: its numbers are blocked until a fresh list is imported",
                kind.freshness_rule_id,
            )
    names = ", ".join(
        f"{kind.name} of {registries.loaded[kind.name].snapshot.snapshot_date.isoformat()}" for kind in kinds
    )
    return RegistryVerdict(False, None, None, f"{phone_e164} is not on {names}")


# --- health and metrics ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryHealth:
    registry: str
    required: bool
    loaded: bool
    stale: bool
    """True while the registry blocks its numbers for age (or for being required and missing)."""
    snapshot_date: date | None
    age_s: float | None
    max_age_days: int
    expires_at: datetime | None
    numbers: int | None


def registry_health(registries: RegistrySet, now: datetime) -> tuple[RegistryHealth, ...]:
    """One entry per registry that is loaded or required, in a fixed order."""
    out = []
    for kind in REGISTRY_KINDS.values():
        required = kind.name in registries.required
        entry = registries.loaded.get(kind.name)
        if entry is None:
            if required:
                out.append(RegistryHealth(kind.name, True, False, True, None, None, kind.max_age_days, None, None))
            continue
        snapshot = entry.snapshot
        out.append(RegistryHealth(
            kind.name, required, True, snapshot.is_stale(now), snapshot.snapshot_date,
            snapshot.age(now).total_seconds(), snapshot.max_age_days, snapshot.expires_at, snapshot.numbers,
        ))
    return tuple(out)


_METRICS: Final = (
    ("leadpipe_registry_stale",
     "1 while numbers the registry covers are blocked because its snapshot is over its legal age or it is "
     "required and missing"),
    ("leadpipe_registry_snapshot_age_seconds", "Age of the registry's snapshot (from 00:00 UTC of its date)"),
    ("leadpipe_registry_max_age_seconds", "Legal age limit of the registry's snapshot"),
    ("leadpipe_registry_snapshot_timestamp_seconds", "The registry snapshot's date, 00:00 UTC, as a Unix time"),
    ("leadpipe_registry_numbers", "Numbers on the registry's loaded snapshot"),
)


def registry_metrics(registries: RegistrySet, now: datetime) -> str:
    """Prometheus text exposition of :func:`registry_health` (gauges labelled ``registry``)."""
    values: dict[str, list[tuple[str, float]]] = {name: [] for name, _ in _METRICS}
    for health in registry_health(registries, now):
        values["leadpipe_registry_stale"].append((health.registry, 1.0 if health.stale else 0.0))
        values["leadpipe_registry_max_age_seconds"].append((health.registry, health.max_age_days * 86400.0))
        if health.expires_at is not None and health.age_s is not None and health.numbers is not None:
            snapshot_at = health.expires_at.timestamp() - health.max_age_days * 86400.0
            values["leadpipe_registry_snapshot_age_seconds"].append((health.registry, health.age_s))
            values["leadpipe_registry_snapshot_timestamp_seconds"].append((health.registry, snapshot_at))
            values["leadpipe_registry_numbers"].append((health.registry, float(health.numbers)))
    lines = []
    for name, help_text in _METRICS:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f'{name}{{registry="{registry}"}} {value!r}' for registry, value in values[name])
    return "\n".join(lines) + "\n"
