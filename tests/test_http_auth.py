"""API keys and HMAC signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.http_auth import ApiKey, AuthFailure, KeyRing, load_api_keys, parse_api_keys, read_keys, sign

PLAIN = {"key_id": "webform-main", "source": "webform-main", "key": "plain-key-0123456789", "hmac_secret": None}
SIGNED = {"key_id": "vendor-x", "source": "vendor-x", "key": "vendor-key-0123456789", "hmac_secret": "s3cret"}
RING = KeyRing(parse_api_keys({"keys": [PLAIN, SIGNED]}))
BODY = b'{"phone": "+13052094411", "campaign_id": "solar-q4"}'


def test_a_known_key_names_its_source() -> None:
    who = RING.authenticate("plain-key-0123456789", None, BODY)
    assert isinstance(who, ApiKey)
    assert (who.key_id, who.source) == ("webform-main", "webform-main")


@pytest.mark.parametrize(("key", "signature", "reason"), [
    (None, None, "missing X-API-Key header"),
    ("", None, "missing X-API-Key header"),
    ("plain-key-012345678", None, "unknown API key"),  # a prefix of a real key
    ("plain-key-01234567890", None, "unknown API key"),  # a real key and more
    ("PLAIN-KEY-0123456789", None, "unknown API key"),
    ("vendor-key-0123456789", None, "missing X-Leadpipe-Signature header: this key signs its requests"),
    ("vendor-key-0123456789", "sha256=" + "0" * 64,
     "X-Leadpipe-Signature does not match the body (expected sha256=<hex HMAC-SHA256>)"),
    ("vendor-key-0123456789", sign("another-secret", BODY),
     "X-Leadpipe-Signature does not match the body (expected sha256=<hex HMAC-SHA256>)"),
    ("vendor-key-0123456789", sign("s3cret", BODY + b" "),
     "X-Leadpipe-Signature does not match the body (expected sha256=<hex HMAC-SHA256>)"),
    ("clé-non-ascii-\udcff", None, "unknown API key"),  # undecodable header bytes do not crash
])
def test_missing_or_wrong_credentials_are_refused_with_a_reason(key: str | None, signature: str | None,
                                                                  reason: str) -> None:
    assert RING.authenticate(key, signature, BODY) == AuthFailure(reason)


def test_a_signed_key_accepts_the_hmac_of_the_raw_body() -> None:
    signature = sign("s3cret", BODY)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    who = RING.authenticate("vendor-key-0123456789", signature, BODY)
    assert isinstance(who, ApiKey) and who.source == "vendor-x"


def test_secrets_stay_out_of_reprs() -> None:
    text = repr(parse_api_keys({"keys": [SIGNED]}))
    assert "vendor-key" not in text and "s3cret" not in text


@pytest.mark.parametrize(("document", "message"), [
    ([], 'expected {"keys": [...]}'),
    ({"keys": []}, "no keys"),
    ({"keys": ["k"]}, "keys[0]: expected an object"),
    ({"keys": [{**PLAIN, "source": ""}]}, "keys[0].source: expected non-empty text"),
    ({"keys": [{**PLAIN, "key": "short"}]}, "keys[0].key: at least 16 characters"),
    ({"keys": [{**PLAIN, "hmac_secret": 5}]}, "keys[0].hmac_secret: expected non-empty text or null"),
    ({"keys": [PLAIN, {**SIGNED, "key_id": "webform-main"}]}, "key_id 'webform-main' appears twice"),
    ({"keys": [PLAIN, {**SIGNED, "key": PLAIN["key"]}]}, "two entries share one key"),
])
def test_a_bad_keys_document_stops_start_up_with_its_fault_named(document: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_api_keys(document)


def test_the_keys_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [PLAIN, SIGNED]}))
    assert [k.key_id for k in load_api_keys(path)] == ["webform-main", "vendor-x"]
    with pytest.raises(ConfigError, match="LEADPIPE_API_KEYS_PATH is not set"):
        load_api_keys(None)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read JSON"):
        load_api_keys(path)


# --- scopes, reads and browser sessions --------------------------------------------------------------

READER = {"key_id": "ops", "source": "ops", "key": "ops-key-0123456789abcdef", "hmac_secret": None, "scopes": ["read"]}
DIALER = {"key_id": "dialer", "source": "dialer:main", "key": "dialer-key-0123456789ab", "hmac_secret": None,
          "scopes": ["read", "write"]}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def ring(clock: Clock | None = None) -> KeyRing:
    return KeyRing(parse_api_keys({"keys": [PLAIN, SIGNED, READER, DIALER]}), clock=clock or Clock())


def test_keys_without_scopes_write_as_before_and_scopes_are_checked() -> None:
    keys = {k.key_id: k.scopes for k in parse_api_keys({"keys": [PLAIN, READER, DIALER]})}
    assert keys == {"webform-main": {"write"}, "ops": {"read"}, "dialer": {"read", "write"}}
    for bad in ([], ["admin"], "read", None):
        with pytest.raises(ConfigError, match=r"keys\[0\]\.scopes"):
            parse_api_keys({"keys": [{**PLAIN, "scopes": bad}]})


def test_the_example_keys_file_loads() -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "api-keys.example.json"
    keys = load_api_keys(example)
    assert {k.key_id for k in keys} >= {"webform-solar", "dialer", "operations"}
    assert KeyRing(keys).can("read") and KeyRing(keys).can("write")


def test_a_read_only_key_cannot_write() -> None:
    assert ring().authenticate(READER["key"], None, BODY) == AuthFailure(
        "API key 'ops' may not write (its scopes: read)", 403)
    assert isinstance(ring().authenticate(DIALER["key"], None, BODY), ApiKey)


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, AuthFailure("send an API key (X-API-Key or Authorization: Bearer) or log in at /login")),
    ({"X-API-Key": "not-a-key-0123456789"}, AuthFailure("unknown API key")),
    ({"Authorization": "Bearer not-a-key-0123456789"}, AuthFailure("unknown API key")),
    ({"Authorization": "Basic b3BzOmtleQ=="}, AuthFailure(
        "send an API key (X-API-Key or Authorization: Bearer) or log in at /login")),
    ({"X-API-Key": PLAIN["key"]}, AuthFailure("API key 'webform-main' may not read (its scopes: write)", 403)),
    ({"X-API-Key": READER["key"]}, "ops"),
    ({"Authorization": f"Bearer {READER['key']}"}, "ops"),
    ({"authorization": f"bearer  {DIALER['key']}"}, "dialer"),
])
def test_reads_need_a_key_with_the_read_scope(headers: dict[str, str], expected: object) -> None:
    from multidict import CIMultiDict

    who = ring().authorize(CIMultiDict(headers), "read")
    assert (who.key_id if isinstance(who, ApiKey) else who) == expected


def test_a_session_cookie_stands_for_a_read_key_until_it_expires_and_cannot_be_forged() -> None:
    from multidict import CIMultiDict

    clock = Clock()
    keys = ring(clock)
    [reader] = [k for k in parse_api_keys({"keys": [READER]})]
    token = keys.session_token(reader)
    assert READER["key"] not in token

    def with_cookie(value: str) -> object:
        who = keys.authorize(CIMultiDict({"Cookie": f"other=1; leadpipe_session={value}"}), "read")
        return who.key_id if isinstance(who, ApiKey) else who.status

    assert with_cookie(token) == "ops"
    key_id, expires, mac = token.split(".")
    assert with_cookie(f"{key_id}.{int(expires) + 3600}.{mac}") == 401  # a later expiry: the MAC no longer fits
    assert with_cookie(f"dialer.{expires}.{mac}") == 401
    assert with_cookie("garbage") == 401
    clock.now += 12 * 3600 + 1
    assert with_cookie(token) == 401


def test_without_a_keys_file_reads_are_refused_unless_opened_on_loopback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"set LEADPIPE_API_KEYS_PATH .* or LEADPIPE_OPEN_READS=true"):
        read_keys(None, open_reads=False, host="127.0.0.1", service="the worker")
    with pytest.raises(ConfigError, match=r"loopback address only, not '0\.0\.0\.0'"):
        read_keys(None, open_reads=True, host="0.0.0.0", service="the worker")  # noqa: S104 - the refused case
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert read_keys(None, open_reads=True, host=host, service="the worker") is None
    writers_only = tmp_path / "keys.json"
    writers_only.write_text(json.dumps({"keys": [PLAIN]}))
    with pytest.raises(ConfigError, match="no key has the \"read\" scope"):
        read_keys(writers_only, open_reads=False, host="127.0.0.1", service="the console")
    writers_only.write_text(json.dumps({"keys": [PLAIN, READER]}))
    keys = read_keys(writers_only, open_reads=True, host="0.0.0.0", service="the console")  # noqa: S104 - keys win
    assert keys is not None and len(keys) == 2
