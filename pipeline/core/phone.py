"""Phone normalization: a number as entered becomes a :class:`PhoneInfo` keyed by E.164, or a
:class:`PhoneError` saying why it cannot be called.

Error codes (``PhoneError.code``):

- ``PHONE_EMPTY``        nothing but whitespace was entered.
- ``PHONE_UNPARSEABLE``  not a phone number at all, or longer than :data:`MAX_INPUT_LENGTH`
                         characters; the detail names phonenumbers' parse-error kind.
- ``PHONE_INVALID``      parses, but no such number exists in the numbering plan.
- ``PHONE_NOT_DIALABLE`` a real number we refuse to dial: premium-rate (the called party earns from
                         the call, the classic revenue-share fraud a fake lead can trigger), pager and
                         voicemail-access numbers (no person to talk to), and the global non-geographic
                         codes +800, +808, +870, +878, +881, +882, +883, +888, +979 (no country, so no
                         time zone, no legal window and no DNC registry; satellite ranges are costly).

``time_zones`` never contains phonenumbers' ``Etc/Unknown`` placeholder. For every valid number of a
real country phonenumbers knows at least the country's zones, so an empty list is only possible if
its data has a gap; callers must treat an empty list as "local time unknown" (``call_window`` then
fails closed).

``area_code_region`` is the state or province a US/Canadian area code belongs to (``FL``, ``ON``,
``DC``), derived from phonenumbers' English geocoder; for Puerto Rico, Guam, the US Virgin Islands,
American Samoa and the Northern Mariana Islands it is the territory's own code (``PR``...). It is
None outside the NANP, for non-geographic codes (800, 500...) and where an area code spans two
provinces (902/782 Nova Scotia + PEI, 867 the northern territories).

``area_code_location`` is phonenumbers' English geocoder description of the number's prefix, as
precise as its data goes ("Miami, FL", "Florida", "London"; only the country for many mobile
ranges); None where it has none (toll-free and other non-geographic codes). It describes the
number, not where the person is.

``line_type`` is what the number type alone says (see ``pipeline.core.linetype``): UNKNOWN for
every NANP number until a line-type source says; ``carrier`` is phonenumbers' original carrier of a
mobile range (numbers port: it is a hint, not the current carrier), None where it does not know.

Everything but ``phone_e164`` is computed once per *block* — numbers of one country code and length
sharing the leading digits that phonenumbers' patterns and prefix tables read (for the NANP, the area
code, exchange and one more digit; :mod:`pipeline.core.phone_blocks` proves the depth from the data)
— and remembered for the next number of the block: the same answer, without the regular expressions
and table lookups.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType, carrier, geocoder, timezone

from pipeline.core.linetype import line_type_of
from pipeline.core.phone_blocks import block_depth
from pipeline.events import PhoneInfo

MAX_INPUT_LENGTH = 64
"""Longer input is refused before parsing: no real number, even with an extension, needs more."""

_NUMBER_TYPE_NAMES: dict[int, str] = {
    getattr(PhoneNumberType, name): name for name in dir(PhoneNumberType) if name.isupper()
}
_PARSE_ERROR_NAMES: dict[int, str] = {
    getattr(phonenumbers.NumberParseException, name): name
    for name in dir(phonenumbers.NumberParseException)
    if name.isupper()
}
_NOT_DIALABLE_TYPES: dict[int, str] = {
    PhoneNumberType.PREMIUM_RATE: "premium-rate number: the called party is paid for the call",
    PhoneNumberType.PAGER: "pager number: no person to talk to",
    PhoneNumberType.VOICEMAIL: "voicemail-access number: no person to talk to",
}
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_UNKNOWN_TIME_ZONE = timezone.UNKNOWN_TIMEZONE

# NANP regions whose area codes map to a state or province. A US territory is its own "state": its
# ISO 3166 code is also its USPS code.
_NANP_REGIONS_WITH_STATES = frozenset({"US", "CA"})
_US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP"})

_STATE_CODES: dict[str, str] = {
    # US states and DC
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS",
    "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA",
    "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM",
    "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "washington state": "WA", "west virginia": "WV",
    "wisconsin": "WI", "wyoming": "WY",
    "washington d.c.": "DC", "washington, d.c.": "DC", "district of columbia": "DC",
    # Canadian provinces and territories ("British Colombia" is how phonenumbers spells one entry)
    "alberta": "AB", "british columbia": "BC", "british colombia": "BC", "manitoba": "MB",
    "new brunswick": "NB", "newfoundland and labrador": "NL", "newfoundland": "NL",
    "nova scotia": "NS", "ontario": "ON", "prince edward island": "PE", "quebec": "QC",
    "saskatchewan": "SK", "northwest territories": "NT", "nunavut": "NU", "yukon": "YT",
}
_KNOWN_CODES = frozenset(_STATE_CODES.values())
# Some prefixes are geocoded to a city: "New York, NY", "Toronto, ON".
_CITY_STATE = re.compile(r",\s*([A-Z]{2})$")
_ERROR_NUMBER_PREFIX = re.compile(r"^\(\d+\)\s*")
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")


@dataclass(frozen=True)
class PhoneError:
    """Why a phone number as entered cannot be used; ``code`` is one of the module's codes."""

    code: str
    detail: str


