"""The demo's sample traffic: deterministic, schema-exact, and as messy as promised."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
import pytest

from connectors.demo.sample import INVALID_PHONES, sample_events
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.validation import validate_input

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
NOW = datetime(2026, 6, 1, 16, 0, 0, 123000, tzinfo=UTC)
TOPICS = {"lead-captured", "opt-out", "consent-changed"}


@pytest.fixture(scope="module")
def events() -> list[tuple[str, dict[str, Any]]]:
    return sample_events(NOW)


def e164(record: dict[str, Any]) -> str | None:
    info = normalize_phone(record["phone"], record["country"], "US")
    return None if isinstance(info, PhoneError) else info["phone_e164"]


def test_same_seed_same_events_other_seed_other_events(events: list[tuple[str, dict[str, Any]]]) -> None:
    assert sample_events(NOW) == events
    assert sample_events(NOW, seed=8) != events


def test_counts(events: list[tuple[str, dict[str, Any]]]) -> None:
    topics = Counter(topic for topic, _ in events)

    assert set(topics) == TOPICS
    assert topics["lead-captured"] == 60
    assert topics["opt-out"] >= 6
    assert topics["consent-changed"] >= 3
    assert Counter(t for t, _ in sample_events(NOW, leads=25))["lead-captured"] == 25
    assert sample_events(NOW, leads=0) == []


def test_every_record_encodes_with_its_schema_and_reads_back_equal(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    schemas: dict[str, Any] = {
        topic: fastavro.parse_schema(json.loads((SCHEMAS / f"{topic}.avsc").read_text())) for topic in TOPICS
    }
    for topic, record in events:
        schema = schemas[topic]
        buffer = io.BytesIO()

        fastavro.schemaless_writer(buffer, schema, record)
        buffer.seek(0)

        assert set(record) == {field["name"] for field in schema["fields"]}, topic
        assert fastavro.schemaless_reader(buffer, schema) == record


def test_event_ids_unique_and_times_around_now(events: list[tuple[str, dict[str, Any]]]) -> None:
    event_ids = [record["event_id"] for _, record in events]
    times = [record["occurred_at"] for _, record in events]

    assert len(set(event_ids)) == len(event_ids)
    assert times == sorted(times)
    assert times[-1] == NOW
    assert NOW - timedelta(hours=1) < times[0]


def test_every_record_passes_input_validation(events: list[tuple[str, dict[str, Any]]]) -> None:
    problems = {record["event_id"]: validate_input(topic, record, NOW) for topic, record in events}

    assert {event_id: found for event_id, found in problems.items() if found} == {}


def test_leads_come_from_many_countries_and_us_states(events: list[tuple[str, dict[str, Any]]]) -> None:
    phones = [normalize_phone(r["phone"], r["country"], "US") for t, r in events if t == "lead-captured"]
    infos = [info for info in phones if not isinstance(info, PhoneError)]

    assert {"US", "CA", "GB", "DE", "FR", "AU", "BR", "IN"} <= {info["region"] for info in infos}
    assert {"FL", "TX", "CA", "NY"} <= {info["area_code_region"] for info in infos}


def test_most_leads_have_name_email_and_consent(events: list[tuple[str, dict[str, Any]]]) -> None:
    leads = [record for topic, record in events if topic == "lead-captured"]

    assert sum(r["first_name"] is not None for r in leads) > len(leads) * 0.7
    assert sum(r["email"] is not None for r in leads) > len(leads) * 0.6
    assert sum(r["consent"] is not None for r in leads) > len(leads) * 0.6


def test_invalid_phones_are_included(events: list[tuple[str, dict[str, Any]]]) -> None:
    leads = [record for topic, record in events if topic == "lead-captured"]
    bad = [r["phone"] for r in leads if e164(r) is None]

    assert sorted(bad) == sorted(phone for phone, _ in INVALID_PHONES)


def test_duplicates_are_included(events: list[tuple[str, dict[str, Any]]]) -> None:
    leads = [record for topic, record in events if topic == "lead-captured"]
    by_number = Counter(e164(r) for r in leads if e164(r) is not None)
    by_lead_id = Counter(r["lead_id"] for r in leads)

    assert any(count > 1 for count in by_number.values())
    assert any(count > 1 for count in by_lead_id.values()), "a resubmitted form keeps its lead id"
    assert len(by_number) < len(by_lead_id), "a vendor resold a number under a new lead id"


def test_opt_outs_come_before_and_after_leads_for_the_same_number(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    first_lead: dict[str | None, int] = {}
    for position, (topic, record) in enumerate(events):
        if topic == "lead-captured":
            first_lead.setdefault(e164(record), position)
    opt_outs = [(at, e164(record)) for at, (topic, record) in enumerate(events) if topic == "opt-out"]

    before = [number for at, number in opt_outs if number in first_lead and at < first_lead[number]]
    after = [number for at, number in opt_outs if number in first_lead and at > first_lead[number]]
    no_lead = [number for _, number in opt_outs if number not in first_lead]

    assert len(before) >= 2
    assert len(after) >= 2
    assert no_lead, "some opt-outs are for numbers that never send a lead"


def test_consent_grants_and_revocations(events: list[tuple[str, dict[str, Any]]]) -> None:
    changes = [record for topic, record in events if topic == "consent-changed"]

    assert sum(r["action"] == "GRANT" and r["proof"] is not None for r in changes) >= 2
    assert sum(r["action"] == "REVOKE" for r in changes) >= 2


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_events(datetime(2026, 6, 1, 16))  # noqa: DTZ001 - the point of the test
