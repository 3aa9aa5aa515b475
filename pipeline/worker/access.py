"""The worker's web server: who may read it, and which of Faust's built-in views it serves.

Every GET but ``/healthz`` needs a ``read`` key (:mod:`pipeline.http_auth`): the dial-check, which
shows opt-out and consent status, and ``/metrics``. A dial-check Faust forwards to the worker that
owns the number carries the caller's headers, so that worker checks the same key.

Faust's own views — ``/router/`` (cluster topology), ``/table/`` (table rows: personal data),
the statistics at ``/`` and ``/assignment/``, ``/graph``,
``/performance/`` — are off unless ``LEADPIPE_FAUST_VIEWS=true``
turns them on, and then they need a read key too. Faust's plain index at ``/`` (``{"status": "OK"}``)
stays, behind a read key. Routing dial-checks between workers does not use these views (it uses
Faust's router object, not its HTTP views).
"""

from __future__ import annotations

from typing import Any

from pipeline.config import WorkerSettings
from pipeline.http_auth import KeyRing, auth_middleware, read_keys


def worker_read_keys(settings: WorkerSettings) -> KeyRing | None:
    """The keys the worker checks reads against; None when reads are open (local runs only).

    Raises :class:`~pipeline.errors.ConfigError` as :func:`pipeline.http_auth.read_keys` does; a
    worker without a web server serves no reads and needs no keys.
    """
    if not settings.web_enabled:
        return None
    return read_keys(settings.api_keys_path, open_reads=settings.open_reads, host=settings.web_host,
                     service="the worker")


def faust_web_options(settings: WorkerSettings, keys: KeyRing | None) -> dict[str, Any]:
    """Faust app settings for the worker's web server: the read check on every view, built-in views off."""
    views = settings.faust_views
    return {
        "web_application_options": {"middlewares": [auth_middleware(keys)]},
        "web_router_enabled": views,
        "web_tables_enabled": views,
        "web_stats_enabled": views,
        "web_graph_enabled": views,
        "web_metrics_enabled": views,
    }
