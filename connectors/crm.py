"""The CRM delivery connector: ``qualified-lead`` → a CRM's HTTP API, at least once, no duplicates;
and erasures → the CRM's forget call.

For each record, in partition order::

    decode (project codec) ─► map (connectors.crm_mapping) ─► POST with Idempotency-Key ─► commit
                                                                 │ 408/429/5xx/no answer: retry,
                                                                 │   full-jitter backoff (crm_policy)
                                                                 └ refused, or attempts used up:
                                                                   dead-letter (original bytes) ─► commit

The offset of a record is committed only after it was delivered (2xx) or written to the
``dead-letter`` topic and acknowledged: a crash at any point redelivers it, and the
``Idempotency-Key`` header (the record's ``event_id``) lets the CRM drop the second copy. A
record that does not decode is dead-lettered too; the partition keeps flowing.

Erasure reaches the CRM: the connector also reads ``opt-out``, and for each record with ``action:
ERASE`` normalizes the number (:func:`pipeline.core.phone.normalize_phone`) and sends the mapping's
forget call (:class:`connectors.crm_mapping.ForgetCall`, one per preset), with the same retries,
backoff and dead-letter (stage ``crm-forget``); 2xx or 404 (nothing stored) ends it. Other
opt-outs are skipped (committed); one that does not decode or has no usable number is the worker's
to dead-letter, and is counted here. A qualified lead written *before* an erasure of its number
that arrives after it (the two topics are read side by side) is not delivered: counted as
``withheld``, never sent. That memory lasts as long as the process.

Nothing personal goes into a log line: leads are named by id, numbers not at all, and a CRM's
answer (which may echo a name) by its status, length and hash (:mod:`connectors.crm_policy`).

The connector serves ``GET /healthz`` (ready once the consumer group assigned partitions) and
``GET /metrics`` (Prometheus text) on ``127.0.0.1:<LEADPIPE_CRM_PORT>``. ``/metrics`` needs a key
with the read scope (:mod:`pipeline.http_auth`); ``/healthz`` is open but says only whether the
connector is ready unless a read key asks (the target URL and the last error are for readers).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message

from connectors.crm_mapping import CrmMapping, ForgetRequest, forget_request, load_mapping, map_record
from connectors.crm_policy import Attempt, Delivered, GiveUp, RetryPolicy, after_attempt
from pipeline.codec import Codec, make_codec
from pipeline.config import CrmSettings, redact_url
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.errors import BrokerError, CodecError, ConfigError
from pipeline.events import DeadLetter
from pipeline.http_auth import HEALTH_PATH, AuthFailure, KeyRing, read_keys
from pipeline.kafka_clients import EventProducer
from pipeline.topics import DEAD_LETTER, OPT_OUT, QUALIFIED_LEAD

log = logging.getLogger(__name__)

STAGE = "crm-delivery"
FORGET_STAGE = "crm-forget"
ERASED_REMEMBERED = 100_000
"""Erased numbers remembered (with when) to withhold stale qualified leads; the oldest go first."""
USER_AGENT = "leadpipe-crm-connector/0.1"
_BODY_KEPT = 2000


@dataclass
class CrmStats:
    """Counters for /healthz and /metrics; ``retried`` counts retry attempts, not leads."""

    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    refused: int = 0
    """Dead-lettered because the CRM refused them (a permanent 4xx)."""
    undecodable: int = 0
    """Dead-lettered because the bytes were not a qualified-lead record."""
    forgotten: int = 0
    """Erasures the CRM confirmed (2xx), or had nothing for (404)."""
    forget_dead_lettered: int = 0
    """Erasures dead-lettered: refused, attempts used up, or a mapping without a forget call."""
    erasures_unreadable: int = 0
    """Opt-outs that did not decode or had no usable number (the worker dead-letters them)."""
    withheld: int = 0
    """Qualified leads not delivered: written before an erasure of their number that came first."""
    committed: int = 0
    last_error: str | None = None
    assigned: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CrmTarget:
    """Where and how to POST: built from settings by :func:`target_from_settings`."""

    url: str
    mapping: CrmMapping
    policy: RetryPolicy
    timeout_s: float
    token: str | None = field(default=None, repr=False)


def target_from_settings(settings: CrmSettings) -> CrmTarget:
    if settings.crm_url is None:
        raise ConfigError("LEADPIPE_CRM_URL is not set: the connector needs the CRM endpoint to POST leads to")
    mapping = load_mapping(settings.crm_preset, settings.crm_mapping_path)
    policy = RetryPolicy(settings.crm_max_attempts, settings.crm_backoff_base_s, settings.crm_backoff_cap_s)
    return CrmTarget(settings.crm_url, mapping, policy, settings.crm_timeout_s, settings.crm_token)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers, not instructions: urllib would turn a redirected POST into a GET
    without the lead, so a 3xx comes back as it is (and is dead-lettered as a refusal)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_json(target: CrmTarget, body: Mapping[str, object], idempotency_key: str) -> Attempt:
    """One POST of ``body``; every outcome (an answer or none) comes back as an :class:`Attempt`."""
    return send_json(target, "POST", target.url, body, idempotency_key)


def send_json(target: CrmTarget, method: str, url: str, body: Mapping[str, object] | None,
              idempotency_key: str) -> Attempt:
    """One request; every outcome (an answer or none) comes back as an :class:`Attempt`."""
    headers = {"Accept": "application/json", "Idempotency-Key": idempotency_key, "User-Agent": USER_AGENT}
    if target.token is not None:
        headers["Authorization"] = f"Bearer {target.token}"
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - http(s) only, checked in CrmSettings
    try:
        with _OPENER.open(request, timeout=target.timeout_s) as response:
            text = response.read(_BODY_KEPT).decode("utf-8", errors="replace")
            return Attempt(int(response.status), text)
    except urllib.error.HTTPError as exc:
        text = exc.read(_BODY_KEPT).decode("utf-8", errors="replace") if exc.fp is not None else ""
        return Attempt(int(exc.code), text, retry_after_s=_retry_after(exc.headers.get("Retry-After")))
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Attempt(None, error=f"{type(reason).__name__}: {reason}")


def crm_dead_letter(msg_topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                    error_type: str, error: str, now: datetime, stage: str = STAGE) -> DeadLetter:
    """The dead-letter record for a qualified lead that could not be delivered (or an erasure that
    could not be forwarded: ``stage`` crm-forget)."""
    return {
        # Deterministic: a redelivery after a crash writes the same id, so readers can deduplicate.
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                   f"leadpipe:dead-letter/{stage}/{msg_topic}/{partition}/{offset}")),
        "occurred_at": now, "topic": msg_topic, "partition": partition, "offset": offset,
        "key": key, "value": value, "stage": stage, "error_type": error_type, "error": error,
    }


class CrmConnector:
    """Consumes ``qualified-lead`` in a consumer group and delivers every record (see module doc).

    ``draw`` gives the jitter in [0, 1) (a seeded one makes the waits repeatable). :meth:`stop`
    may be called from any thread or a signal handler: a retry wait ends at once, an attempt in
    flight finishes first.
    """

    def __init__(self, settings: CrmSettings, *, codec: Codec | None = None, target: CrmTarget | None = None,
                 draw: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.codec = codec or make_codec(settings)
        self.target = target or target_from_settings(settings)
        self.stats = CrmStats()
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._draw = draw or random.Random().random  # noqa: S311 - jitter, not security
        policy = self.target.policy
        # A lead may hold the poll loop for its whole retry budget; the group must not evict us meanwhile.
        max_poll_ms = int(max(300.0, policy.worst_case_s(self.target.timeout_s) * 1.5 + 30) * 1000)
        self._consumer = Consumer({
            **settings.kafka_client_config(),
            "group.id": settings.crm_group_id or f"{settings.app_id}-crm",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": int(settings.session_timeout_s * 1000),
            "heartbeat.interval.ms": int(settings.heartbeat_interval_s * 1000),
            "max.poll.interval.ms": max_poll_ms,
            "fetch.wait.max.ms": settings.fetch_max_wait_ms,
            "log.connection.close": False,
        })
        self._producer = EventProducer(settings.kafka_client_config(), self.codec)
        self._erased: dict[str, int] = {}
        """E.164 number → Kafka timestamp (ms) of its erasure, oldest first (see the module docstring)."""

    # --- lifecycle ------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def _on_assign(self, _consumer: Consumer, partitions: list[Any]) -> None:
        self.stats.assigned = sorted(f"{p.topic}/{p.partition}" for p in partitions)
        self.ready.set()

    def _on_revoke(self, _consumer: Consumer, _partitions: list[Any]) -> None:
        self.stats.assigned = []

    def run(self) -> None:
        """Consume until :meth:`stop`; close the consumer (leaving the group) and flush on the way out."""
        log.info("crm connector: %s → %s (mapping %s, %s); erasures from %s: %s", QUALIFIED_LEAD,
                 redact_url(self.target.url), self.target.mapping.name, self.target.policy, OPT_OUT,
                 "forwarded" if self.target.mapping.forget else "dead-lettered: the mapping has no forget call")
        self._consumer.subscribe([QUALIFIED_LEAD, OPT_OUT], on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            while not self._stop.is_set():
                msg = self._consumer.poll(0.2)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.fatal():
                        raise BrokerError(f"consumer failed: {err}")
                    log.warning("consumer: %s", err)
                    continue
                if not self.handle(msg):
                    break  # stopping in the middle of retries: not committed, redelivered later
                self._commit(msg)
        finally:
            self._consumer.close()
            self._producer.flush(10)

    def _commit(self, msg: Message) -> None:
        try:
            self._consumer.commit(message=msg, asynchronous=False)
            self.stats.committed += 1
        except KafkaException as exc:
            # Lost the partition in a rebalance: its new owner redelivers; the CRM dedupes by key.
            log.warning("commit of %s/%s@%s failed: %s", msg.topic(), msg.partition(), msg.offset(), exc)

    # --- one record -----------------------------------------------------------------------------

    def handle(self, msg: Message) -> bool:
        """Deliver, forget, skip or dead-letter ``msg``; False when the connector stopped before either."""
        if msg.topic() == OPT_OUT:
            return self._erasure(msg)
        value = msg.value()
        try:
            if value is None:
                raise CodecError("record without a value (a tombstone): nothing to deliver")
            schema, record = self.codec.decode(value)
            if schema != QUALIFIED_LEAD:
                raise CodecError(f"a {schema} record on {QUALIFIED_LEAD}")
        except CodecError as exc:
            self.stats.undecodable += 1
            self._dead_letter(msg, type(exc).__name__, str(exc))
            return True
        erased_at = self._erased.get(str(record.get("phone_e164")))
        written_at = msg.timestamp()[1]
        if erased_at is not None and written_at <= erased_at:
            self.stats.withheld += 1
            log.warning("lead %s withheld: its number was erased after the lead was written", record.get("lead_id"))
            return True
        body = map_record(self.target.mapping, record)
        key = str(record["event_id"])
        return self._send(msg, lambda: post_json(self.target, body, key), what=f"lead {record.get('lead_id')}",
                          on_delivered=self._delivered, stage=STAGE)

    def _delivered(self, attempt: Attempt) -> None:
        self.stats.delivered += 1

    def _erasure(self, msg: Message) -> bool:
        """An ``opt-out`` record: an ERASE is forwarded to the CRM's forget call; the rest is skipped."""
        value = msg.value()
        try:
            schema, record = self.codec.decode(value) if value is not None else ("", {})
        except CodecError:
            schema, record = "", {}
        if schema != OPT_OUT:
            self.stats.erasures_unreadable += 1  # the worker dead-letters it with its bytes
            return True
        if record.get("action") != "ERASE":
            return True
        phone = normalize_phone(str(record.get("phone") or ""), record.get("country"), self.settings.default_region)
        if isinstance(phone, PhoneError):
            self.stats.erasures_unreadable += 1
            return True
        number = phone["phone_e164"]
        self._erased.pop(number, None)
        self._erased[number] = msg.timestamp()[1]
        if len(self._erased) > ERASED_REMEMBERED:
            del self._erased[next(iter(self._erased))]
        what = f"erasure {record['event_id']}"
        forget = self.target.mapping.forget
        if forget is None:
            self.stats.forget_dead_lettered += 1
            self._dead_letter(msg, "CrmCannotForget", f"mapping {self.target.mapping.name} has no forget call",
                              stage=FORGET_STAGE)
            return True
        request: ForgetRequest = forget_request(forget, crm_url=self.target.url, phone_e164=number,
                                                event_id=str(record["event_id"]))
        return self._send(msg, lambda: _forgotten_if_absent(send_json(
            self.target, request.method, request.url, request.body, f"forget:{record['event_id']}")),
            what=what, on_delivered=self._forgot, stage=FORGET_STAGE)

    def _forgot(self, attempt: Attempt) -> None:
        self.stats.forgotten += 1

    def _send(self, msg: Message, attempt_once: Callable[[], Attempt], *, what: str,
              on_delivered: Callable[[Attempt], None], stage: str) -> bool:
        """Attempt, retry with backoff, or dead-letter ``msg``; False when stopped during a retry wait."""
        attempt_number = 0
        while True:
            attempt_number += 1
            attempt = attempt_once()
            verdict = after_attempt(self.target.policy, attempt_number, attempt, self._draw())
            if isinstance(verdict, Delivered):
                on_delivered(attempt)
                return True
            if isinstance(verdict, GiveUp):
                if stage == FORGET_STAGE:
                    self.stats.forget_dead_lettered += 1
                elif verdict.permanent:
                    self.stats.refused += 1
                self.stats.last_error = verdict.reason
                log.warning("%s dead-lettered: %s", what, verdict.reason)
                # The dead-letter record already holds the lead's bytes: the CRM's answer may join them.
                error = f"{verdict.reason}; the CRM answered: {verdict.answer}" if verdict.answer else verdict.reason
                self._dead_letter(msg, "CrmRefused" if verdict.permanent else "CrmUnavailable", error, stage=stage)
                return True
            self.stats.retried += 1
            self.stats.last_error = verdict.reason
            log.info("%s: attempt %d failed (%s); retry in %.2f s", what, attempt_number, verdict.reason,
                     verdict.delay_s)
            if self._stop.wait(verdict.delay_s):
                return False

    def _dead_letter(self, msg: Message, error_type: str, error: str, *, stage: str = STAGE) -> None:
        record = crm_dead_letter(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0), msg.key(),
                                 msg.value(), error_type, error, datetime.now(UTC), stage)
        self._producer.send(DEAD_LETTER, record, key=msg.key())
        self._producer.flush()  # acknowledged before the offset is committed
        self.stats.dead_lettered += 1


