"""Which jurisdictions may apply to a call (the number's country and area-code state, the address's
country and region), and which of the pack's rules are in force for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from pipeline.core.rulepack.model import HolidaysParams, Rule, require_aware
from pipeline.core.rulepack.pack import RulePack
from pipeline.events import PhoneInfo

_US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP"})
# Crown dependencies dial as +44: UK TPS/CTPS screening covers them.
_GB_CROWN_DEPENDENCIES = frozenset({"GG", "JE", "IM"})
_COUNTRY_ALIASES = {"UK": "GB", "GBR": "GB", "USA": "US", "CAN": "CA"}
_REGION_CODE = re.compile(r"[A-Z0-9]{1,3}")


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
    require_aware(at, "at")
    return pack._index.in_force(tuple(jurisdictions), at)


def stale_rules(pack: RulePack, at: datetime, *, within: timedelta = timedelta(days=90)) -> tuple[str, ...]:
    """Ids of enabled holiday rules whose table ends before ``at + within``: extend them, or those
    states close for good (fail closed) after ``through``. For a start-up or health warning."""
    require_aware(at, "at")
    horizon = (at + within).date()
    return tuple(
        rule.id for rule in pack.rules
        if rule.enabled and isinstance(rule.params, HolidaysParams) and rule.params.through < horizon
    )


def jurisdictions_known(pack: RulePack, countries: Iterable[str]) -> tuple[str, ...]:
    """Every jurisdiction of ``countries`` the pack has an enabled rule for, countries first, then
    subdivisions in pack order: where a callee who could be anywhere in those countries may be."""
    return pack._index.known_in(frozenset(countries))
