"""The lead state machine: what a call outcome does to a lead, as a pure function.

``transition(lead, outcome, policy, now, time_zone, qualification)`` → ``Transition``: the lead's
new status, its attempt count, the local days with a failed attempt, and what happens next — a
retry or a callback at an instant (the release scheduler re-decides the lead then, through every
compliance check), or the lead is closed — with one reason (code, rule id, sentence).

Statuses: NEW (not called yet) → IN_PROGRESS (offered, or waiting for a retry) → CALLBACK (the
person asked to be called at a time, said not now, or is interested but not ready) → closed:
QUALIFIED (decision made: qualified, appointment, sale), REFUSED (not interested, do not call),
DISQUALIFIED (no fit), INACTIVE (wrong number, disconnected, three failed days, attempts used up),
NURTURE (engaged — callbacks asked for again and again — but never ready: for the CRM's nurture
track, not a dead number), STALE (offered again and again and never worked: see
:func:`expire_offer`). SUPPRESSED and REJECTED are set by compliance decisions, not by calls.

=====================  =================================================================================
outcome                what happens (rule id)
=====================  =================================================================================
NO_ANSWER, BUSY,       failed attempt: retry after ``retry_after`` (``lifecycle.retry.<code>``); INACTIVE
VOICEMAIL, GATEKEEPER  on the ``failed_days_to_inactive``-th local day with one (``lifecycle.inactive.failed_days``)
INTERESTED             with answers: the qualification framework (as QUALIFIED); without: retry
CALLBACK_REQUESTED     CALLBACK at ``callback_at``, or ``callback_default`` from now (``lifecycle.callback.requested``);
                       the ``nurture_after_callbacks``-th one closes the lead NURTURE (``lifecycle.nurture.callbacks``)
NOT_NOW                CALLBACK at ``callback_at`` or after ``not_now_default`` (``lifecycle.callback.not_now``);
                       the lead's campaign is snoozed for the number until then (``pipeline.core.snooze``)
QUALIFIED,             the framework's verdict: QUALIFIED → closed QUALIFIED (``lifecycle.qualified``);
APPOINTMENT_SET        NOT_READY → CALLBACK (``lifecycle.callback.not_ready``); NO_FIT → DISQUALIFIED
                       (``lifecycle.disqualified.no_fit``)
SALE                   closed QUALIFIED: a sale is a fact, not a claim (``lifecycle.qualified``)
NOT_INTERESTED         closed REFUSED, the tags say why (``lifecycle.refused.not_interested``)
DO_NOT_CALL            closed REFUSED; the number is suppressed in the scope asked (``DNC_CALL_OUTCOME``,
                       ``dnc.company``: the name every later decision and dial-check gives the suppression)
WRONG_NUMBER           closed INACTIVE: wrong party (``lifecycle.inactive.wrong_number``)
DISCONNECTED           closed INACTIVE; the number is marked non-working (``NUMBER_NON_WORKING``,
                       ``lifecycle.non_working``, as later decisions name the mark)
=====================  =================================================================================

Every attempt counts. A retry or callback that would exceed the attempt limit (the smaller of
the lead-wide ``max_attempts_per_lead`` and the outcome's ``max_attempts``) closes the lead
INACTIVE instead (``lifecycle.inactive.max_attempts``) — or NURTURE when it was a callback the
person asked for (``lifecycle.nurture.max_attempts``): someone who keeps asking to be called back
is engaged, not unreachable. ``nurture_after_callbacks: 0`` turns both NURTURE closings off. An
outcome for a closed lead is counted and changes nothing else (``LEAD_CLOSED``). "Failed" means a
NO_CONTACT outcome (``pipeline.core.outcomes``); days are the callee's local dates (the number's
first time zone); a contact starts the count over.

An offer nobody worked is not an attempt: when its window closed and no outcome came within
``offer_grace``, :func:`expire_offer` has it re-offered at the next window (``OFFER_EXPIRED``),
at most ``max_expired_offers`` times in a row, then closes it STALE (``lifecycle.stale.unworked``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.leads import LeadRecord, LeadStatus
from pipeline.core.outcomes import QUALIFYING, contact_kind
from pipeline.core.qualification import Qualification
from pipeline.core.reasons import ReasonCode, reason
from pipeline.errors import ConfigError
from pipeline.events import CallOutcome, CallOutcomeCode, Reason

CLOSED_STATUSES: frozenset[LeadStatus] = frozenset({
    "QUALIFIED", "REFUSED", "DISQUALIFIED", "INACTIVE", "REJECTED", "NURTURE", "STALE",
})
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
    offer_grace: timedelta = timedelta(minutes=30)
    """How long after an offer's window closes its call outcome may still arrive before the offer
    counts as expired unworked (a call at 19:59 is reported after 20:00)."""
    max_expired_offers: int = 2
    """Re-offers of a lead whose offers keep expiring unworked, in a row; the next expiry closes it STALE."""
    nurture_after_callbacks: int = 4
    """The n-th CALLBACK_REQUESTED closes the lead NURTURE; 0: never (callbacks close INACTIVE on attempts)."""
    callback_priority_boost: int = 1000
    """Added to a callback re-offer's priority, so the callback is dialed before new leads at its time:
    keep it above any score a lead can reach."""

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
    callbacks: int = 0
    """CALLBACK_REQUESTED outcomes of the lead, this one included."""

_Again = Callable[[Next, datetime, ReasonCode, str, str], Transition]
"""``again`` inside ``transition``: schedule the next call, or close the lead when attempts are used up."""


def transition(lead: LeadRecord, outcome: CallOutcome, policy: LifecyclePolicy, now: datetime, time_zone: str,
               qualification: Qualification | None = None) -> Transition:
    """The lead after ``outcome``; ``qualification`` is the framework's verdict on the outcome's
    answers when it applies (``pipeline.core.qualification.applies``)."""
    code = outcome["outcome"]
    attempts = lead.attempts + 1
    callbacks = lead.callbacks + (code == "CALLBACK_REQUESTED")
    if lead.status in CLOSED_STATUSES:
        return Transition(lead.status, attempts, lead.failed_days, "UNCHANGED", None, _reason(
            "LEAD_CLOSED", "lifecycle.closed",
            f"{code} recorded as attempt {attempts}; lead {lead.lead_id} is closed ({lead.status}) and stays so"),
            lead.callbacks)
    kind = contact_kind(code)
    failed_days = lead.failed_days
    if kind == "NO_CONTACT":
        day = _local_day(outcome["occurred_at"], time_zone)
        failed_days = tuple(sorted({*failed_days, day}))[-MAX_FAILED_DAYS_KEPT:]
    elif kind == "CONTACT":
        failed_days = ()  # the person was reached: the number works, the count of failed days starts over

    def closed(status: LeadStatus, code_: ReasonCode, rule_id: str, detail: str) -> Transition:
        return Transition(status, attempts, failed_days, "CLOSED", None, _reason(code_, rule_id, detail), callbacks)

    def again(next_: Next, at: datetime, code_: ReasonCode, rule_id: str, detail: str) -> Transition:
        limit = policy.attempt_limit(code)
        if attempts >= limit and code == "CALLBACK_REQUESTED" and policy.nurture_after_callbacks:
            return closed("NURTURE", "NURTURE", "lifecycle.nurture.max_attempts",
                          f"callback asked for on attempt {attempts}, the last of {limit}: engaged but not ready; "
                          "closed for nurturing, not as unreachable")
        if attempts >= limit:
            return closed("INACTIVE", "MAX_ATTEMPTS", "lifecycle.inactive.max_attempts",
                          f"{code} on attempt {attempts}; at most {limit} attempts for this lead after {code}")
        status: LeadStatus = "CALLBACK" if next_ == "CALLBACK" else "IN_PROGRESS"
        due = max(at, now)
        return Transition(status, attempts, failed_days, next_, due,
                          _reason(code_, rule_id, f"{detail}; due {due.isoformat()} (attempt {attempts} of {limit})"),
                          callbacks)

    # One fact, one name: these two say what later decisions and dial-checks say of the same call.
    if kind == "NON_WORKING":
        return closed("INACTIVE", "NUMBER_NON_WORKING", "lifecycle.non_working",
                      f"{code}: the number does not work; lead closed and the number marked non-working")
    if kind == "WRONG_PARTY":
        return closed("INACTIVE", "WRONG_NUMBER", "lifecycle.inactive.wrong_number",
                      f"{code}: the number is not the lead's; lead closed")
    if code == "DO_NOT_CALL":
        scope = outcome["dnc_scope"] or "ALL_CHANNELS"
        return closed("REFUSED", "DNC_CALL_OUTCOME", "dnc.company",
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
    if code == "CALLBACK_REQUESTED" and 0 < policy.nurture_after_callbacks <= callbacks:
        return closed("NURTURE", "NURTURE", "lifecycle.nurture.callbacks",
                      f"callback asked for {callbacks} times (nurture after {policy.nurture_after_callbacks}): "
                      "engaged but not ready; closed for nurturing, not as unreachable")
    if code == "CALLBACK_REQUESTED":
        at = outcome["callback_at"] or now + policy.callback_default
        given = "requested" if outcome["callback_at"] is not None else "requested without a time, default"
        return again("CALLBACK", at, "CALLBACK_SCHEDULED", "lifecycle.callback.requested",
                     f"callback {given} for {at.isoformat()}")
    if code == "NOT_NOW":
        at = outcome["callback_at"] or outcome["occurred_at"] + policy.not_now_default
        return again("CALLBACK", at, "NOT_NOW", "lifecycle.callback.not_now",
                     f"not now: calls about campaign {lead.campaign_id} to this number are snoozed until "
                     f"{at.isoformat()} and the lead is called back then")
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


@dataclass(frozen=True, slots=True)
class OfferExpiry:
    """What :func:`expire_offer` decided for an offer whose window closed unworked."""

    stale: bool
    """True: close the lead STALE; False: re-offer it at the next window."""
    expired_offers: int
    """Offers of the lead in a row that expired unworked, this one included."""
    reason: Reason


def expire_offer(lead: LeadRecord, policy: LifecyclePolicy, window_closed_at: datetime | None) -> OfferExpiry:
    """The lead's offer expired: its window closed (``window_closed_at``) and no call outcome came
    within ``offer_grace``. No attempt is counted (nobody called). Re-offered at the next window,
    up to ``max_expired_offers`` times in a row; the expiry after that closes it STALE."""
    expired = lead.expired_offers + 1
    closed_at = window_closed_at.isoformat() if window_closed_at is not None else "its window's end"
    grace = _minutes(policy.offer_grace)
    if expired > policy.max_expired_offers:
        return OfferExpiry(True, expired, _reason(
            "OFFER_STALE", "lifecycle.stale.unworked",
            f"offered {expired} times in a row and never worked (the last window closed {closed_at}, no call "
            f"outcome within {grace} min); at most {policy.max_expired_offers} re-offers: closed STALE, "
            f"{lead.attempts} attempts counted"))
    return OfferExpiry(False, expired, _reason(
        "OFFER_EXPIRED", "lifecycle.offer.expired",
        f"the offer's window closed {closed_at} and no call outcome came within {grace} min: re-offered at the "
        f"next window, no attempt counted (re-offer {expired} of {policy.max_expired_offers})"))


def _retry(code: CallOutcomeCode, outcome: CallOutcome, policy: LifecyclePolicy, again: _Again) -> Transition:
    delay = policy.rule(code).retry_after or policy.callback_default
    slug = code.lower()
    return again("RETRY", outcome["occurred_at"] + delay, "RETRY_SCHEDULED", f"lifecycle.retry.{slug}",
                 f"{code}: retry after {_minutes(delay)} minutes")


def _reason(code: ReasonCode, rule_id: str, detail: str) -> Reason:
    return reason(code, rule_id, detail)


def _minutes(delay: timedelta) -> int:
    return int(delay.total_seconds() // 60)


def _local_day(at: datetime, time_zone: str) -> str:
    """The callee's local date of ``at``; UTC when the zone is unknown (phonenumbers gave none)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return at.date().isoformat()
    try:
        return at.astimezone(zone).date().isoformat()
    except OverflowError:  # the first or last hours of year 1 or 9999: no local date exists, UTC's does
        return at.date().isoformat()


# --- configuration -------------------------------------------------------------------------------

_GLOBAL_KEYS = {
    "max_attempts_per_lead", "failed_days_to_inactive", "not_now_default_days", "callback_default_minutes",
    "non_working_recheck_days", "offer_grace_minutes", "max_expired_offers", "nurture_after_callbacks",
    "callback_priority_boost", "outcomes",
}
_CODES: tuple[CallOutcomeCode, ...] = get_args(CallOutcomeCode)


def _positive_int(where: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"lifecycle: {where} must be a whole number ≥ {minimum}, got {value!r}")
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
    if "offer_grace_minutes" in data:
        kw["offer_grace"] = timedelta(minutes=_positive_int("offer_grace_minutes", data["offer_grace_minutes"], 0))
    for key in ("max_expired_offers", "nurture_after_callbacks", "callback_priority_boost"):
        if key in data:
            kw[key] = _positive_int(key, data[key], 0)
    return LifecyclePolicy(outcomes=outcomes, **kw)  # type: ignore[arg-type]  # keys checked above
