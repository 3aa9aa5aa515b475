"""``leadpipe demo``: the whole system locally, fed by simulated web forms and worked by a dialer.

Starts, as child processes: the embedded broker (unless a cluster is configured), a worker, the
HTTP ingest gateway, the console (live dashboard, report, metrics) and a CRM connector delivering
to a local, intermittently failing CRM sink. Then simulated web forms and lead vendors post
leads, opt-outs and consent changes to the gateway (each source with its own API key), a vendor
writes two garbage records straight to Kafka, and the reference dialer client (connectors.dialer:
its own call-ready reader, the worker's dial-time check before every call, outcomes posted to the
gateway) works the offers with simulated calls, by agents logged in to it: a person who asks to be
called back right away gets a callback re-offer with its promise, dialed by the agent who made it.
Every output is printed as it arrives, then a summary. Without ``--exit-when-done`` it keeps
going — a trickle of new web-form leads, the dialer working them, the dashboard following — until
Ctrl-C (or SIGTERM), which stops everything in order: dialer and readers, CRM connector and sink,
console, gateway, worker, broker.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

from connectors.demo.crm_local import LocalCrm, start_local_crm
from connectors.demo.sample import LEAD_SOURCES, sample_events
from connectors.demo.webforms import WebFormSimulator
from connectors.dialer import CallReadyFeed, DialCheckClient, DialerClient, HttpOutcomeSink
from connectors.gateway_client import GatewayClient
from connectors.outcome_model import DEMO_MIX, OutcomeModel
from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.console.process import ConsoleProcess
from pipeline.core.outcomes import QUALIFYING
from pipeline.core.qualification import Verdict
from pipeline.errors import LeadpipeError
from pipeline.events import CallOutcome, CallOutcomeCode
from pipeline.kafka_clients import EventProducer, Received, TopicTail
from pipeline.processes import GatewayProcess, ServiceProcess, WorkerProcess
from pipeline.topics import CALL_OUTCOME, CALL_READY, DEAD_LETTER, LEAD_CAPTURED, LEAD_DECISION, QUALIFIED_LEAD

DEMO_CALLS_PER_SECOND = 20.0
DEMO_TALK_TIME_S = 0.3
DEMO_AGENTS = tuple(f"a-{n}" for n in range(101, 109))
"""Agents logged in to the demo's dialer: eight lines at 0.3 s a call keep up with 20 calls/s."""
TRICKLE_EVERY_S = 3.0
"""After the summary, one new batch of web-form traffic this often, so the dashboard keeps moving."""
COMPLIANCE_SOURCE = "compliance-desk"
"""The API key opt-outs and consent changes are posted with (preference center, SMS keywords)."""
DIALER_SOURCE = "dialer:reference"
OPERATOR_SOURCE = "ops:demo"
"""The read-only key the dashboard link logs in with and the console scrapes the worker with."""
CRM_FAULTS = ("--failure-rate", "0.15", "--fail-after-store-rate", "0.1", "--seed", "5")
"""The local CRM fails some requests, some after storing: the connector's retries and idempotency
key are at work in every demo."""

_VERDICTS = frozenset(get_args(Verdict))
"""The qualification framework's verdicts: the reason code of the decision on a qualifying call."""

GARBAGE = (b"\x00\x00\x00\x00\x01not avro at all", b'{"lead_id": "json is not our wire format"}')


class DemoCalls(OutcomeModel):
    """The demo's simulated calls: the first person reached asks to be called back right away, so
    every demo shows a callback coming back with its promise; then calls go as the mix draws them."""

    def __init__(self, *, seed: int) -> None:
        super().__init__(seed=seed, mix=DEMO_MIX, callback_in=timedelta(0))
        self._asked = False

    def outcome(self, offer: Mapping[str, Any], *, ended_at: datetime, attempt: int = 1,
                agent_id: str | None = None, code: CallOutcomeCode | None = None) -> CallOutcome:
        if code is None and not self._asked and offer.get("callback") is None:
            self._asked = True
            code = "CALLBACK_REQUESTED"
        return super().outcome(offer, ended_at=ended_at, attempt=attempt, agent_id=agent_id, code=code)


