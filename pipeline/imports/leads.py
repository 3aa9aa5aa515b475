"""CSV rows → ``lead-captured`` records, or the reason a row cannot be one. Pure: no I/O, no clock.

A :class:`ColumnPlan` says which CSV column fills which lead field. It is built from the header:
a column named like a field (``phone``, ``first_name``, ``address.region``, ``consent.purpose``...,
compared without case, with spaces and dashes read as underscores) or like a common alias
(``phone_number``, ``zip``, ``state``...) maps to it; ``--map column=field`` overrides. Columns
left over become ``attributes`` (free-form fields the scoring rules read) unless switched off;
``attributes.<name>`` maps a column to one attribute by name.

A row is rejected exactly when the pipeline would not accept it as a lead: a missing phone,
campaign or source, a phone number that cannot be parsed or dialled (the worker would record a
REJECTED decision), a time without a UTC offset or in the future, consent without its purpose,
channel or time, a row with more or fewer cells than the header. A doubtful e-mail address is
*not* a rejection: lead quality is judged downstream.

Ids are derived, not random: a lead without a ``lead_id`` gets one from its source and its cells,
and every ``event_id`` from the source, the lead id and the cells, so importing the same file twice
sends the same ids and the pipeline's idempotency drops the second copy.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

from pipeline.core.limits import field_problems, instant_in_range
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.validation import validate_input
from pipeline.events import Address, ConsentChannel, ConsentProof, LeadCaptured

TOP_FIELDS: Final = ("event_id", "occurred_at", "lead_id", "source", "campaign_id", "phone", "country",
                     "first_name", "last_name", "email")
ADDRESS_FIELDS: Final = ("street", "city", "region", "postal_code", "country")
CONSENT_FIELDS: Final = ("purpose", "channel", "granted_at", "form_url", "consent_text", "certificate_id", "ip",
                         "expires_at")
FIELDS: Final = (*TOP_FIELDS, *(f"address.{f}" for f in ADDRESS_FIELDS), *(f"consent.{f}" for f in CONSENT_FIELDS))
"""Every lead field a column can fill (besides ``attributes.<name>``)."""
CHANNELS: Final = ("ANY", "VOICE", "AUTODIALED_VOICE", "SMS")

ALIASES: Final[Mapping[str, str]] = {
    "phone_number": "phone", "phonenumber": "phone", "telephone": "phone", "tel": "phone", "mobile": "phone",
    "cell": "phone", "mobile_phone": "phone", "cell_phone": "phone", "msisdn": "phone", "campaign": "campaign_id",
    "firstname": "first_name", "first": "first_name",
    "given_name": "first_name", "lastname": "last_name", "last": "last_name", "surname": "last_name",
    "family_name": "last_name", "e_mail": "email", "email_address": "email", "street": "address.street",
    "address": "address.street", "address1": "address.street", "address_line1": "address.street",
    "city": "address.city", "state": "address.region", "province": "address.region", "region": "address.region",
    "zip": "address.postal_code", "zip_code": "address.postal_code", "zipcode": "address.postal_code",
    "postcode": "address.postal_code", "postal_code": "address.postal_code",
}
"""Header names that map to a field without being told (after :func:`header_key`)."""

_NAMESPACE: Final = uuid.UUID("8d3d5b0e-5a43-4c55-9a55-7f3e1c0b6a41")  # leadpipe imports
_COUNTRY: Final = re.compile(r"[A-Za-z]{2}")


def header_key(name: str) -> str:
    """A header cell as a lookup key: trimmed, lower case, spaces and dashes as underscores."""
    return re.sub(r"[\s-]+", "_", name.strip().lstrip("\ufeff").lower())


class PlanError(ValueError):
    """The column mapping cannot work with this header; the message names the column or field."""


@dataclass(frozen=True)
class ColumnPlan:
    """Which column index fills which field, and which columns become attributes."""

    header: tuple[str, ...]
    fields: Mapping[str, int]
    """Field (``phone``, ``address.city``...) → column index."""
    attributes: Mapping[str, int]
    """Attribute name → column index."""

    def describe(self) -> list[str]:
        lines = [f"{self.header[i]!r} → {name}" for name, i in sorted(self.fields.items(), key=lambda kv: kv[1])]
        lines += [f"{self.header[i]!r} → attributes.{name}" for name, i in sorted(self.attributes.items(),
                                                                                 key=lambda kv: kv[1])]
        return lines


def plan_columns(header: Sequence[str], overrides: Mapping[str, str] | None = None, *,
                 unmapped_as_attributes: bool = True) -> ColumnPlan:
    """Match ``header`` to lead fields; ``overrides`` maps a column name to a field (or ``attributes.<name>``,
    or ``-`` to ignore the column). Raises :class:`PlanError` naming an unknown column or field, or a
    field filled by two columns."""
    keys = [header_key(h) for h in header]
    if len(set(keys)) != len(keys):
        dupes = sorted({h for h, k in zip(header, keys, strict=True) if keys.count(k) > 1})
        raise PlanError(f"header has columns with the same name: {', '.join(dupes)}")
    by_key = {k: i for i, k in enumerate(keys)}
    chosen: dict[int, str] = {}
    for column, target in (overrides or {}).items():
        index = by_key.get(header_key(column))
        if index is None:
            raise PlanError(f"--map {column}={target}: the file has no column {column!r} "
                            f"(columns: {', '.join(header)})")
        target = target.strip()
        if target != "-" and target not in FIELDS and not _attribute_target(target):
            raise PlanError(f"--map {column}={target}: {target!r} is not a lead field; expected one of "
                            f"{', '.join(FIELDS)}, attributes.<name> or - (ignore)")
        chosen[index] = target
    for index, key in enumerate(keys):
        if index in chosen:
            continue
        if key in FIELDS or key in TOP_FIELDS:
            chosen[index] = key
        elif key in ALIASES:
            chosen[index] = ALIASES[key]
        elif key.startswith("attributes.") and _attribute_target(key):
            chosen[index] = key
    fields: dict[str, int] = {}
    attributes: dict[str, int] = {}
    for index, target in sorted(chosen.items()):
        if target == "-":
            continue
        if target.startswith("attributes."):
            attributes[target.removeprefix("attributes.")] = index
        elif target in fields:
            raise PlanError(f"field {target} would be filled by two columns: {header[fields[target]]!r} and "
                            f"{header[index]!r}; pick one with --map COLUMN=- for the other")
        else:
            fields[target] = index
    if unmapped_as_attributes:
        for index, name in enumerate(header):
            if index not in chosen and name.strip():
                attributes.setdefault(name.strip().lstrip("\ufeff"), index)
    return ColumnPlan(tuple(header), fields, attributes)


def _attribute_target(target: str) -> bool:
    return target.startswith("attributes.") and len(target) > len("attributes.")


@dataclass(frozen=True)
class ImportDefaults:
    """Values a column may leave empty."""

    source: str
    """Where these leads came from (``import:<file>`` unless given)."""
    campaign_id: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2 for national-format numbers."""
    default_region: str = "US"
    """The deployment's LEADPIPE_DEFAULT_REGION: how the worker reads a number without a country."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that is not a lead: where it is and why (``reason`` starts with the field)."""

    line_number: int
    reason: str
    cells: tuple[str, ...]

    @property
    def reason_kinds(self) -> list[str]:
        """Each problem without its details, for counting (``phone: PHONE_INVALID``)."""
        return [part.split(" (", 1)[0] for part in _problems(self.reason)]


