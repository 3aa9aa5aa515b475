"""Line types: the file source, the longest prefix, and what the wireless reading makes of them."""

from __future__ import annotations

import pytest
from core_builders import context, lead, number_event, phone_info

from pipeline.core.linetype import (
    PrefixLineTypes,
    line_type_of,
    parse_line_types,
    wireless_reading_type,
    with_line_type,
)
from pipeline.core.number import NumberState, process
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.errors import ConfigError
from pipeline.events import PhoneInfo

TEXAS = phone_info("+12142094411", ("America/Chicago",)) | {"area_code_region": "TX"}


@pytest.mark.parametrize(("number", "line_type", "location"), [
    ("+13052094411", "UNKNOWN", "Florida"),  # NANP: FIXED_LINE_OR_MOBILE, phonenumbers cannot tell
    ("+12142094411", "UNKNOWN", "Texas"),
    ("+442079460000", "LANDLINE", "London"),
    ("+447400123456", "MOBILE", "United Kingdom"),  # a mobile range: only the country
    ("+18005551234", "UNKNOWN", None),  # toll-free: not a line kind
])
def test_normalized_numbers_carry_line_type_and_area_code_location(
        number: str, line_type: str, location: str | None) -> None:
    info = normalize_phone(number, None, "US")
    assert not isinstance(info, PhoneError)
    assert info["line_type"] == line_type
    assert info["area_code_location"] == location


@pytest.mark.parametrize(("number_type", "expected"), [
    ("MOBILE", "MOBILE"), ("FIXED_LINE", "LANDLINE"), ("VOIP", "VOIP"),
    ("FIXED_LINE_OR_MOBILE", "UNKNOWN"), ("TOLL_FREE", "UNKNOWN"), ("PERSONAL_NUMBER", "UNKNOWN"),
])
def test_line_type_from_number_type(number_type: str, expected: str) -> None:
    assert line_type_of(number_type) == expected


def test_the_longest_prefix_wins_and_a_whole_number_overrides_its_block() -> None:
    source = parse_line_types(
        "number,line_type\n# a comment\n\n+1214,MOBILE\n+1214209,voip\n+12142094411,LANDLINE\n", "test.csv")

    assert len(source) == 3
    assert source.line_type("+12142094411") == "LANDLINE"
    assert source.line_type("+12142094412") == "VOIP"
    assert source.line_type("+12145550000") == "MOBILE"
    assert source.line_type("+13052094411") is None


@pytest.mark.parametrize(("text", "message"), [
    ("+1214,MOBILE,extra\n", "line 1: expected '<E.164 number or prefix>,<line type>'"),
    ("number,line_type\n12142094411,MOBILE\n", "line 2: '12142094411' is not an E.164"),
    ("+1214,CELL\n", "line 1: line type must be one of MOBILE, LANDLINE, VOIP, UNKNOWN"),
    ("+1214,MOBILE\n+1214,LANDLINE\n", "line 2: +1214 is listed earlier as MOBILE"),
])
def test_a_bad_line_type_file_names_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="types.csv: " + message.replace("(", r"\(").replace("+", r"\+")):
        parse_line_types(text, "types.csv")


def test_a_source_sets_the_line_type_and_no_source_leaves_it() -> None:
    source = PrefixLineTypes({"+1214": "LANDLINE"})
    assert with_line_type(TEXAS, source)["line_type"] == "LANDLINE"
    assert with_line_type(TEXAS, None) is TEXAS
    assert with_line_type(phone_info(), source) == phone_info()


@pytest.mark.parametrize(("line_type", "number_type", "reading"), [
    ("LANDLINE", "FIXED_LINE_OR_MOBILE", "FIXED_LINE"),
    ("MOBILE", "FIXED_LINE_OR_MOBILE", "MOBILE"),
    ("VOIP", "FIXED_LINE_OR_MOBILE", "VOIP"),
    ("UNKNOWN", "FIXED_LINE_OR_MOBILE", "FIXED_LINE_OR_MOBILE"),
    ("UNKNOWN", "TOLL_FREE", "TOLL_FREE"),
])
def test_the_wireless_reading_judges_the_known_line_type(line_type: str, number_type: str, reading: str) -> None:
    phone: PhoneInfo = {**TEXAS, "line_type": line_type, "number_type": number_type}
    assert wireless_reading_type(phone) == reading


def _decide(phone: PhoneInfo) -> dict[str, object]:
    _, emits = process(NumberState.empty(), number_event(lead(), phone=phone), context())
    [decision] = [e.record for e in emits if e.topic == "lead-decision"]
    return dict(decision)


def test_a_line_type_file_turns_a_blocked_texas_number_into_a_callable_one() -> None:
    blocked = _decide(TEXAS)
    assert blocked["outcome"] == "SUPPRESSED"
    [reason] = [r for r in blocked["reasons"] if r["code"] == "WIRELESS_RESTRICTED"]  # type: ignore[attr-defined]
    assert reason["rule_id"] == "us.tx.wireless"
    assert "line type is unknown (FIXED_LINE_OR_MOBILE)" in reason["detail"]

    landline = with_line_type(TEXAS, parse_line_types("+12142094411,LANDLINE\n", "types.csv"))
    assert _decide(landline)["outcome"] == "CALL_READY"


def test_a_known_mobile_stays_restricted_and_says_so() -> None:
    decision = _decide({**TEXAS, "line_type": "MOBILE"})
    assert decision["outcome"] == "SUPPRESSED"
    [reason] = [r for r in decision["reasons"] if r["code"] == "WIRELESS_RESTRICTED"]  # type: ignore[attr-defined]
    assert "the line type is MOBILE" in reason["detail"]


def test_a_florida_number_is_not_touched_by_a_texas_line_type_file() -> None:
    source = parse_line_types("+1214,LANDLINE\n", "types.csv")
    assert with_line_type(phone_info(), source)["line_type"] == "UNKNOWN"
