"""Field and record limits of every input event, in one place. Pure: constants and a checker.

The gateway answers 422 naming the field (413 for a body or an encoded record over
:data:`RECORD_BYTES`); the worker's intake rejects a lead with a usable number naming the field
(a ``REJECTED`` decision with the ``FIELD_TOO_LONG`` reason), applies an opt-out whose only excess
is its free text with that text cut (a do-not-call request is never lost for what it says) and
dead-letters any other record over a limit. Table rows, outputs and dead-letter copies are sized
from these numbers, so they are part of the contract: change them here, and README "Sizes" and
docs/gateway.md with them.

Lengths count characters (Unicode code points), as JSON and Python do; on the wire a character is
1 to 4 bytes of UTF-8, and :data:`RECORD_BYTES` bounds the encoded record as a whole.
``tests/core/test_limits.py`` walks every string, map and list of every input schema and fails when
one has no limit here, so a new field cannot slip through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

IDENTIFIER_CHARS = 128
"""event_id, lead_id, campaign_id, source, agent_id, certificate_id, decision ids."""
PHONE_CHARS = 32
"""A phone number as entered (E.164 is at most 16 with the +; the rest is room for formatting)."""
CODE_CHARS = 8
"""Country and region codes (ISO 3166-1 alpha-2, ISO 3166-2 subdivisions such as US-FL)."""
NAME_CHARS = 100
"""Names and short labels: first and last name, contact name/role/title, best time to call, address
lines, purposes, tags."""
EMAIL_CHARS = 254
"""RFC 5321's longest usable address (a 256-octet path less its angle brackets)."""
TEXT_CHARS = 2_000
"""Free text: notes, callback notes, reason, evidence, consent text."""
URL_CHARS = 2_048
"""URLs (consent form_url): what browsers and CDNs reliably carry."""
IP_CHARS = 64
"""An IPv6 address with a zone index fits with room to spare."""
MAP_ENTRIES = 32
MAP_KEY_CHARS = 64
MAP_VALUE_CHARS = 500
LIST_ITEMS = 16
RECORD_BYTES = 64 * 1024
"""One encoded input record; the gateway's default body limit is the same 64 KiB."""

INSTANT_MIN = datetime.min.replace(tzinfo=UTC)
INSTANT_MAX = datetime.max.replace(tzinfo=UTC)
"""Input instants must fall in years 1-9999 *in UTC*: ``9999-12-31T23:59:59-23:00`` is in year
10000 in UTC, which no reader (fastavro, Python) can represent, so the record would never decode."""

DIAL_CHECK_AT_MIN = datetime(1970, 1, 1, tzinfo=UTC)
DIAL_CHECK_AT_MAX = datetime(3000, 1, 1, tzinfo=UTC)
"""The dial-time check's ``at`` lies in [1970, 3000): the window search looks days ahead in every
time zone of a number, which must stay inside what a datetime can hold; no rule is older or newer."""


@dataclass(frozen=True, slots=True)
class Text:
    """A string field of at most ``chars`` characters."""

    chars: int


@dataclass(frozen=True, slots=True)
class MapLimit:
    """A map of text: at most ``entries`` entries, keys of ``key_chars``, values of ``value_chars``
    (or of ``value_chars_by_key[key]`` for keys that carry something shorter, such as a name)."""

    entries: int = MAP_ENTRIES
    key_chars: int = MAP_KEY_CHARS
    value_chars: int = MAP_VALUE_CHARS
    value_chars_by_key: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ListLimit:
    """A list of text: at most ``items`` items of ``item_chars`` characters each."""

    items: int
    item_chars: int


Limit = Text | MapLimit | ListLimit

IDENTIFIER = Text(IDENTIFIER_CHARS)
PHONE = Text(PHONE_CHARS)
CODE = Text(CODE_CHARS)
NAME = Text(NAME_CHARS)
EMAIL = Text(EMAIL_CHARS)
TEXT = Text(TEXT_CHARS)
URL = Text(URL_CHARS)
IP = Text(IP_CHARS)

ANSWER_NAME_KEYS = ("contact_name", "contact_role", "role", "title", "job_title", "jobtitle")
"""Answers that name a person or a role: they travel as names (``qualified-lead.contact_name``...)."""

_CONSENT_PROOF: dict[str, Limit] = {
    "purpose": NAME, "form_url": URL, "consent_text": TEXT, "certificate_id": IDENTIFIER, "ip": IP,
}

