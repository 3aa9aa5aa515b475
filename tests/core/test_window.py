"""call_window: the intersection of every zone's local calling hours, exact on DST days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.window import Window, call_window

NY = "America/New_York"
LA = "America/Los_Angeles"
LONDON = "Europe/London"
RULE = "us.hours"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# (zones, now, start, end) -> (open_now, opens_at, closes_at)
CASES = [
    pytest.param(
        [NY], utc(2026, 3, 7, 12, 30), time(8), time(21),
        False, utc(2026, 3, 7, 13), utc(2026, 3, 8, 2), id="NY day before spring-forward: EST",
    ),
    pytest.param(
        [NY], utc(2026, 3, 8, 5), time(8), time(21),
        False, utc(2026, 3, 8, 12), utc(2026, 3, 9, 1), id="NY spring-forward day, before opening: EDT",
    ),
    pytest.param(
        [NY], utc(2026, 3, 8, 12, 30), time(8), time(21),
        True, utc(2026, 3, 8, 12), utc(2026, 3, 9, 1), id="NY spring-forward day, open",
    ),
    pytest.param(
        [NY], utc(2026, 10, 31, 11, 59), time(8), time(21),
        False, utc(2026, 10, 31, 12), utc(2026, 11, 1, 1), id="NY day before fall-back: EDT",
    ),
    pytest.param(
        [NY], utc(2026, 11, 1, 12, 30), time(8), time(21),
        False, utc(2026, 11, 1, 13), utc(2026, 11, 2, 2), id="NY fall-back day, 07:30 EST: closed",
    ),
    pytest.param(
        [LONDON], utc(2026, 3, 29, 7, 30), time(8), time(21),
        True, utc(2026, 3, 29, 7), utc(2026, 3, 29, 20), id="London BST starts: 08:00 BST is 07:00Z",
    ),
    pytest.param(
        [LONDON], utc(2026, 10, 25, 7, 30), time(8), time(21),
        False, utc(2026, 10, 25, 8), utc(2026, 10, 25, 21), id="London BST ends: 08:00 GMT is 08:00Z",
    ),
    pytest.param(
        [NY], utc(2026, 6, 1, 12), time(8), time(21),
        True, utc(2026, 6, 1, 12), utc(2026, 6, 2, 1), id="exactly at opening: open",
    ),
    pytest.param(
        [NY], utc(2026, 6, 2, 1), time(8), time(21),
        False, utc(2026, 6, 2, 12), utc(2026, 6, 3, 1), id="exactly at closing: closed until tomorrow",
    ),
    pytest.param(
        [NY, LA], utc(2026, 6, 1, 14), time(8), time(21),
        False, utc(2026, 6, 1, 15), utc(2026, 6, 2, 1), id="NY open but LA not yet: wait for LA",
    ),
    pytest.param(
        [LA, NY], utc(2026, 6, 1, 16), time(8), time(21),
        True, utc(2026, 6, 1, 15), utc(2026, 6, 2, 1), id="NY and LA both open: LA opens, NY closes",
    ),
    pytest.param(
        [NY, "Asia/Tokyo"], utc(2026, 6, 1, 16), time(8), time(21),
        False, utc(2026, 6, 1, 23), utc(2026, 6, 2, 1), id="NY evening meets Tokyo morning",
    ),
    pytest.param(
        [NY, NY, LA], utc(2026, 6, 1, 16), time(8), time(21),
        True, utc(2026, 6, 1, 15), utc(2026, 6, 2, 1), id="repeated zone counts once",
    ),
    pytest.param(
        [NY, "Asia/Kolkata"], utc(2026, 6, 1, 16), time(9), time(17),
        False, None, None, id="windows that never overlap: none",
    ),
    pytest.param(
        [], utc(2026, 6, 1, 16), time(8), time(21),
        False, None, None, id="no zones: local time unknown, fail closed",
    ),
    pytest.param(
        ["Mars/Olympus_Mons"], utc(2026, 6, 1, 16), time(8), time(21),
        False, None, None, id="unknown zone: fail closed",
    ),
    pytest.param(
        [NY, "Etc/Unknown"], utc(2026, 6, 1, 16), time(8), time(21),
        False, None, None, id="phonenumbers' unknown placeholder: fail closed",
    ),
    pytest.param(
        [NY], utc(2026, 3, 8, 14), time(2, 30), time(21),
        True, utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 1), id="opening in the DST gap: the later reading",
    ),
    pytest.param(
        [NY], utc(2026, 11, 1, 3), time(0, 30), time(1, 30),
        False, utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 30), id="closing in the DST fold: the earlier",
    ),
]


@pytest.mark.parametrize(("zones", "now", "start", "end", "open_now", "opens_at", "closes_at"), CASES)
def test_call_window(
    zones: list[str],
    now: datetime,
    start: time,
    end: time,
    open_now: bool,
    opens_at: datetime | None,
    closes_at: datetime | None,
) -> None:
    window = call_window(zones, now, start, end, RULE)

    assert window == Window(open_now, opens_at, closes_at, RULE)


def test_instants_are_utc_whatever_the_offset_of_now() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    now = datetime(2026, 6, 1, 21, 30, tzinfo=india)  # 16:00Z

    window = call_window([NY], now, time(8), time(21), RULE)

    assert window == call_window([NY], utc(2026, 6, 1, 16), time(8), time(21), RULE)
    assert window.opens_at is not None and window.opens_at.tzinfo is UTC


def test_horizon_limits_how_far_ahead_a_window_is_searched() -> None:
    late_friday = utc(2026, 6, 6, 2)  # 22:00 EDT on Friday

    none_today = call_window([NY], late_friday, time(8), time(21), RULE, horizon_days=0)
    tomorrow = call_window([NY], late_friday, time(8), time(21), RULE, horizon_days=1)

    assert none_today == Window(False, None, None, RULE)
    assert tomorrow.opens_at == utc(2026, 6, 6, 12)


def test_seconds_left_counts_down_to_closing() -> None:
    now = utc(2026, 6, 2, 0, 30)  # 20:30 EDT

    window = call_window([NY], now, time(8), time(21), RULE)

    assert window.seconds_left(now) == 30 * 60


@pytest.mark.parametrize(
    ("now", "start", "end", "message"),
    [
        (datetime(2026, 6, 1, 16), time(8), time(21), "timezone-aware"),  # noqa: DTZ001 - the point
        (utc(2026, 6, 1, 16), time(21), time(8), "before its end"),
        (utc(2026, 6, 1, 16), time(8), time(8), "before its end"),
    ],
)
def test_caller_bugs_raise(now: datetime, start: time, end: time, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call_window([NY], now, start, end, RULE)


US_ZONES = [
    NY, "America/Chicago", "America/Denver", "America/Phoenix", LA, "America/Anchorage", "America/Adak",
    "Pacific/Honolulu", "America/Puerto_Rico", "America/Indiana/Indianapolis", "America/Detroit",
    "America/Boise", "America/North_Dakota/Center", "Pacific/Guam", "Pacific/Pago_Pago",
]


@given(
    # hypothesis takes naive bounds and attaches the zone itself
    now=st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001
        max_value=datetime(2035, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    zones=st.lists(st.sampled_from(US_ZONES), min_size=1, max_size=4),
    start_minute=st.integers(min_value=5 * 60, max_value=12 * 60),
    end_minute=st.integers(min_value=13 * 60, max_value=23 * 60 + 59),
)
def test_open_exactly_when_every_zone_is_inside_its_hours(
    now: datetime, zones: list[str], start_minute: int, end_minute: int
) -> None:
    """Never callable outside the hours in any zone, and never closed when all zones are inside."""
    start, end = time(*divmod(start_minute, 60)), time(*divmod(end_minute, 60))

    window = call_window(zones, now, start, end, RULE)

    def inside(instant: datetime) -> bool:
        return all(start <= instant.astimezone(ZoneInfo(zone)).time() < end for zone in zones)

    assert window.open_now == inside(now)
    if window.opens_at is not None and window.closes_at is not None:
        assert window.opens_at < window.closes_at
        assert inside(window.opens_at)
        assert inside(window.closes_at - timedelta(microseconds=1))
        assert not inside(window.closes_at)
        if window.open_now:
            assert window.opens_at <= now < window.closes_at
        else:
            assert now < window.opens_at <= now + timedelta(days=8)
