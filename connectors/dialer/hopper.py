"""The hopper: offers waiting to be dialed, best first, never past their legal window."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Offer = dict[str, Any]
"""A decoded ``call-ready`` record (schemas/call-ready.avsc)."""


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
