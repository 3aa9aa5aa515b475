"""The rule pack: the shipped data, its validation and overrides, and the functions that evaluate it.

Every rule id in the shipped pack has at least one case in which it fires and one in which it does
not (``test_every_shipped_rule_has_a_firing_and_a_quiet_case``), at instants around its boundaries:
opening and closing minutes, DST change days in New York and London, Sundays, state holidays and
effective dates.
"""

from __future__ import annotations

import copy
import json
import timeit
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.rulepack import (
    RULE_LOCAL_TIME,
    RULE_NO_COVERAGE,
    RULE_NO_EBR,
    WEEKDAYS,
    Cap,
    CapVerdict,
    EbrKind,
    HolidaysParams,
    HoursParams,
    HouseHours,
    NoCallDaysParams,
    RegistryRule,
    Retention,
    RulePack,
    applicable,
    cap_verdict,
    consent_exemptions,
    ebr_window,
    frequency_cap,
    frequency_caps,
    jurisdictions,
    jurisdictions_known,
    legal_window,
    load_rule_pack,
    merge_overrides,
    minimum_retention,
    registry_rules,
    revocation_scope,
    stale_rules,
    wireless_restricted,
)
from pipeline.core.window import Window
from pipeline.errors import ConfigError
from pipeline.events import PhoneInfo
from pipeline.packaged import default_rule_pack

PACK = default_rule_pack()

NY = "America/New_York"
CHI = "America/Chicago"
DEN = "America/Denver"
LAX = "America/Los_Angeles"
LON = "Europe/London"
TOR = "America/Toronto"