def _say(line: str) -> None:
    print(line, flush=True)


class Report:
    """Prints outputs as they arrive and keeps the counts for the summary."""

    def __init__(self) -> None:
        self.decisions: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.lead_inputs: set[str] = set()
        self.call_ready: Counter[str] = Counter()
        self.qualified: set[str] = set()
        self.nurtured: set[str] = set()
        """Leads closed NURTURE: on qualified-lead for the CRM's nurture track, not for sales."""
        self.outcomes_decided: set[str] = set()
        """Call outcomes the worker has decided (each leaves a lead-decision: input event ids)."""
        self.callbacks_waiting: dict[str, str] = {}
        """Leads waiting for a callback scheduled by a call outcome → that outcome's event id."""
        self.callbacks_offered = 0
        self.judged: set[str] = set()
        """Qualifying call outcomes the qualification framework has judged (their input event ids)."""
        self.judged_qualified: set[str] = set()
        self.dead_letters = 0

    def on_record(self, r: Received) -> None:
        rec = r.record
        if rec is None:
            _say(f"  ?  {r.topic}: undecodable output record at offset {r.offset}")
            return
        if r.topic == LEAD_DECISION:
            self._decision(rec)
        elif r.topic == CALL_READY:
            self.call_ready[rec["action"]] += 1
            promise = rec.get("callback")
            if rec["action"] == "READY" and promise is not None:
                self.callbacks_offered += 1
                _say(f'  ☎  CALL_READY {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} '
                     f'priority {rec["priority"]:>4}  CALLBACK from {rec["callable_from"]:%H:%M}Z promised by '
                     f'{promise["promised_by_agent"]}: {promise["notes"]!r}')
            elif rec["action"] == "READY":
                until = rec["callable_until"]
                window = f"window until {until:%H:%M}Z ({rec['seconds_left'] // 60} min left)" if until else ""
                _say(f'  ✓  CALL_READY {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} '
                     f'priority {rec["priority"]:>3}  {window}')
            else:
                why = rec["reasons"][0]["code"] if rec["reasons"] else ""
                _say(f'  ↩  WITHDRAW   {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} {why}')
        elif r.topic == QUALIFIED_LEAD and rec.get("lead_status") == "NURTURE":
            self.nurtured.add(rec["lead_id"])
            _say(f'  ♺  NURTURE    {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} '
                 f'{rec.get("contact_name") or "(no name)"} → CRM nurture track (asked for callbacks, not ready)')
        elif r.topic == QUALIFIED_LEAD:
            self.qualified.add(rec["lead_id"])
            name = rec.get("contact_name") or f'{rec["first_name"] or ""} {rec["last_name"] or ""}'.strip() \
                or "(no name)"
            _say(f'  ★  QUALIFIED  {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} {name} → CRM '
                 f'(next step: {rec.get("next_step") or rec["answers"].get("next_step", "-")})')
        elif r.topic == DEAD_LETTER:
            self.dead_letters += 1
            _say(f'  ☠  DEAD-LETTER {rec["topic"]}/{rec["partition"]}@{rec["offset"]} stage={rec["stage"]} '
                 f'{rec["error_type"]}: {rec["error"][:70]} ({len(rec["value"] or b"")} original bytes kept)')

    def _decision(self, rec: dict[str, object]) -> None:
        outcome = str(rec["outcome"])
        self.decisions[outcome] += 1
        lead_id, input_event_id = str(rec["lead_id"]), str(rec["input_event_id"])
        if rec["input_topic"] == LEAD_CAPTURED:
            self.lead_inputs.add(input_event_id)
        reasons = rec["reasons"]
        first = reasons[0] if isinstance(reasons, list) and reasons else {"code": "-", "rule_id": "-", "detail": ""}
        if self.callbacks_waiting.get(lead_id, input_event_id) != input_event_id:
            del self.callbacks_waiting[lead_id]  # decided again since: offered, deferred or withdrawn
        if rec["input_topic"] == CALL_OUTCOME:
            self.outcomes_decided.add(input_event_id)
            if first["code"] == "CALLBACK_SCHEDULED":
                self.callbacks_waiting[lead_id] = input_event_id
        if outcome == "CALL_READY":
            return
        if rec["input_topic"] == CALL_OUTCOME and first["code"] in _VERDICTS:
            self.judged.add(str(rec["input_event_id"]))
            if first["code"] == "QUALIFIED":
                self.judged_qualified.add(str(rec["lead_id"]))
        self.reasons[f'{outcome}: {first["code"]}'] += 1
        phone = rec["phone_e164"] or rec["phone"]
        _say(f'  ✗  {outcome:<10} {phone!s:<16} lead {rec["lead_id"]!s:<12} '
             f'{first["code"]} [{first["rule_id"]}] {first["detail"]}')


