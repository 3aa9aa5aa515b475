"""The enrichment settings at the edge: line-type file, email stage switch, scoring file forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.core.scoring import ScoringModel
from pipeline.errors import ConfigError
from pipeline.packaged import default_scoring
from pipeline.worker.policies import load_line_types, load_scoring_config


def test_the_email_stage_is_on_by_default_and_can_be_switched_off() -> None:
    assert Settings.from_env({}).dedupe_by_email is True
    assert Settings.from_env({"LEADPIPE_DEDUPE_BY_EMAIL": "false"}).dedupe_by_email is False
    with pytest.raises(ConfigError, match="LEADPIPE_DEDUPE_BY_EMAIL"):
        Settings.from_env({"LEADPIPE_DEDUPE_BY_EMAIL": "maybe"})


def test_no_line_type_file_by_default_and_a_configured_one_is_read(tmp_path: Path) -> None:
    assert load_line_types(Settings.from_env({})) is None
    path = tmp_path / "types.csv"
    path.write_text("number,line_type\n+1214,LANDLINE\n")
    source = load_line_types(Settings.from_env({"LEADPIPE_LINE_TYPES_PATH": str(path)}))
    assert source is not None and source.line_type("+12142094411") == "LANDLINE"


def test_a_bad_line_type_file_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LEADPIPE_LINE_TYPES_PATH"):
        Settings.from_env({"LEADPIPE_LINE_TYPES_PATH": str(tmp_path / "missing.csv")})
    path = tmp_path / "types.csv"
    path.write_text("+1214,CELL\n")
    with pytest.raises(ConfigError, match=r"LEADPIPE_LINE_TYPES_PATH=.*types.csv: line 1"):
        load_line_types(Settings.from_env({"LEADPIPE_LINE_TYPES_PATH": str(path)}))


def test_a_scoring_file_may_be_a_list_of_rules_or_the_object_form(tmp_path: Path) -> None:
    assert load_scoring_config(Settings.from_env({})) == default_scoring()
    rule = {"id": "r", "field": "source", "op": "present", "weight": 1}
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([rule]))
    rules, model = load_scoring_config(Settings.from_env({"LEADPIPE_SCORING_RULES_PATH": str(listed)}))
    assert [r.rule_id for r in rules] == ["r"] and model == ScoringModel()
    whole = tmp_path / "object.json"
    whole.write_text(json.dumps({"rules": [rule], "temperature": {"default": "cold", "points": {"cold": -5}}}))
    _, model = load_scoring_config(Settings.from_env({"LEADPIPE_SCORING_RULES_PATH": str(whole)}))
    assert model.default_temperature == "cold" and model.temperature_points == {"cold": -5.0}
