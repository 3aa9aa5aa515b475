"""The TypedDicts in ``pipeline.events`` follow ``schemas/*.avsc`` field for field and type for type.

The Avro type of each field is translated to the Python type fastavro reads it as (string → str,
timestamp-millis → datetime, ["null", X] → X | None, enum → its Literal alias, record → its TypedDict,
array → list, map → dict[str, ...]) and compared with the TypedDict's annotation.
"""

from __future__ import annotations

import functools
import json
import operator
import types
from datetime import datetime
from typing import Any, get_args, get_type_hints

import pytest

from pipeline import events
from pipeline.codec import default_schemas_dir

SCHEMAS = default_schemas_dir()

TOP_LEVEL = {
    "LeadCaptured": "lead-captured",
    "OptOut": "opt-out",
    "ConsentChanged": "consent-changed",
    "CallOutcome": "call-outcome",
    "CallReady": "call-ready",
    "LeadDecision": "lead-decision",
    "QualifiedLead": "qualified-lead",
    "DeadLetter": "dead-letter",
    "DialCheckAudit": "dial-check",
    "NumberEvent": "internal/number-event",
}
ENUM_ALIASES = ["ConsentChannel", "SuppressionScope", "SuppressionCategory", "OptOutAction", "ConsentAction",
                "CallOutcomeCode", "CallReadyAction", "DecisionOutcome"]
PRIMITIVES: dict[str, Any] = {"string": str, "boolean": bool, "int": int, "long": int, "float": float,
                              "double": float, "bytes": bytes, "null": types.NoneType}


def _shape(schema: Any, *, top: bool = True) -> Any:
    """``schema`` without docs, nested named types replaced by their names: equal shapes, same type."""
    if isinstance(schema, list):
        return [_shape(branch, top=False) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    if not top and schema.get("type") in ("record", "enum"):
        return f"{schema.get('namespace', '')}.{schema['name']}".lstrip(".")
    shaped = {key: _shape(value, top=False) for key, value in schema.items() if key not in ("doc", "fields")}
    if "fields" in schema:
        shaped["fields"] = [
            {**{k: v for k, v in f.items() if k != "doc"}, "type": _shape(f["type"], top=False)}
            for f in schema["fields"]
        ]
    return shaped


def _named_types() -> dict[str, dict[str, Any]]:
    """Every record and enum defined in any current schema, by short name."""
    named: dict[str, dict[str, Any]] = {}

    def walk(schema: Any) -> None:
        if isinstance(schema, list):
            for branch in schema:
                walk(branch)
        elif isinstance(schema, dict):
            if schema.get("type") in ("record", "enum"):
                name = schema["name"]
                if name in named:  # one name, one meaning: every copy of a named type must agree
                    assert _shape(named[name]) == _shape(schema), f"{name} is defined differently"
                else:
                    named[name] = schema
            for field in schema.get("fields", []):
                walk(field["type"])
            walk(schema.get("items"))
            walk(schema.get("values"))

    for path in sorted(SCHEMAS.glob("*.avsc")) + sorted((SCHEMAS / "internal").glob("*.avsc")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return named


NAMED = _named_types()
RECORDS = sorted(name for name, schema in NAMED.items() if schema["type"] == "record")


def _python_type(avro_type: Any) -> Any:
    """The Python type fastavro reads ``avro_type`` as, in the vocabulary of pipeline.events."""
    if isinstance(avro_type, list):
        return functools.reduce(operator.or_, (_python_type(branch) for branch in avro_type))
    if isinstance(avro_type, str):
        if avro_type in PRIMITIVES:
            return PRIMITIVES[avro_type]
        return getattr(events, avro_type.rsplit(".", 1)[-1])  # a named type defined elsewhere
    if avro_type.get("logicalType") == "timestamp-millis":
        return datetime
    kind = avro_type["type"]
    if kind in ("record", "enum"):
        return getattr(events, avro_type["name"])
    if kind == "array":
        return list[_python_type(avro_type["items"])]  # type: ignore[misc]
    if kind == "map":
        return dict[str, _python_type(avro_type["values"])]  # type: ignore[misc]
    return PRIMITIVES[kind]


def test_every_schema_record_has_a_typeddict() -> None:
    missing = [name for name in RECORDS if not hasattr(events, name)]
    assert not missing, f"records with no TypedDict in pipeline.events: {missing}"
    assert set(TOP_LEVEL) <= set(RECORDS)


@pytest.mark.parametrize("name", RECORDS)
def test_typeddict_has_exactly_the_schema_fields(name: str) -> None:
    typed_dict = getattr(events, name)
    fields = [f["name"] for f in NAMED[name]["fields"]]
    assert list(typed_dict.__annotations__) == fields  # same names, same order as the schema
    # fastavro always returns every field (defaults filled in), so every key is required.
    assert typed_dict.__required_keys__ == frozenset(fields)


@pytest.mark.parametrize("name", RECORDS)
def test_typeddict_field_types_follow_the_schema(name: str) -> None:
    hints = get_type_hints(getattr(events, name))
    for field in NAMED[name]["fields"]:
        assert hints[field["name"]] == _python_type(field["type"]), f"{name}.{field['name']}"


@pytest.mark.parametrize(("name", "stem"), sorted(TOP_LEVEL.items()))
def test_top_level_typeddict_is_its_schema(name: str, stem: str) -> None:
    schema = json.loads((SCHEMAS / f"{stem}.avsc").read_text(encoding="utf-8"))
    assert schema["name"] == name
    assert list(getattr(events, name).__annotations__) == [f["name"] for f in schema["fields"]]


def test_phone_info_is_the_record_inside_number_event() -> None:
    number_event = json.loads((SCHEMAS / "internal" / "number-event.avsc").read_text(encoding="utf-8"))
    phone = next(f for f in number_event["fields"] if f["name"] == "phone")["type"]
    assert phone["name"] == "PhoneInfo"
    assert list(events.PhoneInfo.__annotations__) == [f["name"] for f in phone["fields"]]


def test_input_event_and_release_are_the_union_in_number_event() -> None:
    assert get_type_hints(events.NumberEvent)["event"] == events.InputEvent | events.ReleaseDue
    assert set(get_args(events.InputEvent)) == {events.LeadCaptured, events.OptOut, events.ConsentChanged,
                                                 events.CallOutcome}
    number_event = json.loads((SCHEMAS / "internal" / "number-event.avsc").read_text(encoding="utf-8"))
    union = next(f for f in number_event["fields"] if f["name"] == "event")["type"]
    assert [branch["name"] for branch in union] == ["LeadCaptured", "OptOut", "ConsentChanged", "CallOutcome",
                                                    "ReleaseDue"]
    release = union[-1]
    assert list(events.ReleaseDue.__annotations__) == [f["name"] for f in release["fields"]]


@pytest.mark.parametrize("alias", ENUM_ALIASES)
def test_literal_alias_equals_the_enum_symbols(alias: str) -> None:
    assert NAMED[alias]["type"] == "enum"
    assert list(get_args(getattr(events, alias))) == NAMED[alias]["symbols"]


def test_every_schema_enum_has_a_literal_alias() -> None:
    assert sorted(name for name, schema in NAMED.items() if schema["type"] == "enum") == sorted(ENUM_ALIASES)
