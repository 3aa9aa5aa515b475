"""API keys per source and HMAC-SHA256 body signatures.

The keys file (``LEADPIPE_API_KEYS_PATH``) is JSON::

    {"keys": [{"key_id": "webform-main", "source": "webform-main", "key": "<secret>", "hmac_secret": null}]}

A request names its key in ``X-API-Key``. When the key has an ``hmac_secret``, the request must also
carry ``X-Leadpipe-Signature: sha256=<hex HMAC-SHA256 of the raw body>``. Keys and signatures are
compared with :func:`hmac.compare_digest`, and every configured key is compared on every request, so
the time an answer takes says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError

SIGNATURE_PREFIX = "sha256="
KEY_HEADER = "X-API-Key"
SIGNATURE_HEADER = "X-Leadpipe-Signature"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    """Names the key in logs and answers; not a secret."""
    source: str
    """The ``source`` every lead sent with this key carries."""
    key: str = field(repr=False)
    hmac_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AuthFailure:
    """Why a request is not authenticated; answered 401 with ``reason``."""

    reason: str


def parse_api_keys(document: object, *, origin: str = "API keys") -> tuple[ApiKey, ...]:
    """Keys from the decoded keys document; raise :class:`ConfigError` naming what is wrong."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ConfigError(f'{origin}: expected {{"keys": [...]}}')
    keys: list[ApiKey] = []
    for i, entry in enumerate(document["keys"]):
        where = f"{origin}: keys[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected an object")
        for name in ("key_id", "source", "key"):
            value = entry.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}.{name}: expected non-empty text")
        secret = entry.get("hmac_secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ConfigError(f"{where}.hmac_secret: expected non-empty text or null")
        if len(entry["key"]) < 16:
            raise ConfigError(f"{where}.key: at least 16 characters (a guessable key is no key)")
        keys.append(ApiKey(entry["key_id"], entry["source"], entry["key"], secret))
    if not keys:
        raise ConfigError(f"{origin}: no keys: nobody could send anything")
    seen: set[str] = set()
    for k in keys:
        if k.key_id in seen:
            raise ConfigError(f"{origin}: key_id {k.key_id!r} appears twice")
        seen.add(k.key_id)
    if len({k.key for k in keys}) != len(keys):
        raise ConfigError(f"{origin}: two entries share one key: a key must identify one source")
    return tuple(keys)


def load_api_keys(path: Path | None) -> tuple[ApiKey, ...]:
    """Keys from the file ``LEADPIPE_API_KEYS_PATH`` names; the gateway does not start without one."""
    if path is None:
        raise ConfigError("LEADPIPE_API_KEYS_PATH is not set: the gateway needs a file of API keys "
                          '({"keys": [{"key_id", "source", "key", "hmac_secret"}]}, see docs/gateway.md)')
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"LEADPIPE_API_KEYS_PATH={path}: cannot read JSON: {exc}") from exc
    return parse_api_keys(document, origin=f"LEADPIPE_API_KEYS_PATH={path}")


def sign(secret: str, body: bytes) -> str:
    """The ``X-Leadpipe-Signature`` value for ``body``: ``sha256=<hex>``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class KeyRing:
    """The configured keys; answers who sent a request, or why nobody we know did."""

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self._keys = tuple((k, k.key.encode()) for k in keys)

    def __len__(self) -> int:
        return len(self._keys)

    def authenticate(self, key: str | None, signature: str | None, body: bytes) -> ApiKey | AuthFailure:
        """The key ``key`` names, if the signature (when the key needs one) matches ``body``."""
        if not key:
            return AuthFailure(f"missing {KEY_HEADER} header")
        given = key.encode("utf-8", "replace")
        found: ApiKey | None = None
        for candidate, raw in self._keys:
            # No early exit: every key is compared whatever matched.
            if hmac.compare_digest(given, raw):
                found = candidate
        if found is None:
            return AuthFailure("unknown API key")
        if found.hmac_secret is None:
            return found
        if not signature:
            return AuthFailure(f"missing {SIGNATURE_HEADER} header: this key signs its requests")
        expected = sign(found.hmac_secret, body).encode()
        if not hmac.compare_digest(signature.strip().encode("utf-8", "replace"), expected):
            return AuthFailure(f"{SIGNATURE_HEADER} does not match the body (expected sha256=<hex HMAC-SHA256>)")
        return found
