"""validate_input: well-formed records that are still unusable, each problem naming its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.core.validation import validate_input

NOW = datetime(2026, 6, 1, 16, tzinfo=UTC)
PROOF = {
    "purpose": "marketing", "channel": "ANY", "granted_at": NOW, "form_url": None, "consent_text": None,
    "certificate_id": "tf-1", "ip": None, "expires_at": None,
}
VALID: dict[str, dict[str, Any]] = {
    "lead-captured": {
        "event_id": "e-1", "occurred_at": NOW, "lead_id": "L1", "source": "web-form:solar",
        "campaign_id": "solar-q4", "phone": "+13052094411", "country": "US", "first_name": None,
        "last_name": None, "email": None, "address": None, "consent": None, "attributes": {},
    },
    "opt-out": {
        "event_id": "e-2", "occurred_at": NOW, "phone": "+13052094411", "country": None, "action": "ADD",
        "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None, "expires_at": None,
        "source": "sms-keyword:STOP", "reason": None, "evidence": None,
    },
    "consent-changed": {
        "event_id": "e-3", "occurred_at": NOW, "phone": "+13052094411", "country": None, "action": "GRANT",
        "purpose": "marketing", "channel": "ANY", "channel_specific": False, "source": "web", "proof": PROOF,
    },
    "call-outcome": {
        "event_id": "e-4", "occurred_at": NOW, "lead_id": "L1", "phone": "+13052094411", "country": None,
        "campaign_id": "solar-q4", "outcome": "NO_ANSWER", "agent_id": "a-1", "notes": None,
        "callback_at": None, "dnc_scope": None, "answers": {}, "tags": [],
        "contact_name": "Ana Silva", "contact_role": "owner", "title": None, "best_time_to_call": None,
        "callback_notes": None,
    },
}


def with_(kind: str, **changes: object) -> dict[str, Any]:
    return {**VALID[kind], **changes}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_records_have_no_problems(kind: str) -> None:
    assert validate_input(kind, VALID[kind], NOW) == []


@pytest.mark.parametrize(
    ("kind", "record", "expected"),
    [
        ("lead-captured", with_("lead-captured", event_id=""), ["event_id: empty or whitespace only"]),
        ("lead-captured", with_("lead-captured", lead_id="  "), ["lead_id: empty or whitespace only"]),
        ("lead-captured", with_("lead-captured", phone="\t"), ["phone: empty or whitespace only"]),
        ("lead-captured", with_("lead-captured", campaign_id=""), ["campaign_id: empty or whitespace only"]),
        ("lead-captured", with_("lead-captured", source=None), ["source: missing"]),
        ("opt-out", with_("opt-out", phone=""), ["phone: empty or whitespace only"]),
        ("opt-out", with_("opt-out", source=" "), ["source: empty or whitespace only"]),
        ("consent-changed", with_("consent-changed", source=""), ["source: empty or whitespace only"]),
        ("call-outcome", with_("call-outcome", lead_id=""), ["lead_id: empty or whitespace only"]),
        ("call-outcome", with_("call-outcome", campaign_id=" "), ["campaign_id: empty or whitespace only"]),
        (
            "opt-out",
            with_("opt-out", category="TEMPORARY"),
            ["expires_at: a TEMPORARY opt-out needs the time it ends"],
        ),
        (
            "opt-out",
            with_("opt-out", scope="CAMPAIGN", campaign_id=" "),
            ["campaign_id: an opt-out with scope CAMPAIGN needs the campaign it covers"],
        ),
        (
            "consent-changed",
            with_("consent-changed", proof=None),
            ["proof: a consent GRANT needs its proof (form, text, time, certificate or IP)"],
        ),
        (
            "call-outcome",
            with_("call-outcome", outcome="CALLBACK_REQUESTED"),
            ["callback_at: a CALLBACK_REQUESTED outcome needs the time to call back"],
        ),
    ],
)
def test_each_problem_names_its_field(kind: str, record: dict[str, Any], expected: list[str]) -> None:
    assert validate_input(kind, record, NOW) == expected


def test_records_that_satisfy_their_conditions_pass() -> None:
    later = NOW + timedelta(days=30)

    assert validate_input("opt-out", with_("opt-out", category="TEMPORARY", expires_at=later), NOW) == []
    assert validate_input("opt-out", with_("opt-out", scope="CAMPAIGN", campaign_id="solar-q4"), NOW) == []
    assert validate_input("consent-changed", with_("consent-changed", action="REVOKE", proof=None), NOW) == []
    callback = with_("call-outcome", outcome="CALLBACK_REQUESTED", callback_at=later, callback_notes="n" * 2_000,
                     contact_role="r" * 100)
    assert validate_input("call-outcome", callback, NOW) == []


@pytest.mark.parametrize(
    ("occurred_at", "problem"),
    [
        (NOW + timedelta(days=1), None),  # clocks disagree a little: accepted
        (NOW - timedelta(days=400), None),  # old events are fine (replays, imports)
        (NOW + timedelta(days=1, seconds=1), "is more than a day after now"),
        (datetime(2026, 6, 1, 16), "has no time zone"),  # noqa: DTZ001 - the point of the test
        (None, "occurred_at: missing"),
        (1780329600000, "expected a time"),
    ],
)
def test_occurred_at(occurred_at: object, problem: str | None) -> None:
    problems = validate_input("lead-captured", with_("lead-captured", occurred_at=occurred_at), NOW)

    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith("occurred_at: ")
        assert problem in problems[0]


def test_every_problem_is_reported_not_just_the_first() -> None:
    record = with_("opt-out", event_id="", phone=" ", category="TEMPORARY", scope="CAMPAIGN")

    problems = validate_input("opt-out", record, NOW)

    assert [p.split(":")[0] for p in problems] == ["event_id", "phone", "expires_at", "campaign_id"]


def test_wrong_types_are_problems_not_crashes() -> None:
    problems = validate_input("lead-captured", with_("lead-captured", lead_id=42), NOW)

    assert problems == ["lead_id: expected text, got int"]


def test_caller_bugs_raise() -> None:
    with pytest.raises(ValueError, match="unknown input kind"):
        validate_input("lead-decision", VALID["lead-captured"], NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_input("opt-out", VALID["opt-out"], datetime(2026, 6, 1))  # noqa: DTZ001 - the point