def _problems(reason: str) -> list[str]:
    """``reason`` split at the ``; `` that join problems, not at one inside a problem's (details)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(reason):
        depth += char == "("
        depth -= char == ")" and depth > 0
        if depth == 0 and reason.startswith("; ", i):
            parts.append(reason[start:i])
            start = i + 2
    parts.append(reason[start:])
    return parts


@dataclass(frozen=True, slots=True)
class ImportedLead:
    line_number: int
    key: str
    """The number in E.164: the key the pipeline would give the lead."""
    record: LeadCaptured


def _parse_instant(text: str, name: str, problems: list[str]) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        problems.append(f"{name}: not an ISO-8601 time ({text!r})")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        problems.append(f"{name}: no UTC offset ({text!r}; write e.g. 2026-11-24T09:30:00-05:00)")
        return None
    if not instant_in_range(value):
        problems.append(f"{name}: outside years 1-9999 in UTC ({text!r})")
        return None
    return value


def _derived_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def row_to_lead(plan: ColumnPlan, cells: Sequence[str], line_number: int, defaults: ImportDefaults,
                now: datetime) -> ImportedLead | RowError:
    """The ``lead-captured`` record for one CSV row, or why the pipeline would not take it."""
    cells = tuple(cells)
    if len(cells) != len(plan.header):
        return RowError(line_number, f"row: wrong number of cells ({len(cells)}, the header has {len(plan.header)})",
                        cells)

    def cell(name: str) -> str | None:
        index = plan.fields.get(name)
        if index is None:
            return None
        text = cells[index].strip()
        return text or None

    problems: list[str] = []
    if any("\ufffd" in c for c in cells):
        problems.append("row: not valid text in the file's encoding (characters replaced)")
    source = cell("source") or defaults.source
    campaign_id = cell("campaign_id") or defaults.campaign_id
    country = cell("country") or defaults.country
    if country is not None and not _COUNTRY.fullmatch(country):
        problems.append(f"country: not an ISO 3166-1 alpha-2 code ({country!r})")
        country = None
    occurred_at = now
    if (text := cell("occurred_at")) is not None:
        occurred_at = _parse_instant(text, "occurred_at", problems) or now

    address: Address | None = None
    if any(cell(f"address.{f}") for f in ADDRESS_FIELDS):
        address = cast(Address, {f: cell(f"address.{f}") for f in ADDRESS_FIELDS})
    consent = _consent(cell, problems)

    phone = cell("phone") or ""
    content = "\x1f".join(cells)
    lead_id = cell("lead_id") or _derived_id("lead", source, content)
    record: LeadCaptured = {
        "event_id": cell("event_id") or _derived_id("event", source, lead_id, content),
        "occurred_at": occurred_at, "lead_id": lead_id, "source": source, "campaign_id": campaign_id or "",
        "phone": phone, "country": country.upper() if country else None, "first_name": cell("first_name"),
        "last_name": cell("last_name"), "email": cell("email"), "address": address, "consent": consent,
        "attributes": {name: cells[i].strip() for name, i in plan.attributes.items() if cells[i].strip()},
    }
    problems.extend(_as_row_problem(p) for p in validate_input("lead-captured", record, now))
    problems.extend(f"{path}: too long ({why})" for path, why in field_problems("lead-captured", record))
    key = ""
    if phone:
        normalized = normalize_phone(phone, country, defaults.default_region)
        if isinstance(normalized, PhoneError):
            problems.append(f"phone: {normalized.code} ({normalized.detail}: {phone!r})")
        else:
            key = normalized["phone_e164"]
    if problems:
        return RowError(line_number, "; ".join(problems), cells)
    return ImportedLead(line_number, key, record)


def _as_row_problem(problem: str) -> str:
    """A validation problem worded as ``<field>: <what> (<details>)`` so equal problems count together."""
    problem = problem.replace("empty or whitespace only", "missing")
    field_name, _, detail = problem.partition(": ")
    if field_name == "occurred_at" and "after now" in detail:
        return f"occurred_at: in the future ({detail})"
    return problem


def _consent(cell: Callable[[str], str | None], problems: list[str]) -> ConsentProof | None:
    values = {f: cell(f"consent.{f}") for f in CONSENT_FIELDS}
    if not any(values.values()):
        return None
    missing = [f"consent.{f}" for f in ("purpose", "channel", "granted_at") if not values[f]]
    if missing:
        problems.append(f"{missing[0]}: missing (consent needs purpose, channel and granted_at)")
        return None
    channel = (values["channel"] or "").upper()
    if channel not in CHANNELS:
        problems.append(f"consent.channel: not one of {', '.join(CHANNELS)} ({values['channel']!r})")
        return None
    granted_at = _parse_instant(values["granted_at"] or "", "consent.granted_at", problems)
    expires_at = None
    if values["expires_at"]:
        expires_at = _parse_instant(values["expires_at"], "consent.expires_at", problems)
    if granted_at is None:
        return None
    return {"purpose": values["purpose"] or "", "channel": cast(ConsentChannel, channel), "granted_at": granted_at,
            "form_url": values["form_url"], "consent_text": values["consent_text"],
            "certificate_id": values["certificate_id"], "ip": values["ip"], "expires_at": expires_at}


@dataclass
class ImportTally:
    """Running counts of an import, and the first ``keep`` bad rows in file order."""

    keep: int = 20
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def add(self, result: ImportedLead | RowError) -> None:
        self.rows += 1
        if isinstance(result, RowError):
            self.rejected += 1
            for kind in result.reason_kinds:
                self.reasons[kind] = self.reasons.get(kind, 0) + 1
            if len(self.errors) < self.keep:
                self.errors.append(result)
        else:
            self.accepted += 1
