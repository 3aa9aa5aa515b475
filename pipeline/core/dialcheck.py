"""The dial-time check: may this number be called (or texted) now, or at a given instant, and why.

Dialers ask right before dialing; compliance asks "could we have called this number at 20:30 last
Tuesday?". Both get the answer a decision would give: :func:`dial_check` calls the same
``pipeline.core.evaluation.evaluate`` as ``pipeline.core.number`` — same jurisdictions (the
number, its area code, every address on record for the number in the campaign), same checks,
same reason codes and rule ids, same words (texts for an SMS campaign).

**Which state.** ``at`` absent or not before ``now``: today's state (for a planned call in the
future, today's state is all there is; the answer says so). ``at`` in the past: the number's state
as it was then (``NumberState.as_of``): suppressions in force then, consent entries in effect by
then (a later revocation does not reach back, a later grant does not count), the call attempts
made by then for the caps; an erasure counts from its instant. National registries and the rule
pack are today's (the pack's rules carry their own effective dates). ``state_as_of`` and
``state_note`` in the answer say which state was used.

**Bounded history.** Each state part keeps a bounded history (suppressions: ``MAX_ENDED`` ended
ones; consents: ``MAX_ENTRIES``; call attempts: ``ATTEMPT_HISTORY``; snoozes: ``MAX_SNOOZES``). When ``at`` reaches back
before what a part still knows — or before an erasure, which deletes the state by design — the
answer is blocked with ``STATE_HISTORY_INCOMPLETE`` naming what is missing: it cannot show the call
was allowed.

**One lead.** With ``lead_id`` the answer is also about that lead (``lead`` in the answer: status,
attempts made and left, what it waits for, its callback promise), and the lead's state can only
add reasons — never lift a number-level one: a lead unknown for the number (``LEAD_UNKNOWN``),
closed (``LEAD_CLOSED``: qualified, refused, inactive, nurture, stale...), suppressed
(``LEAD_SUPPRESSED``), waiting for a later instant — a retry, a callback, a window or a snooze
(``LEAD_WAITING``) — or out of attempts (``LEAD_ATTEMPTS_USED``) is not to be dialed. Without
``campaign_id`` the lead's own campaign is checked. The lead is read as it is now.

Pure: the web view reads the tables, parses the request with :func:`parse_request`, calls
:func:`dial_check` and sends :func:`audit_record` of the answer to the ``dial-check`` topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from pipeline.core.campaigns import CampaignBook
from pipeline.core.evaluation import evaluate
from pipeline.core.leads import LeadRecord
from pipeline.core.lifecycle import CLOSED_STATUSES, LifecyclePolicy
from pipeline.core.limits import DIAL_CHECK_AT_MAX, DIAL_CHECK_AT_MIN, IDENTIFIER_CHARS, NAME_CHARS, instant_in_range
from pipeline.core.number.process import migrated
from pipeline.core.number_state import NumberState
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.reasons import reason
from pipeline.core.registries import NO_REGISTRIES, Registries
from pipeline.core.rulepack import RulePack, frequency_caps
from pipeline.events import CallbackPromise, ConsentChannel, DialCheckAudit, PhoneInfo, Reason

CHANNELS: tuple[ConsentChannel, ...] = ("VOICE", "AUTODIALED_VOICE", "SMS", "ANY")
RULE_HISTORY = "dial-check.history"
RULE_LEAD = "dial-check.lead"
MAX_CALL_ID = IDENTIFIER_CHARS
"""Longest call id a dialer may pass (it is kept on the audit record)."""
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
    call_id: str | None = None
    """The caller's id of the call it is about to make; kept on the audit record."""
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
    channel: ConsentChannel
    purpose: str
    at: datetime
    reasons: tuple[Reason, ...]
    rules_fired: tuple[str, ...]
    seconds_left: int
    callable_from: datetime | None
    callable_until: datetime | None
    rule_pack_version: str
    answered_at: datetime
    """The worker's clock when it answered."""
    state_as_of: datetime
    """The instant whose state of the number the answer used: ``at`` in the past, else ``answered_at``."""
    state_note: str
    """Which state, in words (today's; as it was then; a planned call)."""
    call_id: str | None = None
    lead: LeadAnswer | None = None
    """The lead asked about (``lead_id``), or None."""

    def to_json(self, *, request_id: str | None = None, worker_id: str | None = None) -> dict[str, object]:
        body: dict[str, object] = {"request_id": request_id} if request_id is not None else {}
        if self.lead is not None:
            body["lead"] = self.lead.to_json()
        body.update({
            "allowed": self.allowed, "phone_e164": self.phone_e164, "campaign_id": self.campaign_id,
            "channel": self.channel, "purpose": self.purpose, "at": self.at.isoformat(),
            "reasons": [dict(r) for r in self.reasons], "rules_fired": list(self.rules_fired),
            "seconds_left": self.seconds_left,
            "callable_from": self.callable_from.isoformat() if self.callable_from else None,
            "callable_until": self.callable_until.isoformat() if self.callable_until else None,
            "rule_pack_version": self.rule_pack_version,
            "state_as_of": self.state_as_of.isoformat(), "state_note": self.state_note,
            "call_id": self.call_id, "answered_at": self.answered_at.isoformat(),
        })
        if worker_id is not None:
            body["worker_id"] = worker_id
        return body


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
    for name, longest in (("call_id", MAX_CALL_ID), ("lead_id", MAX_LEAD_ID)):
        given = query.get(name)
        if given is not None and not (0 < len(given.strip()) <= longest and given.isprintable()):
            errors[name] = f"expected 1 to {longest} printable characters, got {given[:longest + 1]!r}"
    for name, chars in (("campaign_id", IDENTIFIER_CHARS), ("campaign", IDENTIFIER_CHARS), ("purpose", NAME_CHARS)):
        if len(query.get(name) or "") > chars:
            errors[name] = f"{len(query.get(name) or '')} characters, at most {chars}"
    if errors or isinstance(info, PhoneError):
        return errors
    # ``campaign_id`` is the name everywhere else; ``campaign`` is kept for dialers written against 0.1.
    named = query.get("campaign_id") or query.get("campaign")
    return DialCheckRequest(info, named or "default", channel, query.get("purpose"), at,  # type: ignore[arg-type]
                            call_id=query.get("call_id"), lead_id=query.get("lead_id"),
                            campaign_given=named is not None)


