"""Number blocks: facts computed once per block are the facts phonenumbers gives each number.

``block_depth`` proves from phonenumbers' data how many leading digits decide a number's facts;
these tests check the reader of patterns it relies on, and then compare, number by number, what
``normalize_phone`` answers from its blocks with what it computes afresh — on a bulk sample of every
country code's numbers (many sharing a block) and on random pairs of NANP numbers of one block.
The shortcut for NANP numbers typed in E.164 is held to ``phonenumbers.parse``.
"""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from pipeline.core.phone import _parse, forget_blocks, normalize_phone
from pipeline.core.phone_blocks import block_depth, full_match_depth, pattern_shapes

# --- the pattern reader ------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "depths"), [
    (r"\d{4}", {0}),
    (r"9[0-4]\d{2}", {2}),
    (r"983[2-57-9]\d{6}|(?:2(?:0[1-35-9]|1[02-9]))[2-9]\d{6}", {4}),
    (r"[^1]\d", {1}),  # a class without 1 is not "any digit"
    (r"[0-9]\d?", {0}),
    (r"1(?:2\d)?", {1, 2}),
    (r"5\d{3}7", {5}),
])
def test_the_reader_finds_the_last_position_that_is_not_any_digit(pattern: str, depths: set[int]) -> None:
    shapes = pattern_shapes(pattern)
    assert shapes is not None
    assert {full_match_depth(shape) for shape in shapes} == depths


@pytest.mark.parametrize("pattern", [r"\d+", r"1*", r"\d{2,}", r"[a-z]", r"\w{3}", r"(?=1)\d", r"1(2"])
def test_a_pattern_the_reader_cannot_read_completely_gives_no_shapes(pattern: str) -> None:
    assert pattern_shapes(pattern) is None


def test_every_shape_of_a_bounded_repeat_is_listed() -> None:
    assert pattern_shapes(r"1\d{1,3}") == {(False, True), (False, True, True), (False, True, True, True)}


def test_depths_cover_the_area_and_mobile_token_countries_get_none() -> None:
    depth = block_depth(1, "2125550123")
    assert depth is not None and 6 <= depth < 10
    assert block_depth(54, "91123456789") is None  # Argentina's mobile token: re-parsed before geocoding


# --- blocks answer what phonenumbers answers ---------------------------------------------------------


def fresh(raw: str) -> object:
    forget_blocks()
    return normalize_phone(raw, None, "US")


_TYPES = [t for name, t in vars(PhoneNumberType).items() if name.isupper() and t != PhoneNumberType.UNKNOWN]


def sample(rng: random.Random) -> list[str]:
    """For every country code: its regions' example numbers of every type, numbers of the same blocks
    (last digits changed), neighbours (digits after the third changed) and lengths one off."""
    numbers = []
    for code, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        examples = []
        for region in regions:
            for kind in _TYPES:
                example = (phonenumbers.example_number_for_non_geo_entity(code)
                           if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
                           else phonenumbers.example_number_for_type(region, kind))
                if example is not None:
                    examples.append(phonenumbers.national_significant_number(example))
        for nsn in dict.fromkeys(examples):
            for _ in range(20):
                keep = rng.choice((len(nsn) - 1, len(nsn) - 2, len(nsn) - 3, 3, 4, 5))
                tail = "".join(rng.choice("0123456789") for _ in range(len(nsn) - keep))
                numbers.append(f"+{code}{nsn[:keep]}{tail}")
            numbers.append(f"+{code}{nsn}")
            numbers.append(f"+{code}{nsn}{rng.randrange(10)}")
            numbers.append(f"+{code}{nsn[:-1]}")
    rng.shuffle(numbers)
    return numbers


def test_block_answers_equal_fresh_answers_for_every_country_code() -> None:
    numbers = sample(random.Random(12))
    assert len(numbers) > 20_000
    forget_blocks()
    from_blocks = [normalize_phone(raw, None, "US") for raw in numbers]
    mismatches = [(raw, got) for raw, got in zip(numbers, from_blocks, strict=True) if got != fresh(raw)]
    assert mismatches == []
    valid = [info for info in from_blocks if isinstance(info, dict)]
    assert len(valid) > len(numbers) // 3
    assert len({info["region"] for info in valid}) > 200


@settings(max_examples=300, deadline=None)
@given(area=st.sampled_from(["212", "305", "415", "617", "214", "907", "808", "787", "876", "246", "441", "416",
                             "902", "800", "900", "555"]),
       block=st.integers(2000, 9999), first=st.integers(0, 999), second=st.integers(0, 999))
def test_two_nanp_numbers_of_one_block_get_what_each_gets_alone(area: str, block: int, first: int,
                                                                 second: int) -> None:
    a, b = f"+1{area}{block:04d}{first:03d}", f"+1{area}{block:04d}{second:03d}"
    forget_blocks()
    normalize_phone(a, None, "US")
    assert normalize_phone(b, None, "US") == fresh(b)


@settings(max_examples=500, deadline=None)
@given(national=st.from_regex(r"\A[2-9][0-9]{9}\Z"), region=st.sampled_from(["US", "CA", "GB", "DE", "JM", "IN"]))
def test_a_nanp_number_in_e164_parses_as_phonenumbers_parses_it(national: str, region: str) -> None:
    assert _parse(f"+1{national}", region) == phonenumbers.parse(f"+1{national}", region)
