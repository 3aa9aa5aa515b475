"""What the pack restricts besides the window: call-frequency caps, calls to mobiles, the national
registries to screen against, the scope of a consent revocation, the registries written consent
exempts a call from, and how long a removal request must be kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from pipeline.core.rulepack.applicability import applicable
from pipeline.core.rulepack.model import (
    CapParams,
    ConsentExemptionParams,
    RegistryParams,
    RetentionParams,
    RevocationScopeParams,
    WirelessParams,
    require_aware,
)
from pipeline.core.rulepack.pack import RulePack

# Line types that may be a mobile (us.autodialer.mobile): NANP numbers are FIXED_LINE_OR_MOBILE, and a
# type we do not know is treated as mobile too. Only these are known not to be mobile.
_NOT_MOBILE = frozenset(
    {"FIXED_LINE", "TOLL_FREE", "PREMIUM_RATE", "SHARED_COST", "VOIP", "UAN", "PAGER", "VOICEMAIL"}
)


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
    require_aware(now, "now")
    for attempt in attempts:
        require_aware(attempt, "attempt")
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


def minimum_retention(pack: RulePack, jurisdictions: Iterable[str], at: datetime) -> Retention | None:
    """The longest minimum time a removal (do-not-call) request must be kept, or None."""
    longest: Retention | None = None
    for rule in applicable(pack, jurisdictions, at):
        if isinstance(rule.params, RetentionParams) and (longest is None or rule.params.min_days > longest.min_days):
            longest = Retention(rule.params.min_days, rule.id)
    return longest