def normalize_phone(raw: str, country_hint: str | None, default_region: str) -> PhoneInfo | PhoneError:
    """Parse ``raw`` as a phone number and describe it, or say why it cannot be called.

    A national-format number is read in ``country_hint`` (ISO 3166-1 alpha-2, any case); an unknown
    or missing hint falls back to ``default_region``. A leading ``00`` is also tried as the
    international prefix when the hinted country dials abroad differently (e.g. ``0044...`` with a
    US hint). Extensions are dropped. Raises ValueError only if ``default_region`` is not a region
    phonenumbers knows: that is a configuration bug, not bad input.
    """
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"default_region {default_region!r} is not an ISO 3166-1 alpha-2 region")
    if country_hint is not None:
        hint = country_hint.strip().upper()
        if hint in phonenumbers.SUPPORTED_REGIONS:
            region = hint

    text = raw.strip()
    if not text:
        return PhoneError("PHONE_EMPTY", "no phone number was given")
    if len(text) > MAX_INPUT_LENGTH:
        return PhoneError("PHONE_UNPARSEABLE", f"longer than {MAX_INPUT_LENGTH} characters")

    parsed = _parse(text, region)
    facts = _facts(parsed) if isinstance(parsed, PhoneNumber) else None
    if (facts is None or facts.number_type is None) and text.startswith("00"):
        retried = _parse("+" + text[2:], region)
        retried_facts = _facts(retried) if isinstance(retried, PhoneNumber) else None
        if retried_facts is not None and retried_facts.number_type is not None:
            parsed, facts = retried, retried_facts
    if isinstance(parsed, PhoneError):
        return parsed
    if facts is None or facts.number_type is None:
        return PhoneError("PHONE_INVALID", "no such number in the numbering plan of its country")
    return facts.of(parsed)


# The NANP's block depth is read from phonenumbers' data now, at import (a tenth of what loading
# phonenumbers' geocoding data costs), rather than while the first lead waits. Other country codes
# are read the first time one of their numbers comes.
block_depth(1, "")

MAX_BLOCKS = 1 << 16
"""Blocks whose facts are remembered (a few hundred bytes each); over it, they are forgotten at once."""
_blocks: dict[tuple[int, str, int], _Facts] = {}


@dataclass(frozen=True, slots=True)
class _Facts:
    """What phonenumbers says about every number of a block (``pipeline.core.phone_blocks``)."""

    number_type: int | None
    """None: not a valid number."""
    described: PhoneInfo | PhoneError | None
    """``_describe``'s answer, with ``phone_e164`` left empty: it is the one fact of the number itself."""

    def of(self, number: PhoneNumber) -> PhoneInfo | PhoneError:
        """``described`` for ``number`` (a number of the block, valid)."""
        described = self.described
        if not isinstance(described, dict):
            return described or PhoneError("PHONE_INVALID", "no such number in the numbering plan of its country")
        # E.164 is "+", the country code and the national significant number: format_number's own recipe.
        e164 = f"+{number.country_code}{phonenumbers.national_significant_number(number)}"
        return {**described, "phone_e164": e164, "time_zones": list(described["time_zones"])}


def _facts(number: PhoneNumber) -> _Facts:
    """The facts of ``number``'s block, computed once per block while remembered; a number whose
    block depth cannot be shown (``block_depth`` None) is computed on its own."""
    nsn = phonenumbers.national_significant_number(number)
    country_code = number.country_code
    depth = block_depth(country_code, nsn) if country_code is not None else None
    if depth is None or country_code is None:
        return _number_facts(number)
    key = (country_code, nsn[:depth], len(nsn))
    found = _blocks.get(key)
    if found is None:
        if len(_blocks) >= MAX_BLOCKS:
            _blocks.clear()
        found = _blocks[key] = _number_facts(number)
    return found