def dial_check(request: DialCheckRequest, state: NumberState, *, campaigns: CampaignBook, pack: RulePack,
               now: datetime, lifecycle: LifecyclePolicy, registries: Registries | None = None) -> DialCheck:
    """Whether the number may be dialed at ``request.at`` (default ``now``), with every reason, from
    the number's state at that instant; with ``request.lead_id``, whether that lead may
    (``lifecycle`` gives its attempt limit). See the module doc."""
    at = request.at or now
    registries = registries if registries is not None else NO_REGISTRIES
    state = migrated(state, now)  # rows written before snoozes: read a NOT_NOW as the snooze it is
    record = state.leads.get(request.lead_id) if request.lead_id is not None else None
    if record is not None and not request.campaign_given:
        request = replace(request, campaign_id=record.campaign_id)
    policy = campaigns.policy_for(request.campaign_id)
    policy = replace(policy, channel=request.channel or policy.channel,
                     consent_purpose=request.purpose or policy.consent_purpose)
    past = at < now
    erasure = state.erasure
    if past and erasure is not None and state.erased_before(at):
        gap = reason("STATE_HISTORY_INCOMPLETE", RULE_HISTORY, (
            f"the number's personal data was erased at {erasure.erased_at.isoformat()} on request "
            f"{erasure.request_event_id}; its state before then is not kept, so a call at {at.isoformat()} "
            f"cannot be shown to have been allowed"))
        return _answer(request, policy.channel, policy.consent_purpose, at, now, pack, (gap,), None, None, False,
                       None)
    found = evaluate(state.as_of(at) if past else state, request.phone, policy, pack=pack, registries=registries,
                     at=at)
    decision = found.decision()
    reasons = decision.reasons
    allowed = decision.outcome == "CALL_READY"
    if past and (missing := _history_gap(state, found.place.jurisdictions, policy.channel, pack, at)):
        gap = reason("STATE_HISTORY_INCOMPLETE", RULE_HISTORY,
                     f"history kept for this number does not reach {at.isoformat()}: {'; '.join(missing)}")
        reasons = (gap, *(r for r in reasons if r["code"] != "CALLABLE"))
        allowed = False
    lead: LeadAnswer | None = None
    if request.lead_id is not None:
        lead, lead_blockers = _lead_answer(request.lead_id, record, lifecycle, at)
        if lead_blockers:  # the lead's state only adds reasons, never lifts one
            reasons = (*lead_blockers, *(r for r in reasons if r["code"] != "CALLABLE")) if allowed else (
                *reasons, *lead_blockers)
            allowed = False
    return _answer(request, policy.channel, policy.consent_purpose, at, now, pack, reasons,
                   decision.callable_from, decision.callable_until, allowed, lead)


def _answer(request: DialCheckRequest, channel: ConsentChannel, purpose: str, at: datetime, now: datetime,
            pack: RulePack, reasons: tuple[Reason, ...], callable_from: datetime | None,
            callable_until: datetime | None, allowed: bool, lead: LeadAnswer | None) -> DialCheck:
    if at < now:
        state_as_of, note = at, (f"the number's state as it was at {at.isoformat()}, from the history it keeps; "
                                 f"national registries as loaded today")
    elif request.at is None or at == now:
        state_as_of, note = now, "today's state"
    else:
        state_as_of, note = now, (f"today's state: {at.isoformat()} is in the future (a planned call); "
                                  f"whatever happens before then is not in it")
    seconds_left = max(0, int((callable_until - at).total_seconds())) if allowed and callable_until else 0
    return DialCheck(
        allowed=allowed, phone_e164=request.phone["phone_e164"], campaign_id=request.campaign_id, channel=channel,
        purpose=purpose, at=at, reasons=reasons, rules_fired=tuple(dict.fromkeys(r["rule_id"] for r in reasons)),
        seconds_left=seconds_left, callable_from=callable_from,
        callable_until=callable_until, rule_pack_version=pack.version, answered_at=now, state_as_of=state_as_of,
        state_note=note, call_id=request.call_id, lead=lead,
    )


