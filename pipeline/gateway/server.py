"""The ingest gateway's aiohttp app and the ``leadpipe gateway`` command.

Per POST: size (413) → authenticate over the raw body (401; 403 for a key without the ``write``
scope) → content type (415) → map and check
every field (422) → encode with the project codec (413 over ``limits.RECORD_BYTES``) → await the
broker's acknowledgement (202, or 503 when there is none). Nothing is written before
authentication and validation pass. ``GET /metrics`` needs a ``read`` key (``pipeline.http_auth``);
``/healthz`` and ``/openapi.json`` are open, and ``/healthz`` says only whether the gateway is ready
unless a read key asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.typedefs import Middleware

from pipeline import topics
from pipeline.codec import Codec, ConfluentCodec, SchemaStore, make_codec
from pipeline.config import GatewaySettings
from pipeline.core.limits import record_size_problem
from pipeline.errors import ConfigError, EncodeError
from pipeline.gateway.openapi import HEALTH_PATH, METRICS_PATH, OPENAPI_PATH, build_document
from pipeline.gateway.producer import AckProducer, BrokerUnavailable
from pipeline.gateway.request import ENDPOINTS, EventMapper, Mapped
from pipeline.http_auth import (
    KEY_HEADER,
    OPEN_PATHS,
    SIGNATURE_HEADER,
    AuthFailure,
    KeyRing,
    auth_middleware,
    is_reader,
    load_api_keys,
    presented_key,
)

log = logging.getLogger(__name__)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_ALLOW_HEADERS = f"Content-Type, {KEY_HEADER}, {SIGNATURE_HEADER}, Authorization"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, error: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, **extra}, status=status)


def mappers_for(settings: GatewaySettings, store: SchemaStore | None = None) -> dict[str, EventMapper]:
    """Route path → mapper, compiled from the current schemas."""
    store = store if store is not None else SchemaStore()
    return {path: EventMapper(kind, json.loads(store.source(kind)), default_region=settings.default_region)
            for path, kind in ENDPOINTS.items()}


class Gateway:
    """The request handlers, with what they need injected (tests pass their own clock and ids)."""

    def __init__(self, settings: GatewaySettings, producer: AckProducer, codec: Codec, keys: KeyRing, *,
                 mappers: dict[str, EventMapper] | None = None, clock: Callable[[], datetime] | None = None,
                 new_id: Callable[[], str] | None = None) -> None:
        self.settings = settings
        self.producer = producer
        self.codec = codec
        self.keys = keys
        self.mappers = mappers if mappers is not None else mappers_for(settings)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.new_id = new_id or (lambda: str(uuid.uuid4()))
        self.document = build_document(self.mappers, max_body_bytes=settings.gateway_max_body_bytes)
        self.answers: dict[tuple[str, int], int] = {}
        """POST answers so far by (route, status), for /metrics."""

    async def post_event(self, request: web.Request) -> web.Response:
        response = await self._post_event(request)
        key = (request.path, response.status)
        self.answers[key] = self.answers.get(key, 0) + 1
        return response

    async def _post_event(self, request: web.Request) -> web.Response:
        mapper = self.mappers[request.path]
        limit = self.settings.gateway_max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return _error(413, "body too large", detail=f"at most {limit} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "body too large", detail=f"at most {limit} bytes")
        who = self.keys.authenticate(presented_key(request.headers), request.headers.get(SIGNATURE_HEADER), body)
        if isinstance(who, AuthFailure):
            return _error(who.status, who.reason)
        ctype = request.content_type
        now = self.clock()
        if ctype == JSON:
            try:
                decoded = json.loads(body)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                return _error(422, "invalid request", fields={"body": f"not valid JSON: {exc}"})
            except RecursionError:  # [[[[...]]]]: small enough to pass the size limit, too deep to parse
                return _error(422, "invalid request", fields={"body": "JSON nested too deeply"})
            mapped = mapper.from_json(decoded, source=who.source, now=now, new_id=self.new_id)
        elif ctype == FORM and mapper.kind == topics.LEAD_CAPTURED:
            mapped = self._from_form(mapper, body, who.source, now)
        else:
            accepted = f"{JSON} or {FORM}" if mapper.kind == topics.LEAD_CAPTURED else JSON
            return _error(415, "unsupported content type", detail=f"send {accepted}, not {ctype or 'nothing'}")
        if mapped.record is None:
            return _error(422, "invalid request", fields=mapped.errors)
        record = mapped.record
        try:
            value = self.codec.encode(mapper.kind, record)
        except EncodeError as exc:  # the mapping let through what the schema refuses: a bug, said plainly
            # The message may quote the caller's values: the log gets its kind only, the caller all of it.
            log.error("encode failed after validation on %s: %s", mapper.kind, type(exc.__cause__).__name__)
            return _error(500, "could not encode the event", detail=str(exc))
        if (too_large := record_size_problem(len(value))) is not None:
            return _error(413, "record too large", detail=too_large)
        try:
            # Keyed by the E.164 number (murmur2, as Faust partitions): decided without a hop.
            await self.producer.send(mapper.kind, value, (mapped.key or record["phone"]).encode())
        except BrokerUnavailable as exc:
            return _error(503, "broker unavailable", detail=str(exc), event_id=record["event_id"])
        answer = {"event_id": record["event_id"], "topic": mapper.kind}
        if mapper.kind == topics.LEAD_CAPTURED:
            answer["lead_id"] = record["lead_id"]
        return web.json_response(answer, status=202)

    def _from_form(self, mapper: EventMapper, body: bytes, source: str, now: datetime) -> Mapped:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            return Mapped(None, {"body": f"form body is not UTF-8: {exc}"})
        return mapper.from_form(pairs, source=source, now=now, new_id=self.new_id)

    async def health(self, request: web.Request) -> web.Response:
        ready = self.producer.ready and self.producer.down is None
        body: dict[str, object] = {"ready": ready, "status": "ok" if ready else "starting"}
        if is_reader(request, self.keys):  # why it is not ready names the broker: readers only
            body["detail"] = self.producer.down
        return web.json_response(body, status=200 if ready else 503)

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self.document)

    async def metrics(self, request: web.Request) -> web.Response:
        ready = self.producer.ready and self.producer.down is None
        lines = [
            "# HELP leadpipe_gateway_requests_total POST requests answered, by route and status.",
            "# TYPE leadpipe_gateway_requests_total counter",
            *(f'leadpipe_gateway_requests_total{{route="{route}",status="{status}"}} {count}'
              for (route, status), count in sorted(self.answers.items())),
            "# HELP leadpipe_gateway_ready 1 when the producer reaches the broker and the input topics exist.",
            "# TYPE leadpipe_gateway_ready gauge",
            f"leadpipe_gateway_ready {int(ready)}",
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})


def cors_middleware(origins: tuple[str, ...]) -> Middleware:
    """Answers preflights and labels answers for the allowed ``origins`` (``*``: any origin)."""
    any_origin = "*" in origins
    allowed = frozenset(origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        ok = origin is not None and (any_origin or origin in allowed)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not ok:
                return _error(403, "origin not allowed", detail=f"allowed: {', '.join(origins)}")
            return web.Response(status=204, headers={
                "Access-Control-Allow-Origin": origin or "", "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                "Access-Control-Allow-Headers": _ALLOW_HEADERS, "Access-Control-Max-Age": "600", "Vary": "Origin"})
        response = await handler(request)
        if ok and origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return cors


def create_app(settings: GatewaySettings, producer: AckProducer, codec: Codec, keys: KeyRing, *,
               clock: Callable[[], datetime] | None = None, new_id: Callable[[], str] | None = None) -> web.Application:
    """The gateway app. ``producer`` must be started in the loop that serves the app."""
    middlewares = [cors_middleware(settings.gateway_cors_origins)] if settings.gateway_cors_origins else []
    # GETs other than /healthz and the OpenAPI document need a read key; POSTs authenticate themselves
    # (write scope, HMAC over the raw body) in the handler.
    middlewares.append(auth_middleware(keys, open_paths=OPEN_PATHS | {OPENAPI_PATH}))
    # client_max_size makes request.read() refuse a chunked body past the limit (413).
    app = web.Application(client_max_size=settings.gateway_max_body_bytes, middlewares=middlewares)
    gateway = Gateway(settings, producer, codec, keys, clock=clock, new_id=new_id)
    for path in ENDPOINTS:
        app.router.add_post(path, gateway.post_event)
    app.router.add_get(HEALTH_PATH, gateway.health)
    app.router.add_get(OPENAPI_PATH, gateway.openapi)
    app.router.add_get(METRICS_PATH, gateway.metrics)
    return app


def producer_for(settings: GatewaySettings) -> AckProducer:
    """The gateway's producer for ``settings`` (not started)."""
    return AckProducer(settings.kafka_client_config(), delivery_timeout_s=settings.gateway_delivery_timeout_s,
                       linger_ms=settings.gateway_linger_ms, required_topics=tuple(ENDPOINTS.values()))


