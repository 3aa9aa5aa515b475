"""The request mapping: body → event record, or every field error at once (pure, no broker)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline import topics
from pipeline.codec import SchemaStore, SingleObjectCodec
from pipeline.config import Settings
from pipeline.gateway.request import BODY, EventMapper, Mapped
from pipeline.gateway.server import mappers_for

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
STORE = SchemaStore()
MAPPERS = {m.kind: m for m in mappers_for(Settings(), STORE).values()}
SOURCE = "webform-main"

_ids = itertools.count(1)


def new_id() -> str:
    return f"id-{next(_ids)}"


def as_json(kind: str, body: object) -> Mapped:
    return MAPPERS[kind].from_json(body, source=SOURCE, now=NOW, new_id=new_id)


def as_form(pairs: list[tuple[str, str]]) -> Mapped:
    return MAPPERS[topics.LEAD_CAPTURED].from_form(pairs, source=SOURCE, now=NOW, new_id=new_id)


LEAD: dict[str, Any] = {"phone": "(305) 209-4411", "campaign_id": "solar-q4", "country": "US"}
CONSENT = {"purpose": "marketing", "channel": "ANY", "granted_at": "2026-11-24T16:58:00Z"}


def test_a_minimal_lead_gets_ids_time_source_and_schema_defaults() -> None:
    mapped = as_json(topics.LEAD_CAPTURED, LEAD)
    assert mapped.errors == {}
    record = mapped.record
    assert record is not None
    assert record["event_id"].startswith("id-") and record["lead_id"].startswith("id-")
    assert record["event_id"] != record["lead_id"]
    assert record["occurred_at"] == NOW
    assert record["source"] == SOURCE
    assert record["phone"] == "(305) 209-4411"  # as given: the worker normalizes and re-keys
    assert record["address"] is None and record["consent"] is None and record["attributes"] == {}
    # What the gateway builds is exactly what the topic's schema encodes.
    decoded = SingleObjectCodec(STORE).decode(SingleObjectCodec(STORE).encode(topics.LEAD_CAPTURED, record))
    assert decoded.record == record


def test_given_ids_and_times_are_kept() -> None:
    body = {**LEAD, "event_id": "e-1", "lead_id": "L-1", "occurred_at": "2026-11-24T11:00:00-05:00",
            "source": SOURCE, "consent": CONSENT}
    record = as_json(topics.LEAD_CAPTURED, body).record
    assert record is not None
    assert (record["event_id"], record["lead_id"]) == ("e-1", "L-1")
    assert record["occurred_at"] == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    assert record["consent"]["granted_at"] == datetime(2026, 11, 24, 16, 58, tzinfo=UTC)
    assert record["consent"]["form_url"] is None  # nested defaults filled too


@pytest.mark.parametrize(("kind", "body", "expected"), [
    # structure
    (topics.LEAD_CAPTURED, [], {BODY: "expected a JSON object, got an array"}),
    (topics.LEAD_CAPTURED, "x", {BODY: "expected a JSON object, got text"}),
    (topics.LEAD_CAPTURED, {}, {"phone": "missing", "campaign_id": "missing"}),
    (topics.LEAD_CAPTURED, {**LEAD, "nickname": "Al"}, {"nickname": "unknown field"}),
    (topics.LEAD_CAPTURED, {**LEAD, "phone": 3052094411}, {"phone": "expected text, got a number"}),
    (topics.LEAD_CAPTURED, {**LEAD, "phone": None}, {"phone": "must not be null"}),
    (topics.LEAD_CAPTURED, {**LEAD, "email": True}, {"email": "expected text, got a boolean"}),
    (topics.LEAD_CAPTURED, {**LEAD, "address": "1 Ocean Dr"}, {"address": "expected an object, got text"}),
    (topics.LEAD_CAPTURED, {**LEAD, "address": {"zip": "33139"}}, {"address.zip": "unknown field"}),
    (topics.LEAD_CAPTURED, {**LEAD, "attributes": {"budget": 15000}},
     {"attributes.budget": "expected text, got a number"}),
    (topics.LEAD_CAPTURED, {**LEAD, "attributes": ["a"]}, {"attributes": "expected an object, got an array"}),
    # times
    (topics.LEAD_CAPTURED, {**LEAD, "occurred_at": "yesterday"},
     {"occurred_at": "'yesterday' is not an ISO-8601 instant, e.g. 2026-11-24T17:00:00Z"}),
    (topics.LEAD_CAPTURED, {**LEAD, "occurred_at": "2026-11-24T12:00:00"},
     {"occurred_at": "'2026-11-24T12:00:00' needs a UTC offset, e.g. Z or -05:00"}),
    (topics.LEAD_CAPTURED, {**LEAD, "occurred_at": 1764000000000},
     {"occurred_at": "expected an ISO-8601 instant with an offset, e.g. 2026-11-24T17:00:00Z; got a number"}),
    (topics.LEAD_CAPTURED, {**LEAD, "occurred_at": (NOW + timedelta(days=2)).isoformat()},
     {"occurred_at": "2026-11-26T17:00:00+00:00 is more than a day after now (2026-11-24T17:00:00+00:00)"}),
    # nested record: several errors at once
    (topics.LEAD_CAPTURED, {**LEAD, "consent": {"channel": "FAX", "granted_at": "soon"}},
     {"consent.purpose": "missing", "consent.channel": "expected one of ANY, VOICE, AUTODIALED_VOICE, SMS",
      "consent.granted_at": "'soon' is not an ISO-8601 instant, e.g. 2026-11-24T17:00:00Z"}),
    # the worker's own checks (pipeline.core.validation) and phone normalization
    (topics.LEAD_CAPTURED, {**LEAD, "campaign_id": "  "}, {"campaign_id": "empty or whitespace only"}),
    (topics.LEAD_CAPTURED, {**LEAD, "event_id": ""}, {"event_id": "empty or whitespace only"}),
    (topics.LEAD_CAPTURED, {**LEAD, "phone": "12"}, {"phone": "PHONE_INVALID: no such number in the numbering "
                                                              "plan of its country"}),
    (topics.LEAD_CAPTURED, {**LEAD, "source": "someone-else"},
     {"source": "must be this API key's source 'webform-main' or left out"}),
    # many fields wrong in one body: every one is named
    (topics.LEAD_CAPTURED, {"campaign_id": "", "email": 1, "extra": 2},
     {"phone": "missing", "campaign_id": "empty or whitespace only", "email": "expected text, got a number",
      "extra": "unknown field"}),
    # the other input topics
    (topics.OPT_OUT, {}, {"phone": "missing"}),
    (topics.OPT_OUT, {"phone": "+13052094411", "action": "DELETE"}, {"action": "expected one of ADD, REMOVE, ERASE"}),
    (topics.OPT_OUT, {"phone": "+13052094411", "category": "TEMPORARY"},
     {"expires_at": "a TEMPORARY opt-out needs the time it ends"}),
    (topics.OPT_OUT, {"phone": "+13052094411", "scope": "CAMPAIGN"},
     {"campaign_id": "an opt-out with scope CAMPAIGN needs the campaign it covers"}),
    (topics.CONSENT_CHANGED, {"phone": "+13052094411"}, {"action": "missing"}),
    (topics.CONSENT_CHANGED, {"phone": "+13052094411", "action": "GRANT"},
     {"proof": "a consent GRANT needs its proof (form, text, time, certificate or IP)"}),
    (topics.CONSENT_CHANGED, {"phone": "+13052094411", "action": "REVOKE", "channel_specific": "yes"},
     {"channel_specific": "expected true or false, got text"}),
    (topics.CALL_OUTCOME, {}, {"lead_id": "missing", "phone": "missing", "campaign_id": "missing",
                               "outcome": "missing"}),
    (topics.CALL_OUTCOME,
     {"lead_id": "L-1", "phone": "+13052094411", "campaign_id": "c", "outcome": "CALLBACK_REQUESTED",
      "tags": ["ok", 3]},
     {"tags[1]": "expected text, got a number",
      "callback_at": "a CALLBACK_REQUESTED outcome needs the time to call back"}),
    (topics.CALL_OUTCOME,
     {"lead_id": "L-1", "phone": "+13052094411", "campaign_id": "c", "outcome": "QUALIFIED",
      "contact_name": "A" * 101, "callback_notes": "n" * 2_001, "title": 7},
     {"contact_name": "101 characters, at most 100", "callback_notes": "2001 characters, at most 2000",
      "title": "expected text, got a number"}),
])
def test_every_bad_field_is_named(kind: str, body: object, expected: dict[str, str]) -> None:
    mapped = as_json(kind, body)
    assert mapped.record is None
    assert mapped.errors == expected


@pytest.mark.parametrize(("kind", "body"), [
    (topics.OPT_OUT, {"phone": "+13052094411"}),
    (topics.OPT_OUT, {"phone": "+13052094411", "source": "agent-7", "action": "ERASE"}),
    (topics.CONSENT_CHANGED, {"phone": "+13052094411", "action": "REVOKE"}),
    (topics.CONSENT_CHANGED, {"phone": "+13052094411", "action": "GRANT", "channel_specific": True,
                              "proof": CONSENT}),
    (topics.CALL_OUTCOME, {"lead_id": "L-1", "phone": "+13052094411", "campaign_id": "c", "outcome": "NO_ANSWER",
                           "answers": {"budget": "10k"}, "tags": ["busy_day"]}),
])
def test_valid_bodies_of_the_other_topics_encode(kind: str, body: dict[str, Any]) -> None:
    mapped = as_json(kind, body)
    assert mapped.errors == {}
    assert mapped.record is not None
    codec = SingleObjectCodec(STORE)
    assert codec.decode(codec.encode(kind, mapped.record)).record == mapped.record


def test_who_was_reached_and_what_was_promised_are_top_level_call_outcome_fields() -> None:
    body = {"lead_id": "L-1", "phone": "+13052094411", "campaign_id": "solar-q4", "outcome": "CALLBACK_REQUESTED",
            "callback_at": "2026-11-24T22:00:00Z", "contact_name": "Ana Silva", "contact_role": "owner",
            "title": "Facilities manager", "best_time_to_call": "weekday evenings",
            "callback_notes": "call me at 5 pm, on the mobile"}
    mapped = as_json(topics.CALL_OUTCOME, body)
    assert mapped.errors == {}
    record = mapped.record
    assert record is not None
    assert (record["contact_name"], record["contact_role"], record["title"], record["best_time_to_call"],
            record["callback_notes"]) == ("Ana Silva", "owner", "Facilities manager", "weekday evenings",
                                          "call me at 5 pm, on the mobile")
    assert record["answers"] == {}  # not hidden in answers any more
    bare = as_json(topics.CALL_OUTCOME, {"lead_id": "L", "phone": "+13052094411", "campaign_id": "c",
                                         "outcome": "NO_ANSWER"}).record
    assert bare is not None and bare["contact_name"] is None and bare["callback_notes"] is None


def test_other_topics_default_source_to_the_key_but_may_name_their_own() -> None:
    assert (as_json(topics.OPT_OUT, {"phone": "+13052094411"}).record or {})["source"] == SOURCE
    assert (as_json(topics.OPT_OUT, {"phone": "+13052094411", "source": "agent-7"}).record or {})["source"] == "agent-7"
    # call outcomes have no source field and never get one
    record = as_json(topics.CALL_OUTCOME, {"lead_id": "L", "phone": "+13052094411", "campaign_id": "c",
                                           "outcome": "SALE"}).record
    assert record is not None and "source" not in record


def test_a_form_lead_uses_dotted_names_and_puts_unknown_fields_in_attributes() -> None:
    mapped = as_form([("phone", "305 209 4411"), ("campaign_id", "solar-q4"), ("country", "US"),
                      ("address.region", "FL"), ("address.line1", "1 Ocean Dr"), ("consent.purpose", "marketing"),
                      ("consent.channel", "VOICE"), ("consent.granted_at", "2026-11-24T16:58:00Z"),
                      ("consent.text", "I agree."), ("timeline", "this_month"), ("attributes.budget", "15000"),
                      ("email", ""), ("utm.source", "ad")])
    assert mapped.errors == {}
    record = mapped.record
    assert record is not None
    assert record["email"] is None  # a blank input is an absent field
    assert record["address"] == {"street": "1 Ocean Dr", "city": None, "region": "FL", "postal_code": None,
                                 "country": None}
    assert record["consent"]["consent_text"] == "I agree."
    assert record["consent"]["channel"] == "VOICE"
    assert record["attributes"] == {"timeline": "this_month", "budget": "15000", "utm.source": "ad"}


def test_a_form_lead_names_its_bad_fields_too() -> None:
    mapped = as_form([("campaign_id", "solar-q4"), ("consent.channel", "FAX"), ("phone", "305"), ("phone", "306")])
    assert mapped.record is None
    assert mapped.errors == {
        "phone": "given more than once",
        "consent.purpose": "missing",
        "consent.channel": "expected one of ANY, VOICE, AUTODIALED_VOICE, SMS",
        "consent.granted_at": "missing",
    }


def test_blank_form_inputs_for_required_fields_are_missing() -> None:
    mapped = as_form([("phone", ""), ("campaign_id", "")])
    assert mapped.errors == {"phone": "missing", "campaign_id": "missing"}


def test_required_fields_are_what_an_empty_body_is_missing() -> None:
    for kind, mapper in MAPPERS.items():
        missing = {name for name, why in as_json(kind, {}).errors.items() if why == "missing"}
        assert set(mapper.required) == missing, kind


def test_the_mapping_covers_every_input_schema() -> None:
    assert set(MAPPERS) == set(topics.INPUT_TOPICS)
    for kind in topics.INPUT_TOPICS:  # a construct the mapping cannot express would raise here
        EventMapper(kind, json.loads(STORE.source(kind)), default_region="US")


def test_a_form_field_given_both_as_a_value_and_as_a_group_is_named() -> None:
    mapped = as_form([("phone", "+13052094411"), ("campaign_id", "c"), ("attributes", "0"), ("timeline", "soon")])
    assert mapped.errors == {"attributes": "given both as a value and as a group of fields"}
    mapped = as_form([("phone", "+13052094411"), ("campaign_id", "c"), ("address", "1 Ocean Dr"),
                      ("address.region", "FL")])
    assert mapped.errors == {"address": "given both as a value and as a group of fields"}


# --- limits, instants and text the worker could not take ------------------------------------------

@pytest.mark.parametrize(("body", "field", "why"), [
    ({**LEAD, "first_name": "A" * 101}, "first_name", "101 characters, at most 100"),
    ({**LEAD, "lead_id": "L" * 129}, "lead_id", "129 characters, at most 128"),
    ({**LEAD, "attributes": {"budget": "9" * 501}}, "attributes.budget", "501 characters, at most 500"),
    ({**LEAD, "attributes": {f"k{i}": "v" for i in range(33)}}, "attributes", "33 entries, at most 32"),
    ({**LEAD, "consent": {**CONSENT, "consent_text": "I agree. " * 223}}, "consent.consent_text",
     "2007 characters, at most 2000"),
])
def test_fields_over_their_limits_are_named(body: dict[str, Any], field: str, why: str) -> None:
    assert as_json(topics.LEAD_CAPTURED, body).errors == {field: why}


def test_a_form_field_over_its_limit_is_named_too() -> None:
    mapped = as_form([("phone", "3052094411"), ("campaign_id", "solar-q4"), ("notes", "n" * 501)])
    assert mapped.errors == {"attributes.notes": "501 characters, at most 500"}


@pytest.mark.parametrize(("kind", "body", "field"), [
    (topics.OPT_OUT, {"phone": "+13052094411", "category": "TEMPORARY", "expires_at": "9999-12-31T23:59:59-23:00"},
     "expires_at"),
    (topics.LEAD_CAPTURED, {**LEAD, "occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at"),
    (topics.LEAD_CAPTURED, {**LEAD, "consent": {**CONSENT, "granted_at": "9999-12-31T23:30:00-01:00"}},
     "consent.granted_at"),
    (topics.CALL_OUTCOME, {"phone": "+13052094411", "lead_id": "L-1", "campaign_id": "solar-q4",
                           "outcome": "CALLBACK_REQUESTED", "callback_at": "9999-12-31T23:59:59.999-00:01"},
     "callback_at"),
])
def test_an_instant_outside_years_1_to_9999_in_utc_is_named(kind: str, body: dict[str, Any], field: str) -> None:
    errors = as_json(kind, body).errors
    assert list(errors) == [field]
    assert errors[field].endswith("falls outside years 1-9999 in UTC")


def test_instants_at_the_edges_of_what_the_wire_holds_are_accepted() -> None:
    opt_out = {"phone": "+13052094411", "category": "TEMPORARY", "expires_at": "9999-12-31T23:59:59.999Z",
               "occurred_at": "0001-01-01T00:00:00-01:00"}
    record = as_json(topics.OPT_OUT, opt_out).record
    assert record is not None
    codec = SingleObjectCodec(STORE)
    decoded = codec.decode(codec.encode(topics.OPT_OUT, record)).record
    assert decoded["expires_at"] == datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


def test_a_temporary_opt_out_that_already_ended_is_refused_it_would_block_nothing() -> None:
    errors = as_json(topics.OPT_OUT, {"phone": "+13052094411", "category": "TEMPORARY",
                                      "expires_at": (NOW - timedelta(seconds=1)).isoformat()}).errors
    assert list(errors) == ["expires_at"] and "would block nothing" in errors["expires_at"]


@pytest.mark.parametrize("body", [
    {**LEAD, "first_name": "\ud800"},
    {**LEAD, "attributes": {"k": "x\udfffy"}},
    {**LEAD, "attributes": {"\ud800": "v"}},
])
def test_a_lone_surrogate_is_a_field_error_not_an_encoding_crash(body: dict[str, Any]) -> None:
    errors = as_json(topics.LEAD_CAPTURED, body).errors
    assert len(errors) == 1
    [why] = errors.values()
    assert "lone UTF-16 surrogate" in why
