"""The lead state machine: what a call outcome does to a lead, as a pure function.

``transition(lead, outcome, policy, now, time_zone, qualification)`` → ``Transition``: the lead's
new status, its attempt count, the local days with a failed attempt, and what happens next — a
retry or a callback at an instant (the release scheduler re-decides the lead then, through every
compliance check), or the lead is closed — with one reason (code, rule id, sentence).

Statuses: NEW (not called yet) → IN_PROGRESS (offered, or waiting for a retry) → CALLBACK (the
person asked to be called at a time, or is interested but not ready) → closed: QUALIFIED (decision
made: qualified, appointment, sale), REFUSED (not interested, do not call), DISQUALIFIED (no fit),
INACTIVE (wrong number, disconnected, three failed days, attempts used up). SUPPRESSED and REJECTED
are set by compliance decisions, not by calls.

=====================  =================================================================================
outcome                what happens (rule id)
=====================  =================================================================================
NO_ANSWER, BUSY,       failed attempt: retry after ``retry_after`` (``lifecycle.retry.<code>``); INACTIVE
VOICEMAIL, GATEKEEPER  on the ``failed_days_to_inactive``-th local day with one (``lifecycle.inactive.failed_days``)
INTERESTED             with answers: the qualification framework (as QUALIFIED); without: retry
CALLBACK_REQUESTED     CALLBACK at ``callback_at``, or ``callback_default`` from now (``lifecycle.callback.requested``)
NOT_NOW                CALLBACK at ``callback_at`` or after ``not_now_default`` (``lifecycle.callback.not_now``);
                       the number is suppressed until then (``suppression_from_outcome``)
QUALIFIED,             the framework's verdict: QUALIFIED → closed QUALIFIED (``lifecycle.qualified``);
APPOINTMENT_SET        NOT_READY → CALLBACK (``lifecycle.callback.not_ready``); NO_FIT → DISQUALIFIED
                       (``lifecycle.disqualified.no_fit``)
SALE                   closed QUALIFIED: a sale is a fact, not a claim (``lifecycle.qualified``)
NOT_INTERESTED         closed REFUSED, the tags say why (``lifecycle.refused.not_interested``)
DO_NOT_CALL            closed REFUSED; the number is suppressed in the scope asked (``lifecycle.refused.do_not_call``)
WRONG_NUMBER           closed INACTIVE: wrong party (``lifecycle.inactive.wrong_number``)
DISCONNECTED           closed INACTIVE; the number is marked non-working (``lifecycle.inactive.disconnected``)
=====================  =================================================================================

Every attempt counts. A retry or callback that would exceed the attempt limit (the smaller of
the lead-wide ``max_attempts_per_lead`` and the outcome's ``max_attempts``) closes the lead
INACTIVE instead (``lifecycle.inactive.max_attempts``). An outcome for a closed lead is counted
and changes nothing else. "Failed" means a NO_CONTACT outcome (``pipeline.core.outcomes``); days
are the callee's local dates (the number's first time zone); a contact starts the count over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.leads import LeadRecord, LeadStatus
from pipeline.core.outcomes import QUALIFYING, contact_kind
from pipeline.core.qualification import Qualification
from pipeline.errors import ConfigError
from pipeline.events import CallOutcome, CallOutcomeCode, Reason

CLOSED_STATUSES: frozenset[LeadStatus] = frozenset({"QUALIFIED", "REFUSED", "DISQUALIFIED", "INACTIVE", "REJECTED"})
"""A lead in one of these is done: no retry or callback is scheduled for it again."""

RETRYABLE: frozenset[CallOutcomeCode] = frozenset({"NO_ANSWER", "BUSY", "VOICEMAIL", "GATEKEEPER", "INTERESTED"})
"""Outcomes whose next step is a retry after a configured delay."""
SCHEDULED: frozenset[CallOutcomeCode] = RETRYABLE | {"CALLBACK_REQUESTED", "NOT_NOW", "QUALIFIED", "APPOINTMENT_SET"}
"""Outcomes that may schedule another call (a retry or a callback): they may carry ``max_attempts``."""

Next = Literal["RETRY", "CALLBACK", "CLOSED", "UNCHANGED"]

MAX_FAILED_DAYS_KEPT = 16


@dataclass(frozen=True, slots=True)
class OutcomeRule:
    """Per-outcome configuration: how long until the retry, how many attempts at most."""

    retry_after: timedelta | None = None
    max_attempts: int | None = None


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """Retry delays, attempt limits and durations (``pipeline/data/lifecycle.json``)."""

    outcomes: Mapping[CallOutcomeCode, OutcomeRule]
    max_attempts_per_lead: int = 8
    failed_days_to_inactive: int = 3
    not_now_default: timedelta = timedelta(days=180)
    callback_default: timedelta = timedelta(days=1)
    """A callback requested without a time, or an interested-but-not-ready lead, is called back after this."""
    non_working_recheck: timedelta = timedelta(days=90)
    """A number marked non-working (DISCONNECTED) gets no offers for this long, unless a call shows it works."""

    def rule(self, code: CallOutcomeCode) -> OutcomeRule:
        return self.outcomes.get(code, OutcomeRule())

    def attempt_limit(self, code: CallOutcomeCode) -> int:
        own = self.rule(code).max_attempts
        return self.max_attempts_per_lead if own is None else min(own, self.max_attempts_per_lead)


@dataclass(frozen=True, slots=True)
class Transition:
    """What an outcome does to a lead (see the module table)."""

    status: LeadStatus
    attempts: int
    failed_days: tuple[str, ...]
    """ISO local dates (callee's time zone) with a failed attempt since the last contact."""
    next: Next
    next_at: datetime | None
    """When the lead is due again (RETRY, CALLBACK); None otherwise."""
    reason: Reason

_Again = Callable[[Next, datetime, str, str, str], Transition]
"""``again`` inside ``transition``: schedule the next call, or close the lead when attempts are used up."""


def transition(lead: LeadRecord, outcome: CallOutcome, policy: LifecyclePolicy, now: datetime, time_zone: str,
               qualification: Qualification | None = None) -> Transition:
    """The lead after ``outcome``; ``qualification`` is the framework's verdict on the outcome's
    answers when it applies (``pipeline.core.qualification.applies``)."""
    code = outcome["outcome"]
    attempts = lead.attempts + 1
    if lead.status in CLOSED_STATUSES:
        return Transition(lead.status, attempts, lead.failed_days, "UNCHANGED", None, _reason(
            "LEAD_CLOSED", "lifecycle.closed",
            f"{code} recorded as attempt {attempts}; lead {lead.lead_id} stays {lead.status}"))
    kind = contact_kind(code)
    failed_days = lead.failed_days
    if kind == "NO_CONTACT":
        day = _local_day(outcome["occurred_at"], time_zone)
        failed_days = tuple(sorted({*failed_days, day}))[-MAX_FAILED_DAYS_KEPT:]
    elif kind == "CONTACT":
        failed_days = ()  # the person was reached: the number works, the count of failed days starts over

    def closed(status: LeadStatus, code_: str, rule_id: str, detail: str) -> Transition:
        return Transition(status, attempts, failed_days, "CLOSED", None, _reason(code_, rule_id, detail))

    def again(next_: Next, at: datetime, code_: str, rule_id: str, detail: str) -> Transition:
        limit = policy.attempt_limit(code)
        if attempts >= limit:
            return closed("INACTIVE", "MAX_ATTEMPTS", "lifecycle.inactive.max_attempts",
                          f"{code} on attempt {attempts}; at most {limit} attempts for this lead after {code}")
        status: LeadStatus = "CALLBACK" if next_ == "CALLBACK" else "IN_PROGRESS"
        due = max(at, now)
        return Transition(status, attempts, failed_days, next_, due,
                          _reason(code_, rule_id, f"{detail}; due {due.isoformat()} (attempt {attempts} of {limit})"))

    if kind == "NON_WORKING":
        return closed("INACTIVE", "NUMBER_DISCONNECTED", "lifecycle.inactive.disconnected",
                      f"{code}: the number does not work; lead closed and the number marked non-working")
    if kind == "WRONG_PARTY":
        return closed("INACTIVE", "WRONG_NUMBER", "lifecycle.inactive.wrong_number",
                      f"{code}: the number is not the lead's; lead closed")
    if code == "DO_NOT_CALL":
        scope = outcome["dnc_scope"] or "ALL_CHANNELS"
        return closed("REFUSED", "DNC_REQUESTED", "lifecycle.refused.do_not_call",
                      f"the person asked not to be called ({scope}); lead closed and the number suppressed")
    if code == "NOT_INTERESTED":
        tags = ", ".join(outcome["tags"]) or "no reason given"
        return closed("REFUSED", "NOT_INTERESTED", "lifecycle.refused.not_interested",
                      f"not interested ({tags}); lead closed")
    if kind == "NO_CONTACT":
        if len(failed_days) >= policy.failed_days_to_inactive:
            return closed("INACTIVE", "FAILED_DAYS", "lifecycle.inactive.failed_days",
                          f"{code}: failed attempts on {len(failed_days)} different local days "
                          f"({', '.join(failed_days)}); limit {policy.failed_days_to_inactive}")
        return _retry(code, outcome, policy, again)
    if code == "CALLBACK_REQUESTED":
        at = outcome["callback_at"] or now + policy.callback_default
        given = "requested" if outcome["callback_at"] is not None else "requested without a time, default"
        return again("CALLBACK", at, "CALLBACK_SCHEDULED", "lifecycle.callback.requested",
                     f"callback {given} for {at.isoformat()}")
    if code == "NOT_NOW":
        at = outcome["callback_at"] or outcome["occurred_at"] + policy.not_now_default
        return again("CALLBACK", at, "NOT_NOW", "lifecycle.callback.not_now",
                     f"not now: the number is suppressed until {at.isoformat()} and the lead called back then")
    if code == "SALE":
        return closed("QUALIFIED", "QUALIFIED", "lifecycle.qualified", "sale: decision made")
    if qualification is None:
        if code in QUALIFYING:  # the caller always evaluates these; without a verdict the claim stands
            return closed("QUALIFIED", "QUALIFIED", "lifecycle.qualified", f"{code}: qualified on the call")
        return _retry(code, outcome, policy, again)
    if qualification.verdict == "QUALIFIED":
        return closed("QUALIFIED", "QUALIFIED", "lifecycle.qualified", f"{code}: {qualification.detail}")
    if qualification.verdict == "NO_FIT":
        return closed("DISQUALIFIED", "NO_FIT", "lifecycle.disqualified.no_fit", f"{code}: {qualification.detail}")
    at = outcome["callback_at"] or now + policy.callback_default
    return again("CALLBACK", at, "NOT_READY", "lifecycle.callback.not_ready",
                 f"{code}, interested but not ready: {qualification.detail}")


def _retry(code: CallOutcomeCode, outcome: CallOutcome, policy: LifecyclePolicy, again: _Again) -> Transition:
    delay = policy.rule(code).retry_after or policy.callback_default
    slug = code.lower()
    return again("RETRY", outcome["occurred_at"] + delay, "RETRY_SCHEDULED", f"lifecycle.retry.{slug}",
                 f"{code}: retry after {_minutes(delay)} minutes")


def _reason(code: str, rule_id: str, detail: str) -> Reason:
    return {"code": code, "rule_id": rule_id, "detail": detail}


def _minutes(delay: timedelta) -> int:
    return int(delay.total_seconds() // 60)


def _local_day(at: datetime, time_zone: str) -> str:
    """The callee's local date of ``at``; UTC when the zone is unknown (phonenumbers gave none)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return at.date().isoformat()
    return at.astimezone(zone).date().isoformat()


# --- configuration -------------------------------------------------------------------------------

_GLOBAL_KEYS = {
    "max_attempts_per_lead", "failed_days_to_inactive", "not_now_default_days", "callback_default_minutes",
    "non_working_recheck_days", "outcomes",
}
_CODES: tuple[CallOutcomeCode, ...] = get_args(CallOutcomeCode)


def _positive_int(where: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"lifecycle: {where} must be a whole number ≥ 1, got {value!r}")
    return value


def load_lifecycle(data: object) -> LifecyclePolicy:
    """Validate parsed JSON into a ``LifecyclePolicy``; ``ConfigError`` names the key."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"lifecycle: expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - _GLOBAL_KEYS
    if unknown:
        raise ConfigError(f"lifecycle: unknown keys {sorted(unknown)}; known: {sorted(_GLOBAL_KEYS)}")
    raw_outcomes = data.get("outcomes", {})
    if not isinstance(raw_outcomes, Mapping):
        raise ConfigError(f"lifecycle: outcomes must map outcome codes to settings, got {raw_outcomes!r}")
    outcomes: dict[CallOutcomeCode, OutcomeRule] = {}
    for code, raw in raw_outcomes.items():
        if code not in _CODES:
            raise ConfigError(f"lifecycle: outcomes.{code}: unknown outcome code; known: {', '.join(_CODES)}")
        if not isinstance(raw, Mapping) or set(raw) - {"retry_after", "max_attempts"}:
            raise ConfigError(f"lifecycle: outcomes.{code}: expected an object with retry_after (minutes) "
                              f"and/or max_attempts, got {raw!r}")
        known: CallOutcomeCode = code
        if "retry_after" in raw and known not in RETRYABLE:
            raise ConfigError(f"lifecycle: outcomes.{code}.retry_after: {code} is never retried "
                              f"(retryable: {', '.join(sorted(RETRYABLE))})")
        if "max_attempts" in raw and known not in SCHEDULED:
            raise ConfigError(f"lifecycle: outcomes.{code}.max_attempts: {code} never schedules another call")
        retry = raw.get("retry_after")
        outcomes[known] = OutcomeRule(
            retry_after=timedelta(minutes=_positive_int(f"outcomes.{code}.retry_after", retry))
            if retry is not None else None,
            max_attempts=_positive_int(f"outcomes.{code}.max_attempts", raw["max_attempts"])
            if raw.get("max_attempts") is not None else None,
        )
    kw: dict[str, object] = {}
    for key in ("max_attempts_per_lead", "failed_days_to_inactive"):
        if key in data:
            kw[key] = _positive_int(key, data[key])
    if "not_now_default_days" in data:
        kw["not_now_default"] = timedelta(days=_positive_int("not_now_default_days", data["not_now_default_days"]))
    if "callback_default_minutes" in data:
        kw["callback_default"] = timedelta(
            minutes=_positive_int("callback_default_minutes", data["callback_default_minutes"]))
    if "non_working_recheck_days" in data:
        kw["non_working_recheck"] = timedelta(
            days=_positive_int("non_working_recheck_days", data["non_working_recheck_days"]))
    return LifecyclePolicy(outcomes=outcomes, **kw)  # type: ignore[arg-type]  # keys checked above


def default_lifecycle() -> LifecyclePolicy:
    """The policy shipped in ``pipeline/data/lifecycle.json``."""
    raw = files("pipeline").joinpath("data").joinpath("lifecycle.json").read_text(encoding="utf-8")
    return load_lifecycle(json.loads(raw))
