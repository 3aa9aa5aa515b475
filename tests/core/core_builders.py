"""Builders for the input records and state values the core tests use.

Every builder fills every field its schema has, with plain defaults a test overrides by keyword.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import fastavro
from hypothesis import strategies as st

from pipeline import topics
from pipeline.codec import default_schemas_dir
from pipeline.core.number import Emit, ProcessContext
from pipeline.core.scoring import Score
from pipeline.core.window import Window
from pipeline.events import (
    CallOutcome,
    CallOutcomeCode,
    ConsentAction,
    ConsentChanged,
    ConsentChannel,
    ConsentProof,
    InputEvent,
    LeadCaptured,
    NumberEvent,
    OptOut,
    OptOutAction,
    PhoneInfo,
    SuppressionCategory,
    SuppressionScope,
)
from pipeline.packaged import (
    default_campaigns,
    default_disposable_domains,
    default_framework,
    default_lifecycle,
    default_rule_pack,
    default_scoring_rules,
)

# Monday 2 June 2025, 11:00 in New York: inside 08:00-21:00 callee-local.
T0 = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)
PHONE = "+13052094411"


def phone_info(e164: str = PHONE, time_zones: tuple[str, ...] = ("America/New_York",)) -> PhoneInfo:
    return {
        "phone_e164": e164,
        "region": "US",
        "number_type": "FIXED_LINE_OR_MOBILE",
        "time_zones": list(time_zones),
        "area_code_region": "FL",
        "carrier": None,
        "line_type": "UNKNOWN",
        "area_code_location": "Florida",
    }


def proof(
    *,
    channel: ConsentChannel = "AUTODIALED_VOICE",
    purpose: str = "marketing",
    granted_at: datetime = T0 - timedelta(minutes=5),
    certificate_id: str | None = "cert-1",
    expires_at: datetime | None = None,
) -> ConsentProof:
    return {
        "purpose": purpose,
        "channel": channel,
        "granted_at": granted_at,
        "form_url": "https://solar.example/quote",
        "consent_text": "I agree to be called, including by autodialer, about solar offers.",
        "certificate_id": certificate_id,
        "ip": "203.0.113.7",
        "expires_at": expires_at,
    }


_NO_CONSENT: Any = object()


def lead(
    event_id: str = "lead-ev-1",
    lead_id: str = "L1",
    *,
    campaign_id: str = "solar-q4",
    occurred_at: datetime = T0,
    consent: ConsentProof | None = _NO_CONSENT,
    source: str = "solar-form",
    attributes: dict[str, str] | None = None,
) -> LeadCaptured:
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "lead_id": lead_id,
        "source": source,
        "campaign_id": campaign_id,
        "phone": "(305) 209-4411",
        "country": "US",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "address": None,
        "consent": proof(granted_at=occurred_at - timedelta(minutes=5))
        if consent is _NO_CONSENT
        else consent,
        "attributes": attributes if attributes is not None else {},
    }


def opt_out(
    event_id: str = "optout-ev-1",
    *,
    action: OptOutAction = "ADD",
    scope: SuppressionScope = "ALL_CHANNELS",
    category: SuppressionCategory = "PERMANENT",
    campaign_id: str | None = None,
    expires_at: datetime | None = None,
    occurred_at: datetime = T0,
    source: str = "sms-stop-handler",
) -> OptOut:
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "phone": PHONE,
        "country": None,
        "action": action,
        "scope": scope,
        "category": category,
        "campaign_id": campaign_id,
        "expires_at": expires_at,
        "source": source,
        "reason": "replied STOP",
        "evidence": "sms-msg-42",
    }


def consent_change(
    event_id: str = "consent-ev-1",
    *,
    action: ConsentAction = "REVOKE",
    purpose: str = "*",
    channel: ConsentChannel = "ANY",
    channel_specific: bool = False,
    occurred_at: datetime = T0,
    with_proof: ConsentProof | None = None,
) -> ConsentChanged:
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "phone": PHONE,
        "country": None,
        "action": action,
        "purpose": purpose,
        "channel": channel,
        "channel_specific": channel_specific,
        "source": "preference-center",
        "proof": with_proof,
    }


def outcome(
    event_id: str = "outcome-ev-1",
    lead_id: str = "L1",
    code: CallOutcomeCode = "QUALIFIED",
    *,
    campaign_id: str = "solar-q4",
    occurred_at: datetime = T0,
    callback_at: datetime | None = None,
    dnc_scope: SuppressionScope | None = None,
    agent_id: str | None = "agent-7",
    **fields: Any,
) -> CallOutcome:
    """A call outcome; ``fields`` set any other field (notes, contact_name, callback_notes...)."""
    record: CallOutcome = {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "lead_id": lead_id,
        "phone": PHONE,
        "country": None,
        "campaign_id": campaign_id,
        "outcome": code,
        "agent_id": agent_id,
        "notes": "wants a quote for 8 kW",
        "callback_at": callback_at,
        "dnc_scope": dnc_scope,
        "answers": {"roof": "south-facing"},
        "tags": [],
        "contact_name": None,
        "contact_role": None,
        "title": None,
        "best_time_to_call": None,
        "callback_notes": None,
    }
    unknown = set(fields) - set(record)
    if unknown:
        raise TypeError(f"call-outcome has no fields {sorted(unknown)}")
    record.update(fields)  # type: ignore[typeddict-item]  # names checked above
    return record


def number_event(
    ev: InputEvent, *, input_topic: str | None = None, phone: PhoneInfo | None = None
) -> NumberEvent:
    """Wrap ``ev`` as the normalizer would; the input topic is worked out from its fields."""
    if input_topic is None:
        if "attributes" in ev:
            input_topic = "lead-captured"
        elif "outcome" in ev:
            input_topic = "call-outcome"
        elif "purpose" in ev:
            input_topic = "consent-changed"
        else:
            input_topic = "opt-out"
    return {
        "phone": phone or phone_info(),
        "input_topic": input_topic,
        "input_partition": 0,
        "input_offset": 0,
        "event": ev,
        "duplicate_of": None,
    }


def context(now: datetime = T0) -> ProcessContext:
    return ProcessContext(
        now=now,
        rule_pack_version="test-1",
        campaigns=default_campaigns(),
        scoring_rules=default_scoring_rules(),
        rule_pack=default_rule_pack(),
        lifecycle=default_lifecycle(),
        qualification=default_framework(),
        disposable_domains=default_disposable_domains(),
    )


def open_window(now: datetime = T0) -> Window:
    return Window(True, now - timedelta(hours=3), now + timedelta(hours=6), "us.hours")


def closed_window(now: datetime = T0) -> Window:
    return Window(False, now + timedelta(hours=10), now + timedelta(hours=23), "us.hours")


# Hypothesis takes naive bounds and attaches the zone given in ``timezones``.
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)

NO_WINDOW = Window(False, None, None, "us.hours")

SCORE = Score(total=42.0, breakdown=({"rule_id": "score.has_email", "points": 42.0, "detail": None},))


@cache
def _schema(name: str) -> Any:
    with (default_schemas_dir() / f"{name}.avsc").open(encoding="utf-8") as handle:
        return fastavro.parse_schema(json.load(handle))


def assert_fits_schema(emit: Emit) -> None:
    """``emit.record`` has exactly its schema's fields and survives an Avro write and read unchanged."""
    schema = _schema(emit.schema)
    # Public records go to the topic named like their schema; internal ones to a logical internal topic.
    internal = (topics.NUMBER_EVENTS, topics.EMAIL_EVENTS)
    assert emit.topic == emit.schema or (emit.schema == topics.NUMBER_EVENT_SCHEMA and emit.topic in internal)
    assert set(emit.record) == {f["name"] for f in schema["fields"]}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, dict(emit.record))
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, schema, schema) == dict(emit.record)
