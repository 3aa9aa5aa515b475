"""The compiled writers and readers answer what fastavro answers, or hand the case back to it.

For every current schema, records drawn from the schema itself (hypothesis) are written by both:
the bytes must be equal. Bytes fastavro writes are read by both: the records must be equal. Bytes
that are not a well-formed encoding (random, cut short, mutated) must never be read by the compiled
reader as something fastavro would not read them as.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.codec import SchemaStore
from pipeline.compiled_avro import compile_schema

STORE = SchemaStore()
STEMS = STORE.stems
_LONG = st.integers(-(1 << 63), (1 << 63) - 1)
_INT = st.integers(-(1 << 31), (1 << 31) - 1)
_INSTANTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),  # noqa: DTZ001
                         timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]))


def records_of(schema: Any, named: dict[str, Any] | None = None, namespace: str = "") -> st.SearchStrategy[Any]:
    """Values fastavro writes for ``schema`` (a parsed-JSON Avro schema)."""
    named = {} if named is None else named
    primitive = {"null": st.none(), "boolean": st.booleans(), "int": _INT, "long": _LONG,
                 "double": st.floats(allow_nan=False) | st.integers(-1000, 1000),
                 "string": st.text(max_size=80), "bytes": st.binary(max_size=80)}
    if isinstance(schema, str):
        if schema in primitive:
            return primitive[schema]
        full = schema if "." in schema else f"{namespace}.{schema}"
        return st.deferred(lambda: records_of(named.get(full) or named[schema], named, namespace))
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        choices = [st.none()] if "null" in schema else []
        if len(branches) == 1:
            choices.append(records_of(branches[0], named, namespace))
        else:  # several: leadpipe names the branch
            for branch in branches:
                space = branch.get("namespace", namespace)
                full = branch["name"] if "." in branch["name"] else f"{space}.{branch['name']}"
                choices.append(st.tuples(st.just(full), records_of(branch, named, namespace)))
        return st.one_of(choices)
    kind = schema["type"]
    if schema.get("logicalType") == "timestamp-millis":
        return _INSTANTS
    if kind in primitive:
        return primitive[kind]
    if kind in ("record", "enum"):
        space = schema.get("namespace", namespace)
        named[f"{space}.{schema['name']}"] = schema
        namespace = space
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(records_of(schema["items"], named, namespace), max_size=4)
    if kind == "map":
        return st.dictionaries(st.text(max_size=10), records_of(schema["values"], named, namespace), max_size=3)
    assert kind == "record"
    return st.fixed_dictionaries({f["name"]: records_of(f["type"], named, namespace) for f in schema["fields"]})


def fastavro_bytes(stem: str, record: Any) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, STORE.parsed(stem), record, strict_allow_default=True)
    return out.getvalue()


def fastavro_record(stem: str, data: bytes) -> Any:
    """fastavro's reading of ``data`` as a whole, or None when it fails or leaves bytes over."""
    stream = io.BytesIO(data)
    try:
        record = schemaless_reader(stream, STORE.parsed(stem), None)
    except Exception:
        return None
    return record if stream.tell() == len(data) else None


def test_every_current_schema_compiles() -> None:
    assert all(STORE.compiled(stem) is not None for stem in STEMS)