def forget_blocks() -> None:
    """Forget every remembered block: the next number of each is computed afresh (tests compare)."""
    _blocks.clear()


def _number_facts(number: PhoneNumber) -> _Facts:
    number_type = _valid_number_type(number)
    if number_type is None:
        return _Facts(None, None)
    described = _describe(number, number_type)
    if isinstance(described, PhoneError):
        return _Facts(number_type, described)
    return _Facts(number_type, {**described, "phone_e164": ""})


def _parse(text: str, region: str) -> PhoneNumber | PhoneError:
    if _NANP_E164.fullmatch(text):
        # What phonenumbers.parse gives for a NANP number in E.164 (the form the gateway and the
        # importer send), in any region: +1 is the country code, the US national prefix "1" cannot
        # start an NSN that starts 2-9, no extension, no leading zero. Its general path costs ~20 µs.
        return PhoneNumber(country_code=1, national_number=int(text[2:]))
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        kind = _PARSE_ERROR_NAMES.get(exc.error_type, str(exc.error_type))
        message = _ERROR_NUMBER_PREFIX.sub("", str(exc))  # str(exc) is "(1) The string supplied..."
        return PhoneError("PHONE_UNPARSEABLE", f"{kind}: {message}")


def _valid_number_type(number: PhoneNumber) -> int | None:
    """The number's PhoneNumberType, or None when it is not a valid number.

    Same answer as ``is_valid_number`` (a number is valid exactly when its type is known; a test
    holds this against phonenumbers), but the type lookup — the costly part — runs once, not twice.
    """
    number_type: int = phonenumbers.number_type(number)
    return None if number_type == PhoneNumberType.UNKNOWN else number_type


def _describe(number: PhoneNumber, number_type: int) -> PhoneInfo | PhoneError:
    """PhoneInfo for a valid number of type ``number_type``, or PHONE_NOT_DIALABLE."""
    region = phonenumbers.region_code_for_number(number)
    country_code = number.country_code
    if region is None or country_code is None:  # not for a valid number; keeps the types honest
        return PhoneError("PHONE_INVALID", "no country for this number")
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        return PhoneError(
            "PHONE_NOT_DIALABLE", f"global non-geographic number (+{country_code}): no country or time zone"
        )
    refusal = _NOT_DIALABLE_TYPES.get(number_type)
    if refusal is not None:
        return PhoneError("PHONE_NOT_DIALABLE", refusal)

    area_code_region: str | None = None
    if country_code == 1:
        if region in _NANP_REGIONS_WITH_STATES:
            area_code_region = _nanp_area_code_region(str(number.national_number)[:3])
        elif region in _US_TERRITORIES:
            area_code_region = region
    # number_type is known already: skip the second type lookup time_zones_for_number would do.
    if phonenumbers.is_number_type_geographical(number_type, country_code):
        zones = timezone.time_zones_for_geographical_number(number)
    else:
        zones = timezone.time_zones_for_number(number)
    carrier_name = carrier.name_for_valid_number(number, "en") if number_type in _MOBILE_TYPES else ""
    type_name = _NUMBER_TYPE_NAMES.get(number_type, "UNKNOWN")

    return PhoneInfo(
        phone_e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        region=region,
        number_type=type_name,
        time_zones=[zone for zone in zones if zone != _UNKNOWN_TIME_ZONE],
        area_code_region=area_code_region,
        carrier=carrier_name or None,
        line_type=line_type_of(type_name),
        area_code_location=geocoder.description_for_valid_number(number, "en") or None,
    )


@functools.lru_cache(maxsize=1024)
def _nanp_area_code_region(area_code: str) -> str | None:
    """Two-letter state or province of a US/Canadian area code, or None when unknown or shared.

    An area code never crosses a state or province line except where phonenumbers says so
    ("Nova Scotia/Prince Edward Island"): those, and non-geographic codes (800, 500...), give None.
    The geocoder is asked for a representative number of the area code, so the answer depends on
    the area code alone and is cached.
    """
    probe = PhoneNumber(country_code=1, national_number=int(area_code + "2000000"))
    description = geocoder.description_for_valid_number(probe, "en")
    city_state = _CITY_STATE.search(description)
    if city_state is not None and city_state.group(1) in _KNOWN_CODES:
        return city_state.group(1)
    return _STATE_CODES.get(description.strip().lower())
