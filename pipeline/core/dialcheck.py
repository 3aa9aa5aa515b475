"""The dial-time check: may this number be called right now (or at a given instant), and why.

Dialers ask right before dialing; compliance asks "could we have called this number at 20:30 last
Tuesday?". Both get the same trace the pipeline would produce: do-not-call suppressions, consent,
the state's wireless reading, the number's frequency cap and the legal window of every
jurisdiction and time zone — evaluated at ``at`` against the number's state as it is now. Pure:
the web view reads the tables, parses the request with :func:`parse_request` and calls
:func:`dial_check`.

With ``lead_id`` the answer is also about that lead (``lead`` in the answer: status, attempts made
and left, what it waits for, its callback promise), and the lead's state can only add reasons —
never lift a number-level one: a lead unknown for the number (``LEAD_UNKNOWN``), closed
(``LEAD_CLOSED``: qualified, refused, inactive, nurture, stale...), suppressed
(``LEAD_SUPPRESSED``), waiting for a later instant — a retry, a callback, a window or a snooze
(``LEAD_WAITING``) — or out of attempts (``LEAD_ATTEMPTS_USED``) is not to be dialed. Without
``campaign_id`` the lead's own campaign is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from pipeline.core.campaigns import CampaignBook
from pipeline.core.decision import compliance_reasons
from pipeline.core.leads import LeadRecord
from pipeline.core.lifecycle import CLOSED_STATUSES, LifecyclePolicy, default_lifecycle
from pipeline.core.limits import DIAL_CHECK_AT_MAX, DIAL_CHECK_AT_MIN, IDENTIFIER_CHARS, NAME_CHARS, instant_in_range
from pipeline.core.number import NumberState, migrated, rule_checks
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.rulepack import RulePack, jurisdictions
from pipeline.core.snooze import active_snooze
from pipeline.events import CallbackPromise, ConsentChannel, PhoneInfo, Reason
from pipeline.registry.store import RegistrySet

CHANNELS: tuple[ConsentChannel, ...] = ("VOICE", "AUTODIALED_VOICE", "SMS", "ANY")
RULE_LEAD = "dial-check.lead"
MAX_LEAD_ID = IDENTIFIER_CHARS
"""Longest lead id a dialer may ask about."""


@dataclass(frozen=True, slots=True)
class DialCheckRequest:
    phone: PhoneInfo
    campaign_id: str
    channel: ConsentChannel | None
    """None: the campaign's own channel."""
    purpose: str | None
    """None: the campaign's consent purpose."""
    at: datetime | None
    """None: now."""
    lead_id: str | None = None
    """Also answer for this lead (None: the number and campaign only)."""
    campaign_given: bool = True
    """False: the query named no campaign; with ``lead_id``, the lead's own campaign is checked."""


@dataclass(frozen=True, slots=True)
class LeadAnswer:
    """What the dial-time check says about one lead of the number."""

    lead_id: str
    known: bool
    status: str | None = None
    attempts: int = 0
    attempts_left: int | None = None
    offered: bool = False
    waiting_until: datetime | None = None
    callback: CallbackPromise | None = None

    def to_json(self) -> dict[str, object]:
        promise = self.callback
        return {"lead_id": self.lead_id, "known": self.known, "status": self.status, "attempts": self.attempts,
                "attempts_left": self.attempts_left, "offered": self.offered,
                "waiting_until": self.waiting_until.isoformat() if self.waiting_until else None,
                "callback": {**promise, "requested_at": promise["requested_at"].isoformat()} if promise else None}


