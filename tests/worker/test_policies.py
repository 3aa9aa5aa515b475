"""Counsel's rule-pack overrides as the worker loads them at start-up (LEADPIPE_RULE_PACK_OVERRIDES_PATH)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.core.rulepack import jurisdictions, legal_window
from pipeline.errors import ConfigError
from pipeline.events import PhoneInfo
from pipeline.packaged import default_rule_pack
from pipeline.worker.policies import load_rule_pack

FLORIDA: PhoneInfo = {"phone_e164": "+13052094411", "region": "US", "number_type": "FIXED_LINE_OR_MOBILE",
                      "time_zones": ["America/New_York"], "area_code_region": "FL", "carrier": None,
                      "line_type": "UNKNOWN", "area_code_location": "Florida"}
EVENING = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # Tue 19:30 in Florida


def settings_with(path: Path) -> Settings:
    return Settings.from_env({"LEADPIPE_RULE_PACK_OVERRIDES_PATH": str(path)})


def test_counsel_can_tighten_a_rule_by_editing_a_file_and_the_version_says_so(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"rules": [{"id": "us.fl.hours", "params": {"start": "08:00", "end": "19:00"}}]}))
    pack = load_rule_pack(settings_with(overrides))
    assert pack.version.startswith(default_rule_pack().version + "+local.")
    where = jurisdictions(FLORIDA, None, None)
    assert legal_window(default_rule_pack(), where, FLORIDA["time_zones"], EVENING).window.open_now
    closed = legal_window(pack, where, FLORIDA["time_zones"], EVENING)
    assert not closed.window.open_now
    assert closed.deciding_rule == "us.fl.hours"


def test_a_broken_overrides_file_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text("{not json")
    with pytest.raises(ConfigError, match="LEADPIPE_RULE_PACK_OVERRIDES_PATH"):
        load_rule_pack(settings_with(overrides))
