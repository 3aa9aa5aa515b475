"""The dialer's and web forms' settings: read from LEADPIPE_* variables, validated with the name."""

from __future__ import annotations

import pytest

from pipeline.config import Settings
from pipeline.errors import ConfigError


def test_defaults_and_values_from_the_environment() -> None:
    default = Settings.from_env({})
    assert default.dial_check_urls == ("http://127.0.0.1:6066",)
    assert (default.gateway_url, default.api_key, default.dialer_campaigns) == (None, None, ())

    settings = Settings.from_env({
        "LEADPIPE_DIAL_CHECK_URLS": "http://w1:6066/, http://w2:6066",
        "LEADPIPE_GATEWAY_URL": "http://127.0.0.1:8081/", "LEADPIPE_API_KEY": "k-secret",
        "LEADPIPE_DIALER_CALLS_PER_SECOND": "5", "LEADPIPE_DIALER_TALK_TIME_S": "0",
        "LEADPIPE_DIALER_CAMPAIGNS": "solar-q4, insurance-renewals", "LEADPIPE_DIALER_SEED": "3",
        "LEADPIPE_DIALER_AGENTS": "a-101, a-102",
    })
    assert settings.dialer_agents == ("a-101", "a-102") and default.dialer_agents == ()
    assert settings.dial_check_urls == ("http://w1:6066", "http://w2:6066")
    assert settings.gateway_url == "http://127.0.0.1:8081"
    assert (settings.dialer_calls_per_second, settings.dialer_talk_time_s, settings.dialer_seed) == (5.0, 0.0, 3)
    assert settings.dialer_campaigns == ("solar-q4", "insurance-renewals")
    assert "k-secret" not in settings.describe() and "k-secret" not in repr(settings)


@pytest.mark.parametrize(("name", "value"), [
    ("DIAL_CHECK_URLS", "worker:6066"),
    ("GATEWAY_URL", "127.0.0.1:8081"),
    ("DIALER_CALLS_PER_SECOND", "0"),
    ("DIALER_TALK_TIME_S", "-1"),
    ("DIALER_SEED", "x"),
    ("DIALER_AGENTS", "a-1,a-1"),
])
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"LEADPIPE_{name}"):
        Settings.from_env({f"LEADPIPE_{name}": value})
