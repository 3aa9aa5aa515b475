"""``leadpipe torture``: a mixed stream under kill -9, then proof that nothing accepted was lost.

Each run starts a broker, creates the topics and starts one or two workers; writes a stream of
leads, opt-outs and consent changes for a few thousand numbers, interleaved, keyed as the gateway
keys them (by E.164) and, for a share of the leads, as a vendor does (by lead id, so they take the
re-key hop); and meanwhile kills a random worker with SIGKILL at random moments, starting a new one
at once. Then it waits for the pipeline to settle and checks, with a plain Kafka consumer reading
the real Avro outputs:

- **lost**: leads without a decision on ``lead-decision`` (must be 0);
- **standing**: numbers with a READY on ``call-ready`` left standing after their opt-out, without
  a WITHDRAW after it (must be 0);
- **replay**: numbers whose live dial-check answer differs from the answer computed by replaying
  the number's inputs through the pure core (must be 0): what the tables hold after the kills is
  what the inputs say;
- **duplicates**: decisions written more than once (same ``event_id``) — at-least-once replays
  after a kill; counted, not failed, on Tansu (at-least-once); a failure on Apache Kafka (exactly-once).

Each number follows one story, chosen so that its final state does not depend on the order in which
events on different topics reach its writer: offered, offered then opted out, opted out first,
consent revoked after the offer, or no consent and a consent granted later.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import random
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.core.dialcheck import DialCheckRequest, dial_check, parse_request
from pipeline.core.intake import Routed, intake
from pipeline.core.number import NumberState, process
from pipeline.kafka_broker import KafkaBroker
from pipeline.kafka_clients import EventProducer, TopicTail, end_offsets, wait_group_caught_up
from pipeline.processes import WorkerProcess
from pipeline.topics import (
    CALL_READY,
    CONSENT_CHANGED,
    INPUT_TOPICS,
    LEAD_CAPTURED,
    LEAD_DECISION,
    OPT_OUT,
    number_events_topic,
)
from pipeline.worker.policies import Policies, load_policies

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # Tue 12:00 in New York: every US window is open
CAMPAIGN = "solar-q4"  # requires consent
AREAS = ("212", "305", "415", "617")  # NY, FL, CA, MA: no state forbids autodialing them
STORIES = ("offered", "offered-then-stopped", "stopped-first", "revoked", "granted-later")

Input = tuple[str, dict[str, Any], str]  # (topic, record, key)


@dataclass(frozen=True)
class Stream:
    inputs: list[Input]
    story_of: dict[str, str]
    """Each number's story."""

    @property
    def numbers(self) -> list[str]:
        return list(self.story_of)

    @property
    def leads(self) -> list[dict[str, Any]]:
        return [record for topic, record, _ in self.inputs if topic == LEAD_CAPTURED]


def make_stream(events: int, seed: int, run: str) -> Stream:
    """About ``events`` inputs over ``events // 4`` numbers, shuffled, reproducible from ``seed``."""
    rng = random.Random(seed)
    inputs: list[Input] = []
    story_of: dict[str, str] = {}
    n = 0
    while len(inputs) < events:
        phone = f"+1{AREAS[n % 4]}{2_000_000 + (seed * 7919 + n) % 7_000_000:07d}"
        n += 1
        if phone in story_of:
            continue
        story = rng.choice(STORIES)
        story_of[phone] = story
        t = NOW - timedelta(minutes=30)
        for i in range(rng.randint(1, 3)):
            inputs.append(_lead(phone, run, rng, t + timedelta(seconds=i), consent=story != "granted-later"))
        if story in ("offered-then-stopped", "stopped-first"):
            at = t - timedelta(minutes=1) if story == "stopped-first" else t + timedelta(minutes=5)
            inputs.append(_opt_out(phone, at))
        if story == "revoked":
            inputs.append(_consent(phone, "REVOKE", t + timedelta(minutes=5)))
        if story == "granted-later":
            inputs.append(_consent(phone, "GRANT", t + timedelta(minutes=5)))
    rng.shuffle(inputs)
    return Stream(inputs, story_of)


