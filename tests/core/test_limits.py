"""Field and record limits: every field of every input schema has one, and intake enforces them
(a lead with a usable number is REJECTED naming the field; anything else is dead-lettered)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from core_builders import T0, consent_change, lead, opt_out, outcome, proof

from pipeline import topics
from pipeline.codec import default_schemas_dir
from pipeline.core import limits
from pipeline.core.intake import Invalid, Rejected, Routed, intake
from pipeline.core.limits import FIELD_LIMITS, ListLimit, MapLimit, Text, field_problems, instant_in_range


def _limited_paths(schema: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, kind) of every string, map and list in an Avro schema; enums and numbers have
    bounded sizes of their own."""
    if isinstance(schema, list):
        return [p for branch in schema if branch != "null" for p in _limited_paths(branch, path)]
    if isinstance(schema, str):
        return [(path, "string")] if schema == "string" else []
    kind = schema.get("type")
    if kind == "record":
        return [p for f in schema["fields"]
                for p in _limited_paths(f["type"], f"{path}.{f['name']}" if path else f["name"])]
    if kind in ("map", "array"):
        return [(path, kind)]
    if isinstance(kind, dict | list):
        return _limited_paths(kind, path)
    return [(path, "string")] if kind == "string" else []


@pytest.mark.parametrize("kind", topics.INPUT_TOPICS)
def test_every_string_map_and_list_of_every_input_schema_has_a_limit(kind: str) -> None:
    schema = json.loads((default_schemas_dir() / f"{kind}.avsc").read_text(encoding="utf-8"))
    wanted = {"string": Text, "map": MapLimit, "array": ListLimit}
    fields = _limited_paths(schema)
    assert fields, kind
    for path, avro_kind in fields:
        limit = FIELD_LIMITS[kind].get(path)
        assert isinstance(limit, wanted[avro_kind]), f"{kind}.{path} ({avro_kind}) has no limit in pipeline.core.limits"
    assert set(FIELD_LIMITS[kind]) <= {path for path, _ in fields}, "a limit for a field the schema does not have"


def test_the_numbers_are_the_documented_ones() -> None:
    assert (limits.IDENTIFIER_CHARS, limits.PHONE_CHARS, limits.CODE_CHARS, limits.NAME_CHARS) == (128, 32, 8, 100)
    assert (limits.EMAIL_CHARS, limits.TEXT_CHARS, limits.URL_CHARS, limits.IP_CHARS) == (254, 2000, 2048, 64)
    assert (limits.MAP_ENTRIES, limits.MAP_KEY_CHARS, limits.MAP_VALUE_CHARS, limits.LIST_ITEMS) == (32, 64, 500, 16)
    assert limits.RECORD_BYTES == 64 * 1024
    lead_limits = FIELD_LIMITS[topics.LEAD_CAPTURED]
    assert lead_limits["event_id"] == lead_limits["lead_id"] == lead_limits["consent.certificate_id"] == Text(128)
    assert (lead_limits["first_name"], lead_limits["email"], lead_limits["consent.form_url"]) == (
        Text(100), Text(254), Text(2048))
    assert FIELD_LIMITS[topics.OPT_OUT]["reason"] == FIELD_LIMITS[topics.CALL_OUTCOME]["notes"] == Text(2000)


@pytest.mark.parametrize(("kind", "record", "path", "chars"), [
    (topics.LEAD_CAPTURED, lead(), "lead_id", 128),
    (topics.LEAD_CAPTURED, lead(), "first_name", 100),
    (topics.LEAD_CAPTURED, lead(), "email", 254),
    (topics.LEAD_CAPTURED, lead(), "country", 8),
    (topics.LEAD_CAPTURED, lead(), "phone", 32),
    (topics.LEAD_CAPTURED, lead(), "consent.consent_text", 2000),
    (topics.LEAD_CAPTURED, lead(), "consent.form_url", 2048),
    (topics.LEAD_CAPTURED, lead(), "consent.ip", 64),
    (topics.OPT_OUT, opt_out(), "evidence", 2000),
    (topics.CONSENT_CHANGED, consent_change(action="GRANT", with_proof=proof()), "proof.certificate_id", 128),
    (topics.CALL_OUTCOME, outcome(), "agent_id", 128),
])
def test_a_text_field_at_its_limit_passes_and_one_character_more_is_named(kind: str, record: Any, path: str,
                                                                          chars: int) -> None:
    def with_length(n: int) -> dict[str, Any]:
        copy = json.loads(json.dumps(record, default=str))
        *parents, name = path.split(".")
        target = copy
        for parent in parents:
            target = target[parent]
        target[name] = "x" * n
        return copy

    assert field_problems(kind, with_length(chars)) == []
    assert field_problems(kind, with_length(chars + 1)) == [(path, f"{chars + 1} characters, at most {chars}")]


def test_maps_are_bounded_in_entries_names_and_values() -> None:
    assert field_problems(topics.LEAD_CAPTURED, lead(attributes={f"k{i}": "v" for i in range(32)})) == []
    assert field_problems(topics.LEAD_CAPTURED, lead(attributes={f"k{i}": "v" for i in range(33)})) == [
        ("attributes", "33 entries, at most 32")]
    assert field_problems(topics.LEAD_CAPTURED, lead(attributes={"budget": "9" * 501})) == [
        ("attributes.budget", "501 characters, at most 500")]
    [(path, why)] = field_problems(topics.LEAD_CAPTURED, lead(attributes={"k" * 65: "v"}))
    assert path == "attributes." + "k" * 64 + "..." and why == "name 65 characters, at most 64"


