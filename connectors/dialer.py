"""A simulated dialer: works ``call-ready`` offers from a priority hopper and reports outcomes.

It behaves the way a dialer consuming leadpipe should: it keeps a hopper ordered by priority (ties
keep arrival order), drops every offer for a number as soon as a WITHDRAW for it arrives, never
dials after ``callable_until``, and posts one ``call-outcome`` per call. The outcomes are drawn
from a seeded random mix so demo runs are repeatable.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.kafka import EventProducer, Received
from pipeline.events import CallOutcome, CallOutcomeCode

# (outcome, weight): roughly what an outbound campaign sees on fresh web leads.
DEFAULT_MIX: tuple[tuple[CallOutcomeCode, int], ...] = (
    ("QUALIFIED", 20), ("INTERESTED", 10), ("NOT_INTERESTED", 15), ("NO_ANSWER", 20), ("VOICEMAIL", 10),
    ("BUSY", 5), ("CALLBACK_REQUESTED", 5), ("DO_NOT_CALL", 8), ("NOT_NOW", 4), ("WRONG_NUMBER", 3),
)


@dataclass(order=True)
class _Offer:
    sort_key: tuple[int, int]
    phone_e164: str = field(compare=False)
    record: dict[str, Any] = field(compare=False)


@dataclass
class DialerStats:
    offers: int = 0
    withdrawn: int = 0
    dialed: int = 0
    expired: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class SimulatedDialer:
    """Feed it ``call-ready`` records with :meth:`offer`; :meth:`dial_next` works the best one."""

    def __init__(self, producer: EventProducer, *, clock: Callable[[], datetime], seed: int = 11,
                 mix: Sequence[tuple[CallOutcomeCode, int]] = DEFAULT_MIX, agent_id: str = "sim-dialer-1") -> None:
        self._producer = producer
        self._clock = clock
        self._rng = random.Random(seed)
        self._outcomes = [o for o, _ in mix]
        self._weights = [w for _, w in mix]
        self._agent_id = agent_id
        self._hopper: list[_Offer] = []
        self._withdrawn: dict[str, set[str]] = {}  # phone -> lead ids withdrawn ("*" = every lead)
        self._arrivals = itertools.count()
        self._lock = threading.Lock()
        self.stats = DialerStats()

    def offer(self, received: Received) -> None:
        """Take one ``call-ready`` record: READY goes into the hopper, WITHDRAW removes offers."""
        record = received.record
        if record is None:
            return
        with self._lock:
            phone = record["phone_e164"]
            if record["action"] == "WITHDRAW":
                self.stats.withdrawn += 1
                self._withdrawn.setdefault(phone, set()).add(record["lead_id"] or "*")
                return
            self.stats.offers += 1
            self._withdrawn.get(phone, set()).discard(record["lead_id"])
            heapq.heappush(self._hopper, _Offer((-record["priority"], next(self._arrivals)), phone, record))

    def pending(self) -> int:
        with self._lock:
            return len(self._hopper)

    def dial_next(self) -> CallOutcome | None:
        """Dial the highest-priority live offer, report its outcome and return it (None: hopper empty)."""
        with self._lock:
            while self._hopper:
                offer = heapq.heappop(self._hopper)
                withdrawn = self._withdrawn.get(offer.phone_e164, set())
                if "*" in withdrawn or offer.record["lead_id"] in withdrawn:
                    continue
                now = self._clock()
                until = offer.record["callable_until"]
                if until is not None and now >= until:
                    self.stats.expired += 1
                    continue
                break
            else:
                return None
        outcome = self._call(offer.record, now)
        self._producer.send("call-outcome", outcome, key=offer.phone_e164)
        with self._lock:
            self.stats.dialed += 1
            self.stats.outcomes[outcome["outcome"]] = self.stats.outcomes.get(outcome["outcome"], 0) + 1
        return outcome

    def _call(self, offer: dict[str, Any], now: datetime) -> CallOutcome:
        code = self._rng.choices(self._outcomes, self._weights)[0]
        answers: dict[str, str] = {}
        notes = None
        if code == "QUALIFIED":
            answers = {"timeline": self._rng.choice(["now", "this_month", "this_quarter"]),
                       "budget": str(self._rng.choice([5000, 15000, 40000])),
                       "decision_maker": "yes", "next_step": "send proposal"}
            notes = "Interested, owns the home, wants a quote this month."
        return {
            "event_id": str(uuid.UUID(int=self._rng.getrandbits(128))),
            "occurred_at": now,
            "lead_id": offer["lead_id"],
            "phone": offer["phone_e164"],
            "country": None,
            "campaign_id": offer["campaign_id"],
            "outcome": code,
            "agent_id": self._agent_id,
            "notes": notes,
            "callback_at": _callback_at(code, now),
            "dnc_scope": "ALL_CHANNELS" if code == "DO_NOT_CALL" else None,
            "answers": answers,
            "tags": ["too_expensive"] if code == "NOT_INTERESTED" else [],
        }


def _callback_at(code: CallOutcomeCode, now: datetime) -> datetime | None:
    if code == "CALLBACK_REQUESTED":
        return now + timedelta(days=2)  # "call me back on Thursday"
    if code == "NOT_NOW":
        return now + timedelta(days=180)  # "not now, maybe in six months"
    return None