def _lead(phone: str, run: str, rng: random.Random, at: datetime, *, consent: bool) -> Input:
    lead_id = f"T{run}-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
    record = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))), "occurred_at": at, "lead_id": lead_id,
        "source": "web-form:torture", "campaign_id": CAMPAIGN, "phone": phone, "country": "US",
        "first_name": "Tor", "last_name": "Ture", "email": f"{lead_id.lower()}@example.com", "address": None,
        "consent": {"purpose": "marketing", "channel": "ANY", "granted_at": at - timedelta(minutes=1),
                    "form_url": "https://example.com/t", "consent_text": "I agree to be called.",
                    "certificate_id": f"cert-{lead_id}", "ip": "203.0.113.9", "expires_at": None} if consent else None,
        "attributes": {},
    }
    # Most as the gateway keys them (by number: no hop); a quarter as a vendor does (re-keyed).
    key = lead_id if rng.random() < 0.25 else phone
    return LEAD_CAPTURED, record, key


def _opt_out(phone: str, at: datetime) -> Input:
    record = {"event_id": str(uuid.uuid4()), "occurred_at": at, "phone": phone, "country": "US", "action": "ADD",
              "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None, "expires_at": None,
              "source": "sms-keyword:STOP", "reason": "replied STOP", "evidence": "torture"}
    return OPT_OUT, record, phone


def _consent(phone: str, action: str, at: datetime) -> Input:
    record = {"event_id": str(uuid.uuid4()), "occurred_at": at, "phone": phone, "country": "US", "action": action,
              "purpose": "marketing", "channel": "ANY", "channel_specific": False, "source": "preference-center",
              "proof": None if action == "REVOKE" else {
                  "purpose": "marketing", "channel": "ANY", "granted_at": at, "form_url": "https://example.com/p",
                  "consent_text": "Yes, call me.", "certificate_id": None, "ip": None, "expires_at": None}}
    return CONSENT_CHANGED, record, phone


# --- replay: the pure core over each number's inputs ----------------------------------------------


def replay_answers(stream: Stream, policies: Policies, default_region: str) -> dict[str, dict[str, Any]]:
    """The dial-check answer of every number after its inputs went through intake and ``process`` in
    the order they were generated (a number's final state does not depend on that order)."""
    ctx = policies.context(NOW)
    states: dict[str, NumberState] = defaultdict(NumberState)
    order = sorted(stream.inputs, key=lambda i: i[1]["occurred_at"])
    for offset, (topic, record, _) in enumerate(order):
        routed = intake(topic, topic, record, partition=0, offset=offset, default_region=default_region, now=NOW,
                        rule_pack_version=policies.rule_pack.version, line_types=policies.line_types)
        if not isinstance(routed, Routed):
            raise ValueError(f"torture input not routed: {routed}")
        states[routed.key], _ = process(states[routed.key], routed.number_event, ctx)
    answers = {}
    for phone in stream.numbers:
        request = parse_request(phone, {"campaign_id": CAMPAIGN}, default_region)
        assert isinstance(request, DialCheckRequest)  # generated numbers are valid
        answers[phone] = comparable(dial_check(request, states[phone], campaigns=policies.campaigns,
                                               pack=policies.rule_pack, now=NOW, lifecycle=policies.lifecycle,
                                               registries=policies.registries).to_json())
    return answers


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer.get(k) for k in ("allowed", "reasons", "rules_fired", "callable_until")}


# --- a run ---------------------------------------------------------------------------------------


