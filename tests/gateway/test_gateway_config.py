"""The gateway's settings: read from LEADPIPE_* variables, bad values named at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.errors import ConfigError


def test_defaults_bind_loopback() -> None:
    settings = Settings.from_env({})
    assert (settings.gateway_host, settings.gateway_port) == ("127.0.0.1", 8080)
    assert settings.api_keys_path is None
    assert settings.gateway_max_body_bytes == 64 * 1024
    assert settings.gateway_cors_origins == ()
    assert settings.gateway_delivery_timeout_s == 5.0


def test_every_gateway_variable(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text("{}")
    settings = Settings.from_env({
        "LEADPIPE_GATEWAY_HOST": "10.0.0.5", "LEADPIPE_GATEWAY_PORT": "9000", "LEADPIPE_API_KEYS_PATH": str(keys),
        "LEADPIPE_GATEWAY_MAX_BODY_BYTES": "2048", "LEADPIPE_GATEWAY_CORS_ORIGINS": " https://a.example , https://b.example,",
        "LEADPIPE_GATEWAY_DELIVERY_TIMEOUT_S": "1.5", "LEADPIPE_GATEWAY_LINGER_MS": "0",
    })
    assert (settings.gateway_host, settings.gateway_port, settings.api_keys_path) == ("10.0.0.5", 9000, keys)
    assert settings.gateway_max_body_bytes == 2048
    assert settings.gateway_cors_origins == ("https://a.example", "https://b.example")
    assert (settings.gateway_delivery_timeout_s, settings.gateway_linger_ms) == (1.5, 0)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("GATEWAY_PORT", "http", "LEADPIPE_GATEWAY_PORT='http': expected a whole number"),
    ("API_KEYS_PATH", "/nonexistent/keys.json", "LEADPIPE_API_KEYS_PATH='/nonexistent/keys.json': no such file"),
    ("GATEWAY_MAX_BODY_BYTES", "10", "LEADPIPE_GATEWAY_MAX_BODY_BYTES=10: must be at least 1024"),
    ("GATEWAY_DELIVERY_TIMEOUT_S", "0.1", "LEADPIPE_GATEWAY_DELIVERY_TIMEOUT_S=0.1: must be at least 0.5"),
])
def test_a_bad_value_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({f"LEADPIPE_{name}": value})
    assert str(raised.value) == message
