"""The reference dialer client: how a dialer should consume leadpipe's ``call-ready`` topic.

Copy this when you integrate a dialer. It does five things, each in a few lines:

1. **Reads** ``call-ready`` from every partition (:class:`CallReadyFeed`). A dialer owns the hopper
   of the campaigns it works, so it reads the whole topic rather than sharing partitions in a
   consumer group: a group would give each dialer a slice of the numbers and the best offer of a
   campaign could sit in another dialer's slice. Records are keyed by ``phone_e164``, so a
   number's WITHDRAW always follows its READY in the same partition.
2. **Keeps a hopper** (:class:`Hopper`): highest ``priority`` first, ties in arrival order; a newer
   READY for the same lead replaces the older one; redelivered records (same ``event_id``) are
   ignored.
3. **Drops withdrawn offers**: a WITHDRAW drops the number's offer for its ``lead_id`` (every offer
   of the number when ``lead_id`` is empty). Never dials after ``callable_until``.
4. **Asks the dial-time check right before dialing** (:class:`DialCheckClient`), for the number,
   the campaign and the offer's lead, passing the id of the call it is about to make (``call_id``;
   here the event id its call outcome will carry). The answer is the state at that moment, so an
   opt-out that landed after the READY (and whose WITHDRAW the dialer has not read yet), or a lead
   closed since, still stops the call: the offer is dropped and counted with its reason. When no
   worker answers, nothing is dialed (fail closed). The worker puts every answer on the
   ``dial-check`` topic with that call id, so what the dialer was told before call C can be shown
   later (docs/compliance-walkthrough.md).
5. **Reports every call** through an :class:`OutcomeSink`: the gateway's ``POST /v1/call-outcomes``
   (:class:`HttpOutcomeSink`) or straight to the ``call-outcome`` topic (:class:`KafkaOutcomeSink`).
   An outcome that could not be delivered is kept and sent again: a lost DO_NOT_CALL is a lost
   opt-out.
6. **Keeps callback promises**: a READY with a ``callback`` goes to the agent who promised it when
   that agent is logged in (it waits for them while they are on another call), to any agent
   otherwise — and says which, with what was promised.

The calls themselves are simulated (:mod:`connectors.outcome_model`); pacing is a number of
calls per second and a talk time, against an injectable clock.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from confluent_kafka import TopicPartition

from connectors.gateway_client import GatewayClient, GatewayUnavailable, json_body
from connectors.outcome_model import OutcomeModel
from pipeline.codec import Codec
from pipeline.errors import BrokerError, CodecError, LeadpipeError
from pipeline.events import CallOutcome
from pipeline.http_auth import KEY_HEADER
from pipeline.kafka_clients import EventProducer, reader_consumer
from pipeline.redaction import exception_summary, fingerprint
from pipeline.topics import CALL_OUTCOME, CALL_READY

log = logging.getLogger(__name__)

SEEN_IDS_KEPT = 100_000
"""call-ready event ids a dialer remembers to ignore redeliveries (a few MB)."""

Offer = dict[str, Any]
"""A decoded ``call-ready`` record (schemas/call-ready.avsc)."""


# --- the hopper ----------------------------------------------------------------------------------


@dataclass(order=True)
class _Entry:
    sort_key: tuple[int, int]
    """(-priority, arrival): heapq pops the smallest, so the highest priority, earliest arrival."""
    offer: Offer = field(compare=False)
    live: bool = field(default=True, compare=False)


class Hopper:
    """Offers waiting to be dialed. Pure: the caller passes ``now``."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._by_lead: dict[tuple[str, str], _Entry] = {}
        self._arrivals = itertools.count()

    def __len__(self) -> int:
        return len(self._by_lead)

    def add(self, offer: Offer) -> bool:
        """Queue a READY offer; True when it replaced a live offer for the same number and lead."""
        key = (offer["phone_e164"], offer["lead_id"])
        old = self._by_lead.pop(key, None)
        if old is not None:
            old.live = False
        entry = _Entry((-int(offer["priority"]), next(self._arrivals)), offer)
        self._by_lead[key] = entry
        heapq.heappush(self._heap, entry)
        return old is not None

    def withdraw(self, phone_e164: str, lead_id: str | None) -> int:
        """Drop the number's offer for ``lead_id`` (every offer of the number when None); return how many."""
        keys = [k for k in self._by_lead if k[0] == phone_e164 and (lead_id is None or k[1] == lead_id)]
        for key in keys:
            self._by_lead.pop(key).live = False
        return len(keys)

    def pop(self, now: datetime, *, skip_phones: Collection[str] = (),
            busy_agents: Collection[str] = ()) -> tuple[Offer | None, list[Offer]]:
        """The best offer that may be dialed at ``now``, and the offers that expired on the way.

        An offer past ``callable_until`` is expired and dropped; one before ``callable_from``, for
        a number in ``skip_phones`` (already on a call), or a callback promised by an agent in
        ``busy_agents`` (it waits for them) stays queued in its place.
        """
        expired: list[Offer] = []
        waiting: list[_Entry] = []
        found: Offer | None = None
        while self._heap:
            entry = heapq.heappop(self._heap)
            if not entry.live:
                continue
            offer = entry.offer
            window = _window(offer, now)
            if window == "closed":
                self._forget(entry)
                expired.append(offer)
            elif (window == "not yet" or offer["phone_e164"] in skip_phones
                  or promised_by(offer) in busy_agents):
                waiting.append(entry)
            else:
                self._forget(entry)
                found = offer
                break
        for entry in waiting:
            heapq.heappush(self._heap, entry)
        return found, expired

    def next_up(self, now: datetime) -> Offer | None:
        """The offer :meth:`pop` would return at ``now``, left in place."""
        return next((e.offer for e in sorted(self._heap) if e.live and _window(e.offer, now) == "open"), None)

    def put_back(self, offer: Offer) -> None:
        """Return a popped offer to the front of its priority (the check could not be made)."""
        key = (offer["phone_e164"], offer["lead_id"])
        if key in self._by_lead:
            return  # a newer READY for the lead arrived meanwhile: it wins
        entry = _Entry((-int(offer["priority"]), -1), offer)
        self._by_lead[key] = entry
        heapq.heappush(self._heap, entry)

    def _forget(self, entry: _Entry) -> None:
        key = (entry.offer["phone_e164"], entry.offer["lead_id"])
        if self._by_lead.get(key) is entry:
            del self._by_lead[key]


