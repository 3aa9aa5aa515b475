"""Typed mirrors of ``schemas/*.avsc``.

Records travel as the plain dicts fastavro reads and writes; these TypedDicts give them types
without a conversion step on the hot path. ``tests/test_events.py`` proves every TypedDict has
exactly its schema's fields, so the schemas stay the source of truth.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NotRequired, TypedDict

ConsentChannel = Literal["ANY", "VOICE", "AUTODIALED_VOICE", "SMS"]
SuppressionScope = Literal["ALL_CHANNELS", "VOICE", "SMS", "CAMPAIGN"]
SuppressionCategory = Literal["PERMANENT", "CHANNEL_LIMITED", "TEMPORARY"]
OptOutAction = Literal["ADD", "REMOVE", "ERASE"]
ConsentAction = Literal["GRANT", "REVOKE"]
CallOutcomeCode = Literal[
    "INTERESTED", "NOT_INTERESTED", "NO_ANSWER", "BUSY", "VOICEMAIL", "WRONG_NUMBER", "DISCONNECTED",
    "GATEKEEPER", "CALLBACK_REQUESTED", "DO_NOT_CALL", "NOT_NOW", "QUALIFIED", "APPOINTMENT_SET", "SALE",
]
CallReadyAction = Literal["READY", "WITHDRAW"]
DecisionOutcome = Literal[
    "CALL_READY", "DEFERRED", "SUPPRESSED", "REJECTED", "DUPLICATE", "WITHDRAWN", "CLOSED", "IGNORED_CLOSED",
]


class ConsentProof(TypedDict):
    purpose: str
    channel: ConsentChannel
    granted_at: datetime
    form_url: str | None
    consent_text: str | None
    certificate_id: str | None
    ip: str | None
    expires_at: datetime | None


class Address(TypedDict):
    street: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None


class LeadCaptured(TypedDict):
    event_id: str
    occurred_at: datetime
    lead_id: str
    source: str
    campaign_id: str
    phone: str
    country: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    address: Address | None
    consent: ConsentProof | None
    attributes: dict[str, str]


class OptOut(TypedDict):
    event_id: str
    occurred_at: datetime
    phone: str
    country: str | None
    action: OptOutAction
    scope: SuppressionScope
    category: SuppressionCategory
    campaign_id: str | None
    expires_at: datetime | None
    source: str
    reason: str | None
    evidence: str | None


class ConsentChanged(TypedDict):
    event_id: str
    occurred_at: datetime
    phone: str
    country: str | None
    action: ConsentAction
    purpose: str
    channel: ConsentChannel
    channel_specific: bool
    source: str
    proof: ConsentProof | None


class CallOutcome(TypedDict):
    event_id: str
    occurred_at: datetime
    lead_id: str
    phone: str
    country: str | None
    campaign_id: str
    outcome: CallOutcomeCode
    agent_id: str | None
    notes: str | None
    callback_at: datetime | None
    dnc_scope: SuppressionScope | None
    answers: dict[str, str]
    tags: list[str]
    # who was reached, what was promised (all optional)
    contact_name: str | None
    contact_role: str | None
    title: str | None
    best_time_to_call: str | None
    callback_notes: str | None


class ScoreContribution(TypedDict):
    rule_id: str
    points: float
    detail: str | None


class Reason(TypedDict):
    code: str
    rule_id: str
    detail: str


class ScoreHistoryEntry(TypedDict):
    decided_at: datetime
    score: float | None
    decision_id: str
    outcome: str


class QualificationCheck(TypedDict):
    criterion: str
    answer_key: str
    answer: str | None
    result: str


class CallbackPromise(TypedDict):
    requested_at: datetime
    promised_by_agent: str | None
    notes: str | None


class CallReady(TypedDict):
    event_id: str
    occurred_at: datetime
    action: CallReadyAction
    phone_e164: str
    lead_id: str
    campaign_id: str
    priority: int
    score: float
    score_breakdown: list[ScoreContribution]
    callable_from: datetime | None
    callable_until: datetime | None
    seconds_left: int
    time_zones: list[str]
    reasons: list[Reason]
    decision_id: str
    rule_pack_version: str
    callback: CallbackPromise | None


class LeadDecision(TypedDict):
    event_id: str
    occurred_at: datetime
    decision_id: str
    input_event_id: str
    input_topic: str
    lead_id: str
    campaign_id: str
    source: str
    phone: str
    phone_e164: str | None
    region: str | None
    number_type: str | None
    time_zones: list[str]
    outcome: DecisionOutcome
    reasons: list[Reason]
    rules_fired: list[str]
    score: float | None
    score_breakdown: list[ScoreContribution]
    callable_from: datetime | None
    callable_until: datetime | None
    rule_pack_version: str
    decided_at: datetime
    # lifecycle
    lead_status: str | None
    attempts: int
    quality_flags: list[str]


class QualifiedLead(TypedDict):
    event_id: str
    occurred_at: datetime
    lead_id: str
    phone_e164: str
    campaign_id: str
    source: str
    first_name: str | None
    last_name: str | None
    email: str | None
    agent_id: str | None
    outcome: CallOutcomeCode
    notes: str | None
    answers: dict[str, str]
    score: float | None
    score_breakdown: list[ScoreContribution]
    captured_at: datetime | None
    consent_certificate_id: str | None
    outcome_event_id: str
    # lifecycle
    contact_name: str | None
    contact_role: str | None
    next_step: str | None
    tags: list[str]
    qualification: list[QualificationCheck]
    score_history: list[ScoreHistoryEntry]
    consent_form_url: str | None
    consent_text: str | None
    consent_granted_at: datetime | None
    attempts: int
    title: str | None
    best_time_to_call: str | None
    lead_status: str


class DialCheckAudit(TypedDict):
    event_id: str
    occurred_at: datetime
    request_id: str
    call_id: str | None
    lead_id: str | None
    phone_e164: str
    campaign_id: str
    channel: ConsentChannel
    purpose: str
    at: datetime
    allowed: bool
    reasons: list[Reason]
    rules_fired: list[str]
    seconds_left: int
    callable_from: datetime | None
    callable_until: datetime | None
    state_as_of: datetime
    state_note: str
    rule_pack_version: str
    worker_id: str


class DeadLetter(TypedDict):
    event_id: str
    occurred_at: datetime
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    stage: str
    error_type: str
    error: str
    value_size: NotRequired[int | None]
    value_sha256: NotRequired[str | None]
    value_truncated: NotRequired[bool]


class PhoneInfo(TypedDict):
    phone_e164: str
    region: str
    number_type: str
    time_zones: list[str]
    area_code_region: str | None
    carrier: str | None
    line_type: str
    """MOBILE, LANDLINE, VOIP or UNKNOWN (``pipeline.core.linetype``)."""
    area_code_location: str | None
    """phonenumbers' geocoder description of the number's prefix ("Florida", "Miami, FL")."""


InputEvent = LeadCaptured | OptOut | ConsentChanged | CallOutcome


class ReleaseDue(TypedDict):
    """Internal: a deferred lead's wait is over; the scheduler asks ``decide`` to re-decide it."""

    event_id: str
    occurred_at: datetime
    lead_id: str
    due_at: datetime


class NumberEvent(TypedDict):
    """Internal: an input event normalized and re-keyed by ``phone.phone_e164``."""

    phone: PhoneInfo
    input_topic: str
    input_partition: int
    input_offset: int
    event: InputEvent | ReleaseDue
    duplicate_of: str | None
    """Set by the email stage: the lead_id of an earlier lead with the same email (see app.py)."""
