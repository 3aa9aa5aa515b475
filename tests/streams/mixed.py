"""A recorded mixed stream: 20,000 input records as producers would write them, seeded, with time moving.

:func:`mixed_stream` builds, from a seed alone, the traffic a call center's pipeline sees over about
a week (Monday 23 November 2026 onwards, Thanksgiving and a Sunday included):

- **leads** from web forms, vendors and a purchased list, for three campaigns (one unknown to the
  campaign book, so it gets the default policy), with and without consent proof, email, name and
  address; numbers in some thirty US states, Canada, US territories, the UK, Germany, France,
  Australia and India, typed every way people type them; toll-free, premium-rate, satellite,
  fictional (555-01xx), made-up looking (repeated, sequential digits) and invalid numbers; junk and
  missing names; test, disposable and malformed emails; addresses in another state than the area code's;
- **duplicates**: the same lead resent (same lead id), a new lead for the same number and campaign,
  the same number for another campaign, the same email on another number (the email stage), and
  exact redeliveries of earlier records (same event id: at-least-once);
- **opt-outs** ADD / REMOVE / ERASE in every scope and category; **consent** grants and revocations;
- **call outcomes** for earlier leads, every outcome code: callbacks (some at a time outside the
  legal window), NOT_NOW with and without a date, DO_NOT_CALL with each scope, QUALIFIED /
  APPOINTMENT_SET / INTERESTED with answers that qualify, are not ready yet or do not fit; outcomes
  for leads never captured;
- **garbage**: random bytes, unknown single-object fingerprints, truncated Avro, a record of one
  input schema on another input topic, and records the validator refuses (blank ids, an
  ``occurred_at`` days ahead, a TEMPORARY opt-out without its end, a consent GRANT without proof, a
  callback request without its time);
- **ticks** of the release scheduler every :data:`TICK_EVERY` of simulated time, so leads deferred by
  a window, a cap, a retry or a callback are released when their time comes.

Every item carries ``at``, the worker's clock when it is processed (a fixed clock per item). The
stream is data only: :mod:`streams.reference` runs it through the pure core, a broker-level test can
write the same items to Kafka (in order, with their keys) and read the outputs back.

The numbers follow real numbering plans (phonenumbers accepts them) with random digits; names and
addresses are invented; IPs come from the TEST-NET ranges.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from pipeline.codec import SchemaStore, SingleObjectCodec
from pipeline.core.linetype import PrefixLineTypes, parse_line_types
from pipeline.events import (
    Address,
    CallOutcome,
    CallOutcomeCode,
    ConsentChanged,
    ConsentChannel,
    ConsentProof,
    LeadCaptured,
    OptOut,
    SuppressionCategory,
    SuppressionScope,
)
from pipeline.topics import CALL_OUTCOME, CONSENT_CHANGED, LEAD_CAPTURED, OPT_OUT

DEFAULT_SEED = 20261123
DEFAULT_EVENTS = 20_000
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
"""Monday 05:00 in New York: the first leads arrive before the legal window opens."""
TICK_EVERY = timedelta(minutes=5)
"""How often the release scheduler looks for waiting leads whose time came (simulated time)."""

LINE_TYPES_CSV = """number,line_type
# Line types the stream's worker knows (LEADPIPE_LINE_TYPES_PATH): a few blocks of each kind, so the
# wireless readings of TX/NJ/AZ/LA/WY see known landlines and known mobiles, not only UNKNOWN.
+1214555,LANDLINE
+1214556,MOBILE
+1201555,LANDLINE
+1602555,MOBILE
+1504555,VOIP
+1305555,MOBILE
+1512,MOBILE
"""
"""The line-type file the stream is decided with (see :func:`line_types`)."""


@dataclass(frozen=True, slots=True)
class Input:
    """A record a producer writes to input ``topic`` with ``key``, Avro-encoded with ``schema``
    (the topic's own schema, except in the stream's wrong-schema garbage)."""

    at: datetime
    topic: str
    key: bytes
    schema: str
    record: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that are no valid record, written to input ``topic`` with ``key``."""

    at: datetime
    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Tick:
    """The release scheduler runs at ``at``: every waiting lead whose time came is released."""

    at: datetime


