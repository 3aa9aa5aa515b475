"""``leadpipe demo``: the whole pipeline on the embedded broker, fed with sample traffic.

Starts the broker (unless a cluster is configured), creates the topics, starts a worker process,
feeds web-form leads from several countries, opt-outs and consent changes plus two garbage
records, lets the reference dialer client (connectors.dialer: its own call-ready reader, the
worker's dial-time check before every call, outcomes to the call-outcome topic) work the offers
with simulated calls, prints every
output as it arrives and a summary at the end. Ctrl-C (or SIGTERM) stops everything in order:
output reader, then the worker, then the broker.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from connectors.dialer import CallReadyFeed, DialCheckClient, DialerClient, KafkaOutcomeSink
from connectors.kafka import EventProducer, Received, TopicTail
from connectors.outcome_model import DEMO_MIX, OutcomeModel
from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.core.outcomes import QUALIFYING
from pipeline.demo.sample import sample_events
from pipeline.errors import LeadpipeError
from pipeline.processes import WorkerProcess
from pipeline.topics import CALL_READY, DEAD_LETTER, LEAD_CAPTURED, LEAD_DECISION, QUALIFIED_LEAD

DEMO_CALLS_PER_SECOND = 20.0
DEMO_TALK_TIME_S = 0.3

GARBAGE = (b"\x00\x00\x00\x00\x01not avro at all", b'{"lead_id": "json is not our wire format"}')


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
            if rec["action"] == "READY":
                until = rec["callable_until"]
                window = f"window until {until:%H:%M}Z ({rec['seconds_left'] // 60} min left)" if until else ""
                _say(f'  ✓  CALL_READY {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} '
                     f'priority {rec["priority"]:>3}  {window}')
            else:
                why = rec["reasons"][0]["code"] if rec["reasons"] else ""
                _say(f'  ↩  WITHDRAW   {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} {why}')
        elif r.topic == QUALIFIED_LEAD:
            self.qualified.add(rec["lead_id"])
            name = f'{rec["first_name"] or ""} {rec["last_name"] or ""}'.strip() or "(no name)"
            _say(f'  ★  QUALIFIED  {rec["phone_e164"]:<16} lead {rec["lead_id"]:<12} {name} → CRM '
                 f'(next step: {rec["answers"].get("next_step", "-")})')
        elif r.topic == DEAD_LETTER:
            self.dead_letters += 1
            _say(f'  ☠  DEAD-LETTER {rec["topic"]}/{rec["partition"]}@{rec["offset"]} stage={rec["stage"]} '
                 f'{rec["error_type"]}: {rec["error"][:70]} ({len(rec["value"] or b"")} original bytes kept)')

    def _decision(self, rec: dict[str, object]) -> None:
        outcome = str(rec["outcome"])
        self.decisions[outcome] += 1
        if rec["input_topic"] == LEAD_CAPTURED:
            self.lead_inputs.add(str(rec["input_event_id"]))
        if outcome == "CALL_READY":
            return
        reasons = rec["reasons"]
        first = reasons[0] if isinstance(reasons, list) and reasons else {"code": "-", "rule_id": "-", "detail": ""}
        self.reasons[f'{outcome}: {first["code"]}'] += 1
        phone = rec["phone_e164"] or rec["phone"]
        _say(f'  ✗  {outcome:<10} {phone!s:<16} lead {rec["lead_id"]!s:<12} '
             f'{first["code"]} [{first["rule_id"]}] {first["detail"]}')


def run_demo(settings: Settings, *, leads: int = 60, exit_when_done: bool = False, timeout_s: float = 120.0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="leadpipe-demo-"))
    broker: EmbeddedBroker | None = None
    worker: WorkerProcess | None = None
    tail: TopicTail | None = None
    feed: CallReadyFeed | None = None
    try:
        if settings.embedded:
            broker = EmbeddedBroker(log_path=workdir / "broker.log")
            _say("▶ starting the embedded broker (Tansu, memory only) ...")
            settings = settings.with_bootstrap(broker.start())
        _say(f"▶ broker at {settings.bootstrap_servers}; creating topics ...")
        ensure_topics(settings)
        worker = WorkerProcess(bootstrap=settings.bootstrap_servers or "", log_path=workdir / "worker.log",
                               embedded=broker is not None)
        _say(f"▶ starting the worker (log: {worker.log_path}) ...")
        worker.start()
        worker.wait_ready()
        _say(f"▶ worker ready ({worker.url}/healthz)")

        codec = make_codec(settings)
        kafka = settings.kafka_client_config()
        fixed = settings.fixed_clock
        clock: Callable[[], datetime] = (lambda: fixed) if fixed else (lambda: datetime.now(UTC))
        producer = EventProducer(kafka, codec)
        # The demo's dialer is the reference client, fast-paced: short calls, many per second.
        dialer = DialerClient(checker=DialCheckClient([worker.url]), sink=KafkaOutcomeSink(producer),
                              model=OutcomeModel(seed=settings.dialer_seed, mix=DEMO_MIX), clock=clock,
                              calls_per_second=DEMO_CALLS_PER_SECOND, talk_time_s=DEMO_TALK_TIME_S)
        feed = CallReadyFeed(kafka, codec, from_beginning=True).start()
        report = Report()
        tail = TopicTail(kafka, codec, [LEAD_DECISION, CALL_READY, QUALIFIED_LEAD, DEAD_LETTER],
                         on_record=report.on_record).start()

        events = sample_events(clock(), leads=leads)
        fed = Counter(topic for topic, _ in events)
        _say(f"▶ feeding {fed[LEAD_CAPTURED]} leads, {fed['opt-out']} opt-outs, {fed['consent-changed']} consent "
             f"changes and {len(GARBAGE)} garbage records ...")
        for topic, record in events:
            producer.send(topic, record, key=str(record.get("lead_id") or record["phone"]))
        for raw in GARBAGE:
            producer.send_raw(LEAD_CAPTURED, raw, key=b"garbage")
        producer.flush()

        deadline = time.monotonic() + timeout_s
        done = _wait(lambda: len(report.lead_inputs) >= fed[LEAD_CAPTURED] and report.dead_letters >= len(GARBAGE),
                     tail, worker, deadline)
        if done:
            done = _second_thoughts(report, producer, tail, worker, clock, deadline)
        if done:
            done = _too_late_for_call_ready(report, dialer, feed, producer, tail, worker, clock, deadline)
        if done:
            done = _dial_until_done(report, dialer, feed, tail, worker, deadline)
        _summary(report, dialer, fed, done)
        if not done:
            return 1
        if exit_when_done:
            return 0
        _say("▶ the pipeline keeps running; Ctrl-C to stop")
        while worker.alive():
            _work(dialer, feed)
        raise LeadpipeError(f"the worker stopped unexpectedly (log: {worker.log_path})")
    except KeyboardInterrupt:
        _say("\n▶ stopping ...")
        return 0
    finally:
        if feed is not None:
            feed.close()
        if tail is not None:
            tail.stop()
        if worker is not None:
            worker.stop()
        if broker is not None:
            broker.stop()
        _say("▶ stopped: worker and broker are down")
        shutil.rmtree(workdir, ignore_errors=True)


def _check(tail: TopicTail, worker: WorkerProcess) -> None:
    if tail.error is not None:
        raise LeadpipeError(f"output reader failed: {tail.error}")
    if not worker.alive():
        raise LeadpipeError(f"the worker stopped unexpectedly (log: {worker.log_path})")


def _wait(condition: Callable[[], bool], tail: TopicTail, worker: WorkerProcess, deadline: float) -> bool:
    while time.monotonic() < deadline:
        _check(tail, worker)
        if condition():
            return True
        time.sleep(0.1)
    return False


def _second_thoughts(report: Report, producer: EventProducer, tail: TopicTail, worker: WorkerProcess,
                     clock: Callable[[], datetime], deadline: float) -> bool:
    """Before the dialer starts, two people who were just offered change their minds.

    One replies STOP to the confirmation text, one revokes consent on the preferences page: both
    offers must be withdrawn on ``call-ready`` so the dialer drops them.
    """
    offered = [r.record for r in tail.records(CALL_READY) if r.record and r.record["action"] == "READY"][:2]
    if len(offered) < 2:
        return True
    stop, revoke = offered
    _say(f"▶ {stop['phone_e164']} replies STOP to the confirmation text; {revoke['phone_e164']} revokes consent")
    producer.send("opt-out", {
        "event_id": str(uuid.uuid4()), "occurred_at": clock(), "phone": stop["phone_e164"], "country": None,
        "action": "ADD", "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None, "expires_at": None,
        "source": "sms-keyword:STOP", "reason": "replied STOP to the confirmation text", "evidence": "sms-reply",
    }, key=stop["phone_e164"])
    producer.send("consent-changed", {
        "event_id": str(uuid.uuid4()), "occurred_at": clock(), "phone": revoke["phone_e164"], "country": None,
        "action": "REVOKE", "purpose": "*", "channel": "ANY", "channel_specific": False,
        "source": "web:preferences-center", "proof": None,
    }, key=revoke["phone_e164"])
    producer.flush()
    return _wait(lambda: report.call_ready["WITHDRAW"] >= 2, tail, worker, deadline)


def _too_late_for_call_ready(report: Report, dialer: DialerClient, feed: CallReadyFeed, producer: EventProducer,
                             tail: TopicTail, worker: WorkerProcess, clock: Callable[[], datetime],
                             deadline: float) -> bool:
    """The race guard at work: the dialer has read its hopper and is about to call its first number
    when that person opts out. The WITHDRAW is on its way, but the dialer dials before reading it:
    the dial-time check, asked right before the call, must stop it."""
    if not _wait(lambda: _catch_up(dialer, feed, report), tail, worker, deadline):
        return False
    first = dialer.hopper.next_up(clock())
    if first is None:
        return True
    phone = first["phone_e164"]
    _say(f"▶ {phone} (next in the dialer's hopper) tells an agent on an inbound call never to call again, "
         "just as the dialer is about to dial it")
    producer.send("opt-out", {
        "event_id": str(uuid.uuid4()), "occurred_at": clock(), "phone": phone, "country": None,
        "action": "ADD", "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None, "expires_at": None,
        "source": "agent:a-301", "reason": "asked not to be called", "evidence": "call-recording",
    }, key=phone)
    producer.flush()
    withdrawn = report.call_ready["WITHDRAW"]
    return _wait(lambda: report.call_ready["WITHDRAW"] > withdrawn, tail, worker, deadline)


def _catch_up(dialer: DialerClient, feed: CallReadyFeed, report: Report) -> bool:
    """Read call-ready (without dialing) until the dialer has seen what the report has."""
    for record in feed.poll(0.05):
        dialer.handle(record)
    return dialer.stats.records_seen() >= sum(report.call_ready.values())


def _work(dialer: DialerClient, feed: CallReadyFeed) -> None:
    """One turn of the dialer: dial or end a call if due, then read what call-ready has."""
    for record in feed.poll(0.0 if dialer.step() else 0.05):
        dialer.handle(record)


def _dial_until_done(report: Report, dialer: DialerClient, feed: CallReadyFeed, tail: TopicTail,
                     worker: WorkerProcess, deadline: float) -> bool:
    """Dial until the dialer has read every call-ready record the report saw, worked every offer,
    and every qualifying call has reached ``qualified-lead``."""
    _say("▶ the dialer starts its shift")
    while time.monotonic() < deadline:
        _check(tail, worker)
        _work(dialer, feed)
        qualifying = sum(dialer.stats.outcomes[code] for code in QUALIFYING)
        if (dialer.pending() == 0 and dialer.stats.records_seen() >= sum(report.call_ready.values())
                and len(report.qualified) >= qualifying):
            return True
    return False


def _summary(report: Report, dialer: DialerClient, fed: Counter[str], done: bool) -> None:
    _say("")
    _say("══ summary " + "═" * 60)
    _say(f"fed:            {fed[LEAD_CAPTURED]} leads, {fed['opt-out']} opt-outs, "
         f"{fed['consent-changed']} consent changes, {len(GARBAGE)} garbage records")
    _say("lead decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(report.decisions.items())))
    for reason, count in sorted(report.reasons.items()):
        _say(f"    {count:>4}  {reason}")
    _say(f"call-ready:     {report.call_ready['READY']} offers, {report.call_ready['WITHDRAW']} withdrawals")
    stats = dialer.stats
    blocked = ", ".join(f"{k} {v}" for k, v in sorted(stats.blocked_reasons.items()))
    _say(f"dialer:         {stats.offers} offers, {stats.withdrawn} withdrawn, {stats.blocked} blocked by the "
         f"dial-time check{f' ({blocked})' if blocked else ''}, {stats.expired} expired")
    _say(f"                {stats.dialed} calls: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())))
    _say(f"qualified-lead: {len(report.qualified)} sent to CRMs")
    _say(f"dead-letter:    {report.dead_letters} records, original bytes kept")
    if not done:
        print("leadpipe demo: timed out before every output arrived", file=sys.stderr)
