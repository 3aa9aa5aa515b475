"""``leadpipe console``: an aiohttp service over the report topics.

    GET /v1/report   the report (JSON): funnel, reasons, health, per-source quality, latency, lag
    GET /metrics     the same figures in Prometheus text
    GET /dashboard   the live dashboard (HTML + vanilla JS, polls /v1/report every second)
    GET /healthz     {"ready": true} once the topic reader caught up with what existed at start
    GET /login       the login form: an API key with the read scope → a session cookie (pipeline.http_auth)

Everything but /healthz and /login needs a read key: ``X-API-Key``, ``Authorization: Bearer`` or,
in a browser, the session cookie ``/login`` sets (a link ``/dashboard#key=<key>`` logs in at once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from aiohttp import web

from pipeline.codec import make_codec
from pipeline.config import ConsoleSettings
from pipeline.console.sources import LagProbe, ReportTail, WorkerScrape
from pipeline.errors import ConfigError
from pipeline.http_auth import KeyRing, add_login_routes, auth_middleware, is_reader, read_keys
from pipeline.reporting.aggregate import Report
from pipeline.reporting.prometheus import render_report
from pipeline.topics import INPUT_TOPICS, number_events_topic

log = logging.getLogger("leadpipe.console")

Clock = Callable[[], datetime]


class Console:
    """The console's state: the three background readers and a cached report.

    The report is recomputed from the aggregator's facts (about 0.5 s per 100,000 facts here), so
    it is cached: recomputed when records arrived and the cache is older than ``cache_s`` or twice
    the last computation's time (whichever is longer), and at least every ``max_age_s`` (the 90-day
    figure depends on the clock)."""

    def __init__(self, settings: ConsoleSettings, *, clock: Clock | None = None, cache_s: float = 0.25,
                 max_age_s: float = 30.0) -> None:
        if settings.bootstrap_servers is None:
            raise ConfigError("leadpipe console needs LEADPIPE_BOOTSTRAP_SERVERS (the cluster to report on)")
        kafka = settings.kafka_client_config()
        self.settings = settings
        fixed = settings.fixed_clock  # a frozen system (demo, tests) is reported at its own instant
        self.clock = clock or ((lambda: fixed) if fixed is not None else (lambda: datetime.now(UTC)))
        self.tail = ReportTail(kafka, make_codec(settings))
        self.lag = LagProbe(kafka, settings.app_id, [*INPUT_TOPICS, number_events_topic(settings.app_id)])
        self.scrape = WorkerScrape(settings.worker_urls, api_key=settings.api_key)
        self._cache_s = cache_s
        self._max_age_s = max_age_s
        self._compute_s = 0.0
        self._cached: tuple[float, int, Report, int, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self.tail.start()
        self.lag.start()
        self.scrape.start()

    def stop(self) -> None:
        for part in (self.tail, self.lag, self.scrape):
            part.stop()

    def snapshot(self) -> tuple[dict[str, Any], str]:
        """(report JSON, Prometheus text): the aggregator's report from the cache when it is fresh
        enough (see the class); lag, latency and reader state as they are now."""
        report, facts, report_json, read = self._report()
        lag_rows = list(self.lag.rows)
        latency = self.scrape.latency
        body = dict(report_json)
        body["funnel"] = {k: body["totals"][k] for k in ("captured", "valid", "callable", "contacted", "qualified")}
        body["optout_latency"] = {**latency.to_json(), "workers": self.scrape.workers}
        body["lag"] = {"partitions": lag_rows, "total": sum(r["lag"] for r in lag_rows),
                       "approximate": True, "error": self.lag.error}
        body["tail"] = {"ready": self.tail.ready, "records_read": read, "facts": facts, "error": self.tail.error}
        text = render_report(report, lag=lag_rows, latency=latency,
                             extra={"leadpipe_console_facts": facts, "leadpipe_console_records_read": read})
        return body, text

    def _report(self) -> tuple[Report, int, dict[str, Any], int]:
        with self._lock:
            now = time.monotonic()
            read = self.tail.records_read
            if self._cached is not None:
                at, read_then, report, facts, report_json = self._cached
                age = now - at
                if age < self._max_age_s and (read == read_then or age < max(self._cache_s, 2 * self._compute_s)):
                    return report, facts, report_json, read_then
            report, facts = self.tail.report(self.clock())
            report_json = report.to_json()
            self._compute_s = time.monotonic() - now
            self._cached = (now, read, report, facts, report_json)
            return report, facts, report_json, read


def dashboard_html() -> str:
    return resources.files("pipeline.console").joinpath("dashboard.html").read_text(encoding="utf-8")


def build_web_app(console: Console, keys: KeyRing | None) -> web.Application:
    """The console's routes; ``keys`` checks reads (None: reads are open, see pipeline.http_auth.read_keys)."""
    page = dashboard_html()

    async def report(_request: web.Request) -> web.Response:
        body, _ = await asyncio.to_thread(console.snapshot)  # may take a while: keep the loop free
        return web.json_response(body, dumps=lambda v: json.dumps(v, default=str))

    async def metrics(_request: web.Request) -> web.Response:
        _, text = await asyncio.to_thread(console.snapshot)
        return web.Response(text=text, content_type="text/plain", charset="utf-8",
                            headers={"X-Prometheus-Format": "0.0.4"})

    async def dashboard(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def healthz(request: web.Request) -> web.Response:
        ready = console.tail.ready
        body: dict[str, object] = {"ready": ready, "status": "ok" if ready else "starting"}
        if is_reader(request, keys):  # the reader's error can name the broker: readers only
            body.update(error=console.tail.error, records_read=console.tail.records_read)
        return web.json_response(body, status=200 if ready else 503)

    async def root(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard")

    app = web.Application(middlewares=[auth_middleware(keys, pages=frozenset({"/", "/dashboard"}))])
    add_login_routes(app, keys, landing="/dashboard")
    app.router.add_get("/", root)
    app.router.add_get("/v1/report", report)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/healthz", healthz)
    return app


def serve(settings: ConsoleSettings) -> int:
    """Run the console until SIGINT/SIGTERM."""
    log.setLevel(settings.log_level.upper())
    keys = read_keys(settings.api_keys_path, open_reads=settings.open_reads, host=settings.console_host,
                     service="the console")
    console = Console(settings)
    console.start()
    log.info("console on http://%s:%s/dashboard (workers scraped: %s)", settings.console_host,
             settings.console_port, ", ".join(settings.worker_urls) or "none")
    try:
        web.run_app(build_web_app(console, keys), host=settings.console_host, port=settings.console_port,
                    print=None, handle_signals=True)
    finally:
        console.stop()
    return 0
