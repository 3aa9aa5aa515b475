"""Settings that protect people: the erasure key has no public default."""

from __future__ import annotations

import pytest

from pipeline.config import PUBLIC_ERASURE_KEY, Settings
from pipeline.errors import ConfigError
from pipeline.worker.app import create_app


@pytest.mark.parametrize(("env", "message"), [
    ({}, "LEADPIPE_ERASURE_KEY is not set"),
    ({"LEADPIPE_ERASURE_KEY": PUBLIC_ERASURE_KEY}, "LEADPIPE_ERASURE_KEY is the public development key"),
    ({"LEADPIPE_ERASURE_KEY": "short"}, "LEADPIPE_ERASURE_KEY: 5 characters, at least 16"),
])
def test_an_unset_public_or_short_erasure_key_is_refused_naming_the_setting(env: dict[str, str],
                                                                             message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env).erasure_secret()


def test_a_secret_erasure_key_is_used_and_never_shown() -> None:
    settings = Settings.from_env({"LEADPIPE_ERASURE_KEY": "a-secret-of-enough-length"})
    assert settings.erasure_secret() == b"a-secret-of-enough-length"
    assert "a-secret" not in settings.describe() and "a-secret" not in repr(settings)


def test_the_worker_refuses_to_start_without_one() -> None:
    settings = Settings.from_env({"LEADPIPE_BOOTSTRAP_SERVERS": "127.0.0.1:1", "LEADPIPE_OPEN_READS": "true"})
    with pytest.raises(ConfigError, match="LEADPIPE_ERASURE_KEY is not set"):
        create_app(settings)