def promised_by(offer: Offer) -> str | None:
    """The agent who promised the callback this offer brings back, if it is one."""
    promise = offer.get("callback")
    return promise.get("promised_by_agent") if isinstance(promise, Mapping) else None


def _window(offer: Offer, now: datetime) -> Literal["open", "not yet", "closed"]:
    """Where ``now`` falls in the offer's legal window. Never dial at or after ``callable_until``."""
    until, since = offer.get("callable_until"), offer.get("callable_from")
    if until is not None and now >= until:
        return "closed"
    if since is not None and now < since:
        return "not yet"
    return "open"


# --- the dial-time check -------------------------------------------------------------------------


class DialCheckUnavailable(LeadpipeError):
    """No worker answered the dial-time check: do not dial."""


@dataclass(frozen=True)
class DialCheckAnswer:
    allowed: bool
    reasons: tuple[dict[str, str], ...]
    request_id: str | None = None
    """The worker's id of the answer, as recorded on the ``dial-check`` topic (None when refused)."""


class DialCheckClient:
    """``GET <worker>/v1/dial-check/{phone_e164}?campaign_id=...`` on the first worker that answers.

    Any worker answers for any number (it routes the request to the worker owning the number),
    so several URLs are only for availability.
    """

    def __init__(self, urls: Sequence[str], *, api_key: str | None = None, timeout_s: float = 2.0) -> None:
        if not urls:
            raise ValueError("at least one dial-check URL is needed")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"dial-check URL {url!r} must start with http:// or https://")
        self._urls = [u.rstrip("/") for u in urls]
        self._timeout_s = timeout_s
        # Reads need a key with the read scope (pipeline.http_auth); None: a worker with open reads.
        self._headers = {KEY_HEADER: api_key} if api_key else {}

    def check(self, phone_e164: str, campaign_id: str, lead_id: str | None = None, *,
              call_id: str | None = None) -> DialCheckAnswer:
        """May ``phone_e164`` be dialed for ``campaign_id`` (and ``lead_id``: is that lead still to be
        called?) now? ``call_id`` identifies the call about to be made on the worker's audit record.
        Raises :class:`DialCheckUnavailable`."""
        params = {"campaign_id": campaign_id, **({"lead_id": lead_id} if lead_id else {}),
                  **({"call_id": call_id} if call_id is not None else {})}
        query = urllib.parse.urlencode(params)
        path = f"/v1/dial-check/{urllib.parse.quote(phone_e164, safe='')}?{query}"
        problems = []
        for base in self._urls:
            try:
                request = urllib.request.Request(base + path, headers=self._headers)  # noqa: S310 - http(s) checked
                with urllib.request.urlopen(request, timeout=self._timeout_s) as resp:  # noqa: S310 - http(s) checked
                    body = json.loads(resp.read())
                return DialCheckAnswer(bool(body["allowed"]), tuple(body.get("reasons") or ()), body.get("request_id"))
            except urllib.error.HTTPError as exc:
                if exc.code == 400:  # the worker cannot read the number: never dial it
                    detail = exc.read().decode(errors="replace")[:200]
                    return DialCheckAnswer(False, ({"code": "DIAL_CHECK_REFUSED", "rule_id": "dial-check.request",
                                                    "detail": detail},))
                problems.append(f"{base}: HTTP {exc.code}")
            except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                problems.append(f"{base}: {getattr(exc, 'reason', exc)}")
        raise DialCheckUnavailable("dial-check unavailable: " + "; ".join(problems))