class Demo:
    """The running system: child processes in start order, and the clients the demo drives."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.broker: EmbeddedBroker | None = None
        self.services: list[ServiceProcess] = []
        self.crm: LocalCrm | None = None
        self.feed: CallReadyFeed | None = None
        self.tail: TopicTail | None = None

    def start(self, service: ServiceProcess, what: str) -> ServiceProcess:
        _say(f"▶ starting the {what} (log: {service.log_path}) ...")
        self.services.append(service)
        service.start().wait_ready()
        return service

    def check(self) -> None:
        """Raise if a reader failed or a child process died: the demo must not hang on a dead part."""
        if self.tail is not None and self.tail.error is not None:
            raise LeadpipeError(f"output reader failed: {self.tail.error}")
        for service in self.services:
            if not service.alive():
                raise LeadpipeError(f"the {service.name} stopped unexpectedly (log: {service.log_path})")

    def stop(self) -> None:
        """Readers first, then services in reverse start order, the broker last. A part that takes
        more than a few seconds to stop is named, with the time it took."""
        if self.feed is not None:
            _timed("the dialer's call-ready reader", self.feed.close)
        if self.tail is not None:
            _timed("the output reader", self.tail.stop)
        if self.crm is not None:
            _timed("the CRM connector and sink", self.crm.stop)
        for service in reversed(self.services):
            _timed(f"the {service.name}", service.stop)
        if self.broker is not None:
            _timed("the broker", self.broker.stop)


SLOW_STOP_S = 3.0
"""A part of the demo that takes longer than this to stop is named on the way out."""


def _timed(what: str, stop: Callable[[], object]) -> None:
    _say(f"  stopping {what} ...")
    started = time.monotonic()
    stop()
    took = time.monotonic() - started
    if took > SLOW_STOP_S:
        _say(f"▶ {what} took {took:.1f} s to stop")


def _api_keys(workdir: Path) -> tuple[Path, dict[str, str]]:
    """A fresh API key per source, written where every service reads them; returns (file, source → key).

    Senders may write; the dialer writes outcomes and reads the dial-check; the operator's key reads
    only (dashboard, reports, metrics)."""
    scopes = {DIALER_SOURCE: ["read", "write"], OPERATOR_SOURCE: ["read"]}
    sources = (*LEAD_SOURCES, COMPLIANCE_SOURCE, DIALER_SOURCE, OPERATOR_SOURCE)
    keys = {source: secrets.token_urlsafe(24) for source in sources}
    path = workdir / "api-keys.json"
    path.write_text(json.dumps({"keys": [
        {"key_id": source.replace(":", "-"), "source": source, "key": key, "hmac_secret": None,
         "scopes": scopes.get(source, ["write"])}
        for source, key in keys.items()
    ]}, indent=2))
    path.chmod(0o600)
    return path, keys


class Submitter:
    """Posts sample traffic to the gateway the way its senders would: each lead source with its own
    key (web forms form-encoded, vendors JSON), opt-outs and consents from the compliance desk."""

    def __init__(self, gateway_url: str, keys: Mapping[str, str]) -> None:
        self.forms = {source: WebFormSimulator(GatewayClient(gateway_url, key)) for source, key in keys.items()}
        self.refused_leads: list[dict[str, Any]] = []
        """Leads the gateway answered 422 (e.g. a phone number no normalization can save)."""

    def post(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for topic, record in events:
            source = str(record["source"]) if topic == LEAD_CAPTURED else COMPLIANCE_SOURCE
            status = self.forms[source].post(topic, record)
            if topic == LEAD_CAPTURED and status == 422:
                self.refused_leads.append(record)

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for form in self.forms.values():
            total.update({str(status): n for status, n in form.stats.statuses.items()})
            total["unavailable"] += form.stats.unavailable
        return +total

    def errors(self) -> list[str]:
        return [error for form in self.forms.values() for error in form.stats.errors]


def run_demo(settings: Settings, *, leads: int = 60, exit_when_done: bool = False, timeout_s: float = 180.0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="leadpipe-demo-"))
    demo = Demo(workdir)
    try:
        if settings.embedded:
            demo.broker = EmbeddedBroker(log_path=workdir / "broker.log")
            _say("▶ starting the embedded broker (Tansu, memory only) ...")
            settings = settings.with_bootstrap(demo.broker.start())
        bootstrap = settings.bootstrap_servers or ""
        _say(f"▶ broker at {bootstrap}; creating topics ...")
        ensure_topics(settings)
        keys_path, keys = _api_keys(workdir)
        env = _service_env(keys_path)
        worker = demo.start(WorkerProcess(bootstrap=bootstrap, log_path=workdir / "worker.log", env=env,
                                          embedded=demo.broker is not None), "worker")
        gateway = demo.start(GatewayProcess(bootstrap=bootstrap, api_keys_path=keys_path, env=env,
                                            log_path=workdir / "gateway.log"), "ingest gateway")
        console = demo.start(ConsoleProcess(bootstrap=bootstrap, worker_urls=[worker.url],
                                            env={**env, "LEADPIPE_API_KEY": keys[OPERATOR_SOURCE]},
                                            log_path=workdir / "console.log"), "console")
        _say("▶ starting the CRM connector and a local CRM that fails now and then ...")
        demo.crm = start_local_crm(bootstrap, log_dir=workdir, preset="hubspot", sink_args=CRM_FAULTS, env=env,
                                   read_key=keys[OPERATOR_SOURCE])
        dashboard = f"{console.url}/dashboard#key={keys[OPERATOR_SOURCE]}"
        _say(f"▶ gateway   {gateway.url}  (OpenAPI: {gateway.url}/openapi.json)")
        _say(f"▶ dashboard {dashboard}   ← open it in a browser (the link logs you in with this run's read key)")
        _say(f"▶ local CRM {demo.crm.sink.url}/received")

        codec = make_codec(settings)
        kafka = settings.kafka_client_config()
        fixed = settings.fixed_clock
        clock: Callable[[], datetime] = (lambda: fixed) if fixed else (lambda: datetime.now(UTC))
        submitter = Submitter(gateway.url, keys)
        # The demo's dialer is the reference client, fast-paced: short calls, many per second.
        # Its people ask to be called back right away ("I'm driving"), so a callback comes back in the demo.
        dialer = DialerClient(checker=DialCheckClient([worker.url], api_key=keys[DIALER_SOURCE]),
                              sink=HttpOutcomeSink(GatewayClient(gateway.url, keys[DIALER_SOURCE])),
                              model=DemoCalls(seed=settings.dialer_seed),
                              clock=clock, calls_per_second=DEMO_CALLS_PER_SECOND, talk_time_s=DEMO_TALK_TIME_S,
                              agents=DEMO_AGENTS, announce=lambda line: _say(f"  ☎  dialer: {line}"))
        demo.feed = CallReadyFeed(kafka, codec, from_beginning=True).start()
        report = Report()
        demo.tail = TopicTail(kafka, codec, [LEAD_DECISION, CALL_READY, QUALIFIED_LEAD, DEAD_LETTER],
                              on_record=report.on_record).start()

        events = sample_events(clock(), leads=leads)
        fed = Counter(topic for topic, _ in events)
        _say(f"▶ web forms and vendors post {fed[LEAD_CAPTURED]} leads, {fed['opt-out']} opt-outs and "
             f"{fed['consent-changed']} consent changes to the gateway; a vendor writes {len(GARBAGE)} "
             "garbage records and one lead with an unusable phone number straight to Kafka ...")
        submitter.post(events)
        producer = EventProducer(kafka, codec)
        for raw in GARBAGE:
            producer.send_raw(LEAD_CAPTURED, raw, key=b"garbage")
        # The same vendor also writes one lead the gateway refused straight to Kafka: valid Avro, a
        # phone number no normalization can save. The worker rejects it with a reason.
        direct = submitter.refused_leads[:1]
        for record in direct:
            producer.send(LEAD_CAPTURED, {**record, "event_id": f"kafka-{record['event_id']}"}, key=record["lead_id"])
        producer.flush()
        _say(f"▶ gateway answers: {_counts(submitter.counts())}")

        deadline = time.monotonic() + timeout_s
        done = _wait(lambda: len(report.lead_inputs) >= _leads_accepted(submitter) + len(direct)
                     and report.dead_letters >= len(GARBAGE), demo, deadline)
        if done:
            done = _second_thoughts(report, submitter, demo, clock, deadline)
        if done:
            done = _too_late_for_call_ready(report, dialer, submitter, demo, clock, deadline)
        if done:
            done = _dial_until_done(report, dialer, demo, deadline)
        if done:
            done = _wait(lambda: _crm_stored(demo.crm) >= _to_crm(report), demo, deadline)
        _summary(report, dialer, submitter, demo.crm, fed, len(direct), done)
        _say(f"▶ dashboard {dashboard}")
        if not done:
            return 1
        if exit_when_done:
            return 0
        _say("▶ the system keeps running: new web-form leads every few seconds, the dialer works them; "
             "Ctrl-C to stop")
        for batch in itertools.count(1):
            # Leads only: the sample's opt-outs and consent changes were shown once already.
            submitter.post([(topic, record) for topic, record in sample_events(clock(), seed=1000 + batch, leads=10)
                            if topic == LEAD_CAPTURED])
            until = time.monotonic() + TRICKLE_EVERY_S
            while time.monotonic() < until:
                demo.check()
                _work(dialer, demo.feed)
        return 0  # unreachable: the loop ends by Ctrl-C
    except KeyboardInterrupt:
        _say("\n▶ stopping ...")
        return 0
    finally:
        demo.stop()
        _say("▶ stopped: dialer, CRM connector and sink, console, gateway, worker and broker are down")
        shutil.rmtree(workdir, ignore_errors=True)


def _service_env(keys_path: Path) -> dict[str, str]:
    """The environment of the demo's services: this run's keys file for reads and writes, and a
    random erasure key (markers made in a demo mean nothing after it, so none needs to survive it)."""
    _say("▶ erasure key: a random one for this run (LEADPIPE_ERASURE_KEY; production sets its own secret)")
    return {**os.environ, "LEADPIPE_API_KEYS_PATH": str(keys_path), "LEADPIPE_ERASURE_KEY": secrets.token_urlsafe(32)}


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items())) or "none"


def _leads_accepted(submitter: Submitter) -> int:
    return sum(form.stats.statuses[202] for source, form in submitter.forms.items()
               if source in LEAD_SOURCES)


def _to_crm(report: Report) -> int:
    """qualified-lead records: one per lead closed QUALIFIED or NURTURE."""
    return len(report.qualified) + len(report.nurtured)


def _crm_stored(crm: LocalCrm | None) -> int:
    if crm is None:
        return 0
    try:
        return int(crm.received()["stored"])
    except OSError:
        return 0


def _wait(condition: Callable[[], bool], demo: Demo, deadline: float) -> bool:
    while time.monotonic() < deadline:
        demo.check()
        if condition():
            return True
        time.sleep(0.1)
    return False


def _opt_out(phone: str, clock: Callable[[], datetime], *, source: str, reason: str, evidence: str,
             scope: str = "ALL_CHANNELS") -> dict[str, Any]:
    return {"event_id": f"demo-optout-{phone}-{source}", "occurred_at": clock(), "phone": phone, "country": None,
            "action": "ADD", "scope": scope, "category": "PERMANENT", "campaign_id": None, "expires_at": None,
            "source": source, "reason": reason, "evidence": evidence}


def _second_thoughts(report: Report, submitter: Submitter, demo: Demo, clock: Callable[[], datetime],
                     deadline: float) -> bool:
    """Before the dialer starts, two people who were just offered change their minds.

    One replies STOP to the confirmation text, one revokes consent on the preferences page: both
    reach the gateway, and both offers must be withdrawn on ``call-ready`` so the dialer drops them.
    """
    records = [r.record for r in demo.tail.records(CALL_READY) if r.record] if demo.tail is not None else []
    withdrawn = {(r["phone_e164"], r["lead_id"]) for r in records if r["action"] == "WITHDRAW"}
    offered = [r for r in records if r["action"] == "READY" and (r["phone_e164"], r["lead_id"]) not in withdrawn][:2]
    if len(offered) < 2:
        return True
    stop, revoke = offered
    _say(f"▶ {stop['phone_e164']} replies STOP to the confirmation text; {revoke['phone_e164']} revokes consent")
    before = {phone: _withdrawals(demo, phone) for phone in (stop["phone_e164"], revoke["phone_e164"])}
    submitter.post([
        ("opt-out", _opt_out(stop["phone_e164"], clock, source="sms-keyword:STOP",
                             reason="replied STOP to the confirmation text", evidence="sms-reply")),
        ("consent-changed", {
            "event_id": f"demo-revoke-{revoke['phone_e164']}", "occurred_at": clock(),
            "phone": revoke["phone_e164"], "country": None, "action": "REVOKE", "purpose": "*", "channel": "ANY",
            "channel_specific": False, "source": "web:preferences-center", "proof": None,
        }),
    ])
    return _wait(lambda: all(_withdrawals(demo, phone) > n for phone, n in before.items()), demo, deadline)


def _withdrawals(demo: Demo, phone: str) -> int:
    """WITHDRAWs of ``phone`` on call-ready so far: a wait for *its* withdrawal, not for a count that
    another number's could reach first (seen: the dialer then called before the opt-out was decided)."""
    if demo.tail is None:
        return 0
    return sum(1 for r in demo.tail.records(CALL_READY)
               if r.record is not None and r.record["action"] == "WITHDRAW" and r.record["phone_e164"] == phone)


