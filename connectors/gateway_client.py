"""A small synchronous client for leadpipe's HTTP gateway (``POST /v1/...`` with ``X-API-Key``).

It sends a body as it is given and, when the gateway answers 503 (broker unavailable) or cannot be
reached, sends the *same bytes* again after a growing pause. The body carries its ``event_id``, so
a retry after a lost answer is deduplicated downstream: retries are idempotent. Any other answer
is returned to the caller, who decides what a 4xx means.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.errors import LeadpipeError

RETRIED_STATUSES = frozenset({503})
"""The gateway's "broker unavailable": nothing was written, the same request may be sent again."""


class GatewayUnavailable(LeadpipeError):
    """The gateway kept answering 503 or could not be reached; nothing is known to be written."""

    retriable = True


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    body: dict[str, Any]
    attempts: int


def json_body(record: Mapping[str, Any]) -> bytes:
    """``record`` as JSON, datetimes as ISO-8601 with their offset (what the gateway parses)."""
    return json.dumps(record, default=_iso, separators=(",", ":")).encode()


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class GatewayClient:
    """Posts to one gateway. ``sleep`` is injectable so tests need not wait out the backoff."""

    def __init__(self, base_url: str, api_key: str, *, hmac_secret: str | None = None, timeout_s: float = 5.0,
                 max_attempts: int = 5, backoff_s: float = 0.2, max_backoff_s: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"gateway URL {base_url!r} must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._hmac_secret = hmac_secret
        self._timeout_s = timeout_s
        self._max_attempts = max(1, max_attempts)
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._sleep = sleep

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> GatewayAnswer:
        """POST ``body`` to ``path``; retry 503s and unreachable gateways with backoff.

        Returns the first answer that is not a 503; raises :class:`GatewayUnavailable` when the
        attempts run out.
        """
        headers = {"Content-Type": content_type, "X-API-Key": self._api_key, "Accept": "application/json"}
        if self._hmac_secret is not None:
            digest = hmac.new(self._hmac_secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Leadpipe-Signature"] = f"sha256={digest}"
        url = self.base_url + path
        last = ""
        for attempt in range(1, self._max_attempts + 1):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) checked above
            retry_after: float | None = None
            try:
                with urllib.request.urlopen(request, timeout=self._timeout_s) as resp:  # noqa: S310 - http(s) checked above
                    return GatewayAnswer(resp.status, _json(resp.read()), attempt)
            except urllib.error.HTTPError as exc:
                answer = GatewayAnswer(exc.code, _json(exc.read()), attempt)
                if exc.code not in RETRIED_STATUSES:
                    return answer
                last = f"HTTP {exc.code} {answer.body.get('error', '')}".strip()
                retry_after = _seconds(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, OSError) as exc:
                last = f"unreachable: {getattr(exc, 'reason', exc)}"
            if attempt < self._max_attempts:
                pause = min(self._max_backoff_s, self._backoff_s * 2 ** (attempt - 1))
                self._sleep(max(pause, retry_after or 0.0))
        raise GatewayUnavailable(f"POST {url}: {last} after {self._max_attempts} attempts")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"error": raw[:200].decode(errors="replace")}
    return value if isinstance(value, dict) else {"body": value}


def _seconds(raw: str | None) -> float | None:
    try:
        return min(float(raw), 30.0) if raw else None
    except ValueError:
        return None  # an HTTP-date Retry-After: our own backoff applies


def form_body(fields: Mapping[str, str]) -> bytes:
    """``application/x-www-form-urlencoded`` bytes, the way a browser sends an HTML form."""
    return urllib.parse.urlencode(fields).encode()
