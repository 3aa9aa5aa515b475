"""The dial-time check as a dialer asks it, right before each call: any worker answers; none: no call."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import LeadpipeError
from pipeline.http_auth import KEY_HEADER


class DialCheckUnavailable(LeadpipeError):
    """No worker answered the dial-time check: do not dial."""


@dataclass(frozen=True)
class DialCheckAnswer:
    allowed: bool
    reasons: tuple[dict[str, str], ...]
    request_id: str | None = None
    """The worker's id of the answer, as recorded on the ``dial-check`` topic (None when refused)."""


class DialCheckClient:
    """``GET <worker>/v1/dial-check/{phone_e164}?campaign_id=...`` on the first worker that answers.

    Any worker answers for any number (it routes the request to the worker owning the number),
    so several URLs are only for availability.
    """

    def __init__(self, urls: Sequence[str], *, api_key: str | None = None, timeout_s: float = 2.0) -> None:
        if not urls:
            raise ValueError("at least one dial-check URL is needed")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"dial-check URL {url!r} must start with http:// or https://")
        self._urls = [u.rstrip("/") for u in urls]
        self._timeout_s = timeout_s
        # Reads need a key with the read scope (pipeline.http_auth); None: a worker with open reads.
        self._headers = {KEY_HEADER: api_key} if api_key else {}

    def check(self, phone_e164: str, campaign_id: str, lead_id: str | None = None, *,
              call_id: str | None = None) -> DialCheckAnswer:
        """May ``phone_e164`` be dialed for ``campaign_id`` (and ``lead_id``: is that lead still to be
        called?) now? ``call_id`` identifies the call about to be made on the worker's audit record.
        Raises :class:`DialCheckUnavailable`."""
        params = {"campaign_id": campaign_id, **({"lead_id": lead_id} if lead_id else {}),
                  **({"call_id": call_id} if call_id is not None else {})}
        query = urllib.parse.urlencode(params)
        path = f"/v1/dial-check/{urllib.parse.quote(phone_e164, safe='')}?{query}"
        problems = []
        for base in self._urls:
            try:
                request = urllib.request.Request(base + path, headers=self._headers)  # noqa: S310 - http(s) checked
                with urllib.request.urlopen(request, timeout=self._timeout_s) as resp:  # noqa: S310 - http(s) checked
                    body = json.loads(resp.read())
                return DialCheckAnswer(bool(body["allowed"]), tuple(body.get("reasons") or ()), body.get("request_id"))
            except urllib.error.HTTPError as exc:
                if exc.code == 400:  # the worker cannot read the number: never dial it
                    detail = exc.read().decode(errors="replace")[:200]
                    return DialCheckAnswer(False, ({"code": "DIAL_CHECK_REFUSED", "rule_id": "dial-check.request",
                                                    "detail": detail},))
                problems.append(f"{base}: HTTP {exc.code}")
            except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                problems.append(f"{base}: {getattr(exc, 'reason', exc)}")
        raise DialCheckUnavailable("dial-check unavailable: " + "; ".join(problems))