@dataclass(frozen=True, slots=True)
class DialCheck:
    allowed: bool
    phone_e164: str
    campaign_id: str
    channel: str
    purpose: str
    at: datetime
    reasons: tuple[Reason, ...]
    rules_fired: tuple[str, ...]
    seconds_left: int
    callable_from: datetime | None
    callable_until: datetime | None
    rule_pack_version: str
    lead: LeadAnswer | None = None
    """The lead asked about (``lead_id``), or None."""

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"lead": self.lead.to_json()} if self.lead is not None else {}
        return body | {
            "allowed": self.allowed, "phone_e164": self.phone_e164, "campaign_id": self.campaign_id,
            "channel": self.channel, "purpose": self.purpose, "at": self.at.isoformat(),
            "reasons": [dict(r) for r in self.reasons], "rules_fired": list(self.rules_fired),
            "seconds_left": self.seconds_left,
            "callable_from": self.callable_from.isoformat() if self.callable_from else None,
            "callable_until": self.callable_until.isoformat() if self.callable_until else None,
            "rule_pack_version": self.rule_pack_version,
        }


def parse_request(phone: str, query: Mapping[str, str], default_region: str) -> DialCheckRequest | dict[str, str]:
    """A request from the path's phone and the query string, or {field: problem} for a 400."""
    errors: dict[str, str] = {}
    info = normalize_phone(phone, query.get("country"), default_region)
    if isinstance(info, PhoneError):
        errors["phone"] = f"{info.code}: {info.detail}"
    channel = query.get("channel")
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = f"{channel!r} is not one of {', '.join(CHANNELS)}"
    at: datetime | None = None
    if (raw_at := query.get("at")) is not None:
        try:
            at = datetime.fromisoformat(raw_at)
        except ValueError:
            errors["at"] = f"{raw_at!r} is not an ISO-8601 instant"
        else:
            if at.tzinfo is None:
                errors["at"] = f"{raw_at!r} needs a UTC offset, e.g. 2026-11-24T20:30:00-05:00"
            elif not (instant_in_range(at) and DIAL_CHECK_AT_MIN <= at < DIAL_CHECK_AT_MAX):
                errors["at"] = (f"{raw_at[:64]!r} is outside {DIAL_CHECK_AT_MIN.year}-{DIAL_CHECK_AT_MAX.year - 1} "
                                "(UTC)")
    lead_id = query.get("lead_id")
    if lead_id is not None and not (0 < len(lead_id.strip()) <= MAX_LEAD_ID and lead_id.isprintable()):
        errors["lead_id"] = f"expected 1 to {MAX_LEAD_ID} printable characters, got {lead_id[:MAX_LEAD_ID + 1]!r}"
    for name, chars in (("campaign_id", IDENTIFIER_CHARS), ("campaign", IDENTIFIER_CHARS), ("purpose", NAME_CHARS)):
        if len(query.get(name) or "") > chars:
            errors[name] = f"{len(query.get(name) or '')} characters, at most {chars}"
    if errors or isinstance(info, PhoneError):
        return errors
    # ``campaign_id`` is the name everywhere else; ``campaign`` is kept for dialers written against 0.1.
    named = query.get("campaign_id") or query.get("campaign")
    return DialCheckRequest(info, named or "default", channel, query.get("purpose"), at,  # type: ignore[arg-type]
                            lead_id=lead_id, campaign_given=named is not None)


