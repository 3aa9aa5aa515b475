"""API keys and HMAC signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.gateway.auth import ApiKey, AuthFailure, KeyRing, load_api_keys, parse_api_keys, sign

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