async def serve(settings: GatewaySettings, *, stop: asyncio.Event | None = None) -> None:
    """Run the gateway until ``stop`` is set (or SIGINT/SIGTERM), then close cleanly."""
    if settings.bootstrap_servers is None:
        raise ConfigError("the gateway writes to a broker: set LEADPIPE_BOOTSTRAP_SERVERS "
                          "(for a local run, start one with `leadpipe broker`)")
    log.info("settings (secrets hidden):\n%s", settings.describe())
    keys = KeyRing(load_api_keys(settings.api_keys_path))
    codec = make_codec(settings)
    if isinstance(codec, ConfluentCodec):
        await asyncio.to_thread(codec.register, list(ENDPOINTS.values()))  # a registry problem shows now
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    producer = producer_for(settings).start()
    runner = web.AppRunner(create_app(settings, producer, codec, keys), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.gateway_host, settings.gateway_port)
        await site.start()
        # Everything loaded so far (schemas, phone metadata, libraries) lives as long as the process:
        # keep it out of the collector's generations so collections under load stay short.
        gc.collect()
        gc.freeze()
        print(f"leadpipe gateway on http://{settings.gateway_host}:{settings.gateway_port} "
              f"→ {settings.bootstrap_servers}; {len(keys)} API keys; OpenAPI at /openapi.json", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
        await producer.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