# --- where outcomes go ---------------------------------------------------------------------------


class OutcomeRejected(LeadpipeError):
    """The gateway refused an outcome (4xx): sending it again would not help."""


class OutcomeSink(Protocol):
    def send(self, outcome: CallOutcome) -> None:
        """Deliver one outcome; raise :class:`OutcomeRejected` if it can never be delivered, any
        other :class:`LeadpipeError` if it may be delivered later."""
        ...


class KafkaOutcomeSink:
    """Writes outcomes to ``call-outcome`` (Avro, keyed by the number) and waits for the ack."""

    def __init__(self, producer: EventProducer) -> None:
        self._producer = producer

    def send(self, outcome: CallOutcome) -> None:
        self._producer.send(CALL_OUTCOME, outcome, key=outcome["phone"])
        self._producer.flush()


class HttpOutcomeSink:
    """Posts outcomes to the gateway's ``POST /v1/call-outcomes`` (202 once the broker acked)."""

    def __init__(self, client: GatewayClient) -> None:
        self._client = client

    def send(self, outcome: CallOutcome) -> None:
        answer = self._client.post("/v1/call-outcomes", json_body(outcome))
        if answer.status == 202:
            return
        if 400 <= answer.status < 500:
            raise OutcomeRejected(f"gateway answered {answer.status}: {answer.body}")
        raise GatewayUnavailable(f"gateway answered {answer.status}: {answer.body}")


# --- reading call-ready --------------------------------------------------------------------------


class CallReadyFeed:
    """Every partition of ``call-ready``, without a consumer group (see the module docstring)."""

    def __init__(self, kafka_config: Mapping[str, str | int | float | bool], codec: Codec, *,
                 from_beginning: bool = True) -> None:
        self._codec = codec
        self._from_beginning = from_beginning
        self._consumer = reader_consumer(kafka_config, "leadpipe-dialer")

    def start(self) -> CallReadyFeed:
        # All topics, not just ours: asking for one by name can make a broker auto-create it.
        topic = self._consumer.list_topics(timeout=10).topics.get(CALL_READY)
        if topic is None or topic.error is not None or not topic.partitions:
            raise BrokerError(f"topic {CALL_READY} does not exist")
        assignment = []
        for p in topic.partitions:
            if self._from_beginning:
                offset = -2  # OFFSET_BEGINNING
            else:  # the end now, pinned: "from now on" means from this call, not from a later first fetch
                _, offset = self._consumer.get_watermark_offsets(TopicPartition(CALL_READY, p), timeout=10,
                                                                cached=False)
            assignment.append(TopicPartition(CALL_READY, p, offset))
        self._consumer.assign(assignment)
        return self

    def poll(self, timeout_s: float) -> list[Offer | None]:
        """Records that arrived within ``timeout_s``; None for one that did not decode."""
        records: list[Offer | None] = []
        for msg in self._consumer.consume(num_messages=500, timeout=timeout_s):
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise BrokerError(f"call-ready consumer: {err}")
                log.warning("call-ready consumer: %s", err)  # librdkafka retries transient errors
                continue
            try:
                _, record = self._codec.decode(msg.value() or b"")
            except CodecError as exc:
                log.error("call-ready %s@%s does not decode: %s", msg.partition(), msg.offset(),
                          exception_summary(exc))
                records.append(None)
                continue
            records.append(record)
        return records

    def close(self) -> None:
        self._consumer.close()