@pytest.mark.parametrize("stem", STEMS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_compiled_writer_writes_fastavros_bytes_and_reads_its_records(stem: str, data: st.DataObject) -> None:
    compiled = STORE.compiled(stem)
    assert compiled is not None
    record = data.draw(records_of(json.loads(STORE.source(stem))))
    expected = fastavro_bytes(stem, record)
    assert compiled.encode(b"\xc3\x01", record) == b"\xc3\x01" + expected
    assert compiled.decode(b"\xc3\x01" + expected, 2) == fastavro_record(stem, expected)


@pytest.mark.parametrize("stem", STEMS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bytes_fastavro_cannot_read_are_never_read_by_the_compiled_reader(stem: str, data: st.DataObject) -> None:
    compiled = STORE.compiled(stem)
    assert compiled is not None
    whole = fastavro_bytes(stem, data.draw(records_of(json.loads(STORE.source(stem)))))
    damage = data.draw(st.sampled_from(["cut", "flip", "append", "random"]))
    if damage == "cut":
        damaged = whole[:data.draw(st.integers(0, max(0, len(whole) - 1)))]
    elif damage == "flip" and whole:
        at = data.draw(st.integers(0, len(whole) - 1))
        damaged = whole[:at] + bytes([data.draw(st.integers(0, 255))]) + whole[at + 1:]
    elif damage == "append":
        damaged = whole + data.draw(st.binary(min_size=1, max_size=4))
    else:
        damaged = data.draw(st.binary(max_size=120))
    read = compiled.decode(damaged, 0)
    assert read is None or read == fastavro_record(stem, damaged)


def lead_decision() -> dict[str, Any]:
    at = datetime(2026, 11, 24, 17, 0, 0, 123456, tzinfo=UTC)
    return {
        "event_id": "e", "occurred_at": at, "decision_id": "d", "input_event_id": "i", "input_topic": "lead-captured",
        "lead_id": "L1", "campaign_id": "c", "source": "s", "phone": "+13055550123", "phone_e164": "+13055550123",
        "region": "US", "number_type": "FIXED_LINE_OR_MOBILE", "time_zones": ["America/New_York"],
        "outcome": "CALL_READY", "reasons": [{"code": "CALLABLE", "rule_id": "decision.callable", "detail": "ok"}],
        "rules_fired": [], "score": 12.5, "score_breakdown": [{"rule_id": "r", "points": 1.0, "detail": None}],
        "callable_from": at, "callable_until": None, "rule_pack_version": "v", "decided_at": at,
        "lead_status": "IN_PROGRESS", "attempts": 0, "quality_flags": [],
    }


@pytest.mark.parametrize(("change", "why"), [
    ({"extra": 1}, "a field the schema does not have"),
    ({"attempts": None}, "None for an int"),
    ({"attempts": 1.0}, "a float for an int"),
    ({"attempts": 1 << 40}, "an int beyond 32 bits"),
    ({"score": "NaN"}, "a string for a double"),
    ({"decided_at": datetime(2026, 11, 24, 17, 0)}, "a naive datetime"),  # noqa: DTZ001
    ({"decided_at": 1764003600000}, "milliseconds for a timestamp"),
    ({"outcome": "MAYBE"}, "a symbol the enum lacks"),
    ({"lead_id": b"L1"}, "bytes for a string"),
    ({"time_zones": "America/New_York"}, "a string for an array"),
    ({"phone_e164": ("string", "+13055550123")}, "a union value naming its branch"),
])
def test_what_the_compiled_writer_does_not_handle_goes_back_to_fastavro(change: dict[str, Any], why: str) -> None:
    compiled = STORE.compiled("lead-decision")
    assert compiled is not None
    assert compiled.encode(b"", {**lead_decision(), **change}) is None, why


def test_a_record_missing_a_field_with_a_default_goes_back_to_fastavro() -> None:
    compiled = STORE.compiled("lead-decision")
    assert compiled is not None
    record = {k: v for k, v in lead_decision().items() if k != "quality_flags"}
    assert compiled.encode(b"", record) is None
    assert fastavro_bytes("lead-decision", record) == fastavro_bytes("lead-decision", lead_decision())


def test_a_number_event_whose_union_branch_is_not_named_goes_back_to_fastavro() -> None:
    compiled = STORE.compiled("internal/number-event")
    assert compiled is not None
    release = {"event_id": "r", "occurred_at": datetime(2026, 11, 24, tzinfo=UTC), "lead_id": "L1",
               "due_at": datetime(2026, 11, 24, tzinfo=UTC)}
    phone = {"phone_e164": "+13055550123", "region": "US", "number_type": "FIXED_LINE_OR_MOBILE",
             "time_zones": [], "area_code_region": "FL", "carrier": None, "line_type": "UNKNOWN",
             "area_code_location": None}
    event = {"phone": phone, "input_topic": "release-scheduler", "input_partition": -1, "input_offset": -1,
             "event": release, "duplicate_of": None}
    assert compiled.encode(b"", event) is None
    named = compiled.encode(b"", {**event, "event": ("io.leadpipe.internal.ReleaseDue", release)})
    assert named == fastavro_bytes("internal/number-event", event)


def test_a_schema_with_a_type_it_does_not_compile_gives_none() -> None:
    assert compile_schema(json.dumps({"type": "record", "name": "F", "fields": [
        {"name": "f", "type": {"type": "fixed", "name": "X", "size": 4}}]})) is None
