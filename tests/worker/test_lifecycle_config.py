"""Lifecycle and qualification files, and the test clock file, as the worker loads them at start-up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.core.lifecycle import LifecyclePolicy
from pipeline.core.qualification import Framework
from pipeline.errors import ConfigError
from pipeline.packaged import default_framework, default_lifecycle
from pipeline.worker.clock import make_clock
from pipeline.worker.policies import Policies, load_policies


def load_lifecycle_policies(settings: Settings) -> tuple[LifecyclePolicy, Framework]:
    policies: Policies = load_policies(settings, with_registries=False)
    return policies.lifecycle, policies.qualification


def test_without_files_the_packaged_policies_are_used() -> None:
    lifecycle, framework = load_lifecycle_policies(Settings.from_env({}))
    assert lifecycle == default_lifecycle() and framework == default_framework()
    assert lifecycle.failed_days_to_inactive == 3


def test_files_replace_the_packaged_policies(tmp_path: Path) -> None:
    (tmp_path / "lifecycle.json").write_text(json.dumps({"outcomes": {"BUSY": {"retry_after": 5}}}))
    (tmp_path / "qualification.json").write_text(json.dumps(
        {"criteria": [{"id": "fit", "answer": "fit", "accepted": ["yes"], "kind": "FIT"}]}))
    settings = Settings.from_env({"LEADPIPE_LIFECYCLE_PATH": str(tmp_path / "lifecycle.json"),
                                  "LEADPIPE_QUALIFICATION_PATH": str(tmp_path / "qualification.json")})
    lifecycle, framework = load_lifecycle_policies(settings)
    assert lifecycle.rule("BUSY").retry_after == timedelta(minutes=5)
    assert [c.criterion_id for c in framework.criteria] == ["fit"]


def test_a_missing_or_broken_file_stops_start_up_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LEADPIPE_LIFECYCLE_PATH"):
        Settings.from_env({"LEADPIPE_LIFECYCLE_PATH": str(tmp_path / "nope.json")})
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="LEADPIPE_QUALIFICATION_PATH"):
        load_lifecycle_policies(Settings.from_env({"LEADPIPE_QUALIFICATION_PATH": str(broken)}))
    broken.write_text(json.dumps({"outcomes": {"SALE": {"retry_after": 5}}}))
    with pytest.raises(ConfigError, match=r"outcomes\.SALE\.retry_after"):
        load_lifecycle_policies(Settings.from_env({"LEADPIPE_LIFECYCLE_PATH": str(broken)}))


def test_the_clock_file_is_read_on_every_call(tmp_path: Path) -> None:
    clock_file = tmp_path / "clock"
    first = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    clock_file.write_text(first.isoformat())
    clock = make_clock(Settings.from_env({"LEADPIPE_CLOCK_FILE": str(clock_file),
                                          "LEADPIPE_FIXED_CLOCK": "2020-01-01T00:00:00Z"}))
    assert clock() == first
    clock_file.write_text((first + timedelta(days=2)).isoformat())
    assert clock() == first + timedelta(days=2)
    clock_file.write_text("")  # caught mid-rewrite: the last instant stands
    assert clock() == first + timedelta(days=2)


def test_a_clock_file_without_an_instant_stops_start_up(tmp_path: Path) -> None:
    clock_file = tmp_path / "clock"
    clock_file.write_text("2026-11-24T17:00:00")  # no offset
    with pytest.raises(ConfigError, match="LEADPIPE_CLOCK_FILE"):
        Settings.from_env({"LEADPIPE_CLOCK_FILE": str(clock_file)})


@pytest.mark.parametrize("environ", [{}, {"LEADPIPE_FIXED_CLOCK": "2026-12-06T13:11:37.723719Z"}, "file"])
def test_every_clock_ticks_in_the_wires_milliseconds(environ: dict[str, str] | str, tmp_path: Path) -> None:
    if environ == "file":
        (tmp_path / "clock").write_text("2026-12-06T13:11:37.723719+00:00")
        environ = {"LEADPIPE_CLOCK_FILE": str(tmp_path / "clock")}
    assert isinstance(environ, dict)
    clock = make_clock(Settings.from_env(environ))
    for _ in range(50):  # the system clock: some of 50 readings would show microseconds
        assert clock().microsecond % 1000 == 0
