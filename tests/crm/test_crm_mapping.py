"""Mapping a qualified-lead record to CRM request bodies: presets, custom mappings, any record version."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.crm_mapping import (
    PRESETS,
    MappingError,
    forget_request,
    load_mapping,
    lookup,
    map_record,
    parse_mapping,
)
from pipeline.codec import SchemaStore, SingleObjectCodec

QUALIFIED_AT = datetime(2026, 11, 24, 17, 5, tzinfo=UTC)
CAPTURED_AT = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def qualified(**extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": "ev-1", "occurred_at": QUALIFIED_AT, "lead_id": "L-1", "phone_e164": "+13052094411",
        "campaign_id": "solar-q4", "source": "web-form:quote", "first_name": "Ana", "last_name": "Silva",
        "email": "ana@example.com", "agent_id": "agent-7", "outcome": "QUALIFIED", "notes": "wants a quote",
        "answers": {"company": "Silva Roofing", "budget": "20k"}, "score": 42.5,
        "score_breakdown": [{"rule_id": "timeline", "points": 10.0, "detail": None}],
        "captured_at": CAPTURED_AT, "consent_certificate_id": "cert-1", "outcome_event_id": "oe-1",
    }
    record.update(extra)
    return record


def test_every_preset_loads_and_maps_a_full_record_to_json() -> None:
    for preset in PRESETS:
        body = map_record(load_mapping(preset), qualified())
        json.dumps(body)  # times and nested values are JSON-ready


def test_hubspot_preset_is_shaped_like_a_contacts_create() -> None:
    body = map_record(load_mapping("hubspot"), qualified())
    assert set(body) == {"properties"}
    props = body["properties"]
    assert isinstance(props, dict)
    assert props["firstname"] == "Ana"
    assert props["lastname"] == "Silva"
    assert props["phone"] == "+13052094411"
    assert props["email"] == "ana@example.com"
    assert props["company"] == "Silva Roofing"
    assert props["lifecyclestage"] == "salesqualifiedlead"
    assert props["leadpipe_captured_at"] == int(CAPTURED_AT.timestamp() * 1000)
    assert json.loads(props["leadpipe_answers"]) == {"budget": "20k", "company": "Silva Roofing"}
    assert props["leadpipe_score"] == "42.5"
    assert "leadpipe_next_step" not in props  # not in this record: left out, not sent empty


def test_salesforce_preset_is_shaped_like_an_sobject_lead() -> None:
    body = map_record(load_mapping("salesforce"), qualified())
    assert body["FirstName"] == "Ana"
    assert body["LastName"] == "Silva"
    assert body["Company"] == "Silva Roofing"
    assert body["Phone"] == "+13052094411"
    assert body["LeadSource"] == "web-form:quote"
    assert body["Status"] == "Open - Not Contacted"
    assert body["Description"] == "QUALIFIED on a call, campaign solar-q4, agent agent-7. wants a quote"
    assert body["Leadpipe_Captured_At__c"] == CAPTURED_AT.isoformat()


def test_salesforce_required_fields_get_defaults_when_the_record_lacks_them() -> None:
    body = map_record(load_mapping("salesforce"), qualified(last_name=None, answers={}, agent_id=None, notes=None))
    assert body["LastName"] == "[not provided]"
    assert body["Company"] == "[not provided]"
    assert body["Description"] == "QUALIFIED on a call, campaign solar-q4, agent ."


def test_a_minimal_record_of_the_first_release_maps_without_errors() -> None:
    """Every optional field absent (an older or leaner record): the presets leave targets out."""
    minimal = {"event_id": "ev-2", "occurred_at": QUALIFIED_AT, "lead_id": "L-2", "phone_e164": "+13052094412",
               "campaign_id": "c", "source": "s", "outcome": "QUALIFIED", "outcome_event_id": "oe-2"}
    generic = map_record(load_mapping("generic"), minimal)
    assert generic == {"event_id": "ev-2", "lead_id": "L-2", "phone_e164": "+13052094412", "campaign_id": "c",
                       "source": "s", "outcome": "QUALIFIED", "qualified_at": QUALIFIED_AT.isoformat(),
                       "outcome_event_id": "oe-2"}
    hubspot = map_record(load_mapping("hubspot"), minimal)["properties"]
    assert isinstance(hubspot, dict)
    assert "firstname" not in hubspot and "company" not in hubspot


def test_fields_added_later_are_mapped_when_present() -> None:
    """Lifecycle fields (next step, qualification, score history, contact name) flow through when a record has them."""
    record = qualified(next_step="send proposal", qualification={"budget": "30k", "company": "Acme"},
                       score_history=[{"score": 10.0}, {"score": 42.5}],
                       contact={"first_name": "Anabela", "last_name": "Silva-Costa", "email": "a@acme.test"},
                       answers={})
    hubspot = map_record(load_mapping("hubspot"), record)["properties"]
    assert isinstance(hubspot, dict)
    assert hubspot["firstname"] == "Anabela"
    assert hubspot["company"] == "Acme"
    assert hubspot["leadpipe_next_step"] == "send proposal"
    assert json.loads(hubspot["leadpipe_qualification"]) == {"budget": "30k", "company": "Acme"}
    generic = map_record(load_mapping("generic"), record)
    assert generic["next_step"] == "send proposal"
    assert generic["score_history"] == [{"score": 10.0}, {"score": 42.5}]
    salesforce = map_record(load_mapping("salesforce"), record)
    assert salesforce["Leadpipe_Next_Step__c"] == "send proposal"
    assert salesforce["LastName"] == "Silva-Costa"


def test_generic_preset_maps_a_record_decoded_from_real_avro() -> None:
    codec = SingleObjectCodec(SchemaStore())
    schema, decoded = codec.decode(codec.encode("qualified-lead", qualified()))
    assert schema == "qualified-lead"
    body = map_record(load_mapping("generic"), decoded)
    assert body["phone_e164"] == "+13052094411"
    assert body["captured_at"] == CAPTURED_AT.isoformat()
    assert body["score_breakdown"] == [{"rule_id": "timeline", "points": 10.0, "detail": None}]


def test_custom_mapping_with_envelope_static_formats_and_templates(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({
        "name": "acme", "envelope": "lead", "static": {"object": "lead"},
        "fields": {
            "mobile": "phone_e164",
            "who": {"template": "{first_name} {last_name} <{email}>"},
            "budget": {"source": "answers.budget", "format": "text"},
            "size": {"source": "answers.size", "default": "unknown"},
            "day": {"source": "captured_at", "format": "date"},
            "origin": {"const": "leadpipe"},
            "score": {"source": "score", "format": "json"},
        },
    }))
    body = map_record(load_mapping(path=path), qualified())
    assert body == {"object": "lead", "lead": {
        "mobile": "+13052094411", "who": "Ana Silva <ana@example.com>", "budget": "20k", "size": "unknown",
        "day": "2026-11-24", "origin": "leadpipe", "score": "42.5"}}


@pytest.mark.parametrize(("document", "message"), [
    ([], "expected a JSON object"),
    ({"fields": {}}, "fields: expected a non-empty object"),
    ({"fields": {"a": 3}}, "fields.a: expected a source path or an object"),
    ({"fields": {"a": {"source": "x", "const": 1}}}, "give exactly one of source, const or template"),
    ({"fields": {"a": {"source": "x y"}}}, "is not a dotted field path"),
    ({"fields": {"a": {"source": "x", "format": "xml"}}}, "fields.a.format"),
    ({"fields": {"a": {"template": "{not a path}"}}}, "fields.a.template"),
    ({"fields": {"a": {"source": "x", "colour": "red"}}}, "unknown keys"),
    ({"fields": {"a": "x"}, "envelope": 3}, "envelope"),
    ({"fields": {"a": "x"}, "extra": 1}, "unknown keys ['extra']"),
    ({"fields": {"a": {"const": "x", "values": {"x": "y"}}}}, "fields.a.values"),
    ({"fields": {"a": {"source": "x", "values": {}}}}, "fields.a.values"),
])
def test_bad_mappings_are_refused_naming_the_field(document: object, message: str) -> None:
    with pytest.raises(MappingError, match="custom-file: .*" + message.replace("[", r"\[").replace("]", r"\]")):
        parse_mapping(document, where="custom-file")


def test_unknown_preset_and_unreadable_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="unknown preset 'pipedrive'"):
        load_mapping("pipedrive")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MappingError, match=r"bad\.json"):
        load_mapping(path=bad)


def test_lookup_walks_maps_and_stops_at_anything_else() -> None:
    record = {"a": {"b": {"c": 1}}, "s": "text"}
    assert lookup(record, "a.b.c") == 1
    assert lookup(record, "a.x.c") is None
    assert lookup(record, "s.len") is None


def test_a_nurture_lead_is_never_mapped_as_sales_qualified() -> None:
    """qualified-lead also carries leads closed NURTURE (asked for callbacks, never ready): each preset
    files them in its CRM's nurture vocabulary, and maps who was reached from its own fields."""
    record = qualified(lead_status="NURTURE", outcome="CALLBACK_REQUESTED", title="Facilities manager",
                       contact_name="Ana Silva", contact_role="owner", best_time_to_call="weekday evenings")
    hubspot = map_record(load_mapping("hubspot"), record)["properties"]
    assert isinstance(hubspot, dict)
    assert (hubspot["lifecyclestage"], hubspot["hs_lead_status"], hubspot["leadpipe_lead_status"]) == (
        "lead", "BAD_TIMING", "NURTURE")
    assert (hubspot["jobtitle"], hubspot["leadpipe_best_time_to_call"]) == ("Facilities manager", "weekday evenings")
    salesforce = map_record(load_mapping("salesforce"), record)
    assert (salesforce["Status"], salesforce["Title"], salesforce["Leadpipe_Lead_Status__c"]) == (
        "Nurturing", "Facilities manager", "NURTURE")
    generic = map_record(load_mapping("generic"), record)
    assert (generic["lead_status"], generic["contact_name"], generic["contact_role"]) == ("NURTURE", "Ana Silva",
                                                                                         "owner")
    # A record of 0.1.0 has no lead_status: it was qualified.
    old = map_record(load_mapping("hubspot"), qualified())["properties"]
    assert isinstance(old, dict)
    assert (old["lifecyclestage"], old["hs_lead_status"]) == ("salesqualifiedlead", "NEW")


