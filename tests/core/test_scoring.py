"""Scoring rules: each operator, missing facts, rule-file validation, breakdown order, lead facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from pipeline.core.scoring import FACT_FIELDS, ScoringRule, capture_score, lead_facts, load_scoring_rules, score
from pipeline.errors import ConfigError
from pipeline.events import LeadCaptured, PhoneInfo
from pipeline.packaged import default_disposable_domains, default_scoring, default_scoring_rules

DOMAINS = default_disposable_domains()

FACTS: dict[str, object] = {
    "source": "web-form:solar-quote",
    "number_type": "FIXED_LINE_OR_MOBILE",
    "has_email": True,
    "has_consent": False,
    "attributes.budget": "50000",
    "attributes.timeline": " This_Month ",
    "attributes.note": "please call after 5pm",
    "attributes.blank": "   ",
}

# (op, field, value) -> matches FACTS?
OPERATOR_CASES = [
    ("eq", "number_type", "FIXED_LINE_OR_MOBILE", True),
    ("eq", "attributes.timeline", "this_month", True),  # trimmed, case-insensitive
    ("eq", "attributes.budget", 50000, True),  # a number matches a numeric string
    ("eq", "has_email", True, True),
    ("eq", "has_email", "true", False),  # a string value never matches a bool fact
    ("eq", "has_consent", False, True),
    ("eq", "number_type", "MOBILE", False),
    ("ne", "number_type", "MOBILE", True),
    ("ne", "number_type", "FIXED_LINE_OR_MOBILE", False),
    ("in", "attributes.timeline", ["now", "this_month"], True),
    ("in", "attributes.timeline", ["now", "asap"], False),
    ("in", "attributes.budget", [10000, 50000], True),
    ("not_in", "attributes.timeline", ["now", "asap"], True),
    ("not_in", "attributes.timeline", ["this_month"], False),
    ("gt", "attributes.budget", 49999.5, True),
    ("gt", "attributes.budget", 50000, False),
    ("gte", "attributes.budget", 50000, True),
    ("lt", "attributes.budget", 50000, False),
    ("lte", "attributes.budget", 50000, True),
    ("gte", "attributes.note", 1, False),  # not a number: no match, no error
    ("gte", "has_email", 0, False),  # a bool is not a number
    ("present", "attributes.note", None, True),
    ("present", "attributes.blank", None, False),  # blank counts as absent
    ("absent", "attributes.blank", None, True),
    ("absent", "attributes.note", None, False),
    ("contains", "attributes.note", "CALL AFTER", True),
    ("contains", "attributes.note", "morning", False),
    ("contains", "has_email", "true", False),
    ("regex", "source", "^web-form:", True),
    ("regex", "source", "^vendor:", False),
    ("regex", "attributes.note", r"\d+pm", True),
    ("regex", "has_email", ".*", False),
]


def rule(op: str, field: str, value: object, weight: float = 1.0, rule_id: str = "r") -> ScoringRule:
    return ScoringRule(rule_id, field, op, value, weight)


@pytest.mark.parametrize(("op", "field", "value", "expected"), OPERATOR_CASES)
def test_operator(op: str, field: str, value: object, expected: bool) -> None:
    assert rule(op, field, value).matches(FACTS) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "x", False), ("ne", "x", False), ("in", ["x"], False), ("not_in", ["x"], False),
        ("gt", 0, False), ("gte", 0, False), ("lt", 0, False), ("lte", 0, False),
        ("contains", "x", False), ("regex", ".*", False), ("present", None, False), ("absent", None, True),
    ],
)
def test_missing_fact_matches_only_absent(op: str, value: object, expected: bool) -> None:
    assert rule(op, "attributes.missing", value).matches(FACTS) is expected
    assert rule(op, "attributes.missing", value).matches({"attributes.missing": None}) is expected


@pytest.mark.parametrize("fact", ["nan", "inf", "-Infinity", "50,000", "", "1e400"])
def test_numeric_operators_reject_non_finite_or_ambiguous_numbers(fact: str) -> None:
    facts = {"attributes.budget": fact}

    assert not rule("gte", "attributes.budget", 0).matches(facts)
    assert not rule("lt", "attributes.budget", 10**9).matches(facts)


def test_score_sums_matching_weights_with_breakdown_in_rule_order() -> None:
    rules = [
        ScoringRule("b.budget", "attributes.budget", "gte", 10000, 15, "big budget"),
        ScoringRule("a.never", "attributes.budget", "lt", 0, 100),
        ScoringRule("c.no_consent", "has_consent", "eq", False, -20.5, None),
        ScoringRule("d.web", "source", "regex", "^web-form:", 10, "own form"),
    ]

    result = score(FACTS, rules)

    assert result.total == pytest.approx(4.5)
    assert [item["rule_id"] for item in result.breakdown] == ["b.budget", "c.no_consent", "d.web"]
    assert result.breakdown[0] == {"rule_id": "b.budget", "points": 15, "detail": "big budget"}
    assert result.breakdown[1]["detail"] is None
    assert result.priority == 4


def test_no_rules_score_zero() -> None:
    result = score(FACTS, [])

    assert result.total == 0
    assert result.breakdown == ()


def good_rule(**overrides: object) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "budget", "field": "attributes.budget", "op": "gte", "value": 10000, "weight": 15,
    }
    base.update(overrides)
    return base


def test_load_scoring_rules_builds_rules() -> None:
    rules = load_scoring_rules([good_rule(detail="big budget"), good_rule(id="p", op="present", value=None)])

    assert rules[0] == ScoringRule("budget", "attributes.budget", "gte", 10000, 15.0, "big budget")
    assert rules[1].op == "present"
    assert load_scoring_rules([good_rule(op="in", value=["a", "b"])])[0].value == ("a", "b")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": {}}, "expected a list"),
        (["not a rule"], "#0: expected an object"),
        ([{"field": "source", "op": "eq", "value": "x", "weight": 1}], "#0: 'id'"),
        ([good_rule(), good_rule(id=" ")], "#1: 'id'"),
        ([good_rule(wieght=3)], "#0 ('budget'): unknown key(s) 'wieght'"),
        ([good_rule(field="has_emial")], "#0 ('budget'): 'field'"),
        ([good_rule(field="attributes.")], "'field'"),
        ([good_rule(field=None)], "'field'"),
        ([good_rule(op="between")], "'op'"),
        ([good_rule(weight="15")], "'weight'"),
        ([good_rule(weight=True)], "'weight'"),
        ([good_rule(weight=float("nan"))], "'weight'"),
        ([good_rule(detail=3)], "'detail'"),
        ([good_rule(value="10000")], "'value'"),  # numeric ops need a number, not a string
        ([good_rule(value=None)], "'value'"),
        ([good_rule(op="in", value="now")], "'value'"),
        ([good_rule(op="in", value=[])], "'value'"),
        ([good_rule(op="in", value=[{"a": 1}])], "'value'"),
        ([good_rule(op="eq", value=None)], "'value'"),
        ([good_rule(op="present", value=True)], "'value'"),
        ([good_rule(op="regex", value="([unclosed")], "'value' is not a valid regular expression"),
        ([good_rule(op="contains", value="")], "'value'"),
        ([good_rule(), good_rule(field="source", op="present", value=None)], "#1 ('budget'): 'id' is used"),
    ],
)
def test_bad_rules_raise_config_error_naming_rule_and_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_scoring_rules(data)

    assert message in str(error.value)


def test_default_rules_load_and_reference_real_facts() -> None:
    rules = default_scoring_rules()

    assert 8 <= len(rules) <= 20
    assert len({r.rule_id for r in rules}) == len(rules)
    assert all(r.field in FACT_FIELDS or r.field.startswith("attributes.") for r in rules)
    assert any(r.weight < 0 for r in rules), "cold leads must be able to lose points"


def lead(**overrides: Any) -> LeadCaptured:
    record: dict[str, Any] = {
        "event_id": "e-1",
        "occurred_at": datetime(2026, 6, 1, 16, tzinfo=UTC),
        "lead_id": "L0001",
        "source": "web-form:solar-quote",
        "campaign_id": "solar-q4",
        "phone": "(305) 209-4411",
        "country": "us",
        "first_name": "Maria",
        "last_name": None,
        "email": "maria.garcia@example.com",
        "address": {"street": None, "city": "Miami", "region": "fl", "postal_code": "33101", "country": "US"},
        "consent": {
            "purpose": "marketing",
            "channel": "AUTODIALED_VOICE",
            "granted_at": datetime(2026, 6, 1, 15, 59, tzinfo=UTC),
            "form_url": "https://forms.example.com/solar",
            "consent_text": "I agree to be called.",
            "certificate_id": "tf-0123",
            "ip": "203.0.113.7",
            "expires_at": None,
        },
        "attributes": {"timeline": "now", "budget": "25000", "lead_type": "callback_request"},
    }
    record.update(overrides)
    return cast("LeadCaptured", record)


PHONE = PhoneInfo(
    phone_e164="+13052094411",
    region="US",
    number_type="FIXED_LINE_OR_MOBILE",
    time_zones=["America/New_York"],
    area_code_region="FL",
    carrier=None,
    line_type="UNKNOWN",
    area_code_location="Florida",
)


def test_lead_facts_flatten_lead_and_phone() -> None:
    facts = lead_facts(lead(), PHONE, DOMAINS)

    assert facts == {
        "source": "web-form:solar-quote",
        "campaign_id": "solar-q4",
        "country": "US",
        "region": "US",
        "number_type": "FIXED_LINE_OR_MOBILE",
        "area_code_region": "FL",
        "line_type": "UNKNOWN",
        "area_code_location": "Florida",
        "email.valid": True,
        "email.disposable": False,
        "email.domain": "example.com",
        "quality.flags": ("EMAIL_TEST",),
        "quality.flag_count": 1,
        "has_email": True,
        "has_name": True,
        "has_consent": True,
        "has_consent_certificate": True,
        "consent.channel": "AUTODIALED_VOICE",
        "consent.purpose": "marketing",
        "address.region": "FL",
        "address.country": "US",
        "address.postal_code": "33101",
        "attributes.timeline": "now",
        "attributes.budget": "25000",
        "attributes.lead_type": "callback_request",
    }
    assert set(facts) - {k for k in facts if k.startswith("attributes.")} <= FACT_FIELDS


def test_lead_facts_of_a_bare_lead() -> None:
    bare = lead(country=None, first_name=" ", email="not-an-email", address=None, consent=None, attributes={})

    facts = lead_facts(bare, PHONE, DOMAINS)

    assert facts["has_email"] is False
    assert facts["has_name"] is False
    assert facts["has_consent"] is False
    assert facts["has_consent_certificate"] is False
    assert "country" not in facts and "address.region" not in facts and "consent.channel" not in facts


def test_default_rules_rank_a_hot_lead_above_a_purchased_one() -> None:
    hot = lead_facts(lead(), PHONE, DOMAINS)
    cold = lead_facts(
        lead(source="list:purchased-2025", consent=None, email=None,
             attributes={"timeline": "just_browsing", "lead_type": "purchased_list"}),
        PHONE, DOMAINS,
    )

    rules, model = default_scoring()
    hot_score, cold_score = capture_score(hot, rules, model), capture_score(cold, rules, model)

    assert hot_score.total > 50 > 0 > cold_score.total
    assert "temperature.hot" in [item["rule_id"] for item in hot_score.breakdown]
    assert "temperature.cold" in [item["rule_id"] for item in cold_score.breakdown]