FIELD_LIMITS: Mapping[str, Mapping[str, Limit]] = {
    "lead-captured": {
        "event_id": IDENTIFIER, "lead_id": IDENTIFIER, "source": IDENTIFIER, "campaign_id": IDENTIFIER,
        "phone": PHONE, "country": CODE, "first_name": NAME, "last_name": NAME, "email": EMAIL,
        "address.street": NAME, "address.city": NAME, "address.region": CODE, "address.postal_code": NAME,
        "address.country": CODE,
        **{f"consent.{name}": limit for name, limit in _CONSENT_PROOF.items()},
        "attributes": MapLimit(),
    },
    "opt-out": {
        "event_id": IDENTIFIER, "phone": PHONE, "country": CODE, "campaign_id": IDENTIFIER, "source": IDENTIFIER,
        "reason": TEXT, "evidence": TEXT,
    },
    "consent-changed": {
        "event_id": IDENTIFIER, "phone": PHONE, "country": CODE, "purpose": NAME, "source": IDENTIFIER,
        **{f"proof.{name}": limit for name, limit in _CONSENT_PROOF.items()},
    },
    "call-outcome": {
        "event_id": IDENTIFIER, "lead_id": IDENTIFIER, "phone": PHONE, "country": CODE, "campaign_id": IDENTIFIER,
        "agent_id": IDENTIFIER, "notes": TEXT,
        "answers": MapLimit(value_chars_by_key=dict.fromkeys(ANSWER_NAME_KEYS, NAME_CHARS)),
        "tags": ListLimit(LIST_ITEMS, NAME_CHARS),
        # Who was reached: these travel to call-ready and qualified-lead, where CRMs map them.
        "contact_name": NAME, "contact_role": NAME, "title": NAME, "best_time_to_call": NAME,
        "callback_notes": TEXT,
    },
}
"""Input topic → dotted field path (``consent.form_url``) → its limit."""


def field_problems(kind: str, record: Mapping[str, object]) -> list[tuple[str, str]]:
    """Every field of ``record`` (an event of input topic ``kind``) over its limit, as
    ``(path, why)`` with the path as the gateway names fields (``attributes.budget``, ``tags[3]``).

    Values of the wrong type are left to the schema and the other checks: only lengths and counts
    are judged here. Raises ValueError for an unknown ``kind`` (a bug in the caller).
    """
    compiled = _COMPILED.get(kind)
    if compiled is None:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {', '.join(sorted(FIELD_LIMITS))}")
    problems: list[tuple[str, str]] = []
    for path, head, tail, limit in compiled:
        # Every input checks every field: the lookup is inlined (one or two levels) for speed.
        value = record.get(head)
        if tail is not None:
            value = value.get(tail) if isinstance(value, Mapping) else None
        if value is None:
            continue
        if isinstance(limit, Text):
            if isinstance(value, str) and len(value) > limit.chars:
                problems.append((path, _too_long(len(value), limit.chars)))
        elif isinstance(limit, MapLimit):
            if isinstance(value, Mapping):
                problems.extend(_map_problems(path, value, limit))
        elif isinstance(value, list):
            if len(value) > limit.items:
                problems.append((path, f"{len(value)} items, at most {limit.items}"))
            problems.extend((f"{path}[{i}]", _too_long(len(item), limit.item_chars))
                            for i, item in enumerate(value[:limit.items])
                            if isinstance(item, str) and len(item) > limit.item_chars)
    return problems


def record_size_problem(size: int) -> str | None:
    """Why an encoded record of ``size`` bytes is too large, or None."""
    if size > RECORD_BYTES:
        return f"{size} bytes encoded, at most {RECORD_BYTES}"
    return None


def instant_in_range(value: datetime) -> bool:
    """True when ``value`` (timezone-aware) falls in years 1-9999 in UTC, so it can be encoded and read."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _map_problems(path: str, value: Mapping[object, object], limit: MapLimit) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if len(value) > limit.entries:
        problems.append((path, f"{len(value)} entries, at most {limit.entries}"))
    for key, item in list(value.items())[:limit.entries]:
        name = str(key)
        if len(name) > limit.key_chars:
            problems.append((f"{path}.{name[:limit.key_chars]}...", f"name {_too_long(len(name), limit.key_chars)}"))
            continue
        chars = limit.value_chars_by_key.get(name, limit.value_chars)
        if isinstance(item, str) and len(item) > chars:
            problems.append((f"{path}.{name}", _too_long(len(item), chars)))
    return problems


def _too_long(length: int, chars: int) -> str:
    return f"{length} characters, at most {chars}"


def _compile(limits: Mapping[str, Limit]) -> tuple[tuple[str, str, str | None, Limit], ...]:
    compiled = []
    for path, limit in limits.items():
        head, _, tail = path.partition(".")
        if "." in tail:
            raise ValueError(f"{path}: limits reach at most one level into a record")
        compiled.append((path, head, tail or None, limit))
    return tuple(compiled)


_COMPILED = {kind: _compile(limits) for kind, limits in FIELD_LIMITS.items()}
