"""A local CRM stand-in: a real HTTP server that stores the leads it receives and fails on purpose.

    POST /leads       (any path but /received and /healthz works too) store the JSON body
    POST .../forget, POST .../gdpr-delete, DELETE ...   forget a number (the presets' forget calls)
    GET  /received    what was stored, in arrival order, with request counts
    GET  /healthz     {"ready": true, ...}

Forget removes every stored lead that holds the number anywhere in its body, whatever the shape:
the generic ``POST <url>/forget {"phone_e164"}``, HubSpot's ``POST .../gdpr-delete {"objectId"}``
and Salesforce's ``DELETE .../<External ID field>/<number>``. It answers 204, or 404 when nothing
was stored for the number.

It honours ``Idempotency-Key`` the way payment and CRM APIs do: a request whose key was already
stored creates nothing and gets the first answer again (with ``Idempotent-Replayed: true``).

Faults, all seeded so a run can be repeated (:class:`Faults`):

- ``failure_rate``: that share of requests get ``failure_status`` before anything is stored;
- ``every_nth``: every N-th request fails the same way;
- ``fail_first``: the first N requests fail (N failures, then fine);
- ``fail_after_store_rate``: that share of requests are stored and *then* answered with
  ``failure_status``: the lost-answer case, where a client must retry a request that in fact
  succeeded, and only the idempotency key prevents a duplicate;
- ``reject_marker``: a body containing this text is refused with 400 (a permanent failure);
- ``echo_body``: a refusal quotes the body it refused, as many CRMs do ("Invalid value 'Ana' for
  firstname") — the CRM connector must keep such answers out of its logs;
- ``latency_s``: every answer takes this long.

Requests without an ``Idempotency-Key`` are stored every time (that is what a CRM would do).
With ``token`` set, a request without ``Authorization: Bearer <token>`` gets 401.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import urllib.parse
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pipeline.errors import ConfigError

IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Faults:
    """Which requests the sink fails on purpose."""

    failure_rate: float = 0.0
    every_nth: int = 0
    fail_first: int = 0
    fail_after_store_rate: float = 0.0
    failure_status: int = 503
    reject_marker: str | None = None
    echo_body: bool = False
    latency_s: float = 0.0
    """Time taken to answer each request (a real CRM is not instant)."""
    seed: int = 7

    def __post_init__(self) -> None:
        for name in ("failure_rate", "fail_after_store_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.every_nth < 0 or self.fail_first < 0 or self.latency_s < 0:
            raise ValueError("every_nth, fail_first and latency_s must not be negative")


@dataclass
class Stored:
    id: str
    idempotency_key: str | None
    path: str
    body: Any
    received_at: str
    authorization: bool


@dataclass
class SinkState:
    """Everything the sink remembers; one per server."""

    faults: Faults
    token: str | None = None
    requests: int = 0
    failures_before_store: int = 0
    failures_after_store: int = 0
    rejected: int = 0
    replayed: int = 0
    forgotten: int = 0
    """Stored leads removed by forget calls."""
    stored: list[Stored] = field(default_factory=list)
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    """Idempotency key → the first answer given for it (status, body)."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.faults.seed)  # noqa: S311 - fault injection, not security
        self.lock = asyncio.Lock()

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests, "stored": len(self.stored), "replayed": self.replayed,
            "forgotten": self.forgotten,
            "rejected": self.rejected, "failures_before_store": self.failures_before_store,
            "failures_after_store": self.failures_after_store, "faults": asdict(self.faults),
        }


STATE = web.AppKey("state", SinkState)


def _json(status: int, body: dict[str, Any], **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers or None)