StreamItem = Input | Garbage | Tick


@dataclass(frozen=True, slots=True)
class MixedStream:
    """The items in the order they happen, and how they were made."""

    seed: int
    items: tuple[StreamItem, ...]
    line_types_csv: str = LINE_TYPES_CSV

    @property
    def inputs(self) -> int:
        """Records written to input topics (valid or not): the stream's event count."""
        return sum(1 for item in self.items if not isinstance(item, Tick))


def line_types(stream: MixedStream) -> PrefixLineTypes:
    """The line-type source the stream is decided with."""
    return parse_line_types(stream.line_types_csv, "mixed stream line types")


def mixed_stream(seed: int = DEFAULT_SEED, events: int = DEFAULT_EVENTS) -> MixedStream:
    """``events`` input records (plus scheduler ticks) made from ``seed`` alone: the same arguments
    always give the same stream, item for item."""
    maker = _Maker(random.Random(seed))
    return MixedStream(seed, tuple(maker.items(events)))


# --- who the leads are --------------------------------------------------------------------------

# (state, area codes); the states cover the rule pack's hours, caps, no-call days, holidays,
# wireless readings and EBR rules, plus states with none of them.
_US_AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("FL", ("305", "407", "813", "904")), ("TX", ("214", "512", "713")), ("CA", ("415", "213", "619")),
    ("NY", ("212", "718")), ("OK", ("405", "918")), ("MD", ("410", "301")), ("WA", ("206",)),
    ("AL", ("205",)), ("LA", ("504",)), ("MS", ("601",)), ("MA", ("617",)), ("KY", ("502",)),
    ("MI", ("313",)), ("MN", ("612",)), ("NM", ("505",)), ("NV", ("702",)), ("CT", ("203",)),
    ("IL", ("312",)), ("RI", ("401",)), ("PA", ("215",)), ("ME", ("207",)), ("WY", ("307",)),
    ("NJ", ("201",)), ("AZ", ("602",)), ("UT", ("801",)), ("GA", ("404",)), ("HI", ("808",)),
    ("AK", ("907",)), ("CO", ("303",)), ("TN", ("615",)), ("MO", ("314",)), ("IN", ("317",)),
    ("WI", ("414",)), ("MT", ("406",)),
)
_CA_AREAS = ("416", "604", "514", "403", "902")  # 902: Nova Scotia and PEI share it (no province)
_TERRITORY_AREAS = ("787", "671", "340")  # Puerto Rico, Guam, US Virgin Islands


@dataclass(slots=True)
class _Person:
    phone: str
    """As entered on the form."""
    country: str | None
    state: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    leads: list[LeadCaptured] = field(default_factory=list)


_FIRST = ("James", "Maria", "Robert", "Linda", "Michael", "Aisha", "David", "Sofia", "Daniel", "Emily",
          "Wei", "Olusegun", "Chloé", "José", "Priya", "Noah", "Fatima", "Liam", "Hannah", "Mateo")
_LAST = ("Smith", "Garcia", "Johnson", "Nguyen", "Brown", "Okafor", "Müller", "Dubois", "Patel", "Kim",
         "Rossi", "O'Brien", "Silva", "Cohen", "Novak", "Haddad", "Larsen", "Tanaka", "Wójcik", "Lee")
_JUNK_NAMES: tuple[tuple[str | None, str | None], ...] = (
    ("Test", "Test"), ("asdf", "asdf"), ("Mickey", "Mouse"), ("John", "Doe"), (None, None), ("R2D2", "X"),
    ("  ", ""), ("???", "!!!"), ("qwerty", None),
)
_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "example.com", "mailinator.com",
            "gmail.com", "yahoo.com", "hotmail.com")
_BAD_EMAILS = ("not-an-email", "bob@@gmail.com", "ann@localhost", "test@test.com", "noemail@none.com", " ")
_CAMPAIGNS = ("solar-q4", "solar-q4", "solar-q4", "insurance-renewals", "insurance-renewals", "home-security")
_SOURCES = ("web-form:solar-quote", "web-form:insurance-check", "vendor:brightpath", "vendor:acme-leads",
            "list:purchased-2025", "vendor:cheap-leads")
