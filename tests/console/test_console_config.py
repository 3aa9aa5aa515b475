"""The console's settings and CLI entry."""

from __future__ import annotations

import pytest

from pipeline.cli import build_parser
from pipeline.config import Settings
from pipeline.console.service import Console, dashboard_html
from pipeline.errors import ConfigError


def test_defaults_bind_loopback_on_8082() -> None:
    s = Settings.from_env({})
    assert (s.console_host, s.console_port, s.worker_urls) == ("127.0.0.1", 8082, ())


def test_worker_urls_are_a_comma_list() -> None:
    s = Settings.from_env({"LEADPIPE_WORKER_URLS": " http://127.0.0.1:6066/ ,http://127.0.0.1:6067",
                           "LEADPIPE_CONSOLE_PORT": "9000"})
    assert s.worker_urls == ("http://127.0.0.1:6066", "http://127.0.0.1:6067")
    assert s.console_port == 9000


@pytest.mark.parametrize(("env", "named"), [
    ({"LEADPIPE_WORKER_URLS": "127.0.0.1:6066"}, "LEADPIPE_WORKER_URLS"),
    ({"LEADPIPE_CONSOLE_PORT": "eighty"}, "LEADPIPE_CONSOLE_PORT"),
])
def test_bad_values_are_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_console_needs_a_cluster() -> None:
    with pytest.raises(ConfigError, match="LEADPIPE_BOOTSTRAP_SERVERS"):
        Console(Settings())


def test_cli_has_the_console_command() -> None:
    args = build_parser().parse_args(["console"])
    assert args.func.__name__ == "cmd_console"


def test_dashboard_is_self_contained() -> None:
    page = dashboard_html()
    assert "<script src" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    for element_id in ("funnel-captured", "funnel-qualified", "reasons-chart", "sources-body", "latency-count",
                       "lag-total", "health-contact_rate", "update-seq"):
        assert f'id="{element_id}"' in page
