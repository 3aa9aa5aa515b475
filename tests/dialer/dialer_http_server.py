"""A real local aiohttp server that records every request and answers as a test scripts it.

It runs on its own event loop in a thread, so the synchronous clients under test (urllib) talk
to it over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names: HTTP header names are case-insensitive (urllib sends ``X-api-key``)."""
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0]

    def fields(self) -> dict[str, Any]:
        """The body as JSON, or as form fields when form-encoded."""
        if self.content_type == "application/x-www-form-urlencoded":
            return dict(urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True))
        return dict(json.loads(self.body))


class RecordingServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = defaultdict(list)
        """path → answers to give, in order, before falling back to the default."""
        self.dial_checks: dict[str, dict[str, Any]] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="recording-server", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, status: int, body: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> None:
        self.script[path].append((status, body or {"error": f"scripted {status}"}, headers or {}))

    def start(self) -> RecordingServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        recorded = Recorded(request.method, request.path, dict(request.query),
                            {k.lower(): v for k, v in request.headers.items()}, body)
        self.requests.append(recorded)
        if self.script[request.path]:
            status, answer, headers = self.script[request.path].pop(0)
            return web.json_response(answer, status=status, headers=headers)
        if request.path.startswith("/v1/dial-check/"):
            phone = urllib.parse.unquote(request.path.rsplit("/", 1)[1])
            return web.json_response(self.dial_checks.get(phone, {"allowed": True, "reasons": []}))
        event_id = recorded.fields().get("event_id")
        return web.json_response({"event_id": event_id, "topic": request.path}, status=202)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
