"""The dialer itself: takes ``call-ready`` records into its hopper, checks each number right before dialing,
simulates the call and reports its outcome."""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.dialer.dialcheck import DialCheckClient, DialCheckUnavailable
from connectors.dialer.feed import CallReadyFeed
from connectors.dialer.hopper import Hopper, Offer, promised_by
from connectors.dialer.sinks import OutcomeRejected, OutcomeSink
from connectors.outcome_model import OutcomeModel
from pipeline.errors import LeadpipeError
from pipeline.events import CallOutcome
from pipeline.redaction import fingerprint

log = logging.getLogger(__name__)

SEEN_IDS_KEPT = 100_000
"""call-ready event ids a dialer remembers to ignore redeliveries (a few MB)."""


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
