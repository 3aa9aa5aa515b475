"""What happens on a simulated call: a seeded, repeatable model of outbound-call outcomes.

The outcome of an offer depends only on the model's seed and the offer's ``event_id``, never on
the order offers are dialed in, so a demo gives the same outcome to the same offer on every run.
Outcomes carry what a real dialer reports: the agent on the call, a callback time and what was
promised for CALLBACK_REQUESTED, an end date for NOT_NOW, a scope for DO_NOT_CALL, a reason tag for
NOT_INTERESTED, and who was reached (``contact_name``, ``contact_role``, a best time to call) with the
qualification answers for INTERESTED / QUALIFIED / APPOINTMENT_SET.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.events import CallOutcome, CallOutcomeCode, SuppressionScope

QUALIFICATION_ANSWERS: dict[str, tuple[str, ...]] = {
    "contact_name": ("Ana Silva", "James Smith", "Maria Garcia", "Wei Lee", "Aisha Patel", "Daniel Walker"),
    "role": ("homeowner", "co_owner", "spouse_of_owner", "property_manager"),
    "fit": ("good", "good", "partial"),
    "interest": ("high", "high", "medium"),
    "timeline": ("now", "this_month", "this_quarter", "6_months"),
    "next_step": ("send_proposal", "site_visit", "call_back_with_quote"),
    "budget": ("5000", "15000", "25000", "40000"),
}
"""Qualification answers a call gathers: key → values the simulation draws from. The keys are what
the qualification framework reads; change them here and only here."""

CONFIRMING_ANSWERS: dict[str, tuple[str, ...]] = {
    "fit": ("good",), "role": ("homeowner", "co_owner", "spouse_of_owner"), "timeline": ("now", "this_month"),
}
"""Answers of a call that really qualifies. Most calls an agent logs as QUALIFIED or APPOINTMENT_SET
draw from these; one in ``OVERCLAIM_RATE`` draws from every value, so the qualification framework
sometimes overrules the agent (no fit, or not ready yet) as it would in real life."""
OVERCLAIM_RATE = 0.25

INTERESTED_KEYS = ("contact_name", "interest", "timeline")
"""An interested person answers some questions, not all."""

BEST_TIMES = ("weekday mornings", "weekday evenings", "weekends", "after 5 pm")

NOT_INTERESTED_TAGS = ("too_expensive", "chose_competitor", "no_need", "renting", "bad_timing")

DNC_SCOPES: tuple[tuple[SuppressionScope, int], ...] = (("ALL_CHANNELS", 8), ("CAMPAIGN", 1), ("VOICE", 1))
"""How people say "don't call me": mostly never again, sometimes just this offer or just calls."""

DEFAULT_MIX: tuple[tuple[CallOutcomeCode, int], ...] = (
    ("NO_ANSWER", 22), ("VOICEMAIL", 10), ("BUSY", 3), ("GATEKEEPER", 4), ("DISCONNECTED", 3),
    ("WRONG_NUMBER", 3), ("NOT_INTERESTED", 12), ("CALLBACK_REQUESTED", 6), ("NOT_NOW", 4), ("DO_NOT_CALL", 6),
    ("INTERESTED", 8), ("QUALIFIED", 14), ("APPOINTMENT_SET", 5),
)
"""(outcome, weight) per dial: roughly what an outbound campaign sees on fresh web leads."""

DEMO_MIX: tuple[tuple[CallOutcomeCode, int], ...] = (
    ("QUALIFIED", 20), ("APPOINTMENT_SET", 8), ("INTERESTED", 8), ("NOT_INTERESTED", 10),
    ("CALLBACK_REQUESTED", 8), ("NOT_NOW", 5), ("DO_NOT_CALL", 8), ("NO_ANSWER", 15), ("VOICEMAIL", 7),
    ("BUSY", 3), ("GATEKEEPER", 3), ("WRONG_NUMBER", 3), ("DISCONNECTED", 2),
)
"""A kinder mix for the demo: a dozen calls should show every kind of outcome, qualified leads included."""

_IDS = uuid.UUID("3c9d2f7a-5e1b-4f60-8a2d-7b1e0c4d9a61")
"""Namespace of outcome event ids (uuid5 of the offer's event id and the attempt)."""


class OutcomeModel:
    """Draws the outcome of dialing a ``call-ready`` offer. Pure: no clock, no I/O."""

    def __init__(self, *, seed: int = 11, mix: Sequence[tuple[CallOutcomeCode, int]] = DEFAULT_MIX,
                 agent_id: str = "sim-dialer-1", callback_in: timedelta | None = None) -> None:
        """``agent_id``: who reports calls made without a named agent. ``callback_in``: when set, a
        CALLBACK_REQUESTED asks to be called back this long after the call ("I'm driving, call me
        back in a bit": the demo shows a callback coming back); otherwise one to three days out."""
        if not mix or any(weight < 0 for _, weight in mix) or sum(w for _, w in mix) <= 0:
            raise ValueError("the outcome mix needs at least one positive weight and no negative one")
        self.seed = seed
        self.agent_id = agent_id
        self.callback_in = callback_in
        self._codes = [code for code, _ in mix]
        self._weights = [weight for _, weight in mix]

    def call_id(self, offer: Mapping[str, Any], attempt: int = 1) -> str:
        """The id of the call made for ``offer``: the event id its outcome will carry, known before
        dialing so the dial-time check can record it."""
        return str(uuid.uuid5(_IDS, f"{offer['event_id']}:{attempt}"))

    def outcome(self, offer: Mapping[str, Any], *, ended_at: datetime, attempt: int = 1,
                agent_id: str | None = None, code: CallOutcomeCode | None = None) -> CallOutcome:
        """The outcome of dialing ``offer`` (a READY record), reported at ``ended_at`` by ``agent_id``
        (the model's own when None); ``code`` is what happened, drawn from the mix when None.

        The same seed, offer ``event_id`` and ``attempt`` always give the same outcome and event id.
        """
        if ended_at.tzinfo is None:
            raise ValueError("ended_at must be timezone-aware")
        rng = random.Random(f"{self.seed}:{offer['event_id']}:{attempt}")
        drawn: CallOutcomeCode = rng.choices(self._codes, self._weights)[0]
        code = code or drawn
        outcome: CallOutcome = {
            "event_id": self.call_id(offer, attempt),
            "occurred_at": ended_at,
            "lead_id": offer["lead_id"],
            "phone": offer["phone_e164"],
            "country": None,
            "campaign_id": offer["campaign_id"],
            "outcome": code,
            "agent_id": agent_id or self.agent_id,
            "notes": None,
            "callback_at": None,
            "dnc_scope": None,
            "answers": {},
            "tags": [],
            "contact_name": None,
            "contact_role": None,
            "title": None,
            "best_time_to_call": None,
            "callback_notes": None,
        }
        zone = _zone(offer.get("time_zones") or ())
        if code == "CALLBACK_REQUESTED" and self.callback_in is not None:
            outcome["callback_at"] = ended_at + self.callback_in
            outcome["notes"] = "driving: asked to be called back in a bit"
            outcome["callback_notes"] = f"call back {_after(self.callback_in)}, on this number"
            outcome["contact_name"] = rng.choice(QUALIFICATION_ANSWERS["contact_name"])
        elif code == "CALLBACK_REQUESTED":
            # "Call me back Thursday after work": a local daytime hour one to three days out.
            day = (ended_at.astimezone(zone) + timedelta(days=rng.randint(1, 3))).date()
            local = datetime(day.year, day.month, day.day, rng.randint(10, 17), rng.choice((0, 30)), tzinfo=zone)
            outcome["callback_at"] = local.astimezone(ended_at.tzinfo)
            outcome["notes"] = f"asked to be called back {local:%a %H:%M} local time"
            outcome["callback_notes"] = f"call {local:%a} at {local:%H:%M} their time; they expect this agent"
            outcome["contact_name"] = rng.choice(QUALIFICATION_ANSWERS["contact_name"])
        elif code == "NOT_NOW":
            months = rng.choice((3, 6))
            outcome["callback_at"] = ended_at + timedelta(days=30 * months)
            outcome["notes"] = f"not now, maybe in {months} months"
        elif code == "DO_NOT_CALL":
            outcome["dnc_scope"] = rng.choices([s for s, _ in DNC_SCOPES], [w for _, w in DNC_SCOPES])[0]
            outcome["notes"] = "asked not to be called again"
        elif code == "NOT_INTERESTED":
            outcome["tags"] = [rng.choice(NOT_INTERESTED_TAGS)]
        elif code == "INTERESTED":
            outcome["answers"] = {key: rng.choice(QUALIFICATION_ANSWERS[key]) for key in INTERESTED_KEYS}
            outcome["contact_name"] = outcome["answers"]["contact_name"]
        elif code in ("QUALIFIED", "APPOINTMENT_SET"):
            confirmed = rng.random() >= OVERCLAIM_RATE
            answers = {key: rng.choice(CONFIRMING_ANSWERS.get(key, values) if confirmed else values)
                       for key, values in QUALIFICATION_ANSWERS.items()}
            if code == "APPOINTMENT_SET":
                answers["next_step"] = "site_visit"
                day = (ended_at.astimezone(zone) + timedelta(days=rng.randint(2, 7))).date()
                visit = datetime(day.year, day.month, day.day, rng.choice((9, 11, 14, 16)), tzinfo=zone)
                outcome["notes"] = f"site visit booked for {visit.isoformat()}"
            else:
                outcome["notes"] = f"qualified: {answers['interest']} interest, timeline {answers['timeline']}"
            outcome["answers"] = answers
            # Who was reached travels in its own fields (the CRM maps them); the answers keep the role the
            # qualification framework judges.
            outcome["contact_name"], outcome["contact_role"] = answers["contact_name"], answers["role"]
            outcome["best_time_to_call"] = rng.choice(BEST_TIMES)
        elif code == "WRONG_NUMBER":
            outcome["notes"] = "the person who answered does not know the lead"
        elif code == "GATEKEEPER":
            outcome["notes"] = "reached someone else in the household; the lead was not available"
        return outcome


def _after(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    return "right away" if seconds < 60 else f"in {seconds // 60} min"


def _zone(time_zones: Sequence[str]) -> ZoneInfo:
    """The first time zone of the offer that zoneinfo knows; UTC otherwise."""
    for name in time_zones:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")
