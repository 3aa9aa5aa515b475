"""``leadpipe dial-check-replica``: dial-time checks answered in a process of their own.

A worker answers dial-checks on the event loop that decides leads; on this machine an HTTP answer
costs about 1.5 ms of that loop's CPU (most of it aiohttp and the socket), so 1,000 checks/s would
leave no time to decide anything. A replica reads the worker's table changelogs — suppressions,
consents, leads, erasure markers — into memory (:class:`~pipeline.replica.reader.ChangelogReader`,
every partition, ``read_committed``) and answers the same ``GET /v1/dial-check/{phone}`` with the
same code (:mod:`pipeline.dialcheck_http`), audited on the same ``dial-check`` topic. Run as many as
the dialers need; they join no consumer group and move no partition.

**Freshness.** A replica sees a change once the worker's changelog write reached the broker and
its reader fetched it: after the batch is decided and its outputs acknowledged (at-least-once) or
its transaction committed (exactly-once) — tens of milliseconds more than the worker itself
(``leadpipe bench --dial-check`` measures opt-out → blocked on both). A replica that cannot show it
is current within ``LEADPIPE_REPLICA_MAX_BEHIND_S`` (default 2 s) answers **503** instead of a
possibly stale "allowed": the dialer asks another replica or a worker, or does not dial. Each answer
says how current the copy was (``replica_current_ms_ago``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from typing import Any

from aiohttp import web

from pipeline import dialcheck_http
from pipeline.codec import make_codec
from pipeline.config import ReplicaSettings
from pipeline.core.dialcheck import DialCheckRequest
from pipeline.errors import ConfigError
from pipeline.gateway.producer import AckProducer
from pipeline.http_auth import HEALTH_PATH, KeyRing, auth_middleware, is_reader, read_keys
from pipeline.registry.check import registry_metrics
from pipeline.replica.reader import ChangelogReader
from pipeline.topics import DIAL_CHECK, TABLE_CONSENTS, TABLE_ERASURES, TABLE_LEADS, TABLE_SUPPRESSIONS, changelog_topic
from pipeline.worker.audit import DialCheckAuditLog, ack_sender
from pipeline.worker.clock import make_clock
from pipeline.worker.policies import Policies, load_policies
from pipeline.worker.state import NumberTables

log = logging.getLogger("leadpipe.replica")

TABLES = (TABLE_SUPPRESSIONS, TABLE_CONSENTS, TABLE_LEADS, TABLE_ERASURES)


class TableCopy:
    """The number tables, as the worker's changelogs say they are."""

    def __init__(self, settings: ReplicaSettings) -> None:
        self.rows: dict[str, dict[bytes, bytes]] = {name: {} for name in TABLES}
        self._table_of = {changelog_topic(settings.app_id, name): name for name in TABLES}
        self.tables = NumberTables(self.rows[TABLE_SUPPRESSIONS], self.rows[TABLE_CONSENTS], self.rows[TABLE_LEADS],
                                   self.rows[TABLE_ERASURES], settings.erasure_secret())
        self.reader = ChangelogReader(settings.kafka_client_config(), list(self._table_of), settings.partitions,
                                      self._apply, name="dial-check-replica")

    def _apply(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        rows = self.rows[self._table_of[topic]]
        if value is None:
            rows.pop(key, None)
        else:
            rows[key] = value


def create_app(settings: ReplicaSettings, policies: Policies, copy: TableCopy, audit: DialCheckAuditLog,
               keys: KeyRing | None) -> web.Application:
    clock = make_clock(settings)
    answered_by = f"{socket.gethostname()}/replica/{settings.replica_host}:{settings.replica_port}/pid-{os.getpid()}"
    reader = copy.reader

    def behind() -> str | None:
        """Why this copy may not answer now, or None."""
        age = reader.behind_s()
        if not reader.ready.is_set() or age is None:
            return "loading the tables"
        if age > settings.replica_max_behind_s:
            return f"not shown current for {age:.1f} s (over {settings.replica_max_behind_s:g} s)"
        return None

    async def dial_check(request: web.Request) -> web.Response:
        parsed = dialcheck_http.parse(request.match_info["phone"], request.query, settings.default_region, policies)
        if not isinstance(parsed, DialCheckRequest):
            return web.json_response({"error": "invalid request", "fields": parsed}, status=400)
        if (why := behind()) is not None:  # fail closed: no answer rather than a stale "allowed"
            return web.json_response({"error": "replica behind", "detail": why}, status=503)
        age = reader.behind_s() or 0.0
        body = dialcheck_http.answer(parsed, copy.tables.read, policies=policies, now=clock(), audit=audit,
                                     answered_by=answered_by, extra={"replica_current_ms_ago": round(age * 1000)})
        return web.json_response(body)

    async def health(request: web.Request) -> web.Response:
        why = behind()
        body: dict[str, Any] = {"ready": why is None}
        if is_reader(request, keys):
            body.update({"app_id": settings.app_id, "detail": why, "lag_records": reader.lag_records(),
                         "current_s_ago": reader.behind_s(), "rows": {k: len(v) for k, v in copy.rows.items()}})
        return web.json_response(body, status=200 if why is None else 503)

    async def metrics(request: web.Request) -> web.Response:
        age = reader.behind_s()
        lines = [
            "# HELP leadpipe_replica_lag_records changelog records on the broker not yet applied here",
            "# TYPE leadpipe_replica_lag_records gauge",
            f"leadpipe_replica_lag_records {reader.lag_records()}",
            "# HELP leadpipe_replica_current_seconds_ago age of the newest instant this copy is known current as of",
            "# TYPE leadpipe_replica_current_seconds_ago gauge",
            f"leadpipe_replica_current_seconds_ago {age if age is not None else -1:.3f}",
        ]
        text = "\n".join(lines) + "\n" + registry_metrics(policies.registries, clock()) + audit.metrics()
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    app = web.Application(middlewares=[auth_middleware(keys)])
    app.router.add_get("/v1/dial-check/{phone}", dial_check)
    app.router.add_get(HEALTH_PATH, health)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(settings: ReplicaSettings, *, stop: asyncio.Event | None = None) -> None:
    """Run the replica until ``stop`` is set (or SIGINT/SIGTERM)."""
    if settings.bootstrap_servers is None:
        raise ConfigError("the dial-check replica reads the worker's changelogs: set LEADPIPE_BOOTSTRAP_SERVERS")
    keys = read_keys(settings.api_keys_path, open_reads=settings.open_reads, host=settings.replica_host,
                     service="the dial-check replica")
    policies = load_policies(settings)
    codec = make_codec(settings)
    copy = TableCopy(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    producer = AckProducer(settings.kafka_client_config(), delivery_timeout_s=10.0, linger_ms=5,
                           required_topics=(DIAL_CHECK,)).start()
    audit = DialCheckAuditLog(ack_sender(producer), codec, enabled=settings.dial_check_audit)
    copy.reader.start()
    runner = web.AppRunner(create_app(settings, policies, copy, audit, keys), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.replica_host, settings.replica_port).start()
        gc.collect()
        gc.freeze()  # what is loaded lives as long as the process: keep it out of the collector's way
        print(f"leadpipe dial-check replica on http://{settings.replica_host}:{settings.replica_port} "
              f"← {settings.bootstrap_servers} ({settings.app_id}'s tables)", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
        await audit.drain()
        await producer.stop()
        copy.reader.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)


def cmd_replica(_args: Any) -> int:
    settings = ReplicaSettings.from_env(os.environ)
    try:
        import uvloop
    except ImportError:  # optional speed-up; the standard loop works the same
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))
    return 0


def add_replica_commands(sub: Any) -> None:  # argparse's _SubParsersAction is private
    p = sub.add_parser("dial-check-replica",
                       help="answer dial-checks from a copy of the worker's tables, in a process of its own")
    p.set_defaults(func=cmd_replica)