_TIMELINES = ("now", "asap", "this_month", "this_quarter", "3_months", "just_browsing", "not_sure")
_LEAD_TYPES = ("quote_request", "callback_request", "live_transfer", "purchased_list", "aged", "webinar", "")
_CONSENT_CHANNELS: tuple[ConsentChannel, ...] = ("AUTODIALED_VOICE", "AUTODIALED_VOICE", "ANY", "VOICE", "SMS")
_TEST_NETS = ("192.0.2", "198.51.100", "203.0.113")
_OUTCOME_WEIGHTS: tuple[tuple[CallOutcomeCode, int], ...] = (
    ("NO_ANSWER", 18), ("BUSY", 6), ("VOICEMAIL", 10), ("GATEKEEPER", 4), ("INTERESTED", 7),
    ("NOT_INTERESTED", 8), ("WRONG_NUMBER", 3), ("DISCONNECTED", 2), ("CALLBACK_REQUESTED", 8),
    ("DO_NOT_CALL", 4), ("NOT_NOW", 5), ("QUALIFIED", 8), ("APPOINTMENT_SET", 4), ("SALE", 3),
)
_ANSWERS: tuple[dict[str, str], ...] = (
    {},  # nothing recorded
    {"fit": "yes", "role": "owner", "interest": "high", "timeline": "this_month", "next_step": "site survey",
     "budget": "15000", "contact_name": "Pat Kim"},
    {"owns_home": "yes", "decision_maker": "spouse_of_owner", "interest": "medium", "timeline": "now",
     "next_step": "quote by email", "contact_role": "spouse"},
    {"fit": "yes", "role": "owner", "interest": "medium", "timeline": "next_year", "next_step": "undecided"},
    {"fit": "no", "role": "tenant", "interest": "high", "timeline": "now"},
    {"fit": "yes", "role": "owner", "interest": "low"},
    {"fit": "good", "role": "homeowner", "interest": "high", "timeline": "this_quarter", "next_step": "call back",
     "budget": "none"},
)
_TAGS = ((), ("price",), ("already_has_solar",), ("renter", "moving"))


