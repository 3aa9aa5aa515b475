"""Lead records of one number and the memory of applied event ids."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import get_args

import pytest
from core_builders import INSTANTS, T0
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.leads import (
    MAX_LEADS,
    MAX_SEEN_EVENT_IDS,
    LeadRecord,
    LeadStatus,
    NumberLeads,
    stub,
)
from pipeline.core.snooze import Snooze
from pipeline.events import CallOutcomeCode
from pipeline.state_codec import decode, encode

WITHIN = timedelta(days=30)


def record(
    lead_id: str,
    *,
    campaign_id: str = "solar-q4",
    status: LeadStatus = "NEW",
    captured_at: datetime | None = T0,
    offered: bool = False,
) -> LeadRecord:
    return LeadRecord(
        lead_id=lead_id,
        campaign_id=campaign_id,
        source="form",
        status=status,
        captured_at=captured_at,
        offered=offered,
    )


def test_remembered_event_ids_are_seen() -> None:
    leads = NumberLeads().remember("ev-1")
    assert leads.seen("ev-1")
    assert not leads.seen("ev-2")
    assert leads.remember("ev-1") is leads


def test_only_the_most_recent_event_ids_are_kept() -> None:
    leads = NumberLeads()
    for n in range(MAX_SEEN_EVENT_IDS + 10):
        leads = leads.remember(f"ev-{n}")
    assert len(leads.seen_event_ids) == MAX_SEEN_EVENT_IDS
    assert not leads.seen("ev-9")
    assert leads.seen("ev-10")
    assert leads.seen(f"ev-{MAX_SEEN_EVENT_IDS + 9}")


def test_put_replaces_by_lead_id_and_moves_it_last() -> None:
    leads = NumberLeads().put(record("A")).put(record("B")).put(record("A", status="QUALIFIED"))
    assert [lead.lead_id for lead in leads.leads] == ["B", "A"]
    assert leads.get("A") == record("A", status="QUALIFIED")
    assert leads.get("C") is None


def test_past_the_bound_the_oldest_record_not_offered_goes() -> None:
    leads = NumberLeads().put(record("offered", offered=True))
    for n in range(MAX_LEADS):
        leads = leads.put(record(f"L{n}"))
    assert len(leads.leads) == MAX_LEADS
    assert leads.get("offered") is not None
    assert leads.get("L0") is None
    assert [lead.lead_id for lead in leads.offered()] == ["offered"]


@pytest.mark.parametrize(
    ("existing", "at", "found"),
    [
        (record("A"), T0 + timedelta(days=29), "A"),
        (record("A"), T0 - timedelta(days=29), "A"),
        (record("A"), T0 + WITHIN, None),
        (record("A", campaign_id="other"), T0, None),
        (record("A", status="SUPPRESSED"), T0, None),
        (record("A", status="REJECTED"), T0, None),
        (record("A", status="QUALIFIED"), T0, "A"),
        (stub("A", "solar-q4"), T0, None),
    ],
)
def test_recent_in_campaign(existing: LeadRecord, at: datetime, found: str | None) -> None:
    match = NumberLeads().put(existing).recent_in_campaign("solar-q4", at, WITHIN)
    assert (match.lead_id if match is not None else None) == found


def test_a_stub_keeps_what_the_outcome_told_us() -> None:
    assert stub("L9", "solar-q4") == LeadRecord("L9", "solar-q4", "unknown", "NEW", None)


optional_text = st.none() | st.text(max_size=12)
contributions = st.fixed_dictionaries(
    {
        "rule_id": st.text(min_size=1, max_size=10),
        "points": st.floats(allow_nan=False, allow_infinity=False),
        "detail": optional_text,
    }
)
records = st.builds(
    LeadRecord,
    lead_id=st.text(min_size=1, max_size=12),
    campaign_id=st.text(max_size=12),
    source=st.text(max_size=12),
    status=st.sampled_from(get_args(LeadStatus)),
    captured_at=st.none() | INSTANTS,
    first_name=optional_text,
    last_name=optional_text,
    email=optional_text,
    consent_certificate_id=optional_text,
    score=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    score_breakdown=st.lists(contributions, max_size=3).map(tuple),
    offered=st.booleans(),
    last_decision_id=optional_text,
    attempts=st.integers(min_value=0, max_value=1000),
    last_outcome=st.none() | st.sampled_from(get_args(CallOutcomeCode)),
    qualified_by=optional_text,
    deferred_until=st.none() | INSTANTS,
    expired_offers=st.integers(min_value=0, max_value=10),
    callback=st.none() | st.fixed_dictionaries(
        {"requested_at": INSTANTS, "promised_by_agent": optional_text, "notes": optional_text}),
    callbacks=st.integers(min_value=0, max_value=10),
)
snoozes = st.builds(Snooze, campaign_id=st.text(max_size=12), lead_id=st.text(max_size=12), until=INSTANTS,
                    evidence=st.text(max_size=12))


@given(st.lists(records, max_size=4).map(tuple), st.lists(st.text(max_size=12), max_size=5).map(tuple),
       st.lists(snoozes, max_size=3).map(tuple))
def test_number_leads_round_trip_through_their_table_row(leads: tuple[LeadRecord, ...], seen: tuple[str, ...],
                                              snoozed: tuple[Snooze, ...]) -> None:
    value = NumberLeads(leads, seen, snoozes=snoozed)
    assert decode(NumberLeads, encode(value)) == value
