"""The worker's web settings: reads behind a key, Faust's own views off unless asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.worker.access import faust_web_options, worker_read_keys

FLAGS = ("web_router_enabled", "web_tables_enabled", "web_stats_enabled", "web_graph_enabled", "web_metrics_enabled")


def test_fausts_views_are_off_by_default_and_on_only_when_asked() -> None:
    default = faust_web_options(Settings.from_env({}), None)
    assert [default[flag] for flag in FLAGS] == [False] * len(FLAGS)
    assert len(default["web_application_options"]["middlewares"]) == 1  # the read check
    asked = faust_web_options(Settings.from_env({"LEADPIPE_FAUST_VIEWS": "true"}), None)
    assert [asked[flag] for flag in FLAGS] == [True] * len(FLAGS)


def test_a_worker_without_keys_refuses_to_start_unless_reads_are_opened_on_loopback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LEADPIPE_OPEN_READS=true for a local run"):
        worker_read_keys(Settings.from_env({}))
    assert worker_read_keys(Settings.from_env({"LEADPIPE_OPEN_READS": "true"})) is None
    with pytest.raises(ConfigError, match="loopback address only"):
        worker_read_keys(Settings.from_env({"LEADPIPE_OPEN_READS": "true", "LEADPIPE_WEB_HOST": "0.0.0.0"}))  # noqa: S104
    assert worker_read_keys(Settings.from_env({"LEADPIPE_WEB_ENABLED": "false"})) is None  # no web server, no reads
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [{"key_id": "ops", "source": "ops", "key": "ops-key-0123456789abc",
                                          "hmac_secret": None, "scopes": ["read"]}]}))
    ring = worker_read_keys(Settings.from_env({"LEADPIPE_API_KEYS_PATH": str(keys), "LEADPIPE_WEB_HOST": "0.0.0.0"}))  # noqa: S104
    assert ring is not None and ring.can("read")
