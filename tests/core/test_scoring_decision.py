"""Decision-time scoring: temperature, speed-to-lead decay, contactability — and the rule file forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.scoring import (
    Score,
    ScoringModel,
    at_decision,
    capture_score,
    load_scoring,
    load_scoring_rules,
    temperature_of,
)
from pipeline.errors import ConfigError
from pipeline.events import ScoreContribution
from pipeline.packaged import default_scoring

T0 = datetime(2026, 6, 1, 16, tzinfo=UTC)
RULES, MODEL = default_scoring()


def ids(result: Score) -> list[str]:
    return [c["rule_id"] for c in result.breakdown]


def points(result: Score, rule_id: str) -> float:
    [found] = [c["points"] for c in result.breakdown if c["rule_id"] == rule_id]
    return found


def captured(temperature: str = "hot", base: float = 10.0) -> Score:
    breakdown: tuple[ScoreContribution, ...] = (
        {"rule_id": "source.own_web_form", "points": base, "detail": "web form"},
        {"rule_id": f"temperature.{temperature}", "points": MODEL.temperature_points[temperature], "detail": "t"},
    )
    return Score(sum(c["points"] for c in breakdown), breakdown)


def decide_at(score: Score, *, age: timedelta = timedelta(), seconds_left: int = 6 * 3600, attempts: int = 0,
              line_type: str = "UNKNOWN", consent_age: timedelta | None = None,
              model: ScoringModel = MODEL) -> Score:
    return at_decision(score, model, now=T0 + age, captured_at=T0, seconds_left=seconds_left, attempts=attempts,
                       line_type=line_type, consent_granted_at=None if consent_age is None else T0 + age - consent_age)


@pytest.mark.parametrize(("facts", "temperature"), [
    ({"attributes.lead_type": "callback_request", "source": "web-form:x"}, "hot"),
    ({"attributes.lead_type": "live_transfer", "source": "list:x"}, "hot"),  # the first rule that matches wins
    ({"source": "list:2025-q3"}, "cold"),
    ({"attributes.lead_type": "aged", "source": "vendor:x"}, "cold"),
    ({"attributes.lead_type": "webinar", "source": "web-form:x"}, "warm"),
    ({"source": "web-form:x"}, "warm"),  # the default
])
def test_temperature_is_classified_by_the_first_matching_rule(facts: dict[str, object], temperature: str) -> None:
    result = capture_score(facts, RULES, MODEL)
    assert temperature_of(result.breakdown) == temperature
    assert points(result, f"temperature.{temperature}") == MODEL.temperature_points[temperature]


def test_a_hot_lead_cools_within_minutes_a_cold_one_over_days() -> None:
    fresh, after_5_min, after_30_min = (decide_at(captured("hot"), age=timedelta(minutes=m)) for m in (0, 5, 30))
    assert points(fresh, "decay.hot") == 30
    assert points(after_5_min, "decay.hot") == 15  # one half-life
    assert points(after_30_min, "decay.hot") < 1
    assert fresh.total > after_5_min.total > after_30_min.total
    assert "5.0 min old" in next(c["detail"] or "" for c in after_5_min.breakdown if c["rule_id"] == "decay.hot")
    warm = decide_at(captured("warm"), age=timedelta(hours=4))
    assert points(warm, "decay.warm") == 7.5
    assert "decay.cold" not in ids(decide_at(captured("cold")))  # no points to decay: no contribution


@pytest.mark.parametrize(("seconds_left", "expected"), [
    (6 * 3600, None),
    (3599, 10.0),  # closes within the hour: call before it closes
    (179, -15.0),  # too little time for a call
    (0, None),  # not open now (deferred): nothing to say
])
def test_the_window_closing_soon_counts(seconds_left: int, expected: float | None) -> None:
    result = decide_at(captured(), seconds_left=seconds_left)
    if expected is None:
        assert "contactability.window" not in ids(result)
    else:
        assert points(result, "contactability.window") == expected


@pytest.mark.parametrize(("attempts", "expected"), [(0, 6.0), (4, 2.0), (6, 0.0), (9, 0.0)])
def test_attempts_left(attempts: int, expected: float) -> None:
    assert points(decide_at(captured(), attempts=attempts), "contactability.attempts") == expected


@pytest.mark.parametrize(("line_type", "expected"), [("MOBILE", 5.0), ("LANDLINE", 0.0), ("VOIP", -5.0)])
def test_line_type(line_type: str, expected: float) -> None:
    assert points(decide_at(captured(), line_type=line_type), "contactability.line_type") == expected


@pytest.mark.parametrize(("consent_age", "expected"), [
    (timedelta(days=2), 5.0), (timedelta(days=90), None), (timedelta(days=400), -10.0), (None, None),
])
def test_consent_age(consent_age: timedelta | None, expected: float | None) -> None:
    result = decide_at(captured(), consent_age=consent_age)
    if expected is None:
        assert "contactability.consent_age" not in ids(result)
    else:
        assert points(result, "contactability.consent_age") == expected


def test_every_contribution_has_a_sentence_and_the_total_is_their_sum() -> None:
    result = decide_at(captured(), age=timedelta(minutes=3), seconds_left=1000, attempts=1, line_type="MOBILE",
                       consent_age=timedelta(days=1))
    assert ids(result) == ["source.own_web_form", "temperature.hot", "decay.hot", "contactability.window",
                           "contactability.attempts", "contactability.line_type", "contactability.consent_age"]
    assert all(c["detail"] for c in result.breakdown)
    assert result.total == pytest.approx(sum(c["points"] for c in result.breakdown))


def test_the_empty_model_changes_nothing() -> None:
    score = captured()
    assert decide_at(score, model=ScoringModel(), age=timedelta(hours=1), line_type="MOBILE") == score


AGES = st.integers(min_value=0, max_value=60 * 24 * 30).map(lambda m: timedelta(minutes=m))


@given(AGES, AGES, st.sampled_from(["hot", "warm", "cold"]))
def test_an_older_lead_never_scores_higher(a: timedelta, b: timedelta, temperature: str) -> None:
    younger, older = sorted((a, b))
    assert decide_at(captured(temperature), age=younger).total >= decide_at(captured(temperature), age=older).total


@given(AGES, st.integers(min_value=0, max_value=86_400), st.integers(min_value=0, max_value=10),
       st.sampled_from(["MOBILE", "LANDLINE", "VOIP", "UNKNOWN"]))
def test_re_deciding_replaces_decision_time_parts_never_stacks_them(
        age: timedelta, seconds_left: int, attempts: int, line_type: str) -> None:
    once = decide_at(captured(), age=age, seconds_left=seconds_left, attempts=attempts, line_type=line_type)
    twice = decide_at(once, age=age, seconds_left=seconds_left, attempts=attempts, line_type=line_type)
    assert twice == once


def test_a_list_file_is_rules_only_and_the_object_form_carries_the_model() -> None:
    rule = {"id": "r", "field": "source", "op": "present", "weight": 1}
    rules, model = load_scoring([rule])
    assert [r.rule_id for r in rules] == ["r"] and model == ScoringModel()
    assert load_scoring_rules({"rules": [rule]}) == rules
    _, full = load_scoring({"rules": [rule], "decay": {"points": {"hot": 5}, "half_life_minutes": {"hot": 1}}})
    assert full.decay_points == {"hot": 5.0}


@pytest.mark.parametrize(("data", "message"), [
    ({"rules": [], "extra": {}}, "unknown key(s) 'extra'"),
    ({"temperature": {"default": "lukewarm"}}, "temperature.default must be one of hot, warm, cold"),
    ({"temperature": {"points": {"tepid": 1}}}, "temperature.points: unknown key(s) 'tepid'"),
    ({"temperature": {"rules": [{"id": "x", "temperature": "hot", "field": "nope", "op": "eq", "value": 1}]}},
     "'field' must name a lead fact"),
    ({"temperature": {"rules": [{"id": "x", "field": "source", "op": "present"}]}}, "'temperature' must be one of"),
    ({"decay": {"half_life_minutes": {"hot": 0}}}, "half_life_minutes must be positive"),
    ({"decay": {"points": {"hot": "many"}}}, "decay.points.hot must be a finite number"),
    ({"contactability": {"attempts": {"max": 2.5}}}, "attempts.max must be a whole number"),
    ({"contactability": {"window": {"closing": 1}}}, "contactability.window: unknown key(s) 'closing'"),
    ({"contactability": {"line_type": {"CELL": 1}}}, "contactability.line_type: unknown key(s) 'CELL'"),
    ({"rules": [{"id": "decay.mine", "field": "source", "op": "present", "weight": 1}]}, "reserved"),
])
def test_a_bad_model_names_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_scoring(data)
    assert message in str(error.value)
