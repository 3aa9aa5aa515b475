"""Simulated web forms: the demo's sample traffic posted to the gateway the way real sources post it.

Leads from web forms arrive form-encoded (``application/x-www-form-urlencoded``, as a browser
sends an HTML form: flat names, nested fields dotted, extra fields as they are); leads from vendors
arrive as JSON; opt-outs and consent changes (preferences pages, SMS keyword handlers) as JSON.
Every request carries the event's own ``event_id``, so the 503 retries of
:class:`~connectors.gateway_client.GatewayClient` are idempotent.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.demo.sample import sample_events
from connectors.gateway_client import GatewayClient, GatewayUnavailable, form_body, json_body
from pipeline.topics import CONSENT_CHANGED, LEAD_CAPTURED, OPT_OUT

PATHS = {LEAD_CAPTURED: "/v1/leads", OPT_OUT: "/v1/opt-outs", CONSENT_CHANGED: "/v1/consents"}
"""Gateway endpoint of each input topic's events."""

FORM = "application/x-www-form-urlencoded"


@dataclass
class WebFormStats:
    posted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    """Final answer of each post (503 counted once, after its retries ran out)."""
    retries: int = 0
    unavailable: int = 0
    """Posts given up on: the gateway kept answering 503 or could not be reached."""
    form_encoded: int = 0
    errors: list[str] = field(default_factory=list)
    """The first few refusals, with the gateway's reasons."""

    @property
    def accepted(self) -> int:
        return self.statuses[202]

    @property
    def client_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if 400 <= status < 500)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500) + self.unavailable


def lead_form_fields(lead: Mapping[str, Any]) -> dict[str, str]:
    """A lead as the fields of an HTML form: no empty fields, nested ones dotted (``address.region``,
    ``consent.consent_text``), attributes as plain fields of their own, instants in ISO-8601."""
    fields: dict[str, str] = {}
    for name, value in lead.items():
        if value is None or name == "source":
            continue
        if name == "attributes":
            fields.update({k: str(v) for k, v in value.items()})
        elif isinstance(value, Mapping):
            fields.update({f"{name}.{k}": _text(v) for k, v in value.items() if v is not None})
        else:
            fields[name] = _text(value)
    return fields


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def is_web_form(lead: Mapping[str, Any]) -> bool:
    """Leads captured on a web form are posted as one; vendors and lists post JSON."""
    return str(lead.get("source", "")).startswith("web-form:")


class WebFormSimulator:
    """Posts events to the gateway, optionally paced to ``rate_per_s``, counting the answers."""

    def __init__(self, client: GatewayClient, *, rate_per_s: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self._sleep = sleep
        self.stats = WebFormStats()

    def post(self, topic: str, record: Mapping[str, Any]) -> int:
        """Post one event of ``topic``; return the final HTTP status (0: the gateway was unavailable)."""
        path = PATHS[topic]
        if topic == LEAD_CAPTURED:
            body_record = {k: v for k, v in record.items() if k != "source"}  # the API key names the source
            if is_web_form(record):
                body, content_type = form_body(lead_form_fields(record)), FORM
                self.stats.form_encoded += 1
            else:
                body, content_type = json_body(body_record), "application/json"
        else:
            body, content_type = json_body(record), "application/json"
        self.stats.posted += 1
        try:
            answer = self._client.post(path, body, content_type)
        except GatewayUnavailable as exc:
            self.stats.unavailable += 1
            self._note(f"{record['event_id']}: {exc}")
            return 0
        self.stats.retries += answer.attempts - 1
        self.stats.statuses[answer.status] += 1
        if answer.status != 202:
            self._note(f"{record['event_id']}: HTTP {answer.status} {answer.body}")
        return answer.status

    def post_all(self, events: Iterable[tuple[str, Mapping[str, Any]]]) -> WebFormStats:
        for topic, record in events:
            started = time.monotonic()
            self.post(topic, record)
            if self._interval:
                self._sleep(max(0.0, self._interval - (time.monotonic() - started)))
        return self.stats

    def _note(self, error: str) -> None:
        if len(self.stats.errors) < 20:
            self.stats.errors.append(error)


def sample_submissions(now: datetime, *, leads: int = 60, seed: int = 7) -> list[tuple[str, dict[str, object]]]:
    """The demo's sample traffic (leads, opt-outs, consent changes), ready to post."""
    return [(topic, record) for topic, record in sample_events(now, seed=seed, leads=leads) if topic in PATHS]


def cmd_webforms(args: Any) -> int:
    """``leadpipe webforms``: post the sample traffic to ``LEADPIPE_GATEWAY_URL`` with ``LEADPIPE_API_KEY``."""
    import os
    from datetime import UTC

    from pipeline.config import WebformsSettings
    from pipeline.errors import ConfigError

    settings = WebformsSettings.from_env(os.environ)
    if not settings.gateway_url or not settings.api_key:
        raise ConfigError("set LEADPIPE_GATEWAY_URL and LEADPIPE_API_KEY to post web forms")
    now = settings.fixed_clock or datetime.now(UTC)
    simulator = WebFormSimulator(GatewayClient(settings.gateway_url, settings.api_key), rate_per_s=args.rate)
    stats = simulator.post_all(sample_submissions(now, leads=args.leads))
    print(f"webforms: {stats.posted} posted ({stats.form_encoded} form-encoded): {stats.accepted} accepted, "
          f"{stats.client_errors} refused (4xx), {stats.server_errors} failed (5xx/unavailable), "
          f"{stats.retries} retries", flush=True)
    for error in stats.errors:
        print(f"  {error}", flush=True)
    return 0 if stats.server_errors == 0 else 1