def _forgotten_if_absent(attempt: Attempt) -> Attempt:
    """A forget call answered 404 found nothing to forget: done, like a 2xx."""
    return Attempt(204) if attempt.status == 404 else attempt


# --- health and metrics ---------------------------------------------------------------------------


def _metrics_text(stats: CrmStats, ready: bool) -> str:
    lines = []
    for name, help_text, value in (
        ("leadpipe_crm_delivered_total", "Qualified leads the CRM accepted.", stats.delivered),
        ("leadpipe_crm_retries_total", "Delivery attempts retried after a retriable failure.", stats.retried),
        ("leadpipe_crm_dead_lettered_total", "Qualified leads sent to the dead-letter topic.", stats.dead_lettered),
        ("leadpipe_crm_refused_total", "Qualified leads the CRM refused (permanent 4xx).", stats.refused),
        ("leadpipe_crm_undecodable_total", "Records on qualified-lead that did not decode.", stats.undecodable),
        ("leadpipe_crm_forgotten_total", "Erasures the CRM confirmed (or had nothing for).", stats.forgotten),
        ("leadpipe_crm_forget_dead_lettered_total", "Erasures sent to the dead-letter topic.",
         stats.forget_dead_lettered),
        ("leadpipe_crm_erasures_unreadable_total", "Opt-outs without a readable record or usable number.",
         stats.erasures_unreadable),
        ("leadpipe_crm_withheld_total", "Qualified leads not delivered: their number was erased after them.",
         stats.withheld),
    ):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
    lines += ["# HELP leadpipe_crm_ready 1 once the connector has its partitions.", "# TYPE leadpipe_crm_ready gauge",
              f"leadpipe_crm_ready {int(ready)}"]
    return "\n".join(lines) + "\n"