# --- the dialer ----------------------------------------------------------------------------------


@dataclass
class DialerStats:
    offers: int = 0
    """READY offers queued."""
    redelivered: int = 0
    """Records seen before (same event_id): at-least-once delivery."""
    superseded: int = 0
    """Queued offers replaced by a newer READY for the same lead."""
    withdrawals: int = 0
    """WITHDRAW records read."""
    withdrawn: int = 0
    """Queued offers dropped by a WITHDRAW."""
    other_campaigns: int = 0
    undecodable: int = 0
    blocked: int = 0
    """Offers the dial-time check refused (never dialed)."""
    blocked_reasons: Counter[str] = field(default_factory=Counter)
    """Refusals by reason code (an answer may carry several)."""
    check_unavailable: int = 0
    """Dial attempts postponed because no worker answered."""
    dialed: int = 0
    expired: int = 0
    """Offers whose window closed before their turn."""
    outcomes: Counter[str] = field(default_factory=Counter)
    outcomes_rejected: int = 0
    """Outcomes the gateway refused (logged with the reason)."""
    callbacks_to_promiser: int = 0
    """Callbacks dialed by the agent who promised them."""
    callbacks_to_another: int = 0
    """Callbacks dialed by another agent: the one who promised it was not logged in."""

    def records_seen(self) -> int:
        return self.offers + self.redelivered + self.withdrawals + self.other_campaigns + self.undecodable


@dataclass
class _Call:
    ends_at: float
    offer: Offer
    agent: str