def _too_late_for_call_ready(report: Report, dialer: DialerClient, submitter: Submitter, demo: Demo,
                             clock: Callable[[], datetime], deadline: float) -> bool:
    """The race guard at work: the dialer has read its hopper and is about to call its first number
    when that person opts out. The WITHDRAW is on its way, but the dialer dials before reading it:
    the dial-time check, asked right before the call, must stop it."""
    feed = demo.feed
    if feed is None or not _wait(lambda: _catch_up(dialer, feed, report), demo, deadline):
        return False
    first = dialer.hopper.next_up(clock())
    if first is None:
        return True
    phone = first["phone_e164"]
    _say(f"▶ {phone} (next in the dialer's hopper) tells an agent on an inbound call never to call again, "
         "just as the dialer is about to dial it")
    withdrawn = _withdrawals(demo, phone)
    submitter.post([("opt-out", _opt_out(phone, clock, source="agent:a-301", reason="asked not to be called",
                                         evidence="call-recording"))])
    return _wait(lambda: _withdrawals(demo, phone) > withdrawn, demo, deadline)


def _catch_up(dialer: DialerClient, feed: CallReadyFeed, report: Report) -> bool:
    """Read call-ready (without dialing) until the dialer has seen what the report has."""
    for record in feed.poll(0.05):
        dialer.handle(record)
    return dialer.stats.records_seen() >= sum(report.call_ready.values())