def serve_status(connector: CrmConnector, host: str, port: int, keys: KeyRing | None) -> ThreadingHTTPServer:
    """``/healthz`` and ``/metrics`` for ``connector`` in a background thread; ``keys`` checks reads
    (None: reads are open, see :func:`pipeline.http_auth.read_keys`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ready = connector.ready.is_set()
            who = keys.authorize(self.headers) if keys is not None else None
            if self.path == HEALTH_PATH:
                body: dict[str, object] = {"ready": ready, "status": "ok" if ready else "starting"}
                if not isinstance(who, AuthFailure):
                    body.update(service="crm", url=redact_url(connector.target.url),
                                mapping=connector.target.mapping.name, **asdict(connector.stats))
                self._send(200 if ready else 503, "application/json", json.dumps(body).encode())
            elif isinstance(who, AuthFailure):
                self._send(who.status, "application/json", json.dumps({"error": who.reason}).encode(),
                           {"WWW-Authenticate": 'Bearer realm="leadpipe"'} if who.status == 401 else {})
            elif self.path == "/metrics":
                self._send(200, "text/plain; version=0.0.4", _metrics_text(connector.stats, ready).encode())
            else:
                self._send(404, "application/json", b'{"error": "not found"}')

        def _send(self, status: int, content_type: str, payload: bytes,
                  headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return  # health polls are not news

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="crm-status", daemon=True).start()
    return server


# --- CLI ------------------------------------------------------------------------------------------


def cmd_crm(args: argparse.Namespace) -> int:
    settings = CrmSettings.from_env(os.environ)
    if settings.embedded:
        raise ConfigError("set LEADPIPE_BOOTSTRAP_SERVERS: the CRM connector reads qualified-lead from a broker")
    logging.getLogger("connectors").setLevel(settings.log_level.upper())
    from pipeline.admin import ensure_topics

    keys = read_keys(settings.api_keys_path, open_reads=settings.open_reads, host=settings.web_host,
                     service="the CRM connector")
    ensure_topics(settings)  # idempotent; the dead-letter producer must never let the broker auto-create a topic
    connector = CrmConnector(settings)
    server = serve_status(connector, settings.web_host, settings.crm_port, keys)
    print(f"crm connector: {QUALIFIED_LEAD} → {redact_url(connector.target.url)} "
          f"(mapping {connector.target.mapping.name}); "
          f"status on http://{settings.web_host}:{server.server_port}/healthz", flush=True)
    # Ctrl-C and SIGTERM finish the attempt in flight (and its commit), then leave the group.
    signal.signal(signal.SIGINT, lambda *_: connector.stop())
    signal.signal(signal.SIGTERM, lambda *_: connector.stop())
    try:
        connector.run()
    finally:
        server.shutdown()
        s = connector.stats
        print(f"crm connector stopped: delivered {s.delivered}, retried {s.retried}, dead-lettered {s.dead_lettered}",
              flush=True)
    return 0