class DialerClient:
    """Takes ``call-ready`` records with :meth:`handle` and works them with :meth:`step`.

    ``clock`` is the wall clock (windows, outcome times); ``monotonic`` paces the calls. Both are
    injectable, so a test can hold time still or move it. ``agents`` are the agents logged in, one
    call each at a time; none: calls are made by the model's own agent id on as many lines as
    needed. ``announce`` hears where each callback went (the log by default).
    """

    def __init__(self, *, checker: DialCheckClient, sink: OutcomeSink, model: OutcomeModel,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic, calls_per_second: float = 2.0,
                 talk_time_s: float = 0.0, campaigns: Collection[str] = (), retry_after_s: float = 1.0,
                 agents: Sequence[str] = (), announce: Callable[[str], None] = log.info) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        if len(set(agents)) != len(agents) or not all(agents):
            raise ValueError(f"agents must be distinct, non-empty ids, got {list(agents)}")
        self.agents = tuple(agents)
        self._announce = announce
        self.hopper = Hopper()
        self.stats = DialerStats()
        self._checker = checker
        self._sink = sink
        self._model = model
        self._clock = clock
        self._monotonic = monotonic
        self._interval = 1.0 / calls_per_second
        self._talk_time_s = talk_time_s
        self._campaigns = frozenset(campaigns)
        self._retry_after_s = retry_after_s
        # Event ids of the last SEEN_IDS_KEPT records: redeliveries come within seconds of the
        # original (the reader re-reads only after a reconnect), so a window bounds memory safely.
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._calls: list[_Call] = []
        self._unsent: deque[CallOutcome] = deque()
        self._next_dial = 0.0

    def _remember(self, event_id: str) -> None:
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > SEEN_IDS_KEPT:
            self._seen.discard(self._seen_order.popleft())

    def handle(self, record: Offer | None) -> None:
        """Take one ``call-ready`` record (None: it did not decode)."""
        if record is None:
            self.stats.undecodable += 1
            return
        if record["event_id"] in self._seen:
            self.stats.redelivered += 1
            return
        self._remember(record["event_id"])
        if self._campaigns and record["campaign_id"] not in self._campaigns:
            self.stats.other_campaigns += 1
            return
        if record["action"] == "WITHDRAW":
            self.stats.withdrawals += 1
            self.stats.withdrawn += self.hopper.withdraw(record["phone_e164"], record["lead_id"] or None)
            return
        self.stats.offers += 1
        if self.hopper.add(record):
            self.stats.superseded += 1

    def pending(self) -> int:
        """Offers queued, calls in progress and outcomes not yet delivered."""
        return len(self.hopper) + len(self._calls) + len(self._unsent)

    def step(self, *, dial: bool = True) -> bool:
        """Dial once if the pace allows (and ``dial``), end due calls, deliver outcomes. True if
        anything happened."""
        did = dial and self._monotonic() >= self._next_dial and self._dial_one()
        did = self._end_calls() or did
        return self._deliver() or did

    def run(self, feed: CallReadyFeed, should_stop: Callable[[], bool], *, drain_s: float = 30.0) -> None:
        """Read and dial until ``should_stop()``; then finish the calls in progress and deliver their
        outcomes, for at most ``drain_s`` seconds (what is left undelivered is logged)."""
        while not should_stop():
            for record in feed.poll(0.0 if self.step() else 0.05):
                self.handle(record)
        deadline = time.monotonic() + drain_s
        while (self._calls or self._unsent) and time.monotonic() < deadline:
            if not self.step(dial=False):
                time.sleep(0.05)
        if self._calls or self._unsent:
            log.error("stopping with %d calls unfinished and %d outcomes undelivered: %s", len(self._calls),
                      len(self._unsent), [o["event_id"] for o in self._unsent])

    def _dial_one(self) -> bool:
        busy = {call.offer["phone_e164"] for call in self._calls}
        busy_agents = {call.agent for call in self._calls} if self.agents else set()
        if self.agents and len(busy_agents) == len(self.agents):
            return False  # every agent is on a call
        while True:
            now = self._clock()
            offer, expired = self.hopper.pop(now, skip_phones=busy, busy_agents=busy_agents)
            self.stats.expired += len(expired)
            if offer is None:
                return bool(expired)
            call_id = self._model.call_id(offer)  # the event id this call's outcome will carry
            try:
                answer = self._checker.check(offer["phone_e164"], offer["campaign_id"], offer["lead_id"],
                                             call_id=call_id)
            except DialCheckUnavailable as exc:
                # Named by its lead, not its number; the reason names the workers asked.
                log.warning("not dialing lead %s: %s", offer["lead_id"], exc)
                self.stats.check_unavailable += 1
                self.hopper.put_back(offer)
                self._next_dial = self._monotonic() + self._retry_after_s
                return True
            if not answer.allowed:  # the race guard: the number changed after the offer was made
                log.info("call %s to %s not made: dial-check %s said %s", call_id, offer["phone_e164"],
                         answer.request_id, [r["code"] for r in answer.reasons])
                self.stats.blocked += 1
                self.stats.blocked_reasons.update(r["code"] for r in answer.reasons)
                continue
            self.stats.dialed += 1
            started = self._monotonic()
            self._calls.append(_Call(started + self._talk_time_s, offer, self._agent_for(offer, busy_agents)))
            self._next_dial = started + self._interval
            return True

    def _agent_for(self, offer: Offer, busy_agents: Collection[str]) -> str:
        """Who makes the call: the agent who promised a callback when logged in (``pop`` kept the
        offer waiting while they were busy), else the first free agent (or the model's id)."""
        promiser = promised_by(offer)
        free = [agent for agent in self.agents if agent not in busy_agents]
        if promiser is not None and promiser in self.agents:
            self.stats.callbacks_to_promiser += 1
            self._announce(f"callback for lead {offer['lead_id']} routed to {promiser}, "
                           f"who promised it{_promise_text(offer)}")
            return promiser
        agent = free[0] if free else self._model.agent_id
        if offer.get("callback") is not None:
            self.stats.callbacks_to_another += 1
            self._announce(f"callback for lead {offer['lead_id']} promised by "
                           f"{promiser or 'nobody named'}, who is not logged in: routed to {agent}"
                           f"{_promise_text(offer)}")
        return agent

    def _end_calls(self) -> bool:
        now = self._monotonic()
        done = [call for call in self._calls if call.ends_at <= now]
        if not done:
            return False
        self._calls = [call for call in self._calls if call.ends_at > now]
        for call in done:
            outcome = self._model.outcome(call.offer, ended_at=self._clock(), agent_id=call.agent)
            self.stats.outcomes[outcome["outcome"]] += 1
            self._unsent.append(outcome)
        return True

    def _deliver(self) -> bool:
        sent = False
        while self._unsent:
            outcome = self._unsent[0]
            try:
                self._sink.send(outcome)
            except OutcomeRejected as exc:
                # The gateway's answer may quote the outcome's fields: logged as a fingerprint.
                log.error("outcome %s for lead %s refused: %s", outcome["event_id"], outcome["lead_id"],
                          fingerprint(str(exc)))
                self.stats.outcomes_rejected += 1
            except LeadpipeError as exc:  # the gateway or broker is down: keep it, try again later
                log.warning("outcome %s not delivered yet: %s", outcome["event_id"], exc)
                return sent
            self._unsent.popleft()
            sent = True
        return sent


