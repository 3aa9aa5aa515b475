"""normalize_phone: numbers as people type them, from several countries, to E.164 or a reason."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipeline.core.phone import MAX_INPUT_LENGTH, PhoneError, normalize_phone
from pipeline.events import PhoneInfo


def full_width(text: str) -> str:
    """The text as typed on a CJK keyboard: full-width plus sign and digits."""
    return "".join(chr(ord(c) + 0xFEE0) if c in "+0123456789" else c for c in text)


def arabic_indic(text: str) -> str:
    return "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in text)


ERROR_CODES = {"PHONE_EMPTY", "PHONE_UNPARSEABLE", "PHONE_INVALID", "PHONE_NOT_DIALABLE"}

# (as entered, country hint, default region) -> (E.164, number type, region, area-code state)
VALID = [
    # North America: punctuation, no hint, lower-case hint, extensions, vanity, odd digits
    ("+1 (305) 209-4411", None, "US", "+13052094411", "FIXED_LINE_OR_MOBILE", "US", "FL"),
    ("(212) 209-4411", "us", "US", "+12122094411", "FIXED_LINE_OR_MOBILE", "US", "NY"),
    ("  415.209.4411  ", None, "US", "+14152094411", "FIXED_LINE_OR_MOBILE", "US", "CA"),
    ("713-209-4411", "US", "GB", "+17132094411", "FIXED_LINE_OR_MOBILE", "US", "TX"),
    ("+1 212 209 4411 x123", None, "US", "+12122094411", "FIXED_LINE_OR_MOBILE", "US", "NY"),
    ("+1 212 209 4411 ext. 55", None, "US", "+12122094411", "FIXED_LINE_OR_MOBILE", "US", "NY"),
    ("tel:+1-305-209-4411", None, "US", "+13052094411", "FIXED_LINE_OR_MOBILE", "US", "FL"),
    ("1-800-FLOWERS", "US", "US", "+18003569377", "TOLL_FREE", "US", None),
    (full_width("+1 305 209 4411"), None, "US", "+13052094411", "FIXED_LINE_OR_MOBILE", "US", "FL"),
    (arabic_indic("+1 305 209 4411"), None, "US", "+13052094411", "FIXED_LINE_OR_MOBILE", "US", "FL"),
    ("+1 202 209 4411", None, "US", "+12022094411", "FIXED_LINE_OR_MOBILE", "US", "DC"),
    ("+1 206 209 4411", None, "US", "+12062094411", "FIXED_LINE_OR_MOBILE", "US", "WA"),
    ("(416) 309-4411", "CA", "US", "+14163094411", "FIXED_LINE_OR_MOBILE", "CA", "ON"),
    ("+1 514 209 4411", None, "US", "+15142094411", "FIXED_LINE_OR_MOBILE", "CA", "QC"),
    ("+1 604 209 4411", None, "US", "+16042094411", "FIXED_LINE_OR_MOBILE", "CA", "BC"),
    ("+1 902 209 4411", None, "US", "+19022094411", "FIXED_LINE_OR_MOBILE", "CA", None),  # NS and PE
    ("+1 787 209 4411", None, "US", "+17872094411", "FIXED_LINE_OR_MOBILE", "PR", "PR"),
    # Europe: national format with a hint, 00 and + international prefixes
    ("020 7946 0018", "GB", "US", "+442079460018", "FIXED_LINE", "GB", None),
    ("020 7946 0018", " gb ", "US", "+442079460018", "FIXED_LINE", "GB", None),
    ("020 7946 0018", "XX", "GB", "+442079460018", "FIXED_LINE", "GB", None),  # bad hint: default
    ("0044 20 7946 0018", "GB", "US", "+442079460018", "FIXED_LINE", "GB", None),
    ("0044 20 7946 0018", "US", "US", "+442079460018", "FIXED_LINE", "GB", None),  # US dials 011
    ("+44 7400 123456", None, "US", "+447400123456", "MOBILE", "GB", None),
    ("030 123456", "DE", "US", "+4930123456", "FIXED_LINE", "DE", None),
    ("0151 23456789", "DE", "US", "+4915123456789", "MOBILE", "DE", None),
    ("06 12 34 56 78", "FR", "US", "+33612345678", "MOBILE", "FR", None),
    ("01 23 45 67 89", "FR", "US", "+33123456789", "FIXED_LINE", "FR", None),
    # Elsewhere
    ("(11) 91234-5678", "BR", "US", "+5511912345678", "MOBILE", "BR", None),
    ("098765 43210", "IN", "US", "+919876543210", "MOBILE", "IN", None),
    ("0412 345 678", "AU", "US", "+61412345678", "MOBILE", "AU", None),
    ("02 9876 5432", "AU", "US", "+61298765432", "FIXED_LINE", "AU", None),
    ("55 1234 5678", "MX", "US", "+525512345678", "FIXED_LINE_OR_MOBILE", "MX", None),
    ("090-1234-5678", "JP", "US", "+819012345678", "MOBILE", "JP", None),
]

# (as entered, country hint) -> error code, and a word the detail must contain
INVALID = [
    ("", None, "PHONE_EMPTY", "no phone"),
    ("   \t\n", "US", "PHONE_EMPTY", "no phone"),
    ("not a phone", None, "PHONE_UNPARSEABLE", "NOT_A_NUMBER"),
    ("None", None, "PHONE_UNPARSEABLE", "NOT_A_NUMBER"),
    ("N/A", "US", "PHONE_UNPARSEABLE", "NOT_A_NUMBER"),
    ("+", None, "PHONE_UNPARSEABLE", "NOT_A_NUMBER"),
    ("+999 1234567", None, "PHONE_UNPARSEABLE", "INVALID_COUNTRY_CODE"),
    ("1" * (MAX_INPUT_LENGTH + 1), None, "PHONE_UNPARSEABLE", "longer than 64"),
    ("12345", "US", "PHONE_INVALID", "numbering plan"),
    ("020 7946 001", "GB", "PHONE_INVALID", "numbering plan"),  # one digit short
    ("020 7946 00181", "GB", "PHONE_INVALID", "numbering plan"),  # one digit too many
    ("+1 900 209 4411", None, "PHONE_NOT_DIALABLE", "premium-rate"),
    ("+44 909 879 0000", None, "PHONE_NOT_DIALABLE", "premium-rate"),
    ("+800 1234 5678", None, "PHONE_NOT_DIALABLE", "+800"),  # international freephone
    ("+881 6 1234 5678", None, "PHONE_NOT_DIALABLE", "+881"),  # satellite
]


@pytest.mark.parametrize(("raw", "hint", "default", "e164", "number_type", "region", "state"), VALID)
def test_valid_numbers_normalize_to_e164(
    raw: str, hint: str | None, default: str, e164: str, number_type: str, region: str, state: str | None
) -> None:
    info = normalize_phone(raw, hint, default)

    assert not isinstance(info, PhoneError), info
    assert info["phone_e164"] == e164
    assert info["number_type"] == number_type
    assert info["region"] == region
    assert info["area_code_region"] == state
    assert info["time_zones"], "a valid number always has a time zone"


@pytest.mark.parametrize(("raw", "hint", "code", "detail"), INVALID)
def test_unusable_numbers_say_why(raw: str, hint: str | None, code: str, detail: str) -> None:
    error = normalize_phone(raw, hint, "US")

    assert isinstance(error, PhoneError)
    assert error.code == code
    assert detail in error.detail


@pytest.mark.parametrize(
    ("raw", "hint", "zones"),
    [
        ("+1 305 209 4411", None, ["America/New_York"]),
        ("+1 415 209 4411", None, ["America/Los_Angeles"]),
        ("020 7946 0018", "GB", ["Europe/London"]),
        ("02 9876 5432", "AU", ["Australia/Sydney"]),
        ("(11) 91234-5678", "BR", ["America/Sao_Paulo"]),
    ],
)
def test_time_zones_come_from_the_number(raw: str, hint: str | None, zones: list[str]) -> None:
    info = normalize_phone(raw, hint, "US")

    assert isinstance(info, dict)
    assert info["time_zones"] == zones


def test_mobile_carrier_is_named_and_absent_carrier_is_none() -> None:
    mobile = normalize_phone("06 12 34 56 78", "FR", "US")
    nanp = normalize_phone("+1 305 209 4411", None, "US")

    assert isinstance(mobile, dict) and isinstance(nanp, dict)
    assert mobile["carrier"]  # phonenumbers knows French mobile ranges
    assert nanp["carrier"] is None  # NANP numbers carry no carrier: never an empty string


def test_unknown_default_region_is_a_configuration_bug() -> None:
    with pytest.raises(ValueError, match="default_region"):
        normalize_phone("+1 305 209 4411", None, "XX")


def test_the_result_is_exactly_a_phone_info() -> None:
    info = normalize_phone("+1 305 209 4411", None, "US")

    assert isinstance(info, dict)
    assert set(info) == set(PhoneInfo.__annotations__)


@given(st.text(max_size=80))
def test_any_text_gives_phone_info_or_a_known_error(raw: str) -> None:
    result = normalize_phone(raw, "US", "US")

    if isinstance(result, PhoneError):
        assert result.code in ERROR_CODES
        assert result.detail
    else:
        assert result["phone_e164"].startswith("+")
        assert "Etc/Unknown" not in result["time_zones"]


@given(
    digits=st.text(alphabet="0123456789", min_size=4, max_size=15).filter(lambda d: not d.startswith("00")),
    region=st.sampled_from(["US", "CA", "GB", "DE", "FR", "AU", "BR", "IN", "MX", "JP"]),
)
@example(digits="3052094411", region="US")
@example(digits="02079460018", region="GB")
@example(digits="9002094411", region="US")
def test_validity_agrees_with_phonenumbers(digits: str, region: str) -> None:
    """normalize_phone skips is_valid_number for speed; it must still accept exactly what it accepts."""
    try:
        expected = phonenumbers.is_valid_number(phonenumbers.parse(digits, region))
    except phonenumbers.NumberParseException:
        expected = False

    result = normalize_phone(digits, region, "US")

    accepted = not isinstance(result, PhoneError) or result.code == "PHONE_NOT_DIALABLE"
    assert accepted == expected