@dataclass
class RunResult:
    events: int
    numbers: int
    kills: int
    seconds: float
    lost: int = 0
    standing: int = 0
    replay_mismatches: int = 0
    duplicate_decisions: int = 0
    exactly_once: bool = False
    """The workers ran exactly-once (Kafka): a duplicate decision is then a failure too."""
    behind: str | None = None
    """Why the workers never caught up with the inputs (a stuck worker), if they did not."""
    exited: int = 0
    """Workers that stopped by themselves (not killed): a worker must never stop."""
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.standing == 0 and self.replay_mismatches == 0 and self.behind is None
                and self.exited == 0 and (self.duplicate_decisions == 0 or not self.exactly_once))

    def line(self) -> str:
        guarantee = "exactly-once" if self.exactly_once else "at-least-once"
        return (f"{self.events} events, {self.numbers} numbers, {self.kills} kills, {guarantee}, "
                f"{self.seconds:.0f} s: lost {self.lost}, standing after opt-out {self.standing}, replay "
                f"mismatches {self.replay_mismatches}, duplicate decisions {self.duplicate_decisions}"
                + (", never caught up with the inputs" if self.behind else "")
                + (f", {self.exited} worker(s) stopped by themselves" if self.exited else ""))


class Workers:
    """N worker processes; ``kill_one`` kills a random one with SIGKILL and starts a new one at once."""

    def __init__(self, count: int, settings: Settings, env: dict[str, str], log_dir: Path) -> None:
        self.settings, self.env, self.log_dir = settings, env, log_dir
        self.started = 0
        self.procs = [self._new() for _ in range(count)]

    def _new(self) -> WorkerProcess:
        self.started += 1
        proc = WorkerProcess(bootstrap=self.settings.bootstrap_servers or "", env=self.env,
                             log_path=self.log_dir / f"worker-{self.started}.log",
                             embedded=not self.settings.recovery_consistency_check)  # Tansu's site says so
        proc.start()
        return proc

    def wait_ready(self, timeout_s: float = 120) -> None:
        for proc in self.procs:
            proc.wait_ready(timeout_s=timeout_s)

    def kill_one(self, rng: random.Random) -> None:
        i = rng.randrange(len(self.procs))
        self.procs[i].kill()
        self.procs[i] = self._new()

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()

    def replace_exited(self) -> list[str]:
        """Start a new worker for each one that stopped without being killed; say which, with the end
        of its log. The run is then failed, but its checks can still be asked of a live worker."""
        found = []
        for i, proc in enumerate(self.procs):
            if not proc.alive():
                code = proc.stop()
                tail = proc.log_path.read_text(errors="replace")[-600:] if proc.log_path else ""
                found.append(f"worker log {proc.log_path} exited with code {code}: ...{tail}")
                self.procs[i] = self._new()
        if found:
            self.wait_ready()
        return found

    def dial_checks(self, phones: list[str], threads: int = 6) -> dict[str, dict[str, Any]]:
        """Every number's live answer, asked over a few kept-alive connections at once."""
        base = urllib.parse.urlsplit(self.procs[0].url)
        local = threading.local()
        opened: list[http.client.HTTPConnection] = []

        def ask(phone: str) -> dict[str, Any]:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port, timeout=30)
                opened.append(conn)
            conn.request("GET", f"/v1/dial-check/{urllib.parse.quote(phone)}?campaign_id={CAMPAIGN}")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"dial-check of {phone}: HTTP {resp.status} {body[:200]!r}")
            return comparable(json.loads(body))

        try:
            with ThreadPoolExecutor(threads) as executor:
                return dict(zip(phones, executor.map(ask, phones), strict=True))
        finally:
            for conn in opened:
                conn.close()