def _promise_text(offer: Offer) -> str:
    # The time only: the announcement goes to the log by default, and the notes ("ask for Ana") and
    # the number are personal data. The agent sees both on the offer itself.
    promise = offer.get("callback") or {}
    at = promise.get("requested_at")
    return f" for {at:%H:%M}Z" if isinstance(at, datetime) else ""


# --- the command ---------------------------------------------------------------------------------


def add_dialer_commands(sub: Any) -> None:
    """Add ``leadpipe dialer`` to the CLI's subparsers."""
    p = sub.add_parser("dialer", help="run the reference dialer client (simulated calls) against call-ready")
    p.add_argument("--from", dest="start", choices=["beginning", "end"], default="end",
                   help="where to start reading call-ready (default: end, only new offers)")
    p.set_defaults(func=cmd_dialer)


def cmd_dialer(args: argparse.Namespace) -> int:
    import os
    import signal

    from pipeline.codec import make_codec
    from pipeline.config import DialerSettings
    from pipeline.errors import ConfigError

    settings = DialerSettings.from_env(os.environ)
    if settings.embedded:
        raise ConfigError("set LEADPIPE_BOOTSTRAP_SERVERS to the cluster whose call-ready topic the dialer works")
    codec = make_codec(settings)
    sink: OutcomeSink
    producer: EventProducer | None = None
    if settings.gateway_url:
        if not settings.api_key:
            raise ConfigError("LEADPIPE_API_KEY is needed to post outcomes to LEADPIPE_GATEWAY_URL")
        sink = HttpOutcomeSink(GatewayClient(settings.gateway_url, settings.api_key))
        where = f"gateway {settings.gateway_url}"
    else:
        producer = EventProducer(settings.kafka_client_config(), codec)
        sink = KafkaOutcomeSink(producer)
        where = f"topic {CALL_OUTCOME}"
    fixed = settings.fixed_clock
    client = DialerClient(
        checker=DialCheckClient(settings.dial_check_urls, api_key=settings.api_key), sink=sink,
        model=OutcomeModel(seed=settings.dialer_seed),
        clock=(lambda: fixed) if fixed else (lambda: datetime.now(UTC)),
        calls_per_second=settings.dialer_calls_per_second, talk_time_s=settings.dialer_talk_time_s,
        campaigns=settings.dialer_campaigns, agents=settings.dialer_agents,
        announce=lambda line: print(f"dialer: {line}", flush=True),
    )
    feed = CallReadyFeed(settings.kafka_client_config(), codec, from_beginning=args.start == "beginning").start()
    stop = False

    def on_signal(_signo: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    campaigns = ", ".join(settings.dialer_campaigns) or "every campaign"
    agents = ", ".join(settings.dialer_agents) or "no named agents"
    print(f"dialer: {campaigns}; agents logged in: {agents}; dial-check {', '.join(settings.dial_check_urls)}; "
          f"outcomes to {where}; {settings.dialer_calls_per_second} calls/s; Ctrl-C to stop", flush=True)
    try:
        client.run(feed, lambda: stop)
    finally:
        feed.close()
        if producer is not None:
            producer.flush()
        s = client.stats
        print(f"dialer: {s.offers} offers, {s.withdrawn} withdrawn, {s.blocked} blocked by the dial-check "
              f"{dict(s.blocked_reasons)}, {s.dialed} dialed, {s.expired} expired, outcomes {dict(s.outcomes)}; "
              f"callbacks to the promising agent {s.callbacks_to_promiser}, to another {s.callbacks_to_another}",
              flush=True)
    return 0
