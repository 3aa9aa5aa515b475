"""Where the called party may be: the jurisdictions and time zones of one number in one campaign.

Every rule evaluation (``pipeline.core.evaluation``: decisions, withdrawals, the dial-time check)
asks :func:`place_of` first, with the addresses on record for the number in the campaign — every
lead of the campaign on this number gives its address region (and country) — so a decision and a
dial-check about the same number and campaign always weigh the same places:

- the number's own country and area-code state or province (``rulepack.jurisdictions``);
- every address on record: its country and region, and the region's time zones (a Florida number
  whose lead lives in Texas is called inside Texas hours, in Central *and* Eastern time);
- a number that does not say where its owner is — toll-free, premium-rate, personal, UAN,
  shared-cost and VoIP numbers without an area code, or a NANP number whose area code spans two
  provinces — with no address giving a region: **every** jurisdiction the rule pack knows in the
  countries the number could ring in (for +1 non-geographic numbers: every NANP country the pack
  covers, the US states and Canada), in every time zone of those countries (COMPLIANCE.md: where
  the callee's state is uncertain, all plausible jurisdictions apply and the most restrictive
  wins). The resulting window is often empty: such numbers are callable when an address says where
  the person lives. An address giving a region replaces the number's time zones by the region's
  (a toll-free number's 42 NANP zones say nothing about its owner).

Region time zones come from phonenumbers' own data: the zones of every area code of a state or
province (derived once, cached). A region whose zones are unknown (outside the NANP) adds none.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.rulepack import RulePack, jurisdictions, jurisdictions_known
from pipeline.events import PhoneInfo

NON_GEOGRAPHIC_TYPES = frozenset({"TOLL_FREE", "PREMIUM_RATE", "SHARED_COST", "PERSONAL_NUMBER", "UAN", "PAGER",
                                  "VOICEMAIL"})
"""phonenumbers number types that say nothing about where their owner is (VOIP only when it has no
area code: US VoIP numbers do)."""

_NANP_WITH_STATES = frozenset({"US", "CA"})
# A probe number in every NANP area code; the first valid one describes the area code.
_PROBE_SUBSCRIBERS = ("2000000", "2345678", "5550123", "4567890")

Address = tuple[str | None, str | None]
"""(region, country) of an address as the lead gave them; either may be None."""

_PLACE_CACHE_SIZE = 4096
_PLACES: dict[tuple[object, ...], Place] = {}


@dataclass(frozen=True, slots=True)
class Place:
    """Where a call to one number in one campaign may land."""

    jurisdictions: tuple[str, ...]
    """Every jurisdiction whose rules apply; the most restrictive wins."""
    time_zones: tuple[str, ...]
    """Every time zone the callee may be in; each one's local clock must allow the call."""
    located_by: str
    """``number`` (its area code or country), ``address`` (an address gave a region), or ``nowhere``
    (a non-geographic number without an address: every jurisdiction of its countries)."""


def place_of(phone: PhoneInfo, addresses: Iterable[Address], pack: RulePack) -> Place:
    """The jurisdictions and time zones of a call to ``phone`` given ``addresses`` (see the module doc)."""
    addresses = tuple(addresses)
    if not locates(phone):  # the answer may depend on the pack's jurisdictions: not cached here
        return _place_of(phone, addresses, pack)
    # Every dial-check and decision asks: cached by everything the answer depends on.
    key = (phone["region"], phone["area_code_region"], phone["number_type"], tuple(phone["time_zones"]), addresses)
    found = _PLACES.get(key)
    if found is None:
        if len(_PLACES) >= _PLACE_CACHE_SIZE:
            _PLACES.clear()
        found = _PLACES[key] = _place_of(phone, addresses, pack)
    return found