def test_values_translate_and_an_unlisted_value_counts_as_missing() -> None:
    mapping = parse_mapping({"fields": {"stage": {"source": "lead_status", "values": {"QUALIFIED": "sql"},
                                                  "default": "unknown"}}})
    assert map_record(mapping, qualified(lead_status="QUALIFIED")) == {"stage": "sql"}
    assert map_record(mapping, qualified(lead_status="STALE")) == {"stage": "unknown"}


# --- forget: how each preset makes its CRM forget a number ------------------------------------------

@pytest.mark.parametrize(("preset", "crm_url", "method", "url", "body"), [
    ("generic", "https://crm.example/leads", "POST", "https://crm.example/leads/forget",
     {"phone_e164": "+13052094411", "erasure_event_id": "erase-1"}),
    # HubSpot CRM v3: POST /crm/v3/objects/contacts/gdpr-delete {objectId, idProperty (a unique property)}
    ("hubspot", "https://api.hubapi.com/crm/v3/objects/contacts", "POST",
     "https://api.hubapi.com/crm/v3/objects/contacts/gdpr-delete",
     {"idProperty": "leadpipe_phone_e164", "objectId": "+13052094411"}),
    # Salesforce: DELETE /services/data/vXX.X/sobjects/Lead/<External ID field>/<value>, value URL-encoded
    ("salesforce", "https://x.my.salesforce.com/services/data/v60.0/sobjects/Lead/", "DELETE",
     "https://x.my.salesforce.com/services/data/v60.0/sobjects/Lead/Leadpipe_Phone_E164__c/%2B13052094411", None),
])
def test_each_preset_forgets_a_number_the_way_its_vendor_does(preset: str, crm_url: str, method: str, url: str,
                                                               body: dict[str, Any] | None) -> None:
    mapping = load_mapping(preset)
    assert mapping.forget is not None
    request = forget_request(mapping.forget, crm_url=crm_url, phone_e164="+13052094411", event_id="erase-1")
    assert (request.method, request.url, request.body) == (method, url, body)


