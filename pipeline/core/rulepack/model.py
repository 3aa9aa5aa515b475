"""The rule pack's vocabulary: rule kinds, the parameters of each kind, a rule with its dates, and the
house hours a campaign adds. Shared helpers of the package's modules (``hhmm``, ``country_of``,
``require_aware``) live here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

Kind = Literal[
    "hours", "no_call_days", "holidays", "frequency_cap", "wireless_prohibited", "registry_screen",
    "suppression_retention", "ebr", "revocation_scope", "consent_exemption",
]
EbrKind = Literal["purchase", "inquiry"]
Calls = Literal["all", "automated"]


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as the pack spells them; index = ``date.weekday()``."""


# An instant is on a given calendar date somewhere on earth from that date's start at UTC+14 until
# its end at UTC-12.
_EARLIEST_ZONE = timezone(timedelta(hours=14))
_LATEST_ZONE = timezone(timedelta(hours=-12))


# --- Rule parameters, one class per kind -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoursParams:
    """Callee-local calling hours [start, end); ``days`` gives single weekdays their own hours."""

    start: time
    end: time
    days: tuple[tuple[int, time, time], ...] = ()
    """(weekday, start, end), weekday as ``date.weekday()``, sorted."""

    def on(self, weekday: int) -> tuple[time, time]:
        """The hours on ``weekday`` (0 = Monday)."""
        for day, start, end in self.days:
            if day == weekday:
                return start, end
        return self.start, self.end

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"start": hhmm(self.start), "end": hhmm(self.end)}
        if self.days:
            data["days"] = {WEEKDAYS[day]: {"start": hhmm(s), "end": hhmm(e)} for day, s, e in self.days}
        return data


@dataclass(frozen=True, slots=True)
class NoCallDaysParams:
    weekdays: frozenset[int]

    def to_json(self) -> dict[str, object]:
        return {"weekdays": [WEEKDAYS[day] for day in sorted(self.weekdays)]}


@dataclass(frozen=True, slots=True)
class HolidaysParams:
    through: date
    """Last day the table covers; every later day is closed until it is extended."""
    dates: tuple[tuple[date, str], ...]
    """(date, holiday name), sorted."""

    def holiday(self, day: date) -> str | None:
        for holiday, name in self.dates:
            if holiday == day:
                return name
        return None

    def to_json(self) -> dict[str, object]:
        return {"through": self.through.isoformat(), "dates": {d.isoformat(): name for d, name in self.dates}}


@dataclass(frozen=True, slots=True)
class CapParams:
    max_calls: int
    per_hours: int

    def to_json(self) -> dict[str, object]:
        return {"max_calls": self.max_calls, "per_hours": self.per_hours}


@dataclass(frozen=True, slots=True)
class RegistryParams:
    registry: str
    max_age_days: int

    def to_json(self) -> dict[str, object]:
        return {"registry": self.registry, "max_age_days": self.max_age_days}


@dataclass(frozen=True, slots=True)
class WirelessParams:
    def to_json(self) -> dict[str, object]:
        return {}


@dataclass(frozen=True, slots=True)
class RevocationScopeParams:
    channel_specific: bool
    """True: a channel-specific revocation covers only its channel (counsel's narrower reading)."""

    def to_json(self) -> dict[str, object]:
        return {"channel_specific": self.channel_specific}


@dataclass(frozen=True, slots=True)
class ConsentExemptionParams:
    registry: str
    """The national registry written consent exempts a call from, e.g. ``us-dnc``."""

    def to_json(self) -> dict[str, object]:
        return {"registry": self.registry}


@dataclass(frozen=True, slots=True)
class RetentionParams:
    min_days: int

    def to_json(self) -> dict[str, object]:
        return {"min_days": self.min_days}


@dataclass(frozen=True, slots=True)
class EbrLimit:
    """How long one kind of EBR lasts: ``count`` months, calendar days or business days; a count of 0
    means that kind makes no EBR."""

    count: int
    unit: Literal["months", "days", "business_days"]


@dataclass(frozen=True, slots=True)
class EbrParams:
    """The EBR limits of one rule per kind; None where the rule does not limit that kind."""

    purchase: EbrLimit | None
    inquiry: EbrLimit | None

    def limit(self, kind: EbrKind) -> EbrLimit | None:
        return self.purchase if kind == "purchase" else self.inquiry

    def to_json(self) -> dict[str, object]:
        if self.purchase is not None and self.purchase.count == 0 and self.inquiry is not None \
                and self.inquiry.count == 0:
            return {"none": True}
        data: dict[str, object] = {}
        for kind, limit in (("purchase", self.purchase), ("inquiry", self.inquiry)):
            if limit is None:
                continue
            if limit.count == 0:
                data[f"no_{kind}"] = True
            else:
                data[f"{kind}_{'months' if limit.unit == 'months' else 'days'}"] = limit.count
                if limit.unit == "business_days":
                    data["business_days"] = True
        return data


Params = (
    HoursParams | NoCallDaysParams | HolidaysParams | CapParams | RegistryParams | WirelessParams | RetentionParams
    | EbrParams | RevocationScopeParams | ConsentExemptionParams
)


# --- Rules -------------------------------------------------------------------------------------



@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    jurisdiction: str
    kind: Kind
    params: Params
    citation: str
    effective: date
    ends: date | None = None
    """First day the rule no longer applies; None while it has no end."""
    note: str = ""
    calls: Calls = "all"
    enabled: bool = True
    _from: datetime = field(init=False, repr=False, compare=False)
    _until: datetime | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_from", datetime.combine(self.effective, time(), tzinfo=_EARLIEST_ZONE))
        until = None if self.ends is None else datetime.combine(self.ends, time(), tzinfo=_LATEST_ZONE)
        object.__setattr__(self, "_until", until)

    def in_force_on(self, day: date) -> bool:
        """Whether the rule applies on the local calendar ``day``."""
        return self.effective <= day and (self.ends is None or day < self.ends)

    def in_force_at(self, at: datetime) -> bool:
        """Whether ``at`` falls within the rule's dates in some time zone (the stricter reading)."""
        return self._from <= at and (self._until is None or at < self._until)

    def covers(self, autodialed: bool) -> bool:
        """Whether the rule applies to a call that is (or is not) autodialed/prerecorded."""
        return self.calls == "all" or autodialed

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"id": self.id, "jurisdiction": self.jurisdiction, "kind": self.kind}
        if self.calls != "all":
            data["calls"] = self.calls
        data["params"] = self.params.to_json()
        data["citation"] = self.citation
        data["effective"] = self.effective.isoformat()
        if self.ends is not None:
            data["ends"] = self.ends.isoformat()
        data["note"] = self.note
        if not self.enabled:
            data["enabled"] = False
        return data


@dataclass(frozen=True, slots=True)
class HouseHours:
    """Calling hours of our own (a campaign's), applied on top of the law like one more hours rule.
    On a tie with a legal rule the legal rule is named."""

    rule_id: str
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"house hours must end after they start ({hhmm(self.start)}-{hhmm(self.end)})")


# --- Shared by the package's modules -----------------------------------------------------------


def hhmm(value: time) -> str:
    return value.isoformat(timespec="seconds" if value.second else "minutes")


def country_of(jurisdiction: str) -> str:
    return jurisdiction.partition("-")[0]


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
