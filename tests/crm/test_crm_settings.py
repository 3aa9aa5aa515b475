"""LEADPIPE_CRM_* settings: read, validated with the variable named, the token never shown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.crm import crm_dead_letter, target_from_settings
from pipeline.config import Settings
from pipeline.errors import ConfigError


def test_crm_settings_are_read_and_the_token_is_hidden(tmp_path: Path) -> None:
    mapping = tmp_path / "m.json"
    mapping.write_text('{"fields": {"Phone": "phone_e164"}}')
    settings = Settings.from_env({
        "LEADPIPE_CRM_URL": "https://crm.example.com/leads", "LEADPIPE_CRM_PRESET": "salesforce",
        "LEADPIPE_CRM_MAPPING_PATH": str(mapping), "LEADPIPE_CRM_TOKEN": "sekrit-token",
        "LEADPIPE_CRM_MAX_ATTEMPTS": "7", "LEADPIPE_CRM_BACKOFF_BASE_S": "0.25", "LEADPIPE_CRM_BACKOFF_CAP_S": "8",
        "LEADPIPE_CRM_TIMEOUT_S": "3", "LEADPIPE_CRM_GROUP_ID": "crm-eu", "LEADPIPE_CRM_PORT": "7000",
    })
    assert (settings.crm_url, settings.crm_preset, settings.crm_mapping_path, settings.crm_max_attempts) == (
        "https://crm.example.com/leads", "salesforce", mapping, 7)
    assert (settings.crm_backoff_base_s, settings.crm_backoff_cap_s, settings.crm_timeout_s) == (0.25, 8.0, 3.0)
    assert (settings.crm_group_id, settings.crm_port) == ("crm-eu", 7000)
    assert "sekrit-token" not in settings.describe() and "sekrit-token" not in repr(settings)
    assert "crm_token=***" in settings.describe()
    target = target_from_settings(settings)
    assert target.mapping.name == "custom"  # the mapping file wins over the preset
    assert target.policy.max_attempts == 7
    assert target.token == settings.crm_token


def test_credentials_in_the_crm_url_are_not_logged() -> None:
    settings = Settings.from_env({"LEADPIPE_CRM_URL": "https://user:pa55@crm.example.com/x"})
    assert "pa55" not in settings.describe()


@pytest.mark.parametrize(("env", "message"), [
    ({"LEADPIPE_CRM_URL": "ftp://crm"}, "LEADPIPE_CRM_URL"),
    ({"LEADPIPE_CRM_PRESET": "pipedrive"}, "LEADPIPE_CRM_PRESET='pipedrive'"),
    ({"LEADPIPE_CRM_MAPPING_PATH": "/nonexistent/m.json"}, "LEADPIPE_CRM_MAPPING_PATH"),
    ({"LEADPIPE_CRM_MAX_ATTEMPTS": "0"}, "LEADPIPE_CRM_MAX_ATTEMPTS=0"),
    ({"LEADPIPE_CRM_TIMEOUT_S": "soon"}, "LEADPIPE_CRM_TIMEOUT_S"),
    ({"LEADPIPE_CRM_BACKOFF_BASE_S": "5", "LEADPIPE_CRM_BACKOFF_CAP_S": "1"}, "LEADPIPE_CRM_BACKOFF_CAP_S=1.0"),
])
def test_bad_crm_settings_stop_start_up_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_the_connector_needs_a_url() -> None:
    with pytest.raises(ConfigError, match="LEADPIPE_CRM_URL is not set"):
        target_from_settings(Settings())


def test_dead_letter_ids_are_stable_across_redeliveries() -> None:
    now = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    first = crm_dead_letter("qualified-lead", 2, 41, b"k", b"v", "CrmRefused", "HTTP 400", now)
    again = crm_dead_letter("qualified-lead", 2, 41, b"k", b"v", "CrmRefused", "HTTP 400", now)
    assert first["event_id"] == again["event_id"]
    assert first["stage"] == "crm-delivery" and first["value"] == b"v"
    assert crm_dead_letter("qualified-lead", 2, 42, b"k", b"v", "CrmRefused", "x", now)["event_id"] != first["event_id"]
