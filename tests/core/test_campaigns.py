"""Campaign policies: the shipped book and the validation of campaign JSON."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from pipeline.core.campaigns import CampaignPolicy, load_campaigns
from pipeline.errors import ConfigError
from pipeline.packaged import default_campaigns


def test_the_shipped_book() -> None:
    book = default_campaigns()

    solar = book.policy_for("solar-q4")
    assert (solar.requires_consent, solar.channel, solar.consent_purpose) == (
        True,
        "AUTODIALED_VOICE",
        "marketing",
    )
    renewals = book.policy_for("insurance-renewals")
    assert (renewals.requires_consent, renewals.channel) == (False, "VOICE")
    assert (renewals.call_start, renewals.call_end) == (time(9, 0), time(20, 0))


def test_an_unlisted_campaign_gets_the_cautious_default() -> None:
    policy = default_campaigns().policy_for("never-heard-of-it")
    assert policy.campaign_id == "default"
    assert policy.requires_consent is True
    assert (policy.call_start, policy.call_end) == (time(8, 0), time(21, 0))


def test_settings_are_optional_and_the_default_campaign_too() -> None:
    book = load_campaigns({"campaigns": {"bare": {}}})
    assert book.policy_for("bare") == CampaignPolicy("bare")
    assert book.default == CampaignPolicy("default")


def test_the_book_cannot_be_changed_after_loading() -> None:
    source: dict[str, dict[str, object]] = {"campaigns": {"a": {}}}
    book = load_campaigns(source)
    source["campaigns"]["b"] = {}
    assert book.policy_for("b").campaign_id == "default"
    with pytest.raises(TypeError):
        book.policies["b"] = CampaignPolicy("b")  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], 'exactly one key, "campaigns"'),
        ({"campaigns": {}, "extra": 1}, 'exactly one key, "campaigns"'),
        ({"campaigns": []}, "must map campaign ids"),
        ({"campaigns": {"solar": "yes"}}, "campaign 'solar': expected an object"),
        (
            {"campaigns": {"solar": {"requires_concent": True}}},
            "campaign 'solar': key 'requires_concent': unknown",
        ),
        ({"campaigns": {"solar": {"requires_consent": "false"}}}, "campaign 'solar': key 'requires_consent'"),
        ({"campaigns": {"solar": {"channel": "FAX"}}}, "campaign 'solar': key 'channel'"),
        ({"campaigns": {"solar": {"call_start": "8am"}}}, "campaign 'solar': key 'call_start'"),
        ({"campaigns": {"solar": {"call_end": 21}}}, "campaign 'solar': key 'call_end'"),
        (
            {"campaigns": {"solar": {"call_start": "08:00+02:00"}}},
            "campaign 'solar': key 'call_start': calling hours",
        ),
        (
            {"campaigns": {"solar": {"call_start": "21:00", "call_end": "08:00"}}},
            "campaign 'solar': key 'call_end'",
        ),
        ({"campaigns": {"solar": {"consent_purpose": " "}}}, "campaign 'solar': key 'consent_purpose'"),
        ({"campaigns": {"solar": {"hours_rule_id": None, "channel": "SMS", "x": 1}}}, "key 'x'"),
        ({"campaigns": {"solar": {"duplicate_window_days": -1}}}, "key 'duplicate_window_days'"),
        ({"campaigns": {"solar": {"duplicate_window_days": 1.5}}}, "key 'duplicate_window_days'"),
        ({"campaigns": {"solar": {"duplicate_window_days": True}}}, "key 'duplicate_window_days'"),
    ],
)
def test_invalid_campaigns_name_the_campaign_and_key(data: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_campaigns(data)