async def _receive(request: web.Request) -> web.Response:
    state = request.app[STATE]
    faults = state.faults
    raw = await request.read()
    if faults.latency_s:
        await asyncio.sleep(faults.latency_s)
    async with state.lock:  # one request at a time: counts and fault draws stay deterministic
        state.requests += 1
        n = state.requests
        if state.token is not None and request.headers.get("Authorization") != f"Bearer {state.token}":
            return _json(401, {"error": "missing or wrong bearer token"})
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and key in state.answers:
            state.replayed += 1
            status, body = state.answers[key]
            return _json(status, body, **{"Idempotent-Replayed": "true"})
        # Draw both numbers on every request so one fault setting does not shift another's sequence.
        before, after = state.rng.random(), state.rng.random()
        if (n <= faults.fail_first or (faults.every_nth and n % faults.every_nth == 0)
                or before < faults.failure_rate):
            state.failures_before_store += 1
            return _json(faults.failure_status, {"error": f"injected failure on request {n}"})
        try:
            body = json.loads(raw)
        except ValueError:
            state.rejected += 1
            return _json(400, {"error": "body is not JSON"})
        if faults.reject_marker is not None and faults.reject_marker in raw.decode("utf-8", errors="replace"):
            state.rejected += 1
            refusal: dict[str, Any] = {"error": f"rejected: body contains {faults.reject_marker!r}"}
            if faults.echo_body:
                refusal["received"] = body
            answer: tuple[int, dict[str, Any]] = (400, refusal)
        else:
            record = Stored(id=str(uuid.uuid4()), idempotency_key=key, path=request.path, body=body,
                            received_at=datetime.now(UTC).isoformat(),
                            authorization="Authorization" in request.headers)
            state.stored.append(record)
            answer = (201, {"id": record.id, "created": True})
        if key is not None:
            state.answers[key] = answer
        if answer[0] == 201 and after < faults.fail_after_store_rate:
            state.failures_after_store += 1
            return _json(faults.failure_status, {"error": f"injected failure after storing request {n}"})
        return _json(*answer)


def _holds(value: object, text: str) -> bool:
    """True when ``text`` is ``value`` or any string inside it (maps and lists, at any depth)."""
    if isinstance(value, str):
        return value == text
    if isinstance(value, dict):
        return any(_holds(v, text) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, text) for v in value)
    return False


async def _forget(request: web.Request) -> web.Response:
    """Remove every stored lead holding the number (see the module docstring); 204, or 404 if none."""
    state = request.app[STATE]
    faults = state.faults
    raw = await request.read()
    async with state.lock:
        state.requests += 1
        n = state.requests
        if state.token is not None and request.headers.get("Authorization") != f"Bearer {state.token}":
            return _json(401, {"error": "missing or wrong bearer token"})
        before, _ = state.rng.random(), state.rng.random()
        if (n <= faults.fail_first or (faults.every_nth and n % faults.every_nth == 0)
                or before < faults.failure_rate):
            state.failures_before_store += 1
            return _json(faults.failure_status, {"error": f"injected failure on request {n}"})
        if request.method == "DELETE":
            number = urllib.parse.unquote(request.path.rstrip("/").rsplit("/", 1)[-1])
        else:
            try:
                body = json.loads(raw)
            except ValueError:
                return _json(400, {"error": "body is not JSON"})
            number = str(body.get("phone_e164") or body.get("objectId") or "") if isinstance(body, dict) else ""
        if not number:
            return _json(400, {"error": "which number? (phone_e164, objectId, or the last path segment)"})
        kept = [s for s in state.stored if not _holds(s.body, number)]
        removed = len(state.stored) - len(kept)
        state.stored = kept
        state.forgotten += removed
        if not removed:
            return _json(404, {"error": "nothing stored for that number"})
        return web.Response(status=204)


async def _received(request: web.Request) -> web.Response:
    state = request.app[STATE]
    async with state.lock:
        return _json(200, {**state.summary(), "leads": [asdict(s) for s in state.stored]})


async def _healthz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _json(200, {"ready": True, "service": "crm-sink", **state.summary()})


def create_sink_app(faults: Faults | None = None, *, token: str | None = None) -> web.Application:
    """The sink as an aiohttp application (serve it with ``web.run_app`` or an ``AppRunner``)."""
    app = web.Application()
    app[STATE] = SinkState(faults or Faults(), token=token)
    app.router.add_get("/received", _received)
    app.router.add_get("/healthz", _healthz)
    app.router.add_post("/{head:.*}/forget", _forget)
    app.router.add_post("/{head:.*}/gdpr-delete", _forget)
    app.router.add_delete("/{tail:.*}", _forget)
    app.router.add_post("/{tail:.*}", _receive)
    return app


def cmd_crm_sink(args: argparse.Namespace) -> int:
    try:
        faults = Faults(failure_rate=args.failure_rate, every_nth=args.every_nth, fail_first=args.fail_first,
                        fail_after_store_rate=args.fail_after_store_rate, failure_status=args.failure_status,
                        reject_marker=args.reject_marker, echo_body=args.echo_body, latency_s=args.latency_ms / 1000,
                        seed=args.seed)
    except ValueError as exc:
        raise ConfigError(f"crm-sink: {exc}") from exc
    print(f"crm-sink on http://{args.host}:{args.port} (POST any path; GET /received, /healthz)", flush=True)
    web.run_app(create_sink_app(faults, token=args.token), host=args.host, port=args.port, print=None,
                handle_signals=True)
    return 0