def dial_check(request: DialCheckRequest, state: NumberState, *, campaigns: CampaignBook, pack: RulePack,
               now: datetime, registries: RegistrySet | None = None,
               lifecycle: LifecyclePolicy | None = None) -> DialCheck:
    """Whether the number may be dialed at ``request.at`` (default ``now``), with every reason; with
    ``request.lead_id``, whether that lead may (``lifecycle`` gives its attempt limit)."""
    at = request.at or now
    registries = registries or RegistrySet()
    state = migrated(state, now)  # rows written before snoozes: read a NOT_NOW as the snooze it is
    record = state.leads.get(request.lead_id) if request.lead_id is not None else None
    if record is not None and not request.campaign_given:
        request = replace(request, campaign_id=record.campaign_id)
    policy = campaigns.policy_for(request.campaign_id)
    policy = replace(policy, channel=request.channel or policy.channel,
                     consent_purpose=request.purpose or policy.consent_purpose)
    phone = request.phone
    checks = rule_checks(state, phone, jurisdictions(phone, None, None), policy, pack, registries, at)
    blockers = list(compliance_reasons(campaign_id=request.campaign_id, suppressions=state.suppressions,
                                       consents=state.consents, policy=policy, now=at))
    if state.erasure is not None:
        blockers.insert(0, state.erasure.reason())
    snooze = active_snooze(state.leads.snoozes, request.campaign_id, at)
    if snooze is not None:
        blockers.append(snooze.reason())
    blockers.extend(checks.restrictions)
    if checks.cap is not None:
        blockers.append(checks.cap[0])
    verdict = checks.verdict
    window = verdict.window
    if not window.open_now:
        code = "NO_LEGAL_WINDOW" if window.opens_at is None else "OUTSIDE_CALL_WINDOW"
        blockers.append({"code": code, "rule_id": verdict.deciding_rule, "detail": verdict.detail})
    lead: LeadAnswer | None = None
    if request.lead_id is not None:
        lead, lead_blockers = _lead_answer(request.lead_id, record, lifecycle or default_lifecycle(), at)
        blockers.extend(lead_blockers)
    reasons: tuple[Reason, ...] = (*(tuple(blockers) or ({
        "code": "CALLABLE", "rule_id": "decision.callable", "detail": verdict.detail,
    },)), *checks.exemptions)
    return DialCheck(
        allowed=not blockers, phone_e164=phone["phone_e164"], campaign_id=request.campaign_id,
        channel=policy.channel, purpose=policy.consent_purpose, at=at, reasons=reasons,
        rules_fired=tuple(dict.fromkeys(r["rule_id"] for r in reasons)),
        seconds_left=window.seconds_left(at) if not blockers else 0,
        callable_from=window.opens_at, callable_until=window.closes_at, rule_pack_version=pack.version,
        lead=lead,
    )


def _lead_answer(lead_id: str, record: LeadRecord | None, policy: LifecyclePolicy,
                 at: datetime) -> tuple[LeadAnswer, list[Reason]]:
    """The lead's part of the answer and the reasons it adds (see the module doc)."""
    if record is None or record.captured_at is None:  # a stub is known from a call outcome only
        return LeadAnswer(lead_id, known=False), [{
            "code": "LEAD_UNKNOWN", "rule_id": RULE_LEAD,
            "detail": f"lead {lead_id} was never captured for this number: its status cannot be checked"}]
    limit = policy.attempt_limit(record.last_outcome) if record.last_outcome else policy.max_attempts_per_lead
    left = max(0, limit - record.attempts)
    waiting = record.deferred_until if not record.offered and record.deferred_until is not None \
        and record.deferred_until > at else None
    answer = LeadAnswer(lead_id, True, record.status, record.attempts, left, record.offered, waiting,
                        record.callback)
    blockers: list[Reason] = []
    if record.status in CLOSED_STATUSES:
        blockers.append({"code": "LEAD_CLOSED", "rule_id": RULE_LEAD,
                         "detail": f"lead {lead_id} is closed ({record.status}) after {record.attempts} attempts"})
    elif record.status == "SUPPRESSED":
        blockers.append({"code": "LEAD_SUPPRESSED", "rule_id": RULE_LEAD,
                         "detail": f"lead {lead_id} was found not callable (SUPPRESSED) by its last decision"})
    elif waiting is not None:
        what = "its callback" if record.callback is not None else "a retry, its window or a snooze"
        blockers.append({"code": "LEAD_WAITING", "rule_id": RULE_LEAD,
                         "detail": f"lead {lead_id} ({record.status}) waits for {what} until {waiting.isoformat()}"})
    if left == 0 and record.status not in CLOSED_STATUSES:
        blockers.append({"code": "LEAD_ATTEMPTS_USED", "rule_id": RULE_LEAD,
                         "detail": f"lead {lead_id} has used its {limit} attempts"})
    return answer, blockers
