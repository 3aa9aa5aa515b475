"""From a request body to an event record, or to every field error at once. Pure: no I/O, no clock.

The mapping is driven by the event's Avro schema (``schemas/<topic>.avsc``), so the gateway accepts
exactly what the topic carries: each field in its JSON form (text, true/false, numbers, ISO-8601
instants with an offset for ``timestamp-millis``, enum symbols, objects for records and maps,
arrays). The gateway fills what a caller may leave out — ``event_id`` and ``occurred_at`` always,
``lead_id`` for leads, ``source`` from the API key — then the worker's own checks
(:func:`pipeline.core.validation.validate_input`) and phone normalization run, so a request the
gateway accepts is one the worker will not dead-letter.

Form-encoded leads use the same names flat; nested ones are dotted (``address.region``,
``consent.text``) and any name the schema does not know goes into ``attributes``. Blank form
inputs count as absent: that is what an HTML form sends for an empty optional field.

Errors are a dict ``{field path: why}``; paths are dotted (``consent.granted_at``,
``attributes.budget``) with ``[i]`` for array items (``tags[2]``); ``body`` is the whole body.
Lengths and counts are checked against :mod:`pipeline.core.limits`, the same limits intake applies;
instants must fall in years 1-9999 in UTC, and text must be Unicode (no lone surrogates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pipeline import topics
from pipeline.core.limits import field_problems, instant_in_range
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.validation import validate_input

__all__ = [
    "BODY",
    "ENDPOINTS",
    "ArrayOf",
    "AvroType",
    "Enum",
    "EventMapper",
    "Field",
    "MapOf",
    "Mapped",
    "Nullable",
    "Primitive",
    "Record",
    "Timestamp",
    "compile_schema",
]

BODY = "body"
"""The field path of the body as a whole (not an object, not valid JSON...)."""

ENDPOINTS: dict[str, str] = {
    "/v1/leads": topics.LEAD_CAPTURED,
    "/v1/opt-outs": topics.OPT_OUT,
    "/v1/consents": topics.CONSENT_CHANGED,
    "/v1/call-outcomes": topics.CALL_OUTCOME,
}
"""Each POST route and the input topic (and schema) it writes."""


# --- the Avro types the input schemas use, compiled once ---------------------------------------

@dataclass(frozen=True, slots=True)
class Primitive:
    name: str
    """string, boolean, int, long, float or double."""


@dataclass(frozen=True, slots=True)
class Timestamp:
    """``long`` with ``logicalType: timestamp-millis``: an ISO-8601 instant with an offset on the wire."""


@dataclass(frozen=True, slots=True)
class Enum:
    name: str
    symbols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: AvroType
    has_default: bool
    default: Any
    doc: str | None


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    fields: tuple[Field, ...]
    doc: str | None

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True, slots=True)
class Nullable:
    inner: AvroType


@dataclass(frozen=True, slots=True)
class MapOf:
    values: AvroType


@dataclass(frozen=True, slots=True)
class ArrayOf:
    items: AvroType


AvroType = Primitive | Timestamp | Enum | Record | Nullable | MapOf | ArrayOf

_PRIMITIVES = frozenset({"string", "boolean", "int", "long", "float", "double"})


def compile_schema(schema: Mapping[str, Any]) -> Record:
    """Compile a record schema (the JSON of an ``.avsc`` file) into :data:`AvroType` values.

    Raises ValueError for a construct the gateway does not map (bytes, fixed, unions of two
    non-null types): a schema change that needs a gateway change.
    """
    compiled = _compile(schema, {}, schema.get("namespace"))
    if not isinstance(compiled, Record):
        raise ValueError("top-level schema must be a record")
    return compiled


def _full_name(name: str, namespace: str | None) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _compile(schema: Any, names: dict[str, AvroType], namespace: str | None) -> AvroType:
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return Primitive(schema)
        named = names.get(schema) or names.get(_full_name(schema, namespace))
        if named is None:
            raise ValueError(f"unsupported or unknown Avro type {schema!r}")
        return named
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        if len(branches) != 1 or len(schema) != 2:
            raise ValueError(f"only [null, T] unions are mapped, got {schema!r}")
        return Nullable(_compile(branches[0], names, namespace))
    kind = schema.get("type")
    if kind == "long" and schema.get("logicalType") == "timestamp-millis":
        return Timestamp()
    if isinstance(kind, str) and kind in _PRIMITIVES:
        return Primitive(kind)
    if kind == "enum":
        enum = Enum(schema["name"], tuple(schema["symbols"]))
        names[_full_name(schema["name"], schema.get("namespace", namespace))] = enum
        return enum
    if kind == "map":
        return MapOf(_compile(schema["values"], names, namespace))
    if kind == "array":
        return ArrayOf(_compile(schema["items"], names, namespace))
    if kind == "record":
        inner_ns = schema.get("namespace", namespace)
        fields = tuple(
            Field(f["name"], _compile(f["type"], names, inner_ns), "default" in f, f.get("default"), f.get("doc"))
            for f in schema["fields"]
        )
        record = Record(schema["name"], fields, schema.get("doc"))
        names[_full_name(schema["name"], inner_ns)] = record
        return record
    raise ValueError(f"unsupported Avro type {schema!r}")


# --- values --------------------------------------------------------------------------------------

class _Invalid:
    """Marks a value that failed conversion (its error is already recorded)."""


_INVALID = _Invalid()
_ALIASES = {"line1": ("address", "street"), "text": ("consent", "consent_text")}
"""Short names a form may use for nested fields (``address.line1``, ``consent.text``)."""
_FORM_TRUE = frozenset({"true", "1", "on", "yes"})
_FORM_FALSE = frozenset({"false", "0", "off", "no"})


_SURROGATE = "contains a lone UTF-16 surrogate (e.g. \\ud800): not Unicode text"


def _surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (JSON's ``"\\ud800"``), which no UTF-8 encoder accepts."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _convert(t: AvroType, value: object, path: str, errors: dict[str, str], text: bool) -> object:
    """``value`` as the record wants it, or _INVALID with ``errors[path]`` set.

    ``text``: the value came from a form, where every scalar is text.
    """
    if isinstance(t, Nullable):
        return None if value is None else _convert(t.inner, value, path, errors, text)
    if value is None:
        errors[path] = "must not be null"
        return _INVALID
    if isinstance(t, Primitive):
        return _primitive(t.name, value, path, errors, text)
    if isinstance(t, Timestamp):
        if not isinstance(value, str):
            errors[path] = ("expected an ISO-8601 instant with an offset, e.g. 2026-11-24T17:00:00Z; "
                            f"got {_describe(value)}")
            return _INVALID
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            errors[path] = f"{value[:64]!r} is not an ISO-8601 instant, e.g. 2026-11-24T17:00:00Z"
            return _INVALID
        if instant.tzinfo is None or instant.utcoffset() is None:
            errors[path] = f"{value[:64]!r} needs a UTC offset, e.g. Z or -05:00"
            return _INVALID
        if not instant_in_range(instant):
            errors[path] = f"{value[:64]!r} falls outside years 1-9999 in UTC"
            return _INVALID
        return instant
    if isinstance(t, Enum):
        if not isinstance(value, str) or value not in t.symbols:
            errors[path] = f"expected one of {', '.join(t.symbols)}"
            return _INVALID
        return value
    if isinstance(t, Record):
        if not isinstance(value, dict):
            errors[path] = f"expected an object, got {_describe(value)}"
            return _INVALID
        return _record(t, value, path + ".", errors, text)
    if isinstance(t, MapOf):
        if not isinstance(value, dict):
            errors[path] = f"expected an object, got {_describe(value)}"
            return _INVALID
        bad_names = [k for k in value if _surrogate(k)]
        for k in bad_names:
            errors[f"{path}.{k.encode('utf-8', 'backslashreplace').decode()}"] = _SURROGATE
        out_map = {str(k): _convert(t.values, v, f"{path}.{k}", errors, text) for k, v in value.items()}
        return _INVALID if bad_names or any(v is _INVALID for v in out_map.values()) else out_map
    if not isinstance(value, list):
        errors[path] = f"expected an array, got {_describe(value)}"
        return _INVALID
    out_list = [_convert(t.items, v, f"{path}[{i}]", errors, text) for i, v in enumerate(value)]
    return _INVALID if any(v is _INVALID for v in out_list) else out_list


def _primitive(name: str, value: object, path: str, errors: dict[str, str], text: bool) -> object:
    if name == "string":
        if isinstance(value, str) and _surrogate(value):
            errors[path] = _SURROGATE
            return _INVALID
        if isinstance(value, str):
            return value
        errors[path] = f"expected text, got {_describe(value)}"
        return _INVALID
    if name == "boolean":
        if isinstance(value, bool):
            return value
        if text and isinstance(value, str) and value.lower() in _FORM_TRUE | _FORM_FALSE:
            return value.lower() in _FORM_TRUE
        errors[path] = f"expected true or false, got {_describe(value)}"
        return _INVALID
    if text and isinstance(value, str):
        try:
            return int(value) if name in ("int", "long") else float(value)
        except ValueError:
            errors[path] = f"expected a number, got {value[:64]!r}"
            return _INVALID
    if name in ("int", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        errors[path] = f"expected a whole number, got {_describe(value)}"
        return _INVALID
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    errors[path] = f"expected a number, got {_describe(value)}"
    return _INVALID


def _record(t: Record, value: Mapping[str, object], prefix: str, errors: dict[str, str], text: bool) -> object:
    out: dict[str, object] = {}
    ok = True
    for f in t.fields:
        path = prefix + f.name
        if f.name not in value:
            if f.has_default:
                # Copies: a default map or list must not be shared between records.
                default = f.default
                out[f.name] = dict(default) if isinstance(default, dict) else (
                    list(default) if isinstance(default, list) else default)
            else:
                errors[path] = "missing"
                out[f.name] = None
                ok = False
            continue
        if path in errors:  # already refused while reading the form: keep that reason
            ok = False
            out[f.name] = None
            continue
        converted = _convert(f.type, value[f.name], path, errors, text)
        if converted is _INVALID:
            ok = False
            converted = None
        out[f.name] = converted
    for name in value:
        if t.field(name) is None:
            errors[prefix + name] = "unknown field"
            ok = False
    # A partial record is kept (invalid fields None) so the worker's checks can still name the
    # other fields in the same answer; the caller discards it when there are errors.
    return out if ok or prefix == "" else _INVALID


# --- the mapping ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Mapped:
    """The outcome of mapping one request: ``record`` when ``errors`` is empty, else None."""

    record: dict[str, Any] | None
    errors: dict[str, str]
    key: str | None = None
    """The record's number in E.164: its Kafka key, so the number's writer decides it without a hop."""


class EventMapper:
    """Maps request bodies for one input topic (``kind``) to records of its schema."""

    def __init__(self, kind: str, schema: Mapping[str, Any], *, default_region: str) -> None:
        if kind not in topics.INPUT_TOPICS:
            raise ValueError(f"{kind!r} is not an input topic")
        self.kind = kind
        self.schema = compile_schema(schema)
        self.default_region = default_region
        names = {f.name for f in self.schema.fields}
        generated = {"event_id", "occurred_at", "source"} & names
        if kind == topics.LEAD_CAPTURED:
            generated.add("lead_id")
        self.generated: frozenset[str] = frozenset(generated)
        """Fields the gateway fills when the caller leaves them out."""
        self.required: tuple[str, ...] = tuple(
            f.name for f in self.schema.fields if not f.has_default and f.name not in self.generated)
        """Fields a caller must send."""
        attributes = self.schema.field("attributes")
        self._form_extras = attributes is not None and isinstance(attributes.type, MapOf)

    def from_json(self, body: object, *, source: str, now: datetime, new_id: Callable[[], str]) -> Mapped:
        """Map a decoded JSON body. ``source`` is the API key's source; ``new_id`` makes event/lead ids."""
        if not isinstance(body, dict):
            return Mapped(None, {BODY: f"expected a JSON object, got {_describe(body)}"})
        return self._map(body, {}, text=False, source=source, now=now, new_id=new_id)

    def from_form(self, pairs: Iterable[tuple[str, str]], *, source: str, now: datetime,
                  new_id: Callable[[], str]) -> Mapped:
        """Map ``application/x-www-form-urlencoded`` name/value pairs (see the module docstring)."""
        body: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, value in pairs:
            if value == "":  # blank optional input
                continue
            head, dot, rest = name.partition(".")
            f = self.schema.field(head)
            parent: str | None
            if f is not None and dot and _is_object(f.type):
                parent, key = head, rest
            elif f is not None and not dot:
                parent, key = None, name
            elif self._form_extras:
                parent, key = "attributes", name
            else:
                errors[name] = "unknown field"
                continue
            target = body if parent is None else body.setdefault(parent, {})
            if not isinstance(target, dict):  # e.g. attributes=x, then a field that belongs in attributes
                errors[parent or name] = "given both as a value and as a group of fields"
                continue
            if key in target:
                errors[name] = "given more than once"
                continue
            target[key] = value
        return self._map(body, errors, text=True, source=source, now=now, new_id=new_id)

    def _map(self, body: dict[str, Any], errors: dict[str, str], *, text: bool, source: str, now: datetime,
             new_id: Callable[[], str]) -> Mapped:
        body = dict(body)
        for alias, (parent, canonical) in _ALIASES.items():
            nested = body.get(parent)
            if isinstance(nested, dict) and alias in nested and canonical not in nested:
                nested = dict(nested)
                nested[canonical] = nested.pop(alias)
                body[parent] = nested
        for name in ("event_id", "lead_id"):
            if name in self.generated and body.get(name) is None:
                body[name] = new_id()
        if "occurred_at" in self.generated and body.get("occurred_at") is None:
            body["occurred_at"] = now.isoformat()
        if "source" in self.generated:
            given = body.get("source")
            if given is None:
                body["source"] = source
            elif self.kind == topics.LEAD_CAPTURED and given != source:
                # A lead's source is who sent it: the API key says so, not the body.
                errors["source"] = f"must be this API key's source {source!r} or left out"
        # The top level always yields its record (partial when fields are bad), never _INVALID.
        record = cast(dict[str, Any], _record(self.schema, body, "", errors, text))
        for problem in validate_input(self.kind, record, now):
            name, _, why = problem.partition(": ")
            if name not in errors:
                errors[name] = why
        for name, why in field_problems(self.kind, record):
            errors.setdefault(name, why)
        if self.kind == topics.OPT_OUT and record.get("category") == "TEMPORARY":
            expires_at = record.get("expires_at")
            if isinstance(expires_at, datetime) and expires_at <= now:
                # Accepted means applied: an opt-out that ended already would block nothing.
                errors.setdefault("expires_at",
                                  f"{expires_at.isoformat()} has passed: this opt-out would block nothing")
        phone, country = record.get("phone"), record.get("country")
        key = None
        if "phone" not in errors and isinstance(phone, str) and (country is None or isinstance(country, str)):
            normalized = normalize_phone(phone, country, self.default_region)
            if isinstance(normalized, PhoneError):
                errors["phone"] = f"{normalized.code}: {normalized.detail}"
            else:
                key = normalized["phone_e164"]
        return Mapped(None, errors) if errors else Mapped(record, {}, key)


def _is_object(t: AvroType) -> bool:
    inner = t.inner if isinstance(t, Nullable) else t
    return isinstance(inner, Record | MapOf)