class _Maker:
    """Makes the items, one decision of ``rng`` at a time (never reorder the draws: the stream is
    defined by their sequence)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = START
        self.next_tick = START + TICK_EVERY
        self.serial = 0
        self.people: list[_Person] = []
        self.sent: list[Input] = []
        self.numbers_used: set[str] = set()
        self.dialed: list[_Person] = []
        """People with a call outcome, oldest first: dialers call the same numbers again soon (a busy
        line: what frequency caps count) and on later days (retries: what failed days count)."""

    def items(self, events: int) -> Iterator[StreamItem]:
        made = 0
        while made < events:
            self._advance()
            while self.next_tick <= self.now:
                yield Tick(self.next_tick)
                self.next_tick += TICK_EVERY
            item = self._one()
            if isinstance(item, Input):
                self.sent.append(item)
            yield item
            made += 1

    def _advance(self) -> None:
        rng = self.rng
        if rng.random() < 0.002:  # a quiet spell: the night, a weekend morning
            step = timedelta(hours=rng.uniform(2, 10))
        else:
            step = timedelta(seconds=round(rng.expovariate(1 / 28), 3))
        self.now += step

    def _id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def _one(self) -> StreamItem:
        roll = self.rng.random()
        if roll < 0.46 or len(self.people) < 50:
            return self._lead()
        if roll < 0.72:
            return self._outcome()
        if roll < 0.82:
            return self._opt_out()
        if roll < 0.90:
            return self._consent()
        if roll < 0.93:
            return self._redelivery()
        return self._bad()

    # --- numbers and people ---------------------------------------------------------------------

    def _nanp(self, area: str) -> str:
        rng = self.rng
        while True:
            kind = rng.random()
            if kind < 0.01:
                line = f"555{rng.randrange(100, 200):04d}"  # 555-01xx: fiction
            elif kind < 0.02:
                line = str(rng.randrange(2, 10)) * 7
            elif kind < 0.03:
                line = "2345678"
            elif kind < 0.05 and area in ("214", "201", "602", "504", "305"):
                line = f"555{rng.randrange(0, 10000):04d}"  # blocks the line-type file knows
            elif kind < 0.06 and area in ("214", "512"):
                line = f"556{rng.randrange(0, 10000):04d}"
            else:
                line = f"{rng.randrange(2, 10)}{rng.randrange(0, 100):02d}{rng.randrange(0, 10000):04d}"
            national = area + line
            if national not in self.numbers_used:
                self.numbers_used.add(national)
                return national

    def _typed(self, national: str) -> tuple[str, str | None]:
        """A NANP number as a person types it, with the country hint the form sends (or none)."""
        a, b, c = national[:3], national[3:6], national[6:]
        forms = (f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"1{national}",
                 f"+1{national}", f"{a} {b} {c} ext. 12", f"001{national}")
        typed = self.rng.choice(forms)
        hint = self.rng.choice(("US", "US", "US", None, "us"))
        return typed, hint

    def _new_person(self) -> _Person:
        rng = self.rng
        kind = rng.random()
        state: str | None = None
        if kind < 0.70:
            state, areas = rng.choice(_US_AREAS)
            phone, country = self._typed(self._nanp(rng.choice(areas)))
        elif kind < 0.76:
            phone, country = self._typed(self._nanp(rng.choice(_CA_AREAS)))
            country = "CA" if country else None
        elif kind < 0.78:
            phone, country = self._typed(self._nanp(rng.choice(_TERRITORY_AREAS)))
        elif kind < 0.80:
            phone, country = self._typed(self._nanp(rng.choice(("800", "888", "900"))))
        elif kind < 0.94:
            phone, country = self._foreign()
        else:
            phone, country = self._broken()
        first, last = (rng.choice(_JUNK_NAMES) if rng.random() < 0.06
                       else (rng.choice(_FIRST), rng.choice(_LAST) if rng.random() < 0.95 else None))
        email = self._email(first, last)
        person = _Person(phone, country, state, first, last, email)
        self.people.append(person)
        return person

    def _digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def _foreign(self) -> tuple[str, str | None]:
        """A number abroad as typed, with its form's country hint (or none). UK mobiles include the
        Channel Islands and Isle of Man ranges (regions GG, JE, IM share +44 with GB)."""
        d = self._digits
        choices: tuple[tuple[str, str | None], ...] = (
            (f"07{self.rng.randrange(3, 10)}{d(2)} {d(6)}", "GB"),
            (f"+44 20 {self.rng.randrange(3, 9)}{d(3)} {d(4)}", None),
            (f"0044 161 {d(3)} {d(4)}", "US"), (f"+49 30 {d(8)}", None), (f"0151 {d(8)}", "DE"),
            (f"+33 6 {d(8)}", None), (f"04{d(2)} {d(3)} {d(3)}", "AU"), (f"+91 98{d(8)}", None),
            (f"+52 55 {d(8)}", None), (f"+44 7624 {d(6)}", None),
        )
        return self.rng.choice(choices)

    def _broken(self) -> tuple[str, str | None]:
        """A number no normalization can save, or one we refuse to dial."""
        d = self._digits
        choices: tuple[tuple[str, str | None], ...] = (
            (f"+881 6{d(8)}", None), (f"+800 {d(8)}", None), (f"0909 {d(7)}", "GB"), ("12345", "US"),
            ("not a phone", None), ("020 7946 001", "GB"), ("+1 (555) 0199", None), ("   ", "US"),
            ("+" + "9" * 70, None), (d(10), "ZZ"),
        )
        return self.rng.choice(choices)

    def _email(self, first: str | None, last: str | None) -> str | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.12:
            return None
        if roll < 0.16:
            return rng.choice(_BAD_EMAILS)
        local = ".".join(p for p in ((first or "").strip(), (last or "").strip()) if p) or "someone"
        local = "".join(ch for ch in local.lower() if ch.isalnum() or ch == ".") or "someone"
        case = local.title() if rng.random() < 0.1 else local  # same mailbox, other case
        return f"{case}{rng.randrange(1, 10000)}@{rng.choice(_DOMAINS)}"

    def _known_person(self) -> _Person:
        """Someone seen before, recent ones more often."""
        people = self.people
        if self.rng.random() < 0.7:
            return people[-1 - int(self.rng.expovariate(1 / 40)) % len(people)]
        return self.rng.choice(people)

    # --- leads ----------------------------------------------------------------------------------

    def _lead(self) -> Input:
        rng = self.rng
        roll = rng.random()
        if roll < 0.74 or len(self.people) < 50:
            person = self._new_person()
            return self._lead_for(person, rng.choice(_CAMPAIGNS))
        if roll < 0.80:  # the same lead id resent by its vendor (a new event id)
            person = self._known_person()
            if person.leads:
                earlier = person.leads[-1]
                return self._send(LEAD_CAPTURED, {**earlier, "event_id": self._id("lead-ev"),
                                                   "occurred_at": self._occurred()}, person.phone)
            return self._lead_for(person, rng.choice(_CAMPAIGNS))
        if roll < 0.88:  # the same number again, a new lead, same or another campaign
            person = self._known_person()
            campaign = person.leads[-1]["campaign_id"] if person.leads and rng.random() < 0.6 else rng.choice(
                _CAMPAIGNS)
            return self._lead_for(person, campaign)
        # the same email on another number: the email stage's duplicate
        person = self._known_person()
        other = self._new_person()
        other.email = person.email if rng.random() < 0.9 or person.email is None else person.email.upper()
        other.first_name, other.last_name = person.first_name, person.last_name
        campaign = person.leads[-1]["campaign_id"] if person.leads and rng.random() < 0.8 else rng.choice(_CAMPAIGNS)
        return self._lead_for(other, campaign)

    def _occurred(self) -> datetime:
        rng = self.rng
        roll = rng.random()
        if roll < 0.85:
            return self.now - timedelta(seconds=round(rng.uniform(0.5, 90), 3))
        if roll < 0.97:
            return self.now - timedelta(minutes=rng.uniform(5, 60 * 30))  # an aged lead, a slow vendor
        return self.now + timedelta(minutes=rng.uniform(1, 120))  # a producer clock ahead (< a day: valid)

    def _lead_for(self, person: _Person, campaign: str) -> Input:
        rng = self.rng
        occurred = self._occurred()
        consent: ConsentProof | None = None
        if rng.random() < 0.82:
            ip = f"{rng.choice(_TEST_NETS)}.{rng.randrange(1, 255)}"
            consent = {
                "purpose": "marketing" if rng.random() < 0.95 else "insurance-quotes",
                "channel": rng.choice(_CONSENT_CHANNELS),
                "granted_at": occurred - timedelta(seconds=rng.uniform(5, 600)),
                "form_url": f"https://forms.example/{campaign}" if rng.random() < 0.9 else None,
                "consent_text": "I agree to be called, including by autodialer, about my quote.",
                "certificate_id": f"cert-{self.serial}" if rng.random() < 0.6 else None,
                "ip": ip,
                "expires_at": occurred + timedelta(days=rng.choice((1, 30, 365))) if rng.random() < 0.1 else None,
            }
        address: Address | None = None
        if rng.random() < 0.45:
            region = person.state if rng.random() < 0.7 else rng.choice(_US_AREAS)[0]
            address = {"street": f"{rng.randrange(1, 9999)} Main St", "city": "Springfield",
                       "region": region if rng.random() < 0.95 else None,
                       "postal_code": f"{rng.randrange(10000, 99999)}",
                       "country": "US" if rng.random() < 0.95 else rng.choice(("CA", None))}
        attributes = {"timeline": rng.choice(_TIMELINES)}
        if rng.random() < 0.6:
            attributes["budget"] = str(rng.choice((0, 5000, 9999, 10000, 25000)))
        lead_type = rng.choice(_LEAD_TYPES)
        if lead_type:
            attributes["lead_type"] = lead_type
        record: LeadCaptured = {
            "event_id": self._id("lead-ev"), "occurred_at": occurred, "lead_id": self._id("L"),
            "source": rng.choice(_SOURCES), "campaign_id": campaign, "phone": person.phone, "country": person.country,
            "first_name": person.first_name, "last_name": person.last_name, "email": person.email,
            "address": address, "consent": consent, "attributes": attributes,
        }
        person.leads.append(record)
        return self._send(LEAD_CAPTURED, record, person.phone)

    def _send(self, topic: str, record: Mapping[str, object], key: str, schema: str | None = None) -> Input:
        return Input(self.now, topic, key.encode(), schema or topic, record)

    # --- call outcomes --------------------------------------------------------------------------

    def _outcome(self) -> Input:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3 and self.dialed:
            person = rng.choice(self.dialed[-20:])
        elif roll < 0.45 and len(self.dialed) > 400:
            person = rng.choice(self.dialed[-2000:-300])  # dialed about half a day to three days ago
        else:
            person = self._known_person()
        self.dialed.append(person)
        codes, weights = zip(*_OUTCOME_WEIGHTS, strict=True)
        code: CallOutcomeCode = rng.choices(codes, weights)[0]
        if person.leads and rng.random() < 0.97:
            lead = person.leads[-1] if rng.random() < 0.8 else rng.choice(person.leads)
            lead_id, campaign = lead["lead_id"], lead["campaign_id"]
        else:  # a lead this pipeline never saw (the dialer's own list)
            lead_id, campaign = self._id("dialer-L"), rng.choice(_CAMPAIGNS)
        callback_at: datetime | None = None
        if code == "CALLBACK_REQUESTED":
            # Some callbacks land outside the legal window (at night local time): released at its opening.
            callback_at = self.now + timedelta(minutes=rng.choice((10, 45, 90, 240, 600, 1440, 2000)))
        elif code == "NOT_NOW" and rng.random() < 0.5:
            callback_at = self.now + timedelta(days=rng.choice((1, 3, 30)))
        scope: SuppressionScope | None = None
        if code == "DO_NOT_CALL":
            scope = rng.choice(("ALL_CHANNELS", "VOICE", "CAMPAIGN", None))
        answers = rng.choice(_ANSWERS) if code in ("QUALIFIED", "APPOINTMENT_SET", "INTERESTED", "SALE") else {}
        phone = person.phone
        record: CallOutcome = {
            "event_id": self._id("outcome-ev"),
            "occurred_at": self.now - timedelta(seconds=round(rng.uniform(0.2, 30), 3)),
            "lead_id": lead_id, "phone": phone, "country": person.country, "campaign_id": campaign,
            "outcome": code, "agent_id": f"agent-{rng.randrange(1, 30)}" if rng.random() < 0.9 else None,
            "notes": rng.choice((None, "asked about price", "call after 6pm", "")),
            "callback_at": callback_at, "dnc_scope": scope, "answers": dict(answers),
            "tags": list(rng.choice(_TAGS)) if code == "NOT_INTERESTED" else [],
        }
        return self._send(CALL_OUTCOME, record, phone)

    # --- opt-outs and consent ---------------------------------------------------------------------

    def _opt_out(self) -> Input:
        rng = self.rng
        person = self._known_person() if rng.random() < 0.9 else self._new_person()
        roll = rng.random()
        action = "ADD" if roll < 0.78 else "REMOVE" if roll < 0.96 else "ERASE"
        scope: SuppressionScope = rng.choice(("ALL_CHANNELS", "ALL_CHANNELS", "VOICE", "SMS", "CAMPAIGN"))
        category: SuppressionCategory = rng.choice(("PERMANENT", "PERMANENT", "CHANNEL_LIMITED", "TEMPORARY"))
        record: OptOut = {
            "event_id": self._id("optout-ev"),
            "occurred_at": self.now - timedelta(seconds=round(rng.uniform(0.2, 60), 3)),
            "phone": person.phone, "country": person.country, "action": action, "scope": scope,
            "category": category,
            "campaign_id": (person.leads[-1]["campaign_id"] if person.leads else rng.choice(_CAMPAIGNS))
            if scope == "CAMPAIGN" else None,
            "expires_at": self.now + timedelta(hours=rng.choice((2, 30, 24 * 20))) if category == "TEMPORARY" else None,
            "source": rng.choice(("sms-stop-handler", "preference-center", "agent", "complaint-desk")),
            "reason": rng.choice((None, "replied STOP", "asked on a call")),
            "evidence": rng.choice((None, f"sms-msg-{self.serial}")),
        }
        return self._send(OPT_OUT, record, person.phone)

    def _consent(self) -> Input:
        rng = self.rng
        person = self._known_person()
        grant = rng.random() < 0.45
        proof: ConsentProof | None = None
        if grant:
            proof = {
                "purpose": "marketing", "channel": rng.choice(_CONSENT_CHANNELS),
                "granted_at": self.now - timedelta(seconds=rng.uniform(1, 3600)),
                "form_url": "https://preferences.example/opt-in", "consent_text": "Yes, you may call me.",
                "certificate_id": None, "ip": f"{rng.choice(_TEST_NETS)}.{rng.randrange(1, 255)}",
                "expires_at": None,
            }
        channel: ConsentChannel = rng.choice(("ANY", "ANY", "VOICE", "AUTODIALED_VOICE", "SMS"))
        record: ConsentChanged = {
            "event_id": self._id("consent-ev"),
            "occurred_at": self.now - timedelta(seconds=round(rng.uniform(0.2, 60), 3)),
            "phone": person.phone, "country": person.country, "action": "GRANT" if grant else "REVOKE",
            "purpose": rng.choice(("marketing", "marketing", "*")) if not grant else "marketing",
            "channel": channel, "channel_specific": rng.random() < 0.3,
            "source": rng.choice(("preference-center", "agent", "web-form")), "proof": proof,
        }
        return self._send(CONSENT_CHANGED, record, person.phone)

    # --- redeliveries and garbage -------------------------------------------------------------------

    def _redelivery(self) -> Input:
        """An earlier record delivered again, unchanged (at-least-once producers and consumers)."""
        earlier = self.sent[-1 - int(self.rng.expovariate(1 / 200)) % len(self.sent)]
        return Input(self.now, earlier.topic, earlier.key, earlier.schema, earlier.record)

    def _bad(self) -> Input | Garbage:
        rng = self.rng
        kind = rng.randrange(9)
        topic = rng.choice((LEAD_CAPTURED, OPT_OUT, CONSENT_CHANGED, CALL_OUTCOME))
        key = f"bad-{self.serial}".encode()
        if kind == 0:
            return Garbage(self.now, topic, key, rng.randbytes(rng.randrange(1, 80)))
        if kind == 1:  # single-object framing with a fingerprint no schema has
            return Garbage(self.now, topic, key, b"\xc3\x01" + rng.randbytes(8) + rng.randbytes(20))
        if kind == 2:  # a real record cut short (where: drawn before encoding, so that the stream
            # does not depend on the encoding's length, which schema changes alter)
            cut = rng.randrange(10, 200)
            whole = _codec().encode(LEAD_CAPTURED, self._lead_for(self._new_person(), "solar-q4").record)
            return Garbage(self.now, LEAD_CAPTURED, key, whole[: min(cut, len(whole) - 1)])
        if kind == 3:  # an opt-out written to the lead topic
            optout = self._opt_out()
            return Input(self.now, LEAD_CAPTURED, optout.key, OPT_OUT, optout.record)
        if kind == 4:  # blank ids
            lead = self._lead_for(self._new_person(), "solar-q4")
            return Input(self.now, LEAD_CAPTURED, lead.key, LEAD_CAPTURED, {**lead.record, "lead_id": "  "})
        if kind == 5:  # a producer clock days ahead
            lead = self._lead_for(self._new_person(), "insurance-renewals")
            return Input(self.now, LEAD_CAPTURED, lead.key, LEAD_CAPTURED,
                         {**lead.record, "occurred_at": self.now + timedelta(days=3)})
        if kind == 6:  # TEMPORARY without its end
            optout = self._opt_out()
            return Input(self.now, OPT_OUT, optout.key, OPT_OUT,
                         {**optout.record, "category": "TEMPORARY", "expires_at": None})
        if kind == 7:  # a GRANT without proof
            change = self._consent()
            return Input(self.now, CONSENT_CHANGED, change.key, CONSENT_CHANGED,
                         {**change.record, "action": "GRANT", "proof": None})
        # a callback request without its time
        outcome = self._outcome()
        return Input(self.now, CALL_OUTCOME, outcome.key, CALL_OUTCOME,
                     {**outcome.record, "outcome": "CALLBACK_REQUESTED", "callback_at": None})


@cache
def _codec() -> SingleObjectCodec:
    return SingleObjectCodec(SchemaStore())