def _place_of(phone: PhoneInfo, addresses: tuple[Address, ...], pack: RulePack) -> Place:
    own = jurisdictions(phone, None, None)
    found: dict[str, None] = dict.fromkeys(own)
    regions: dict[str, None] = {}
    for region, country in dict.fromkeys(addresses):
        if region is None and country is None:
            continue
        for jurisdiction in jurisdictions(phone, region, country):
            if jurisdiction not in found:
                found[jurisdiction] = None
                if "-" in jurisdiction:
                    regions[jurisdiction] = None
    zones: dict[str, None] = dict.fromkeys(phone["time_zones"])
    if not locates(phone):
        if not regions:
            if _non_geographic(phone):  # it may ring anywhere its calling code reaches
                countries = jurisdictions_known(pack, _sharing_calling_code(phone))
                for country in countries:
                    zones.update(dict.fromkeys(_zones_of(country)))
            else:  # a geographic number whose area code spans two provinces: its own zones hold
                countries = jurisdictions_known(pack, (own[0],))
            for jurisdiction in countries:
                found.setdefault(jurisdiction, None)
            return Place(tuple(found), tuple(zones), "nowhere")
        region_zones = [zone for region in regions for zone in _zones_of(region)]
        if region_zones:
            zones = dict.fromkeys(region_zones)
        return Place(tuple(found), tuple(zones), "address")
    for region in regions:
        zones.update(dict.fromkeys(_zones_of(region)))
    return Place(tuple(found), tuple(zones), "address" if regions else "number")


def locates(phone: PhoneInfo) -> bool:
    """Whether the number itself says where its owner is precisely enough for the pack's rules: a
    geographic number with an area-code state or province where the pack has state rules."""
    if _non_geographic(phone):
        return False
    return phone["area_code_region"] is not None or phone["region"] not in _NANP_WITH_STATES


def _non_geographic(phone: PhoneInfo) -> bool:
    number_type = phone["number_type"]
    return number_type in NON_GEOGRAPHIC_TYPES or (number_type == "VOIP" and phone["area_code_region"] is None)


def _sharing_calling_code(phone: PhoneInfo) -> tuple[str, ...]:
    """The countries sharing the number's calling code, its own first (+1: the NANP countries)."""
    code = phonenumbers.country_code_for_region(phone["region"])
    others = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    return tuple(dict.fromkeys((phone["region"], *others)))


@functools.cache
def _zones_of(jurisdiction: str) -> tuple[str, ...]:
    """The time zones of a country or subdivision (``US``, ``US-TX``, ``CA``, ``GB``), or () when unknown.

    NANP places come from the area codes phonenumbers puts there (a country: all its states'); other
    countries from an example number of the country."""
    nanp = _nanp_zones()
    if jurisdiction in nanp:
        return nanp[jurisdiction]
    if "-" in jurisdiction or jurisdiction not in phonenumbers.SUPPORTED_REGIONS:
        return ()
    example = phonenumbers.example_number(jurisdiction)
    if example is None:
        return ()
    return tuple(z for z in phonenumbers.timezone.time_zones_for_number(example)
                 if z != phonenumbers.timezone.UNKNOWN_TIMEZONE)


@functools.cache
def _nanp_zones() -> dict[str, tuple[str, ...]]:
    """Zones of every US state, territory and Canadian province (and of US, CA and each territory as
    a country), from one probe number per area code that has a state or province."""
    table: dict[str, dict[str, None]] = {}
    for area_code in range(200, 1000):
        for subscriber in _PROBE_SUBSCRIBERS:
            info = normalize_phone(f"+1{area_code}{subscriber}", None, "US")
            if isinstance(info, PhoneError):
                continue
            state = info["area_code_region"]
            if state is not None and info["number_type"] not in NON_GEOGRAPHIC_TYPES:
                region = info["region"]
                # A territory (PR, GU...) is its own country and the US state of the same code.
                keys = (region, f"{region}-{state}") if region in _NANP_WITH_STATES else ("US", f"US-{state}", region)
                for key in keys:
                    table.setdefault(key, {}).update(dict.fromkeys(info["time_zones"]))
            break
    return {key: tuple(zones) for key, zones in table.items()}