def torture_run(settings: Settings, *, workers: int, events: int, kills: int, seed: int, log_dir: Path,
                rate: float = 2000.0, say: Callable[[str], None] = print) -> RunResult:
    """One run on the broker ``settings`` points at (topics created here, empty or not)."""
    rng = random.Random(seed)
    exactly_once = settings.processing_guarantee == "exactly_once"
    run = uuid.uuid4().hex[:6]
    stream = make_stream(events, seed, run)
    codec = make_codec(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env.update({"LEADPIPE_FIXED_CLOCK": NOW.isoformat(), "LEADPIPE_APP_ID": settings.app_id,
                "LEADPIPE_PROCESSING_GUARANTEE": settings.processing_guarantee,
                "LEADPIPE_PARTITIONS": str(settings.partitions), "LEADPIPE_LOG_LEVEL": "warning",
                # A run's own secret; reads open on loopback: the run's dial-checks come from here.
                "LEADPIPE_ERASURE_KEY": secrets.token_hex(16), "LEADPIPE_OPEN_READS": "true"})
    tail = TopicTail(settings.kafka_client_config(), codec, [CALL_READY, LEAD_DECISION]).start()
    pool = Workers(workers, settings, env, log_dir)
    started = time.monotonic()
    try:
        pool.wait_ready()
        say(f"  workers ready after {time.monotonic() - started:.1f} s")
        producer = EventProducer(settings.kafka_client_config(), codec)
        sending_s = len(stream.inputs) / rate
        # Kills happen from this thread: a child dies with the thread that started it (PR_SET_PDEATHSIG).
        kill_at = sorted(started + rng.uniform(0.1, 1.2) * sending_s for _ in range(kills))
        for i, (topic, record, key) in enumerate(stream.inputs):
            due = started + i / rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            while kill_at and time.monotonic() >= kill_at[0]:
                kill_at.pop(0)
                pool.kill_one(rng)
            producer.send(topic, record, key=key)
        producer.flush(120)
        for moment in kill_at:  # the kills due after the last input was written
            if (wait := moment - time.monotonic()) > 0:
                time.sleep(wait)
            pool.kill_one(rng)
        say(f"  {len(stream.inputs)} inputs written and {kills} workers killed by {time.monotonic() - started:.1f} s")
        pool.wait_ready()
        say(f"  workers ready again after {time.monotonic() - started:.1f} s")
        lead_ids = {r["event_id"] for r in stream.leads}
        with contextlib.suppress(TimeoutError):  # counted below: a lead without a decision is the finding
            tail.wait_for(LEAD_DECISION, lambda r: r.record is not None and r.record["input_event_id"] in lead_ids,
                          count=len(lead_ids), timeout_s=300,
                          distinct=lambda r: r.record["input_event_id"] if r.record else None)
        behind = None
        try:  # then every input processed (opt-outs after the last lead too) and every output read
            number_events = number_events_topic(settings.app_id)
            wait_group_caught_up(settings.kafka_client_config(), settings.app_id, [*INPUT_TOPICS, number_events],
                                 marker_topics=[number_events] if exactly_once else [])
            tail.wait_passed(end_offsets(settings.kafka_client_config(), [CALL_READY, LEAD_DECISION]))
        except TimeoutError as exc:
            behind = str(exc)
        say(f"  every lead decided (or given up on) and every input processed after {time.monotonic() - started:.1f} s")
        exited = pool.replace_exited()
        result = RunResult(len(stream.inputs), len(stream.numbers), kills, time.monotonic() - started,
                           exactly_once=exactly_once, behind=behind, exited=len(exited))
        result.examples += exited
        if behind is not None:
            result.examples.append(behind)
        _check(result, stream, tail, pool, settings, say)
        return result
    finally:
        pool.stop()
        tail.stop()


def _check(result: RunResult, stream: Stream, tail: TopicTail, pool: Workers, settings: Settings,
           say: Callable[[str], None]) -> None:
    decisions = [r for r in tail.records(LEAD_DECISION) if r.record is not None]
    ours = set(stream.numbers)
    decided = {r.record["input_event_id"] for r in decisions if r.record is not None}
    missing = [r for r in stream.leads if r["event_id"] not in decided]
    result.lost = len(missing)
    result.examples += [f"no decision for lead {r['lead_id']} ({r['phone']})" for r in missing[:3]]
    ids = Counter(r.record["event_id"] for r in decisions if r.record is not None and r.record["phone_e164"] in ours)
    result.duplicate_decisions = sum(n - 1 for n in ids.values() if n > 1)
    # READY standing after an opt-out: in each number's call-ready order (one key, one partition).
    offers: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for r in tail.records(CALL_READY):
        if r.record is not None and r.record["phone_e164"] in ours:
            offers[r.record["phone_e164"]].append((r.offset, r.record))
    for phone, story in stream.story_of.items():
        if story not in ("offered-then-stopped", "stopped-first", "revoked"):
            continue
        standing: set[str] = set()
        for _, offer in sorted(offers.get(phone, []), key=lambda o: o[0]):
            (standing.add if offer["action"] == "READY" else standing.discard)(offer["lead_id"])
        if standing:
            result.standing += 1
            result.examples.append(f"{phone} ({story}): READY standing for {sorted(standing)}")
    # Live dial-check = replay.
    policies = load_policies(settings)
    expected = replay_answers(stream, policies, settings.default_region)
    answers = pool.dial_checks(list(stream.numbers))
    for phone in stream.numbers:
        live = answers[phone]
        if live != expected[phone]:
            result.replay_mismatches += 1
            if len(result.examples) < 10:
                result.examples.append(f"{phone} ({stream.story_of[phone]}): live {live} != replay {expected[phone]}")


@contextmanager
def torture_site(settings: Settings, broker: str = "tansu",
                 guarantee: str = "exactly_once") -> Iterator[tuple[Settings, Path]]:
    """A fresh broker — the embedded one, or Apache Kafka (``leadpipe kafka``'s) — and a work dir,
    both gone afterwards. Settings come back pointing at it: at-least-once on Tansu, ``guarantee``
    (exactly-once unless asked otherwise) on Kafka."""
    workdir = Path(tempfile.mkdtemp(prefix="leadpipe-torture-"))
    running: EmbeddedBroker | KafkaBroker
    if broker == "kafka":
        running = KafkaBroker(workdir / "kafka", log_path=workdir / "broker.log")
    else:
        running = EmbeddedBroker(log_path=workdir / "broker.log")
    try:
        site = settings.with_bootstrap(running.start())
        if broker == "kafka":
            site = dataclasses.replace(site, processing_guarantee=guarantee)
        else:
            site = dataclasses.replace(site, recovery_consistency_check=False, processing_guarantee="at_least_once")
        yield site, workdir
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def keep_logs(workdir: Path) -> Path:
    """Copy a failed run's logs out of its work dir (which goes with its broker) for a post-mortem."""
    kept = Path(tempfile.mkdtemp(prefix="leadpipe-torture-failed-"))
    for log_file in workdir.glob("*.log"):
        shutil.copy2(log_file, kept / log_file.name)
    return kept


def run_torture(settings: Settings, *, workers: int, events: int, kills: int, runs: int, seed: int,
                broker: str = "tansu", guarantee: str = "exactly_once") -> int:
    """``runs`` runs, each on a fresh broker of kind ``broker``."""
    say: Callable[[str], None] = lambda s: print(s, flush=True)  # noqa: E731
    failures = 0
    kind = f"Apache Kafka, {guarantee.replace('_', '-')}" if broker == "kafka" else "embedded Tansu, at-least-once"
    say(f"leadpipe torture: {runs} runs x {events} events, {kills} kill -9s, {workers} worker(s), broker {kind}")
    for n in range(runs):
        with torture_site(settings, broker, guarantee) as (site, workdir):
            run_settings = dataclasses.replace(site, app_id=f"torture{n}-{uuid.uuid4().hex[:6]}")
            ensure_topics(run_settings)
            try:
                result = torture_run(run_settings, workers=workers, events=events, kills=kills, seed=seed + n,
                                     log_dir=workdir, say=say)
            except Exception:
                say(f"run {n + 1}: ERROR; the broker's and the workers' logs are kept in {keep_logs(workdir)}")
                raise
            kept = None if result.ok else keep_logs(workdir)
        say(f"run {n + 1}: {'OK  ' if result.ok else 'FAIL'} {result.line()}")
        if kept is not None:
            say(f"      the broker's and the workers' logs are kept in {kept}")
        for example in result.examples:
            say(f"      {example}")
        failures += not result.ok
    return 1 if failures else 0