def _work(dialer: DialerClient, feed: CallReadyFeed | None) -> None:
    """One turn of the dialer: dial or end a call if due, then read what call-ready has."""
    if feed is None:
        return
    for record in feed.poll(0.0 if dialer.step() else 0.05):
        dialer.handle(record)


def _dial_until_done(report: Report, dialer: DialerClient, demo: Demo, deadline: float) -> bool:
    """Dial until the dialer has read every call-ready record the report saw, worked every offer,
    the worker has decided every outcome it reported, every qualifying call was judged by the
    qualification framework, every lead it qualified has reached ``qualified-lead``, and every
    callback asked for has come back (the release scheduler re-offers it at its next tick)."""
    _say("▶ the dialer starts its shift")
    while time.monotonic() < deadline:
        demo.check()
        _work(dialer, demo.feed)
        stats = dialer.stats
        qualifying = sum(stats.outcomes[code] for code in QUALIFYING)
        delivered = sum(stats.outcomes.values()) - stats.outcomes_rejected
        if (dialer.pending() == 0 and stats.records_seen() >= sum(report.call_ready.values())
                and len(report.outcomes_decided) >= delivered and not report.callbacks_waiting
                and len(report.judged) >= qualifying and report.qualified >= report.judged_qualified):
            return True
    return False