def local(year: int, month: int, day: int, hour: int, minute: int = 0, zone: str = NY) -> datetime:
    """A wall-clock instant in ``zone`` (none of the cases falls in a DST gap or fold)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def us(state: str | None = None) -> tuple[str, ...]:
    return ("US",) if state is None else ("US", f"US-{state}")


def phone(region: str = "US", area_code_region: str | None = "FL", time_zones: tuple[str, ...] = (NY,)) -> PhoneInfo:
    return {
        "phone_e164": "+13055550100",
        "region": region,
        "number_type": "FIXED_LINE_OR_MOBILE",
        "time_zones": list(time_zones),
        "area_code_region": area_code_region,
        "carrier": None,
        "line_type": "UNKNOWN",
        "area_code_location": None,
    }


# --- The shipped pack --------------------------------------------------------------------------


def test_the_shipped_pack_is_versioned_data_loaded_once() -> None:
    assert PACK.version == "2026.11.2"
    assert default_rule_pack() is PACK
    assert all(rule.citation and rule.enabled for rule in PACK.rules)
    assert len({rule.id for rule in PACK.rules}) == len(PACK.rules)


def test_the_shipped_pack_survives_a_json_round_trip() -> None:
    assert load_rule_pack(json.loads(json.dumps(PACK.to_json()))) == PACK


def test_conflicts_and_unverified_facts_say_so_in_the_note() -> None:
    ct, ca = PACK.get("us.ct.hours"), PACK.get("us.ca.hours")
    assert ct is not None and "CONFLICT" in ct.note and "stricter" in ct.note
    assert isinstance(ct.params, HoursParams) and ct.params.end == time(20)
    assert ca is not None and "UNVERIFIED" in ca.note
    for state in ("wy", "nj", "tx", "la", "az"):
        wireless = PACK.get(f"us.{state}.wireless")
        assert wireless is not None and "one vendor's reading" in wireless.note
    for state in ("al", "la", "ri", "pa", "ut"):
        holidays = PACK.get(f"us.{state}.holidays")
        assert holidays is not None and "counsel" in holidays.note
        assert isinstance(holidays.params, HolidaysParams)
        assert {day.year for day, _ in holidays.params.dates} == {2026, 2027}


def test_holiday_tables_list_real_dates_on_their_weekday() -> None:
    al = PACK.get("us.al.holidays")
    assert al is not None and isinstance(al.params, HolidaysParams)
    table = dict(al.params.dates)
    assert table[local(2026, 11, 26, 0).date()] == "Thanksgiving Day"  # fourth Thursday
    assert local(2026, 11, 26, 0).date().weekday() == 3
    assert table[local(2026, 7, 3, 0).date()] == "Independence Day (observed)"  # the 4th is a Saturday


# --- Which jurisdictions apply -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("info", "address_region", "address_country", "expected"),
    [
        pytest.param(phone(), None, None, ("US", "US-FL"), id="area-code state"),
        pytest.param(phone(), "TX", None, ("US", "US-FL", "US-TX"), id="address state read in the number's country"),
        pytest.param(phone(), "tx", "us", ("US", "US-FL", "US-TX"), id="codes in any case"),
        pytest.param(phone(), "US-TX", "USA", ("US", "US-FL", "US-TX"), id="ISO 3166-2 region and USA alias"),
        pytest.param(phone(), "FL", "US", ("US", "US-FL"), id="same state once"),
        pytest.param(phone(), "Texas", None, ("US", "US-FL"), id="a state name is not a code: ignored"),
        pytest.param(phone(), "ON", "CA", ("US", "US-FL", "CA", "CA-ON"), id="address abroad adds its country"),
        pytest.param(phone(area_code_region=None), None, None, ("US",), id="toll-free: country only"),
        pytest.param(phone("PR", "PR"), None, None, ("US", "US-PR"), id="US territory"),
        pytest.param(phone("CA", "ON", (TOR,)), None, None, ("CA", "CA-ON"), id="Canadian province"),
        pytest.param(phone("GB", None, (LON,)), None, "UK", ("GB",), id="UK alias"),
        pytest.param(phone("GG", None, ("Europe/Guernsey",)), None, None, ("GB", "GB-GG"), id="Guernsey is +44: GB"),
        pytest.param(phone("JE", None, ("Europe/Jersey",)), None, None, ("GB", "GB-JE"), id="Jersey is +44: GB"),
        pytest.param(phone("IM", None, ("Europe/Isle_of_Man",)), None, None, ("GB", "GB-IM"), id="Isle of Man: GB"),
    ],
)
def test_every_plausible_jurisdiction(
    info: PhoneInfo, address_region: str | None, address_country: str | None, expected: tuple[str, ...]
) -> None:
    assert jurisdictions(info, address_region, address_country) == expected


# --- Fire / no-fire tables ---------------------------------------------------------------------
#
# Each row names the rule it is about and whether that rule fires (forbids the call) in it.


@dataclass(frozen=True)
class WindowCase:
    rule: str
    fires: bool
    jurisdictions: tuple[str, ...]
    zones: tuple[str, ...]
    now: datetime
    open_now: bool
    deciding: str
    autodialed: bool = False
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    considered: bool = True
    """Whether ``rule`` is among the rules considered (False: not in force, or not for this call)."""


def window_case(case: WindowCase, label: str) -> Any:
    return pytest.param(case, id=f"{case.rule} {'fires' if case.fires else 'quiet'}: {label}")


W = WindowCase
WINDOW_CASES = [
    # Federal hours on the New York DST days (2026-03-08 and 2026-11-01) and in plain summer.
    window_case(W("us.hours", True, us(), (NY,), utc(2026, 3, 8, 11, 59), False, "us.hours",
                  opens_at=utc(2026, 3, 8, 12), closes_at=utc(2026, 3, 9, 1)), "07:59 EDT on spring-forward day"),
    window_case(W("us.hours", False, us(), (NY,), utc(2026, 3, 8, 12), True, "us.hours",
                  opens_at=utc(2026, 3, 8, 12), closes_at=utc(2026, 3, 9, 1)), "08:00 EDT on spring-forward day"),
    window_case(W("us.hours", True, us(), (NY,), utc(2026, 11, 1, 12, 30), False, "us.hours",
                  opens_at=utc(2026, 11, 1, 13), closes_at=utc(2026, 11, 2, 2)), "07:30 EST on fall-back day"),
    window_case(W("us.hours", False, us(), (NY,), utc(2026, 11, 1, 13), True, "us.hours",
                  opens_at=utc(2026, 11, 1, 13), closes_at=utc(2026, 11, 2, 2)), "08:00 EST on fall-back day"),
    window_case(W("us.hours", True, us(), (NY,), local(2026, 6, 2, 21), False, "us.hours"), "21:00 closes"),
    window_case(W("us.hours", False, us(), (NY,), local(2026, 6, 2, 20, 59), True, "us.hours"), "20:59"),
    window_case(W("us.hours", True, us(), (NY, LAX), local(2026, 6, 2, 10), False, "us.hours",
                  opens_at=local(2026, 6, 2, 11), closes_at=local(2026, 6, 2, 21)), "NY open, Los Angeles 07:00"),
    # Florida: 08:00-20:00 from 2021-07-01 (FTSA as amended).
    window_case(W("us.fl.hours", True, us("FL"), (NY,), local(2026, 6, 2, 20), False, "us.fl.hours",
                  opens_at=local(2026, 6, 3, 8), closes_at=local(2026, 6, 3, 20)), "20:00 closes"),
    window_case(W("us.fl.hours", False, us("FL"), (NY,), local(2026, 6, 2, 19, 59), True, "us.fl.hours",
                  closes_at=local(2026, 6, 2, 20)), "19:59"),
    window_case(W("us.fl.hours", False, us("FL"), (NY,), local(2021, 6, 30, 20, 30), True, "us.hours",
                  closes_at=local(2021, 6, 30, 21)), "the day before it took effect"),
    window_case(W("us.fl.hours", True, us("FL"), (NY,), local(2021, 7, 1, 20, 30), False, "us.fl.hours"),
                "the day it took effect"),
    window_case(W("us.fl.hours", False, us("FL"), (NY,), utc(2026, 3, 8, 12), True, "us.fl.hours",
                  closes_at=utc(2026, 3, 9, 0)), "08:00 EDT on spring-forward day"),
    # Oklahoma from 2022-11-01, Maryland from 2024-01-01.
    window_case(W("us.ok.hours", True, us("OK"), (CHI,), local(2022, 11, 1, 20, 0, CHI), False, "us.ok.hours"),
                "20:00 on its first day"),
    window_case(W("us.ok.hours", False, us("OK"), (CHI,), local(2022, 10, 31, 20, 30, CHI), True, "us.hours"),
                "20:30 the day before"),
    window_case(W("us.md.hours", True, us("MD"), (NY,), local(2024, 1, 1, 20), False, "us.md.hours"),
                "20:00 on its first day"),
    window_case(W("us.md.hours", False, us("MD"), (NY,), local(2023, 12, 31, 20, 30), True, "us.hours"),
                "20:30 the day before"),
    # Texas: 09:00-21:00 Monday to Saturday, 12:00-21:00 on Sunday.
    window_case(W("us.tx.hours", True, us("TX"), (CHI,), local(2026, 6, 7, 11, 59, CHI), False, "us.tx.hours",
                  opens_at=local(2026, 6, 7, 12, 0, CHI)), "Sunday 11:59"),
    window_case(W("us.tx.hours", False, us("TX"), (CHI,), local(2026, 6, 7, 12, 0, CHI), True, "us.tx.hours",
                  closes_at=local(2026, 6, 7, 21, 0, CHI)), "Sunday 12:00"),
    window_case(W("us.tx.hours", True, us("TX"), (CHI,), local(2026, 6, 8, 8, 59, CHI), False, "us.tx.hours",
                  opens_at=local(2026, 6, 8, 9, 0, CHI)), "Monday 08:59"),
    window_case(W("us.tx.hours", False, us("TX"), (CHI,), local(2026, 6, 6, 9, 0, CHI), True, "us.tx.hours"),
                "Saturday 09:00"),
    window_case(W("us.tx.hours", True, us("TX"), (CHI,), local(2026, 3, 8, 11, 0, CHI), False, "us.tx.hours",
                  opens_at=utc(2026, 3, 8, 17)), "Sunday 11:00 CDT on spring-forward day"),
    window_case(W("us.wa.hours", True, us("WA"), (LAX,), local(2026, 6, 2, 20, 0, LAX), False, "us.wa.hours"),
                "20:00"),
    window_case(W("us.wa.hours", False, us("WA"), (LAX,), local(2026, 6, 2, 19, 59, LAX), True, "us.wa.hours"),
                "19:59"),
    # Alabama, Louisiana, Mississippi: 08:00-20:00 and no Sundays.
    window_case(W("us.al.hours", True, us("AL"), (CHI,), local(2026, 6, 2, 20, 0, CHI), False, "us.al.hours"),
                "20:00"),
    window_case(W("us.al.hours", False, us("AL"), (CHI,), local(2026, 6, 2, 19, 59, CHI), True, "us.al.hours"),
                "19:59"),
    window_case(W("us.al.sunday", True, us("AL"), (CHI,), local(2026, 6, 7, 12, 0, CHI), False, "us.al.sunday",
                  opens_at=local(2026, 6, 8, 8, 0, CHI)), "Sunday noon"),
    window_case(W("us.al.sunday", False, us("AL"), (CHI,), local(2026, 6, 6, 12, 0, CHI), True, "us.al.hours"),
                "Saturday noon"),
    window_case(W("us.al.sunday", True, us("AL"), (CHI,), local(2026, 3, 8, 10, 0, CHI), False, "us.al.sunday",
                  opens_at=utc(2026, 3, 9, 13), closes_at=utc(2026, 3, 10, 1)), "spring-forward Sunday"),
    window_case(W("us.la.hours", True, us("LA"), (CHI,), local(2026, 6, 2, 7, 59, CHI), False, "us.la.hours"),
                "07:59"),
    window_case(W("us.la.hours", False, us("LA"), (CHI,), local(2026, 6, 2, 8, 0, CHI), True, "us.la.hours"),
                "08:00"),
    window_case(W("us.la.sunday", True, us("LA"), (CHI,), local(2026, 6, 7, 0, 0, CHI), False, "us.la.sunday"),
                "Sunday 00:00"),
    window_case(W("us.la.sunday", False, us("LA"), (CHI,), local(2026, 6, 8, 8, 0, CHI), True, "us.la.hours"),
                "Monday 08:00"),
    window_case(W("us.ms.hours", True, us("MS"), (CHI,), local(2026, 6, 2, 20, 0, CHI), False, "us.ms.hours"),
                "20:00"),
    window_case(W("us.ms.hours", False, us("MS"), (CHI,), local(2026, 6, 2, 19, 59, CHI), True, "us.ms.hours"),
                "19:59"),
    window_case(W("us.ms.sunday", True, us("MS"), (CHI,), local(2026, 6, 7, 19, 59, CHI), False, "us.ms.sunday"),
                "Sunday 19:59"),
    window_case(W("us.ms.sunday", False, us("MS"), (CHI,), local(2026, 6, 6, 19, 59, CHI), True, "us.ms.hours"),
                "Saturday 19:59"),
    window_case(W("us.ma.hours", True, us("MA"), (NY,), local(2026, 6, 2, 20), False, "us.ma.hours"), "20:00"),
    window_case(W("us.ma.hours", False, us("MA"), (NY,), local(2026, 6, 2, 19, 59), True, "us.ma.hours"), "19:59"),
    # Kentucky spans two zones: 10:00 must have come in both.
    window_case(W("us.ky.hours", True, us("KY"), (NY, CHI), local(2026, 6, 2, 10, 30), False, "us.ky.hours",
                  opens_at=local(2026, 6, 2, 11), closes_at=local(2026, 6, 2, 21)), "10:30 ET is 09:30 CT"),
    window_case(W("us.ky.hours", False, us("KY"), (NY, CHI), local(2026, 6, 2, 11), True, "us.ky.hours",
                  opens_at=local(2026, 6, 2, 11), closes_at=local(2026, 6, 2, 21)), "11:00 ET is 10:00 CT"),
    window_case(W("us.mi.hours", True, us("MI"), (NY,), local(2026, 6, 2, 8, 59), False, "us.mi.hours"), "08:59"),
    window_case(W("us.mi.hours", False, us("MI"), (NY,), local(2026, 6, 2, 9), True, "us.mi.hours"), "09:00"),
    window_case(W("us.mn.hours", True, us("MN"), (CHI,), local(2026, 6, 2, 8, 59, CHI), False, "us.mn.hours"),
                "08:59"),
    window_case(W("us.mn.hours", False, us("MN"), (CHI,), local(2026, 6, 2, 9, 0, CHI), True, "us.mn.hours"),
                "09:00"),
    window_case(W("us.nm.hours", True, us("NM"), (DEN,), local(2026, 6, 2, 8, 59, DEN), False, "us.nm.hours"),
                "08:59"),
    window_case(W("us.nm.hours", False, us("NM"), (DEN,), local(2026, 6, 2, 9, 0, DEN), True, "us.nm.hours"),
                "09:00"),
    window_case(W("us.nv.hours", True, us("NV"), (LAX,), local(2026, 6, 2, 20, 0, LAX), False, "us.nv.hours"),
                "20:00"),
    window_case(W("us.nv.hours", False, us("NV"), (LAX,), local(2026, 6, 2, 9, 0, LAX), True, "us.nv.hours",
                  opens_at=local(2026, 6, 2, 9, 0, LAX), closes_at=local(2026, 6, 2, 20, 0, LAX)), "09:00"),
    window_case(W("us.ct.hours", True, us("CT"), (NY,), local(2026, 6, 2, 20), False, "us.ct.hours"),
                "20:00 (the stricter reading of the conflict)"),
    window_case(W("us.ct.hours", False, us("CT"), (NY,), local(2026, 6, 2, 19, 59), True, "us.ct.hours"), "19:59"),
    # Illinois: federal hours for live calls (the state rule is named on a tie), 09:00 for prerecorded.
    window_case(W("us.il.hours", True, us("IL"), (CHI,), local(2026, 6, 2, 21, 0, CHI), False, "us.il.hours"),
                "21:00"),
    window_case(W("us.il.hours", False, us("IL"), (CHI,), local(2026, 6, 2, 20, 59, CHI), True, "us.il.hours"),
                "20:59"),
    window_case(W("us.il.hours.prerecorded", True, us("IL"), (CHI,), local(2026, 6, 2, 8, 30, CHI), False,
                  "us.il.hours.prerecorded", autodialed=True), "08:30 autodialed"),
    window_case(W("us.il.hours.prerecorded", False, us("IL"), (CHI,), local(2026, 6, 2, 8, 30, CHI), True,
                  "us.il.hours", considered=False), "08:30 live call"),
    window_case(W("us.il.hours.prerecorded", False, us("IL"), (CHI,), local(2026, 6, 2, 9, 0, CHI), True,
                  "us.il.hours", autodialed=True), "09:00 autodialed"),
    # Rhode Island: weekdays 09:00-18:00; weekends unverified, so closed.
    window_case(W("us.ri.hours", True, us("RI"), (NY,), local(2026, 6, 2, 18), False, "us.ri.hours"), "18:00"),
    window_case(W("us.ri.hours", False, us("RI"), (NY,), local(2026, 6, 2, 17, 59), True, "us.ri.hours"), "17:59"),
    window_case(W("us.ri.weekends", True, us("RI"), (NY,), local(2026, 6, 6, 12), False, "us.ri.weekends",
                  opens_at=local(2026, 6, 8, 9)), "Saturday noon"),
    window_case(W("us.ri.weekends", False, us("RI"), (NY,), local(2026, 6, 5, 12), True, "us.ri.hours"),
                "Friday noon"),
    window_case(W("us.pa.hours", True, us("PA"), (NY,), local(2026, 6, 2, 21), False, "us.pa.hours"), "21:00"),
    window_case(W("us.pa.hours", False, us("PA"), (NY,), local(2026, 6, 6, 12), True, "us.pa.hours"),
                "Saturday noon"),
    window_case(W("us.ca.hours", True, us("CA"), (LAX,), local(2026, 6, 2, 8, 59, LAX), False, "us.ca.hours"),
                "08:59"),
    window_case(W("us.ca.hours", False, us("CA"), (LAX,), local(2026, 6, 2, 9, 0, LAX), True, "us.ca.hours"), "09:00"),
    # State holidays.
    window_case(W("us.al.holidays", True, us("AL"), (CHI,), local(2026, 12, 25, 12, 0, CHI), False,
                  "us.al.holidays", opens_at=local(2026, 12, 26, 8, 0, CHI)), "Christmas Day"),
    window_case(W("us.al.holidays", False, us("AL"), (CHI,), local(2026, 12, 28, 12, 0, CHI), True, "us.al.hours"),
                "the Monday after"),
    window_case(W("us.al.holidays", True, us("AL"), (CHI,), local(2028, 1, 3, 12, 0, CHI), False,
                  "us.al.holidays"), "after the table ends: fail closed"),
    window_case(W("us.la.holidays", True, us("LA"), (CHI,), local(2026, 2, 17, 8, 0, CHI), False,
                  "us.la.holidays", opens_at=local(2026, 2, 18, 8, 0, CHI)), "Mardi Gras 08:00"),
    window_case(W("us.la.holidays", False, us("LA"), (CHI,), local(2026, 2, 18, 8, 0, CHI), True, "us.la.hours"),
                "Ash Wednesday 08:00"),
    window_case(W("us.ri.holidays", True, us("RI"), (NY,), local(2026, 8, 10, 9), False, "us.ri.holidays"),
                "Victory Day"),
    window_case(W("us.ri.holidays", False, us("RI"), (NY,), local(2026, 8, 11, 9), True, "us.ri.hours"),
                "the day after Victory Day"),
    window_case(W("us.pa.holidays", True, us("PA"), (NY,), local(2026, 11, 3, 12), False, "us.pa.holidays"),
                "General Election Day"),
    window_case(W("us.pa.holidays", False, us("PA"), (NY,), local(2026, 11, 2, 20, 59), True, "us.pa.hours",
                  closes_at=local(2026, 11, 2, 21)), "the evening before"),
    window_case(W("us.ut.holidays", True, us("UT"), (DEN,), local(2026, 7, 24, 0, 0, DEN), False,
                  "us.ut.holidays"), "Pioneer Day 00:00"),
    window_case(W("us.ut.holidays", False, us("UT"), (DEN,), local(2026, 7, 23, 20, 59, DEN), True, "us.hours",
                  closes_at=local(2026, 7, 23, 21, 0, DEN)), "the evening before"),
    # UK (house hours) on the London DST days 2026-03-29 and 2026-10-25.
    window_case(W("gb.hours", True, ("GB",), (LON,), utc(2026, 3, 29, 6, 59), False, "gb.hours",
                  opens_at=utc(2026, 3, 29, 7), closes_at=utc(2026, 3, 29, 20)), "07:59 BST as BST starts"),
    window_case(W("gb.hours", False, ("GB",), (LON,), utc(2026, 3, 29, 7), True, "gb.hours",
                  opens_at=utc(2026, 3, 29, 7), closes_at=utc(2026, 3, 29, 20)), "08:00 BST as BST starts"),
    window_case(W("gb.hours", True, ("GB",), (LON,), utc(2026, 10, 25, 7, 59), False, "gb.hours",
                  opens_at=utc(2026, 10, 25, 8), closes_at=utc(2026, 10, 25, 21)), "07:59 GMT as BST ends"),
    window_case(W("gb.hours", False, ("GB", "GB-GG"), ("Europe/Guernsey",), utc(2026, 10, 25, 8), True, "gb.hours"),
                "Guernsey 08:00 GMT as BST ends"),
    # Canada: 09:00-21:30 weekdays, 10:00-18:00 weekends.
    window_case(W("ca.hours", True, ("CA", "CA-ON"), (TOR,), local(2026, 6, 2, 21, 30, TOR), False, "ca.hours",
                  opens_at=local(2026, 6, 3, 9, 0, TOR)), "Tuesday 21:30"),
    window_case(W("ca.hours", False, ("CA", "CA-ON"), (TOR,), local(2026, 6, 2, 21, 29, TOR), True, "ca.hours",
                  closes_at=local(2026, 6, 2, 21, 30, TOR)), "Tuesday 21:29"),
    window_case(W("ca.hours", True, ("CA",), (TOR,), local(2026, 6, 6, 9, 59, TOR), False, "ca.hours",
                  opens_at=local(2026, 6, 6, 10, 0, TOR), closes_at=local(2026, 6, 6, 18, 0, TOR)), "Saturday 09:59"),
    window_case(W("ca.hours", True, ("CA",), (TOR,), local(2026, 6, 7, 18, 0, TOR), False, "ca.hours",
                  opens_at=local(2026, 6, 8, 9, 0, TOR)), "Sunday 18:00"),
    window_case(W("ca.hours", False, ("CA",), (TOR,), local(2026, 6, 7, 17, 59, TOR), True, "ca.hours"),
                "Sunday 17:59"),
]


@pytest.mark.parametrize("case", WINDOW_CASES)
def test_window_rules(case: WindowCase) -> None:
    verdict = legal_window(PACK, case.jurisdictions, case.zones, case.now, autodialed=case.autodialed)

    assert (verdict.window.open_now, verdict.deciding_rule) == (case.open_now, case.deciding)
    assert verdict.window.rule_id == verdict.deciding_rule
    assert case.fires == (not verdict.window.open_now and verdict.deciding_rule == case.rule)
    assert (case.rule in verdict.rules_considered) == case.considered
    assert verdict.deciding_rule in verdict.detail
    if case.opens_at is not None:
        assert verdict.window.opens_at == case.opens_at
    if case.closes_at is not None:
        assert verdict.window.closes_at == case.closes_at


@dataclass(frozen=True)
class CapCase:
    rule: str
    fires: bool
    jurisdictions: tuple[str, ...]
    now: datetime
    attempts_ago: tuple[timedelta, ...]
    autodialed: bool = False
    next_allowed_at: datetime | None = None


H = timedelta(hours=1)
M = timedelta(minutes=1)
C = CapCase
CAP_CASES = [
    pytest.param(C("us.fl.cap", True, us("FL"), utc(2026, 6, 2, 15), (23 * H + 59 * M, 2 * H, H),
                   next_allowed_at=utc(2026, 6, 2, 15, 1)), id="us.fl.cap fires: 3 within 24 h"),
    pytest.param(C("us.fl.cap", False, us("FL"), utc(2026, 6, 2, 15), (24 * H, 2 * H, H)),
                 id="us.fl.cap quiet: the oldest of 3 is exactly 24 h old"),
    pytest.param(C("us.ok.cap", True, us("OK"), utc(2022, 11, 1, 18), (3 * H, 2 * H, H),
                   next_allowed_at=utc(2022, 11, 2, 15)), id="us.ok.cap fires: its first day"),
    pytest.param(C("us.ok.cap", False, us("OK"), utc(2022, 10, 30, 18), (3 * H, 2 * H, H)),
                 id="us.ok.cap quiet: before 2022-11-01"),
    pytest.param(C("us.md.cap", True, us("MD"), utc(2024, 1, 2, 18), (3 * H, 2 * H, H, M),
                   next_allowed_at=utc(2024, 1, 3, 16)), id="us.md.cap fires: 4 within 24 h"),
    pytest.param(C("us.md.cap", False, us("MD"), utc(2023, 12, 30, 18), (3 * H, 2 * H, H)),
                 id="us.md.cap quiet: before 2024-01-01"),
    pytest.param(C("us.me.cap", True, us("ME"), utc(2026, 6, 2, 15), (7 * H + 59 * M,), autodialed=True,
                   next_allowed_at=utc(2026, 6, 2, 15, 1)), id="us.me.cap fires: autodialed within 8 h"),
    pytest.param(C("us.me.cap", False, us("ME"), utc(2026, 6, 2, 15), (8 * H,), autodialed=True),
                 id="us.me.cap quiet: 8 h later"),
    pytest.param(C("us.me.cap", False, us("ME"), utc(2026, 6, 2, 15), (M,)), id="us.me.cap quiet: a live call"),
]


@pytest.mark.parametrize("case", CAP_CASES)
def test_frequency_caps(case: CapCase) -> None:
    caps = frequency_caps(PACK, case.jurisdictions, case.now, autodialed=case.autodialed)
    attempts = [case.now - ago for ago in case.attempts_ago]

    verdict = cap_verdict(caps, attempts, case.now)

    if case.fires:
        assert verdict == CapVerdict(False, case.next_allowed_at, case.rule)
        assert cap_verdict(frequency_cap(PACK, case.jurisdictions, case.now, autodialed=case.autodialed),
                           attempts, case.now) == verdict
    else:
        assert verdict == CapVerdict(True, None, None)


@dataclass(frozen=True)
class WirelessCase:
    rule: str
    fires: bool
    jurisdictions: tuple[str, ...]
    number_type: str


WIRELESS_CASES = [
    *(
        pytest.param(WirelessCase(f"us.{state.lower()}.wireless", True, us(state), number_type),
                     id=f"us.{state.lower()}.wireless fires: {number_type}")
        for state, number_type in [("WY", "MOBILE"), ("NJ", "FIXED_LINE_OR_MOBILE"), ("TX", "MOBILE"),
                                   ("LA", "FIXED_LINE_OR_MOBILE"), ("AZ", "UNKNOWN")]
    ),
    *(
        pytest.param(WirelessCase(f"us.{state.lower()}.wireless", False, us(state), "FIXED_LINE"),
                     id=f"us.{state.lower()}.wireless quiet: a known landline")
        for state in ["WY", "NJ", "TX", "LA", "AZ"]
    ),
]


@pytest.mark.parametrize("case", WIRELESS_CASES)
def test_wireless_prohibitions(case: WirelessCase) -> None:
    found = wireless_restricted(PACK, case.jurisdictions, case.number_type, utc(2026, 6, 2, 15))

    assert found == (case.rule if case.fires else None)


def test_no_wireless_rule_where_no_state_has_one() -> None:
    assert wireless_restricted(PACK, us("FL"), "MOBILE", utc(2026, 6, 2, 15)) is None


@dataclass(frozen=True)
class RegistryCase:
    rule: str
    fires: bool
    jurisdictions: tuple[str, ...]
    at: datetime
    expected: RegistryRule | None


US_DNC = RegistryRule("us-dnc", 31, "us.registry.sync")
UK_TPS = RegistryRule("uk-tps", 28, "uk.tps")
UK_CTPS = RegistryRule("uk-ctps", 28, "uk.ctps")
REGISTRY_CASES = [
    pytest.param(RegistryCase("us.registry.sync", True, us("FL"), utc(2026, 6, 2, 15), US_DNC),
                 id="us.registry.sync fires: a US number"),
    pytest.param(RegistryCase("us.registry.sync", False, us("FL"), utc(2004, 12, 30, 15), None),
                 id="us.registry.sync quiet: before 2005-01-01"),
    pytest.param(RegistryCase("us.registry.sync", False, ("GB",), utc(2026, 6, 2, 15), None),
                 id="us.registry.sync quiet: a UK number"),
    pytest.param(RegistryCase("uk.tps", True, ("GB", "GB-JE"), utc(2026, 6, 2, 15), UK_TPS),
                 id="uk.tps fires: a Jersey number"),
    pytest.param(RegistryCase("uk.tps", False, ("GB",), utc(2003, 12, 9, 15), None),
                 id="uk.tps quiet: before PECR"),
    pytest.param(RegistryCase("uk.ctps", True, ("GB",), utc(2026, 6, 2, 15), UK_CTPS), id="uk.ctps fires"),
    pytest.param(RegistryCase("uk.ctps", False, ("CA",), utc(2026, 6, 2, 15), None),
                 id="uk.ctps quiet: a Canadian number"),
]


@pytest.mark.parametrize("case", REGISTRY_CASES)
def test_registry_screening(case: RegistryCase) -> None:
    found = registry_rules(PACK, case.jurisdictions, case.at)

    if case.expected is None:
        assert case.rule not in {registry.rule_id for registry in found}
    else:
        assert case.expected in found


@dataclass(frozen=True)
class RetentionCase:
    rule: str
    fires: bool
    jurisdictions: tuple[str, ...]


RETENTION_CASES = [
    pytest.param(RetentionCase("us.wa.removal", True, us("WA")), id="us.wa.removal fires"),
    pytest.param(RetentionCase("us.wa.removal", False, us("OR")), id="us.wa.removal quiet: Oregon"),
]


@pytest.mark.parametrize("case", RETENTION_CASES)
def test_removal_retention(case: RetentionCase) -> None:
    found = minimum_retention(PACK, case.jurisdictions, utc(2026, 6, 2, 15))

    assert found == (Retention(365, case.rule) if case.fires else None)


@dataclass(frozen=True)
class EbrCase:
    """An EBR rule fires when it is the one that ends the EBR (or allows none)."""

    rule: str
    fires: bool
    jurisdictions: tuple[str, ...]
    kind: EbrKind
    ends: datetime | None


# A Sunday; 3 months later is clamped to the end of February.
EBR_START = utc(2025, 11, 30, 15)
EBR_18_MONTHS, EBR_12_MONTHS, EBR_6_MONTHS = utc(2027, 5, 30, 15), utc(2026, 11, 30, 15), utc(2026, 5, 30, 15)
EBR_3_MONTHS, EBR_30_DAYS = utc(2026, 2, 28, 15), utc(2025, 12, 30, 15)
EBR_30_BUSINESS_DAYS = utc(2026, 1, 9, 15)  # Christmas and New Year's Day count: no holiday table
E = EbrCase
EBR_CASES = [
    pytest.param(E("us.ebr", True, us("FL"), "purchase", EBR_18_MONTHS), id="us.ebr fires: a purchase, 18 months"),
    pytest.param(E("us.ebr", True, us("FL"), "inquiry", EBR_3_MONTHS), id="us.ebr fires: an inquiry, 3 months"),
    pytest.param(E("us.ebr", False, us("TX"), "purchase", EBR_12_MONTHS), id="us.ebr quiet: Texas is shorter"),
    pytest.param(E("us.ebr", False, ("GB",), "purchase", None), id="us.ebr quiet: a UK number"),
    pytest.param(E("us.ca.ebr", True, us("CA"), "inquiry", EBR_30_BUSINESS_DAYS),
                 id="us.ca.ebr fires: an inquiry, 30 business days"),
    pytest.param(E("us.ca.ebr", False, us("CA"), "purchase", EBR_18_MONTHS), id="us.ca.ebr quiet: a purchase"),
    pytest.param(E("us.co.ebr", True, us("CO"), "purchase", EBR_30_DAYS), id="us.co.ebr fires: a purchase"),
    pytest.param(E("us.co.ebr", True, us("CO"), "inquiry", EBR_30_DAYS), id="us.co.ebr fires: an inquiry"),
    pytest.param(E("us.co.ebr", False, ("US", "US-CO", "US-IN"), "purchase", None),
                 id="us.co.ebr quiet: Indiana allows none"),
    *(
        pytest.param(E(f"us.{state.lower()}.ebr", True, us(state), "purchase", ends),
                     id=f"us.{state.lower()}.ebr fires: a purchase")
        for state, ends in [("CT", EBR_12_MONTHS), ("NM", EBR_12_MONTHS), ("PA", EBR_12_MONTHS),
                            ("TN", EBR_12_MONTHS), ("TX", EBR_12_MONTHS), ("WA", EBR_12_MONTHS),
                            ("MI", EBR_12_MONTHS), ("LA", EBR_6_MONTHS), ("MS", EBR_6_MONTHS),
                            ("MO", EBR_6_MONTHS), ("MT", EBR_6_MONTHS)]
    ),
    *(
        pytest.param(E(f"us.{state.lower()}.ebr", False, us(state), "inquiry", EBR_3_MONTHS),
                     id=f"us.{state.lower()}.ebr quiet: an inquiry keeps the federal 3 months")
        for state in ["CT", "NM", "PA", "TN", "TX", "WA", "LA", "MS", "MO", "MT"]
    ),
    *(
        pytest.param(E(f"us.{state.lower()}.ebr", True, us(state), "inquiry", None),
                     id=f"us.{state.lower()}.ebr fires: no inquiry EBR")
        for state in ["MI", "NJ", "WI"]
    ),
    pytest.param(E("us.mi.ebr", False, us("OH"), "inquiry", EBR_3_MONTHS), id="us.mi.ebr quiet: Ohio"),
    *(
        pytest.param(E(f"us.{state.lower()}.ebr", False, us(state), "purchase", EBR_18_MONTHS),
                     id=f"us.{state.lower()}.ebr quiet: a purchase")
        for state in ["NJ", "WI"]
    ),
    pytest.param(E("us.in.ebr", True, us("IN"), "purchase", None), id="us.in.ebr fires: no purchase EBR"),
    pytest.param(E("us.in.ebr", True, us("IN"), "inquiry", None), id="us.in.ebr fires: no inquiry EBR"),
    pytest.param(E("us.in.ebr", False, us("IL"), "purchase", EBR_18_MONTHS), id="us.in.ebr quiet: Illinois"),
]


@pytest.mark.parametrize("case", EBR_CASES)
def test_ebr_rules(case: EbrCase) -> None:
    ends, rule_id = ebr_window(PACK, case.jurisdictions, case.kind, EBR_START)

    assert ends == case.ends
    assert (rule_id == case.rule) == case.fires
    assert rule_id in {rule.id for rule in PACK.rules} | {RULE_NO_EBR}


@dataclass(frozen=True)
class ConsentRuleCase:
    """``us.revocation`` fires when it keeps revocations covering every channel; ``us.pewc`` when it
    offers written consent as an exemption from the US registry."""

    rule: str
    fires: bool
    jurisdictions: tuple[str, ...]
    at: datetime


NARROW = merge_overrides(PACK, {"rules": [{"id": "us.revocation", "params": {"channel_specific": True}}]})
CONSENT_RULE_CASES = [
    pytest.param(ConsentRuleCase("us.revocation", True, us("FL"), utc(2026, 6, 2, 15)),
                 id="us.revocation fires: a revocation covers calls and texts"),
    pytest.param(ConsentRuleCase("us.revocation", False, us("FL"), utc(2025, 4, 9, 15)),
                 id="us.revocation quiet: before FCC 24-24 took effect (broad anyway: no rule allows narrow)"),
    pytest.param(ConsentRuleCase("us.pewc", True, us("TX"), utc(2026, 6, 2, 15)),
                 id="us.pewc fires: a US number"),
    pytest.param(ConsentRuleCase("us.pewc", False, ("GB",), utc(2026, 6, 2, 15)), id="us.pewc quiet: a UK number"),
]


@pytest.mark.parametrize("case", CONSENT_RULE_CASES)
def test_revocation_scope_and_written_consent_exemption(case: ConsentRuleCase) -> None:
    rule = PACK.get(case.rule)
    assert rule is not None
    in_force = rule.jurisdiction in {j.partition("-")[0] for j in case.jurisdictions} and rule.in_force_at(case.at)
    assert in_force == case.fires
    if case.rule == "us.pewc":
        assert consent_exemptions(PACK, case.jurisdictions, case.at) == ({"us-dnc": "us.pewc"} if case.fires else {})
    else:
        assert revocation_scope(PACK, case.jurisdictions, case.at) is None  # shipped: never narrow
        assert revocation_scope(NARROW, case.jurisdictions, case.at) == ("us.revocation" if case.fires else None)


def test_counsel_can_switch_the_written_consent_exemption_off() -> None:
    off = merge_overrides(PACK, {"rules": [{"id": "us.pewc", "enabled": False}]})
    assert consent_exemptions(off, us("FL"), utc(2026, 6, 2, 15)) == {}


def test_a_non_geographic_callee_may_be_in_every_jurisdiction_the_pack_knows_of_its_countries() -> None:
    found = jurisdictions_known(PACK, ("US", "CA"))
    assert found[:2] == ("US", "CA")
    assert {"US-FL", "US-TX", "US-RI", "US-IN"} <= set(found)
    assert not any(j.startswith("GB") for j in found)


RuleCase = WindowCase | CapCase | WirelessCase | RegistryCase | RetentionCase | EbrCase | ConsentRuleCase
ALL_CASES: list[RuleCase] = [
    cast(RuleCase, param.values[0])
    for table in (WINDOW_CASES, CAP_CASES, WIRELESS_CASES, REGISTRY_CASES, RETENTION_CASES, EBR_CASES,
                  CONSENT_RULE_CASES)
    for param in table
]


def test_every_shipped_rule_has_a_firing_and_a_quiet_case() -> None:
    shipped = {rule.id for rule in PACK.rules}
    fire = {case.rule for case in ALL_CASES if case.fires}
    quiet = {case.rule for case in ALL_CASES if not case.fires}

    assert shipped - fire == set(), "rules without a case in which they fire"
    assert shipped - quiet == set(), "rules without a case in which they do not fire"
    assert (fire | quiet) - shipped == set(), "cases about rules the pack does not have"


# --- Failing closed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zones", "juris", "deciding"),
    [
        pytest.param((), us("FL"), RULE_LOCAL_TIME, id="no time zone"),
        pytest.param((NY, "Etc/Unknown"), us("FL"), RULE_LOCAL_TIME, id="a zone the database lacks"),
        pytest.param(("Europe/Berlin",), ("DE",), RULE_NO_COVERAGE, id="a country the pack does not know"),
        pytest.param((NY,), ("US", "US-FL", "DE"), RULE_NO_COVERAGE, id="an unknown country among known ones"),
        pytest.param((NY,), (), RULE_NO_COVERAGE, id="no jurisdiction"),
    ],
)
def test_unknowns_fail_closed(zones: tuple[str, ...], juris: tuple[str, ...], deciding: str) -> None:
    verdict = legal_window(PACK, juris, zones, local(2026, 6, 2, 12))

    assert verdict.window == Window(False, None, None, deciding)
    assert verdict.deciding_rule == deciding


def test_a_state_implies_its_country() -> None:
    alone = legal_window(PACK, ("US-TX",), (CHI,), local(2026, 6, 2, 21, 0, CHI))

    assert alone.rules_considered == ("us.tx.hours", "us.hours")
    assert not alone.window.open_now
    assert [rule.id for rule in applicable(PACK, ("US-AZ",), utc(2026, 6, 2, 15))] == [
        "us.hours", "us.registry.sync", "us.pewc", "us.revocation", "us.az.wireless", "us.ebr"]
    assert legal_window(PACK, ("DE-BY",), ("Europe/Berlin",), utc(2026, 6, 2, 12)).deciding_rule == RULE_NO_COVERAGE


def test_house_hours_narrow_the_window_and_a_tie_names_the_law() -> None:
    campaign = HouseHours("campaign.hours", time(9), time(20, 30))

    morning = legal_window(PACK, us("FL"), (NY,), local(2026, 6, 2, 8, 30), house_hours=campaign)
    evening = legal_window(PACK, us("NY"), (NY,), local(2026, 6, 2, 20, 30), house_hours=campaign)
    tie = legal_window(PACK, us("FL"), (NY,), local(2026, 6, 2, 12), house_hours=HouseHours("c", time(8), time(20)))

    assert (morning.window.open_now, morning.deciding_rule) == (False, "campaign.hours")
    assert (evening.window.open_now, evening.deciding_rule) == (False, "campaign.hours")
    assert (tie.window.open_now, tie.deciding_rule) == (True, "us.fl.hours")
    assert morning.rules_considered == ("us.fl.hours", "us.hours", "campaign.hours")
    with pytest.raises(ValueError, match="must end after"):
        HouseHours("c", time(20), time(9))


def test_time_zones_whose_windows_never_meet_have_no_window() -> None:
    verdict = legal_window(PACK, us("RI"), (NY, "Asia/Tokyo"), local(2026, 6, 2, 12))

    assert (verdict.window.open_now, verdict.window.opens_at) == (False, None)
    assert "no window opens within 8 days" in verdict.detail


def test_a_holiday_table_nearing_its_end_is_reported_stale() -> None:
    assert stale_rules(PACK, utc(2026, 6, 2, 15)) == ()
    assert set(stale_rules(PACK, utc(2027, 11, 1, 15))) == {
        "us.al.holidays", "us.la.holidays", "us.ri.holidays", "us.pa.holidays", "us.ut.holidays",
    }


def test_seconds_left_and_the_trace_of_an_open_window() -> None:
    now = local(2026, 6, 2, 19, 30)

    verdict = legal_window(PACK, us("FL"), (NY,), now)

    assert verdict.window.seconds_left(now) == 30 * 60
    assert verdict.rules_considered == ("us.fl.hours", "us.hours")
    assert verdict.detail == f"open until {local(2026, 6, 2, 20).astimezone(UTC).isoformat()} (us.fl.hours)"


def test_caller_bugs_raise() -> None:
    naive = datetime(2026, 6, 2, 12)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        legal_window(PACK, us(), (NY,), naive)
    with pytest.raises(ValueError, match="horizon_days"):
        legal_window(PACK, us(), (NY,), utc(2026, 6, 2, 12), horizon_days=-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        cap_verdict(Cap(3, timedelta(days=1), "us.fl.cap"), [naive], utc(2026, 6, 2, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        applicable(PACK, us(), naive)


# --- Rule applicability and caps in detail -----------------------------------------------------


def test_applicable_rules_are_those_of_the_jurisdictions_in_force() -> None:
    ids = [rule.id for rule in applicable(PACK, us("MD"), utc(2026, 6, 2, 15))]
    before = [rule.id for rule in applicable(PACK, us("MD"), utc(2023, 12, 30, 15))]

    assert ids == ["us.hours", "us.registry.sync", "us.pewc", "us.revocation", "us.md.hours", "us.md.cap", "us.ebr"]
    assert before == ["us.hours", "us.registry.sync", "us.pewc", "us.ebr"]


def test_an_effective_date_applies_from_its_first_instant_anywhere_on_earth() -> None:
    # 2024-01-01 begins at 10:00 UTC on 2023-12-31 in UTC+14: the stricter reading.
    assert "us.md.cap" not in {rule.id for rule in applicable(PACK, us("MD"), utc(2023, 12, 31, 9, 59))}
    assert "us.md.cap" in {rule.id for rule in applicable(PACK, us("MD"), utc(2023, 12, 31, 10))}


def test_the_most_restrictive_cap_and_all_caps_together() -> None:
    now = utc(2026, 6, 2, 15)
    caps = frequency_caps(PACK, ("US", "US-FL", "US-ME"), now, autodialed=True)

    assert {cap.rule_id for cap in caps} == {"us.fl.cap", "us.me.cap"}
    cap = frequency_cap(PACK, ("US", "US-FL", "US-ME"), now, autodialed=True)
    assert cap == Cap(1, timedelta(hours=8), "us.me.cap")
    # Three calls an hour apart pass Maine's cap once the last is 8 h old, but Florida's holds.
    attempts = [now - 10 * H, now - 9 * H, now - 8 * H]
    assert cap_verdict(caps, attempts, now) == CapVerdict(False, now + 14 * H, "us.fl.cap")
    assert frequency_cap(PACK, us("NY"), now) is None
    assert cap_verdict(None, attempts, now) == CapVerdict(True, None, None)


def test_attempts_stamped_after_now_count() -> None:
    now = utc(2026, 6, 2, 15)
    cap = Cap(1, timedelta(hours=8), "us.me.cap")

    assert cap_verdict(cap, [now + M], now) == CapVerdict(False, now + M + 8 * H, "us.me.cap")


# --- Properties --------------------------------------------------------------------------------

US_ZONES = [
    NY, CHI, DEN, "America/Phoenix", LAX, "America/Anchorage", "America/Adak", "Pacific/Honolulu",
    "America/Puerto_Rico", "America/Indiana/Indianapolis", "America/Detroit", "America/Boise",
    "America/North_Dakota/Center", "Pacific/Guam", "Pacific/Pago_Pago",
]
US_STATES = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
    "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI",
]
PACK_JURISDICTIONS = sorted({rule.jurisdiction for rule in PACK.rules} | {"US-OR", "CA-ON", "DE"})
instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds and attaches the zone
    max_value=datetime(2029, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def allowed_by_reference(pack: RulePack, juris: tuple[str, ...], zones: list[str], at: datetime,
                         autodialed: bool) -> bool:
    """A deliberately naive reading of the pack: is ``at`` callable? Rule by rule, zone by zone."""
    countries = {j.split("-")[0] for j in juris}  # a state implies its country
    rules = [
        rule for rule in pack.rules
        if rule.enabled and rule.jurisdiction in {*juris, *countries} and (rule.calls == "all" or autodialed)
    ]
    for zone in zones:
        wall = at.astimezone(ZoneInfo(zone))
        in_force = [rule for rule in rules if rule.in_force_on(wall.date())]
        if not countries <= {rule.jurisdiction for rule in in_force if isinstance(rule.params, HoursParams)}:
            return False  # the pack must know every country's calling hours
        for rule in in_force:
            params = rule.params
            if isinstance(params, HoursParams):
                start, end = params.on(wall.weekday())
                forbids = not start <= wall.time().replace(tzinfo=None) < end
            elif isinstance(params, NoCallDaysParams):
                forbids = wall.weekday() in params.weekdays
            elif isinstance(params, HolidaysParams):
                forbids = wall.date() > params.through or params.holiday(wall.date()) is not None
            else:
                forbids = False
            if forbids:
                return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    now=instants,
    zones=st.lists(st.sampled_from(US_ZONES), min_size=1, max_size=3, unique=True),
    area_code_state=st.sampled_from(US_STATES),
    address_state=st.none() | st.sampled_from(US_STATES),
    autodialed=st.booleans(),
)
def test_no_us_number_is_ever_callable_outside_federal_hours_in_any_of_its_zones(
    now: datetime, zones: list[str], area_code_state: str, address_state: str | None, autodialed: bool
) -> None:
    juris = jurisdictions(phone("US", area_code_state, tuple(zones)), address_state, None)

    verdict = legal_window(PACK, juris, zones, now, autodialed=autodialed)

    def federal(instant: datetime) -> bool:
        return all(time(8) <= instant.astimezone(ZoneInfo(zone)).time() < time(21) for zone in zones)

    window = verdict.window
    if window.open_now:
        assert federal(now)
    if window.opens_at is not None and window.closes_at is not None:
        assert federal(window.opens_at) and federal(window.closes_at - timedelta(microseconds=1))


@settings(max_examples=300, deadline=None)
@given(
    now=instants,
    zones=st.lists(st.sampled_from([*US_ZONES, LON, TOR]), min_size=1, max_size=3, unique=True),
    juris=st.lists(st.sampled_from(PACK_JURISDICTIONS), min_size=1, max_size=4, unique=True),
    autodialed=st.booleans(),
)
def test_the_window_is_exactly_what_every_rule_allows(
    now: datetime, zones: list[str], juris: list[str], autodialed: bool
) -> None:
    """Against a naive reference: open exactly when every rule allows now, and the window's bounds
    (current or next) are inside while no sampled instant before the next opening is."""
    verdict = legal_window(PACK, tuple(juris), zones, now, autodialed=autodialed)

    def allowed(instant: datetime) -> bool:
        return allowed_by_reference(PACK, tuple(juris), zones, instant, autodialed)

    window = verdict.window
    assert window.open_now == allowed(now)
    if window.opens_at is None or window.closes_at is None:
        return
    assert allowed(window.opens_at) and allowed(window.closes_at - timedelta(microseconds=1))
    assert not allowed(window.closes_at)
    if not window.open_now:
        step = (window.opens_at - now) / 24
        assert not any(allowed(now + step * i) for i in range(24))


@settings(max_examples=300, deadline=None)
@given(
    now=instants,
    zones=st.lists(st.sampled_from([*US_ZONES, LON, TOR]), min_size=1, max_size=3, unique=True),
    juris=st.lists(st.sampled_from(PACK_JURISDICTIONS), min_size=1, max_size=3, unique=True),
    extra=st.sampled_from(PACK_JURISDICTIONS),
    autodialed=st.booleans(),
)
def test_adding_a_jurisdiction_never_widens_the_window(
    now: datetime, zones: list[str], juris: list[str], extra: str, autodialed: bool
) -> None:
    fewer = legal_window(PACK, tuple(juris), zones, now, autodialed=autodialed).window
    more = legal_window(PACK, (*juris, extra), zones, now, autodialed=autodialed).window

    if more.open_now:
        assert fewer.open_now
        assert fewer.opens_at is not None and more.opens_at is not None and fewer.opens_at <= more.opens_at
        assert fewer.closes_at is not None and more.closes_at is not None and more.closes_at <= fewer.closes_at
    elif more.opens_at is not None:
        assert fewer.opens_at is not None
        assert more.opens_at >= (now if fewer.open_now else fewer.opens_at)


def test_automated_calls_are_never_allowed_more_than_live_ones() -> None:
    now = local(2026, 6, 2, 8, 30, CHI)
    live = legal_window(PACK, us("IL"), (CHI,), now)
    automated = legal_window(PACK, us("IL"), (CHI,), now, autodialed=True)

    assert live.window.open_now and not automated.window.open_now


# --- Loading errors name the rule --------------------------------------------------------------


def good_rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "us.xx.hours", "jurisdiction": "US-XX", "kind": "hours",
        "params": {"start": "09:00", "end": "20:00"},
        "citation": "test", "effective": "2026-01-01", "note": "",
    }
    rule.update(changes)
    return rule


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], 'expected an object with "version"'),
        ({"version": "", "rules": []}, '"version" must be a non-empty string'),
        ({"version": "1", "rules": {}}, '"rules" must be a list'),
        ({"version": "1", "rules": [], "extra": 1}, 'expected an object with "version"'),
        ({"version": "1", "rules": ["x"]}, "rule #0: expected an object"),
        ({"version": "1", "rules": [good_rule(id="US.XX")]}, "rule #0: key 'id'"),
        ({"version": "1", "rules": [good_rule(), good_rule()]}, "rule 'us.xx.hours': duplicate id"),
        ({"version": "1", "rules": [good_rule(parms={})]}, "rule 'us.xx.hours': key 'parms': unknown key"),
        ({"version": "1", "rules": [good_rule(citation=" ")]}, "rule 'us.xx.hours': key 'citation'"),
        ({"version": "1", "rules": [good_rule(jurisdiction="Texas")]}, "rule 'us.xx.hours': key 'jurisdiction'"),
        ({"version": "1", "rules": [good_rule(kind="curfew")]}, "rule 'us.xx.hours': key 'kind'"),
        ({"version": "1", "rules": [good_rule(calls="robo")]}, "rule 'us.xx.hours': key 'calls'"),
        ({"version": "1", "rules": [good_rule(enabled="no")]}, "rule 'us.xx.hours': key 'enabled'"),
        ({"version": "1", "rules": [good_rule(effective="2026-13-01")]}, "rule 'us.xx.hours': key 'effective'"),
        ({"version": "1", "rules": [good_rule(ends="2025-01-01")]}, "key 'ends': must be after effective"),
        ({"version": "1", "rules": [{k: v for k, v in good_rule().items() if k != "effective"}]},
         "rule 'us.xx.hours': key 'effective': missing"),
        ({"version": "1", "rules": [good_rule(params={"start": "21:00", "end": "09:00"})]},
         "key 'params.end': hours must end after they start"),
        ({"version": "1", "rules": [good_rule(params={"start": "9am", "end": "20:00"})]}, "key 'params.start'"),
        ({"version": "1", "rules": [good_rule(params={"start": "09:00+01:00", "end": "20:00"})]},
         "callee-local"),
        ({"version": "1", "rules": [good_rule(params={"end": "20:00"})]}, "key 'params.start': missing"),
        ({"version": "1", "rules": [good_rule(params={"start": "09:00", "end": "20:00", "tz": "UTC"})]},
         "key 'params.tz': unknown parameter"),
        ({"version": "1", "rules": [good_rule(params={"start": "09:00", "end": "20:00", "days": {"sunday": {}}})]},
         "key 'params.days.sunday': expected a weekday"),
        ({"version": "1", "rules": [good_rule(kind="no_call_days", params={"weekdays": ["sun", "sun"]})]},
         "key 'params.weekdays'"),
        ({"version": "1", "rules": [good_rule(kind="holidays", params={"through": "2026-12-31",
                                                                       "dates": {"2027-01-01": "New Year"}})]},
         "key 'params.dates.2027-01-01': after the table's end"),
        ({"version": "1", "rules": [good_rule(kind="frequency_cap", params={"max_calls": 0, "per_hours": 24})]},
         "key 'params.max_calls'"),
        ({"version": "1", "rules": [good_rule(kind="frequency_cap", params={"max_calls": True, "per_hours": 24})]},
         "key 'params.max_calls'"),
        ({"version": "1", "rules": [good_rule(kind="registry_screen", params={"registry": "US DNC",
                                                                              "max_age_days": 31})]},
         "key 'params.registry'"),
        ({"version": "1", "rules": [good_rule(kind="wireless_prohibited", params={"mobile": True})]},
         "key 'params.mobile': unknown parameter for kind wireless_prohibited"),
    ],
)
def test_load_errors_name_the_rule_and_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_rule_pack(data)


def test_a_loaded_pack_does_not_change_with_its_source() -> None:
    source: dict[str, Any] = {"version": "1", "rules": [good_rule()]}
    pack = load_rule_pack(source)
    source["rules"][0]["params"]["end"] = "23:00"

    assert pack.rules[0].params == HoursParams(time(9), time(20))


# --- Overrides ---------------------------------------------------------------------------------


def test_counsel_can_relax_the_connecticut_conflict_by_override() -> None:
    overrides = {"about": "memo 2026-12", "rules": [{"id": "us.ct.hours", "params": {"end": "21:00"}}]}
    now = local(2026, 6, 2, 20, 30)

    merged = merge_overrides(PACK, overrides)

    assert merged.version.startswith("2026.11.2+local.") and len(merged.version) == len("2026.11.2+local.") + 8
    assert legal_window(PACK, us("CT"), (NY,), now).deciding_rule == "us.ct.hours"
    assert legal_window(merged, us("CT"), (NY,), now).window.open_now
    assert PACK.get("us.ct.hours") != merged.get("us.ct.hours")  # the shipped pack is untouched


def test_a_disabled_rule_no_longer_applies_but_stays_listed() -> None:
    merged = merge_overrides(PACK, {"rules": [{"id": "us.ri.weekends", "enabled": False}]})
    saturday = local(2026, 6, 6, 12)

    verdict = legal_window(merged, us("RI"), (NY,), saturday)

    assert verdict.window.open_now and "us.ri.weekends" not in verdict.rules_considered
    disabled = merged.get("us.ri.weekends")
    assert disabled is not None and not disabled.enabled


def test_an_added_rule_applies() -> None:
    oregon = good_rule(id="us.or.hours", jurisdiction="US-OR", effective="1970-01-01")
    merged = merge_overrides(PACK, {"rules": [oregon]})

    verdict = legal_window(merged, us("OR"), (LAX,), local(2026, 6, 2, 8, 30, LAX))

    assert verdict.deciding_rule == "us.or.hours" and not verdict.window.open_now
    assert merged.rules[-1].id == "us.or.hours"


def test_empty_overrides_change_nothing() -> None:
    assert merge_overrides(PACK, {"rules": []}) is PACK


def test_an_override_of_an_overridden_pack_keeps_one_local_part() -> None:
    once = merge_overrides(PACK, {"rules": [{"id": "us.ct.hours", "note": "a"}]})
    twice = merge_overrides(once, {"rules": [{"id": "us.ct.hours", "note": "b"}]})

    assert twice.version.count("+") == 1 and twice.version.startswith(once.version + ".")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], 'expected an object with "rules"'),
        ({"rules": [], "author": "x"}, 'expected an object with "rules"'),
        ({"rules": "us.ct.hours"}, '"rules" must be a list'),
        ({"rules": [{"params": {}}]}, 'rule #0: expected an object with an "id"'),
        ({"rules": [{"id": "us.ct.hours"}, {"id": "us.ct.hours"}]}, "rule 'us.ct.hours': overridden twice"),
        ({"rules": [{"id": "us.ct.hours", "kind": "holidays"}]}, "rule 'us.ct.hours': key 'kind': cannot change"),
        ({"rules": [{"id": "us.ct.hours", "params": {"end": "08:00"}}]},
         "rule pack overrides: rule 'us.ct.hours': key 'params.end'"),
        ({"rules": [{"id": "us.ct.hours", "parms": {"end": "21:00"}}]}, "rule 'us.ct.hours': key 'parms'"),
        ({"rules": [{"id": "us.ct.hours", "citation": None}]}, "rule 'us.ct.hours': key 'citation': missing"),
        ({"rules": [{"id": "us.zz.hours", "params": {"end": "21:00"}}]}, "rule 'us.zz.hours': key 'jurisdiction'"),
    ],
)
def test_override_errors_name_the_rule(overrides: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        merge_overrides(PACK, overrides)


hours_texts = st.integers(min_value=0, max_value=22 * 60).flatmap(
    lambda start: st.tuples(st.just(start), st.integers(min_value=start + 1, max_value=23 * 60 + 59))
).map(lambda span: (f"{span[0] // 60:02d}:{span[0] % 60:02d}", f"{span[1] // 60:02d}:{span[1] % 60:02d}"))
HOURS_RULE_IDS = [rule.id for rule in PACK.rules if isinstance(rule.params, HoursParams)]


@settings(max_examples=100, deadline=None)
@given(rule_id=st.sampled_from(HOURS_RULE_IDS), hours=hours_texts, day=st.sampled_from(WEEKDAYS))
def test_override_round_trips(rule_id: str, hours: tuple[str, str], day: str) -> None:
    original = PACK.get(rule_id)
    assert original is not None
    change = {"id": rule_id, "params": {"start": hours[0], "end": hours[1], "days": {day: {"start": hours[0],
                                                                                          "end": hours[1]}}}}
    changed = merge_overrides(PACK, {"rules": [change]})

    rule = changed.get(rule_id)
    assert rule is not None and isinstance(rule.params, HoursParams)
    assert rule.params.on(WEEKDAYS.index(day)) == (time.fromisoformat(hours[0]), time.fromisoformat(hours[1]))
    # The merged pack is data again: it reloads to itself, and the same overrides give the same version.
    assert load_rule_pack(json.loads(json.dumps(changed.to_json()))) == changed
    assert merge_overrides(PACK, {"rules": [copy.deepcopy(change)]}).version == changed.version
    # Overriding back with the original rule's own fields restores every rule.
    params = original.params.to_json()
    params.setdefault("days", None)  # the rule had no weekday hours of its own: drop the override's
    restore = {**original.to_json(), "params": params}
    assert merge_overrides(changed, {"rules": [restore]}).rules == PACK.rules
    # Disabling and re-enabling is a round trip too.
    disabled = merge_overrides(PACK, {"rules": [{"id": rule_id, "enabled": False}]})
    assert merge_overrides(disabled, {"rules": [{"id": rule_id, "enabled": True}]}).rules == PACK.rules


# --- Speed -------------------------------------------------------------------------------------


def test_a_dial_time_window_check_takes_well_under_a_millisecond() -> None:
    now = local(2026, 6, 2, 12)
    legal_window(PACK, us("FL"), (NY, CHI), now)  # warm the caches, as a running worker has them

    seconds = min(timeit.repeat(lambda: legal_window(PACK, us("FL"), (NY, CHI), now), number=200, repeat=3)) / 200

    assert seconds < 0.5e-3