def _history_gap(state: NumberState, where: tuple[str, ...], channel: ConsentChannel, pack: RulePack,
                 at: datetime) -> list[str]:
    """What the kept history may miss about ``at``; empty when the state at ``at`` is complete."""
    missing = []
    if state.suppressions.history_from is not None and at < state.suppressions.history_from:
        missing.append(f"do-not-call suppressions are complete from {state.suppressions.history_from.isoformat()}")
    if state.consents.history_from is not None and at < state.consents.history_from:
        missing.append(f"consent entries are complete from {state.consents.history_from.isoformat()}")
    snoozes_dropped = state.leads.snoozes_dropped_until
    if snoozes_dropped is not None and at < snoozes_dropped:
        missing.append(f"not-now snoozes are complete after {snoozes_dropped.isoformat()}")
    dropped = state.leads.attempts_dropped_until
    caps = frequency_caps(pack, where, at, autodialed=channel == "AUTODIALED_VOICE")
    if dropped is not None and caps and at - max(cap.per for cap in caps) < dropped:
        missing.append(f"call attempts (for {', '.join(c.rule_id for c in caps)}) are complete after "
                       f"{dropped.isoformat()}")
    return missing


def _lead_answer(lead_id: str, record: LeadRecord | None, policy: LifecyclePolicy,
                 at: datetime) -> tuple[LeadAnswer, list[Reason]]:
    """The lead's part of the answer and the reasons it adds (see the module doc)."""
    if record is None or record.captured_at is None:  # a stub is known from a call outcome only
        return LeadAnswer(lead_id, known=False), [reason("LEAD_UNKNOWN", RULE_LEAD, (
            f"lead {lead_id} was never captured for this number: its status cannot be checked"))]
    limit = policy.attempt_limit(record.last_outcome) if record.last_outcome else policy.max_attempts_per_lead
    left = max(0, limit - record.attempts)
    waiting = record.deferred_until if not record.offered and record.deferred_until is not None \
        and record.deferred_until > at else None
    answer = LeadAnswer(lead_id, True, record.status, record.attempts, left, record.offered, waiting,
                        record.callback)
    blockers: list[Reason] = []
    if record.status in CLOSED_STATUSES:
        blockers.append(reason("LEAD_CLOSED", RULE_LEAD,
                               f"lead {lead_id} is closed ({record.status}) after {record.attempts} attempts"))
    elif record.status == "SUPPRESSED":
        blockers.append(reason("LEAD_SUPPRESSED", RULE_LEAD,
                               f"lead {lead_id} was found not callable (SUPPRESSED) by its last decision"))
    elif waiting is not None:
        what = "its callback" if record.callback is not None else "a retry, its window or a snooze"
        blockers.append(reason("LEAD_WAITING", RULE_LEAD,
                               f"lead {lead_id} ({record.status}) waits for {what} until {waiting.isoformat()}"))
    if left == 0 and record.status not in CLOSED_STATUSES:
        blockers.append(reason("LEAD_ATTEMPTS_USED", RULE_LEAD, f"lead {lead_id} has used its {limit} attempts"))
    return answer, blockers


def audit_record(request: DialCheckRequest, answer: DialCheck, worker_id: str, request_id: str) -> DialCheckAudit:
    """The ``dial-check`` audit record of one answer (``schemas/dial-check.avsc``): what was asked, what
    was answered, on which state, by which worker under which rule-pack version. ``request_id`` is
    its event id: one record per answer, found again by it or by the caller's ``call_id``."""
    return {
        "event_id": request_id,
        "occurred_at": answer.answered_at,
        "request_id": request_id,
        "call_id": request.call_id,
        "lead_id": request.lead_id,
        "phone_e164": answer.phone_e164,
        "campaign_id": answer.campaign_id,
        "channel": answer.channel,
        "purpose": answer.purpose,
        "at": answer.at,
        "allowed": answer.allowed,
        "reasons": list(answer.reasons),
        "rules_fired": list(answer.rules_fired),
        "seconds_left": answer.seconds_left,
        "callable_from": answer.callable_from,
        "callable_until": answer.callable_until,
        "state_as_of": answer.state_as_of,
        "state_note": answer.state_note,
        "rule_pack_version": answer.rule_pack_version,
        "worker_id": worker_id,
    }
