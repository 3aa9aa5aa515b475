"""Deterministic sample input for the demo: the traffic a call center's pipeline really sees.

Web-form and vendor leads from the US (FL, TX, CA, NY and more), Canada, the UK, Germany, France,
Australia, Brazil and India, typed the way people type them; most with a name, an email and consent
proof. Mixed in: phones that cannot be called ("12345", "not a phone", a London number one digit
short), resubmitted and cross-vendor duplicate leads, opt-outs for numbers that also have a lead
(some before the lead arrives, some after), opt-outs for numbers with no lead (one later removed),
consent grants and revocations.

Every record has every field of its schema. Names use reserved example domains and TEST-NET IPs;
phone numbers follow real numbering plans (so phonenumbers accepts them) but are random digits.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pipeline.events import (
    Address,
    ConsentChanged,
    ConsentChannel,
    ConsentProof,
    LeadCaptured,
    OptOut,
    SuppressionCategory,
    SuppressionScope,
)

LEAD_CAPTURED = "lead-captured"
OPT_OUT = "opt-out"
CONSENT_CHANGED = "consent-changed"

INVALID_PHONES: tuple[tuple[str, str | None], ...] = (
    ("12345", "US"),
    ("not a phone", None),
    ("020 7946 001", "GB"),  # a London number one digit short
)
"""Phones as entered that no normalization can save, with their country hint."""

_CAMPAIGNS = ("solar-q4", "solar-q4", "solar-q4", "insurance-renewals")
_WEB_FORMS = ("web-form:solar-quote", "web-form:insurance-check")
_VENDORS = ("vendor:brightpath", "vendor:acme-leads")
_LIST = "list:purchased-2025"
LEAD_SOURCES = (*_WEB_FORMS, *_VENDORS, _LIST)
"""Every ``source`` a sample lead can have (the demo gives each its own gateway API key)."""
_TIMELINES = ("now", "asap", "this_month", "3_months", "6_months", "just_browsing", "not_sure")
_CONSENT_CHANNELS: tuple[ConsentChannel, ...] = ("AUTODIALED_VOICE", "AUTODIALED_VOICE", "ANY", "VOICE")
_CONSENT_TEXT = (
    "By submitting this form I agree to be contacted by phone, including by autodialer or "
    "prerecorded message, about my quote. Consent is not a condition of purchase."
)
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_TEST_NETS = ("192.0.2", "198.51.100", "203.0.113")

_US_AREA_CODES: dict[str, tuple[str, ...]] = {
    "FL": ("305", "407", "813", "904"),
    "TX": ("214", "512", "713", "210"),
    "CA": ("415", "213", "619", "916"),
    "NY": ("212", "718", "518", "716"),
    "GA": ("404",),
    "IL": ("312",),
    "OK": ("405",),
    "WA": ("206",),
    "MD": ("410",),
}
_CA_AREA_CODES: dict[str, tuple[str, ...]] = {
    "ON": ("416", "613"),
    "BC": ("604",),
    "QC": ("514",),
    "AB": ("403",),
}
_CALLING_CODES = {"GB": "44", "DE": "49", "FR": "33", "AU": "61", "BR": "55", "IN": "91"}
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("James", "Maria", "Robert", "Linda", "Michael", "Aisha", "David", "Sofia", "Daniel", "Emily", "Wei"),
        ("Smith", "Garcia", "Johnson", "Nguyen", "Brown", "Patel", "O'Connor", "Lee", "Rodriguez", "Walker"),
    ),
    "de": (("Lukas", "Anna", "Jürgen", "Lea"), ("Müller", "Schmidt", "Schäfer", "Becker")),
    "fr": (("Camille", "Hugo", "Zoé", "Théo"), ("Martin", "Bernard", "Lefèvre", "Dubois")),
    "pt": (("João", "Ana", "Lucas", "Beatriz"), ("Silva", "Santos", "Oliveira", "Conceição")),
    "hi": (("Aarav", "Priya", "Rohan", "Ananya"), ("Sharma", "Iyer", "Reddy", "Gupta")),
}
# Country mix: (country, weight, name pool).
_COUNTRIES = (
    ("US", 50, "en"), ("CA", 8, "en"), ("GB", 10, "en"), ("DE", 6, "de"),
    ("FR", 6, "fr"), ("AU", 8, "en"), ("BR", 6, "pt"), ("IN", 6, "hi"),
)


@dataclass(frozen=True)
class _Number:
    e164: str
    entered: str
    """As the person typed it."""
    hint: str | None
    region: str | None
    """State/province for the address."""


@dataclass(frozen=True)
class _Person:
    lead_id: str
    country: str
    number: _Number
    first_name: str | None
    last_name: str | None
    email: str | None
    source: str
    campaign_id: str
    attributes: dict[str, str]
    has_consent: bool
    certificate: bool
    address_region: str | None


@dataclass(frozen=True)
class _OptOutKind:
    scope: SuppressionScope
    category: SuppressionCategory
    source: str
    reason: str
    lifetime: timedelta | None = None


# Opt-outs by (when they come, variant): before or after the number's lead, for a number with no
# lead, and the removal of one of those.
_OPT_OUT_KINDS: dict[tuple[str, int], _OptOutKind] = {
    ("before", 0): _OptOutKind("ALL_CHANNELS", "PERMANENT", "web:preferences-center", "do not call me"),
    ("before", 1): _OptOutKind("CAMPAIGN", "PERMANENT", "agent:a-104", "not interested in this offer"),
    ("before", 2): _OptOutKind("VOICE", "CHANNEL_LIMITED", "email:reply", "no calls, email is fine"),
    ("after", 0): _OptOutKind("ALL_CHANNELS", "PERMANENT", "sms-keyword:STOP", "replied STOP"),
    ("after", 1): _OptOutKind(
        "ALL_CHANNELS", "TEMPORARY", "agent:a-215", "not now, try in six months", timedelta(days=182)
    ),
    ("after", 2): _OptOutKind("CAMPAIGN", "PERMANENT", "ivr:press-9", "pressed 9 to opt out"),
    ("standalone", 0): _OptOutKind("ALL_CHANNELS", "PERMANENT", "import:company-dnc", "old company DNC list"),
    ("standalone", 1): _OptOutKind("SMS", "CHANNEL_LIMITED", "sms-keyword:STOP", "replied STOP to a text"),
    ("removal", 0): _OptOutKind("ALL_CHANNELS", "PERMANENT", "web:preferences-center", "wants calls again"),
}

Plan = Callable[[datetime], tuple[str, dict[str, object]]]
"""One event to emit, built once its ``occurred_at`` is known."""


def sample_events(now: datetime, *, seed: int = 7, leads: int = 60) -> list[tuple[str, dict[str, object]]]:
    """(topic, record) pairs to publish in order: ``leads`` lead-captured events plus opt-outs and
    consent changes, ``occurred_at`` spread over the half hour or so before ``now`` (the last at ``now``).

    The same ``now``, ``seed`` and ``leads`` always give the same events (event ids included).
    """
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    sample = _Sampler(random.Random(seed))
    n_duplicates = min(4, leads // 15)
    people = [sample.person(index) for index in range(leads - n_duplicates)]

    pool = list(range(len(people)))
    sample.rng.shuffle(pool)

    def take(count: int) -> list[int]:
        taken, pool[:] = pool[:count], pool[count:]
        return taken

    invalid = take(min(len(INVALID_PHONES), leads // 10))
    for index, (entered, hint) in zip(invalid, INVALID_PHONES, strict=False):
        people[index] = replace(people[index], number=_Number(entered, entered, hint, None))
    opt_out_before, opt_out_after = take(3), take(3)
    grants, revocations, duplicates = take(3), take(2), take(n_duplicates)
    for index in grants:
        people[index] = replace(people[index], has_consent=False, certificate=False)
    for index in revocations:
        people[index] = replace(people[index], has_consent=True)

    plan: list[Plan] = []
    later: dict[int, list[Plan]] = {}

    def after(index: int, event: Plan) -> None:
        later.setdefault(min(index + sample.rng.randint(2, 6), len(people) - 1), []).append(event)

    for index, person in enumerate(people):
        if index in opt_out_before:
            plan.append(sample.opt_out(person, "before", opt_out_before.index(index)))
        if index in grants[:2]:
            plan.append(sample.consent_grant(person))
        plan.append(sample.lead(person))
        if index in grants[2:]:
            after(index, sample.consent_grant(person))
        if index in opt_out_after:
            after(index, sample.opt_out(person, "after", opt_out_after.index(index)))
        if index in revocations:
            after(index, sample.consent_revocation(person, revocations.index(index)))
        if index in duplicates:
            copy = duplicates.index(index)
            after(index, sample.duplicate(person, cross_vendor=copy % 2 == 1, lead_number=len(people) + copy))
        plan.extend(later.pop(index, []))
    if people:
        stranger = sample.person(len(people) + n_duplicates, country="US")
        plan.insert(len(plan) // 3, sample.opt_out(stranger, "standalone", 0))
        plan.insert(len(plan) // 2, sample.opt_out(stranger, "standalone", 1))
        plan.insert(2 * len(plan) // 3, sample.opt_out(stranger, "removal", 0))

    # Millisecond instants (what timestamp-millis keeps), the last one at ``now``.
    gaps = [timedelta(milliseconds=sample.rng.randint(2_000, 36_000)) for _ in plan]
    at = now.astimezone(UTC).replace(microsecond=now.microsecond // 1000 * 1000) - sum(gaps, timedelta())
    events = []
    for build, gap in zip(plan, gaps, strict=True):
        at += gap
        events.append(build(at))
    return events


class _Sampler:
    """Builds people and their events from one random generator, so a seed fixes everything."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(count))

    def person(self, index: int, *, country: str | None = None) -> _Person:
        rng = self.rng
        if country is None:
            country = rng.choices([c for c, _, _ in _COUNTRIES], weights=[w for _, w, _ in _COUNTRIES])[0]
        names = next(pool for c, _, pool in _COUNTRIES if c == country)
        first = rng.choice(_NAMES[names][0]) if rng.random() > 0.08 else None
        last = rng.choice(_NAMES[names][1]) if first is not None else None
        email = None
        if first is not None and last is not None and rng.random() > 0.15:
            local = _ascii(f"{first}.{last}").lower().replace("'", "")
            email = f"{local}{rng.randint(1, 99)}@{rng.choice(_EMAIL_DOMAINS)}"
        number = self.number(country)
        roll = rng.random()
        source = rng.choice(_WEB_FORMS) if roll < 0.6 else rng.choice(_VENDORS) if roll < 0.9 else _LIST
        purchased = source == _LIST
        lead_type = rng.choice(("quote_request", "quote_request", "quote_request", "callback_request"))
        attributes = {
            "timeline": rng.choice(_TIMELINES),
            "budget": str(rng.randrange(2_000, 60_000, 500)),
            "lead_type": "purchased_list" if purchased else lead_type,
        }
        if rng.random() < 0.2:
            del attributes["budget"]
        region = number.region
        if country == "US" and rng.random() < 0.1:
            region = rng.choice([state for state in _US_AREA_CODES if state != region])  # moved away
        return _Person(
            lead_id=f"L{index + 1:04d}",
            country=country,
            number=number,
            first_name=first,
            last_name=last,
            email=email,
            source=source,
            campaign_id=rng.choice(_CAMPAIGNS),
            attributes=attributes,
            has_consent=not purchased and rng.random() < 0.9,
            certificate=rng.random() < 0.6,
            address_region=region,
        )

    def number(self, country: str) -> _Number:
        """A valid number of ``country`` as a person would type it, and where it is."""
        rng, d = self.rng, self.digits
        if country in ("US", "CA"):
            codes = _US_AREA_CODES if country == "US" else _CA_AREA_CODES
            state = rng.choice(sorted(codes))
            npa = rng.choice(codes[state])
            exchange = rng.choice([n for n in range(201, 990) if n % 100 != 11 and n != 555])
            line = d(4)
            formats = (
                f"({npa}) {exchange}-{line}",
                f"{npa}-{exchange}-{line}",
                f"+1 {npa} {exchange} {line}",
                f"1.{npa}.{exchange}.{line}",
                f"{npa}{exchange}{line}",
                f"+1 ({npa}) {exchange}-{line} x{d(3)}",
            )
            hint = country if rng.random() < 0.8 else None
            return _Number(f"+1{npa}{exchange}{line}", rng.choice(formats), hint, state)

        # National significant numbers (no trunk 0), landline or mobile, in ranges phonenumbers accepts.
        if country == "GB":
            national, region = rng.choice(("20 7946 0" + d(3), f"7{rng.choice('458')}{d(2)} {d(6)}")), None
        elif country == "DE":
            national, region = rng.choice(("30 " + d(8), "151 " + d(8))), rng.choice(("BE", "BY", "HH"))
        elif country == "FR":
            national, region = rng.choice((f"6 {rng.choice('1245678')}{d(7)}", "1 " + d(8))), None
        elif country == "AU":
            mobile = f"4{rng.choice('01236')}{d(1)} {d(3)} {d(3)}"
            national, region = rng.choice((mobile, "2 9" + d(7))), rng.choice(("NSW", "VIC", "QLD"))
        elif country == "BR":
            mobile = f"11 9{rng.choice('6789')}{d(3)}-{d(4)}"
            national, region = rng.choice((mobile, f"21 2{d(3)}-{d(4)}")), rng.choice(("SP", "RJ"))
        elif country == "IN":
            mobile = f"9{rng.choice('6789')}{d(3)} {d(5)}"
            national, region = rng.choice((mobile, "22 2" + d(7))), rng.choice(("MH", "KA", "DL"))
        else:
            raise ValueError(f"no sample numbers for {country!r}")
        code = _CALLING_CODES[country]
        e164 = f"+{code}{national.replace(' ', '').replace('-', '')}"
        entered = rng.choice((f"0{national}", f"0{national}", f"+{code} {national}", f"00{code} {national}"))
        return _Number(e164, entered, country, region)

    def lead(self, person: _Person, *, entered: str | None = None, lead_id: str | None = None,
             source: str | None = None) -> Plan:
        event_id = self.event_id()
        consent_id = self.hex(16) if person.certificate else None
        ip = f"{self.rng.choice(_TEST_NETS)}.{self.rng.randint(1, 254)}"
        channel = self.rng.choice(_CONSENT_CHANNELS)
        lead_source = source or person.source

        def build(at: datetime) -> tuple[str, dict[str, object]]:
            consent = ConsentProof(
                purpose="marketing",
                channel=channel,
                granted_at=at - timedelta(seconds=5),
                form_url=f"https://forms.example.com/{person.campaign_id}",
                consent_text=_CONSENT_TEXT,
                certificate_id=f"tf-{consent_id}" if consent_id else None,
                ip=ip,
                expires_at=None,
            )
            address = Address(
                street=None,
                city=None,
                region=person.address_region,
                postal_code=None,
                country=person.country,
            )
            record = LeadCaptured(
                event_id=event_id,
                occurred_at=at,
                lead_id=lead_id or person.lead_id,
                source=lead_source,
                campaign_id=person.campaign_id,
                phone=entered or person.number.entered,
                country=person.number.hint,
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                address=address if person.address_region else None,
                consent=consent if person.has_consent else None,
                attributes=dict(person.attributes),
            )
            return LEAD_CAPTURED, dict(record)

        return build

    def duplicate(self, person: _Person, *, cross_vendor: bool, lead_number: int) -> Plan:
        """The same person again: a resubmitted form (same lead id, number typed differently) or
        the same number bought from a vendor under a new lead id."""
        if cross_vendor:
            return self.lead(person, entered=person.number.e164, lead_id=f"L{lead_number + 1:04d}",
                             source=self.rng.choice(_VENDORS))
        return self.lead(person, entered=person.number.e164)

    def opt_out(self, person: _Person, when: str, variant: int) -> Plan:
        """An opt-out for ``person``'s number, typed the way the opting-out system writes it."""
        event_id, evidence = self.event_id(), self.hex(12)
        kind = _OPT_OUT_KINDS[(when, variant)]

        def build(at: datetime) -> tuple[str, dict[str, object]]:
            record = OptOut(
                event_id=event_id,
                occurred_at=at,
                phone=person.number.e164,
                country=None,
                action="REMOVE" if when == "removal" else "ADD",
                scope=kind.scope,
                category=kind.category,
                campaign_id=person.campaign_id if kind.scope == "CAMPAIGN" else None,
                expires_at=at + kind.lifetime if kind.lifetime is not None else None,
                source=kind.source,
                reason=kind.reason,
                evidence=f"{kind.source.split(':')[0]}-{evidence}",
            )
            return OPT_OUT, dict(record)

        return build

    def consent_grant(self, person: _Person) -> Plan:
        event_id, certificate = self.event_id(), self.hex(16)
        ip = f"{self.rng.choice(_TEST_NETS)}.{self.rng.randint(1, 254)}"

        def build(at: datetime) -> tuple[str, dict[str, object]]:
            proof = ConsentProof(
                purpose="marketing",
                channel="ANY",
                granted_at=at - timedelta(seconds=3),
                form_url="https://forms.example.com/preferences",
                consent_text=_CONSENT_TEXT,
                certificate_id=f"tf-{certificate}",
                ip=ip,
                expires_at=None,
            )
            record = ConsentChanged(
                event_id=event_id,
                occurred_at=at,
                phone=person.number.entered,
                country=person.number.hint,
                action="GRANT",
                purpose="marketing",
                channel="ANY",
                channel_specific=False,
                source="web:preferences-center",
                proof=proof,
            )
            return CONSENT_CHANGED, dict(record)

        return build

    def consent_revocation(self, person: _Person, variant: int) -> Plan:
        """Variant 0 revokes everything (a STOP reply); variant 1 revokes texts only."""
        event_id = self.event_id()

        def build(at: datetime) -> tuple[str, dict[str, object]]:
            record = ConsentChanged(
                event_id=event_id,
                occurred_at=at,
                phone=person.number.e164,
                country=None,
                action="REVOKE",
                purpose="*",
                channel="ANY" if variant == 0 else "SMS",
                channel_specific=variant != 0,
                source="sms-keyword:STOP" if variant == 0 else "web:preferences-center",
                proof=None,
            )
            return CONSENT_CHANGED, dict(record)

        return build


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