def test_who_was_reached_on_a_call_is_names_and_the_callback_promise_free_text() -> None:
    call = {**outcome(), "contact_name": "A" * 101, "title": "T" * 300, "contact_role": "r" * 100,
            "best_time_to_call": "b" * 101, "callback_notes": "n" * 2_001}
    assert field_problems(topics.CALL_OUTCOME, call) == [
        ("contact_name", "101 characters, at most 100"), ("title", "300 characters, at most 100"),
        ("best_time_to_call", "101 characters, at most 100"), ("callback_notes", "2001 characters, at most 2000"),
    ]


def test_answers_that_name_a_person_are_names_and_tags_a_short_list() -> None:
    call = {**outcome(), "answers": {"contact_name": "A" * 101, "notes_long": "n" * 500},
            "tags": ["t" * 101, *(["ok"] * 16)]}
    assert field_problems(topics.CALL_OUTCOME, call) == [
        ("answers.contact_name", "101 characters, at most 100"),
        ("tags", "17 items, at most 16"),
        ("tags[0]", "101 characters, at most 100"),
    ]


def test_instants_must_fall_in_years_1_to_9999_in_utc() -> None:
    assert instant_in_range(datetime.fromisoformat("9999-12-31T23:59:59+00:00"))
    assert instant_in_range(datetime.fromisoformat("0001-01-01T00:00:00-01:00"))
    assert not instant_in_range(datetime.fromisoformat("9999-12-31T23:59:59-23:00"))
    assert not instant_in_range(datetime.fromisoformat("0001-01-01T00:00:00+01:00"))


def _intake(kind: str, record: Any, size: int | None = None) -> Routed | Rejected | Invalid:
    return intake(kind, kind, record, partition=0, offset=7, default_region="US", now=T0,
                  rule_pack_version="test-1", encoded_size=size)


def test_a_lead_with_a_usable_number_and_a_long_name_is_rejected_naming_the_field() -> None:
    record = {**lead(), "first_name": "A" * 101, "attributes": {"budget": "9" * 600}}
    result = _intake(topics.LEAD_CAPTURED, record)
    assert isinstance(result, Rejected)
    [emit] = result.emits
    decision = emit.record
    assert emit.key == "+13052094411" and decision["phone_e164"] == "+13052094411"
    assert decision["outcome"] == "REJECTED" and decision["lead_status"] == "REJECTED"
    assert [(r["code"], r["rule_id"], r["detail"]) for r in decision["reasons"]] == [
        ("FIELD_TOO_LONG", "input.limits", "first_name: 101 characters, at most 100"),
        ("FIELD_TOO_LONG", "input.limits", "attributes.budget: 600 characters, at most 500"),
    ]


def test_a_lead_too_large_on_the_wire_is_rejected_and_within_the_limit_routed() -> None:
    assert isinstance(_intake(topics.LEAD_CAPTURED, lead(), size=limits.RECORD_BYTES), Routed)
    result = _intake(topics.LEAD_CAPTURED, lead(), size=limits.RECORD_BYTES + 1)
    assert isinstance(result, Rejected)
    assert result.emits[0].record["reasons"][0]["detail"] == "record: 65537 bytes encoded, at most 65536"


@pytest.mark.parametrize(("kind", "record", "error"), [
    # The decision would carry these fields: over their limit there is no decision to write.
    (topics.LEAD_CAPTURED, {**lead(), "lead_id": "L" * 129}, "lead_id: 129 characters, at most 128"),
    (topics.LEAD_CAPTURED, {**lead(), "phone": "3" * 33}, "phone: 33 characters, at most 32"),
    # Not a lead: nobody waits for a decision; the dead letter keeps the bytes and names the field.
    (topics.OPT_OUT, {**opt_out(), "source": "s" * 129}, "source: 129 characters, at most 128"),
    (topics.CALL_OUTCOME, {**outcome(), "notes": "n" * 2001}, "notes: 2001 characters, at most 2000"),
])
def test_other_inputs_over_a_limit_are_dead_lettered_naming_the_field(kind: str, record: Any, error: str) -> None:
    assert _intake(kind, record) == Invalid("validate", error)


def test_an_opt_out_is_applied_with_its_long_free_text_cut_never_lost() -> None:
    record = {**opt_out(), "reason": "r" * 2001, "evidence": "é" * 30_000}
    result = _intake(topics.OPT_OUT, record)
    assert isinstance(result, Routed)
    applied = result.number_event["event"]
    assert len(applied["reason"]) == len(applied["evidence"]) == limits.TEXT_CHARS  # type: ignore[typeddict-item]
    assert applied["evidence"].endswith("…") and applied["event_id"] == record["event_id"]  # type: ignore[typeddict-item]
    # Text is all that is cut: an identifier over its limit still sends the opt-out to dead-letter.
    assert isinstance(_intake(topics.OPT_OUT, {**record, "source": "s" * 129}), Invalid)


def test_a_lead_with_an_unusable_number_is_still_rejected_for_its_number() -> None:
    result = _intake(topics.LEAD_CAPTURED, {**lead(), "phone": "12", "first_name": "A" * 101})
    assert isinstance(result, Rejected)
    assert result.emits[0].record["reasons"][0]["code"] == "PHONE_INVALID"
