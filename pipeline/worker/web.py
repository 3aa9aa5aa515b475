"""The worker's HTTP pages: the dial-time check, Prometheus metrics and readiness.

``GET /v1/dial-check/{phone}`` answers from the tables of the worker that owns the number (another
worker's request is proxied there by Faust's router); ``/metrics`` and ``/healthz`` describe this
worker only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import faust
from faust.exceptions import SameNode

from pipeline import dialcheck_http
from pipeline.config import WorkerSettings
from pipeline.core.dialcheck import DialCheckRequest
from pipeline.core.number import NumberState
from pipeline.http_auth import KeyRing, is_reader
from pipeline.registry.check import registry_metrics
from pipeline.reporting.prometheus import OPTOUT_LATENCY, Histogram
from pipeline.worker.audit import DialCheckAuditLog, worker_id
from pipeline.worker.clock import Clock
from pipeline.worker.policies import Policies
from pipeline.worker.state import NumberTables


@dataclasses.dataclass
class Health:
    """What readiness depends on besides Faust's own recovery; ``reason`` says why not ready."""

    checks: list[tuple[str, Callable[[], bool]]] = dataclasses.field(default_factory=list)
    problem: Callable[[], str | None] = lambda: None

    def not_ready(self) -> str | None:
        for name, ok in self.checks:
            if not ok():
                return name
        return self.problem()


def register_pages(app: faust.App, *, settings: WorkerSettings, policies: Policies, tables: NumberTables,
                   state_of: Callable[[bytes], NumberState], clock: Clock, health: Health, optout_latency: Histogram,
                   counters: Callable[[], str], read_keys: KeyRing | None, audit: DialCheckAuditLog) -> None:
    """Add the worker's pages to ``app``'s web server."""
    answered_by = worker_id(settings.web_host, settings.web_port)

    @app.page("/v1/dial-check/{phone}")
    async def dial_check_view(web: Any, request: Any, phone: str) -> Any:
        """Allowed or not, why, and seconds left — from the tables of the worker owning the number,
        which puts the answer on the dial-check audit topic."""
        parsed = dialcheck_http.parse(phone, request.query, settings.default_region, policies)
        if not isinstance(parsed, DialCheckRequest):
            return web.json({"error": "invalid request", "fields": parsed}, status=400)
        key = parsed.phone["phone_e164"].encode()
        await _producer_knows(app, tables.suppressions.changelog_topic.get_topic_name())  # type: ignore[attr-defined]
        try:  # another worker owns the number's partition: it answers (Faust proxies the request)
            return await app.router.route_req(tables.suppressions.name, key, web, request)  # type: ignore[attr-defined]
        except SameNode:
            pass
        return web.json(dialcheck_http.answer(parsed, state_of, policies=policies, now=clock(), audit=audit,
                                              answered_by=answered_by))

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        """Prometheus text: registry age and staleness, opt-out → blocked latency, batch counters."""
        latency = optout_latency.render(OPTOUT_LATENCY,
                                        "opt-out Kafka timestamp to its suppression written by this worker")
        text = registry_metrics(policies.registries, clock()) + latency + counters() + audit.metrics()
        return web.text(text, content_type="text/plain; version=0.0.4")

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        # Ready once partitions are assigned, tables recovered and the email index loaded: only then
        # are decisions made from complete state.
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager, typed as its interface
        reason = None
        if not recovery.completed.is_set():
            reason = "recovering tables"
        elif app.rebalancing:
            reason = "rebalancing"
        else:
            reason = health.not_ready()
        body: dict[str, Any] = {"status": "ok" if reason is None else "starting", "ready": reason is None}
        if is_reader(request, read_keys):  # open to anyone: status only, unless a reader asks
            body["app_id"] = settings.app_id
            if reason is not None:
                body["reason"] = reason
        return web.json(body, status=200 if reason is None else 503)


async def _producer_knows(app: faust.App, topic: str) -> None:
    """Make the producer fetch ``topic``'s partitions if it has not yet.

    Faust's router hashes a key to its owner with the producer's metadata, and aiokafka's producer
    only asks for the topics it has sent to. Tansu answers every Metadata request with all topics,
    Apache Kafka only with those asked: a worker that had not written a suppression yet (always, with
    exactly-once: the changelog goes through the transactional producers) failed every dial-check
    with a TypeError. Faust exposes no public call for this; once known, the metadata stays cached
    and this returns at once."""
    producer: Any = app.producer  # the aiokafka driver's Producer (ProducerT does not declare the call)
    await producer._ensure_producer().partitions_for(topic)