@pytest.mark.parametrize("preset", ["hubspot", "salesforce"])
def test_presets_that_delete_by_a_unique_field_also_fill_it_when_they_create(preset: str) -> None:
    mapping = load_mapping(preset)
    assert mapping.forget is not None
    field = (mapping.forget.body or {}).get("idProperty") or mapping.forget.url.split("/")[-2]
    body = map_record(mapping, qualified())
    created = body.get("properties", body)
    assert isinstance(created, dict) and created[field] == "+13052094411"


@pytest.mark.parametrize(("forget", "message"), [
    ("DELETE", "forget: expected an object"),
    ({"method": "PUT", "url": "{crm_url}/x"}, "forget.method: expected POST or DELETE"),
    ({"method": "POST", "url": "https://elsewhere/forget"}, "forget.url: expected a template starting with {crm_url}"),
    ({"method": "POST", "url": "{crm_url}/{email}"}, "unknown placeholders ['email']"),
    ({"method": "POST", "url": "{crm_url}/f", "body": {"who": "{first_name}"}},
     "forget.body.who: unknown placeholders"),
    ({"method": "POST", "url": "{crm_url}/f", "verb": "x"}, "forget: unknown keys ['verb']"),
])
def test_a_bad_forget_call_is_refused_naming_the_field(forget: object, message: str) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        parse_mapping({"fields": {"phone": "phone_e164"}, "forget": forget})


def test_a_mapping_without_forget_has_none() -> None:
    assert parse_mapping({"fields": {"phone": "phone_e164"}}).forget is None