def _summary(report: Report, dialer: DialerClient, submitter: Submitter, crm: LocalCrm | None,
             fed: Counter[str], direct: int, done: bool) -> None:
    _say("")
    _say("══ summary " + "═" * 60)
    _say(f"posted:         {fed[LEAD_CAPTURED]} leads, {fed['opt-out']} opt-outs, "
         f"{fed['consent-changed']} consent changes to the gateway; {len(GARBAGE)} garbage records and "
         f"{direct} lead straight to Kafka")
    _say(f"gateway:        {_counts(submitter.counts())} (202 = stored, acknowledged by the broker)")
    for error in submitter.errors()[:5]:
        _say(f"    refused: {error[:140]}")
    _say("lead decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(report.decisions.items())))
    for reason, count in sorted(report.reasons.items()):
        _say(f"    {count:>4}  {reason}")
    _say(f"call-ready:     {report.call_ready['READY']} offers, {report.call_ready['WITHDRAW']} withdrawals")
    stats = dialer.stats
    blocked = ", ".join(f"{k} {v}" for k, v in sorted(stats.blocked_reasons.items()))
    _say(f"dialer:         {stats.offers} offers, {stats.withdrawn} withdrawn, {stats.blocked} blocked by the "
         f"dial-time check{f' ({blocked})' if blocked else ''}, {stats.expired} expired")
    _say(f"                {stats.dialed} calls: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())))
    _say(f"callbacks:      {report.callbacks_offered} re-offered with their promise; dialed by the agent who "
         f"promised them {stats.callbacks_to_promiser}, by another agent {stats.callbacks_to_another}")
    _say(f"qualified-lead: {_to_crm(report)} sent to CRMs ({len(report.qualified)} qualified, "
         f"{len(report.nurtured)} for nurturing)")
    if crm is not None:
        connector = crm.stats()
        _say(f"CRM:            {_crm_stored(crm)} stored at the local CRM; connector: delivered "
             f"{connector.get('delivered', '?')}, retried {connector.get('retried', '?')}, "
             f"dead-lettered {connector.get('dead_lettered', '?')}")
    _say(f"dead-letter:    {report.dead_letters} records, original bytes kept")
    if not done:
        print("leadpipe demo: timed out before every output arrived", file=sys.stderr)
