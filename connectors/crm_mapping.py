"""Field mapping from a ``qualified-lead`` record to a CRM's request body: configuration, not code.

A mapping is JSON::

    {
      "name": "hubspot",
      "envelope": "properties",          # optional: the body is {"properties": {...mapped fields...}}
      "static": {"objectType": "lead"},  # optional: fixed top-level members next to the envelope
      "fields": {
        "phone": "phone_e164",                                  # a source path
        "firstname": ["contact_first_name", "first_name"],      # the first one present wins
        "company": {"source": "answers.company", "default": "[not provided]"},
        "lead_source": {"const": "leadpipe"},
        "stage": {"source": "lead_status", "values": {"QUALIFIED": "sql", "NURTURE": "nurture"}, "default": "sql"},
        "description": {"template": "{outcome} by {agent_id}: {notes}"},
        "leadpipe_answers": {"source": "answers", "format": "json"}
      }
    }

A mapping may also say how to make the CRM **forget** a number (an erasure, ``opt-out`` with
``action: ERASE``)::

    "forget": {"method": "POST", "url": "{crm_url}/gdpr-delete",
               "body": {"idProperty": "leadpipe_phone_e164", "objectId": "{phone_e164}"}}

``method`` is POST or DELETE; ``url`` and the text values of ``body`` (optional) are templates of
``{crm_url}`` (``LEADPIPE_CRM_URL`` without a trailing slash), ``{phone_e164}`` (percent-encoded in
the URL) and ``{event_id}`` (the erasure's). Each preset's call imitates its vendor's endpoint.

A source path is a record field, dotted into maps and nested records (``answers.company``,
``qualification.budget``). A missing source (absent field, null, empty string, empty map or list)
leaves the target out unless it has a ``default``: the same mapping works on every version of the
record, older ones included. Formats: ``auto`` (default: times become ISO-8601 text, maps and lists
stay JSON structures), ``text``, ``json`` (the value as JSON text), ``epoch_ms``, ``date``
(``YYYY-MM-DD``). A template's placeholders are source paths; a missing one renders empty.
``values`` translates a source's value into the CRM's vocabulary (a value it does not list counts as
missing): a NURTURE lead is not a sales-qualified one in any CRM.

Pure: :func:`load_mapping` checks a mapping and raises :class:`MappingError` naming the problem;
:func:`map_record` never raises on a record's content.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pipeline.config import CRM_PRESETS
from pipeline.errors import ConfigError

Format = Literal["auto", "text", "json", "epoch_ms", "date"]
FORMATS: tuple[Format, ...] = ("auto", "text", "json", "epoch_ms", "date")
PRESETS = CRM_PRESETS
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class MappingError(ConfigError):
    """A mapping file is not a valid mapping; the message names the field."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one target field gets its value."""

    target: str
    sources: tuple[str, ...] = ()
    const: object = None
    template: str | None = None
    default: object = None
    format: Format = "auto"
    values: Mapping[str, object] | None = None
    """Source value (as text) → target value; None: the value as it is."""


@dataclass(frozen=True, slots=True)
class ForgetCall:
    """How to make the CRM forget one number (see the module docstring)."""

    method: Literal["POST", "DELETE"]
    url: str
    body: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class ForgetRequest:
    """One forget call, ready to send."""

    method: str
    url: str
    body: dict[str, object] | None


@dataclass(frozen=True, slots=True)
class CrmMapping:
    """A checked mapping: build with :func:`parse_mapping` or :func:`load_mapping`."""

    name: str
    fields: tuple[FieldRule, ...]
    envelope: str | None = None
    static: Mapping[str, object] | None = None
    forget: ForgetCall | None = None
    """How to forget a number; None: this mapping cannot pass erasures on (they are dead-lettered)."""



def _sources(target: str, raw: object) -> tuple[str, ...]:
    paths = [raw] if isinstance(raw, str) else raw
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise MappingError(f"fields.{target}.source: expected a path or a non-empty list of paths")
    for path in paths:
        if not _PATH.fullmatch(path):
            raise MappingError(f"fields.{target}.source: {path!r} is not a dotted field path")
    return tuple(paths)


def _rule(target: str, spec: object) -> FieldRule:
    if isinstance(spec, str | list):
        return FieldRule(target, sources=_sources(target, spec))
    if not isinstance(spec, dict):
        raise MappingError(f"fields.{target}: expected a source path or an object")
    unknown = set(spec) - {"source", "const", "template", "default", "format", "values"}
    if unknown:
        raise MappingError(f"fields.{target}: unknown keys {sorted(unknown)}")
    kinds = [k for k in ("source", "const", "template") if k in spec]
    if len(kinds) != 1:
        raise MappingError(f"fields.{target}: give exactly one of source, const or template")
    fmt = spec.get("format", "auto")
    if fmt not in FORMATS:
        raise MappingError(f"fields.{target}.format: {fmt!r} is not one of {', '.join(FORMATS)}")
    values = spec.get("values")
    if values is not None and (not isinstance(values, dict) or not values or "source" not in spec):
        raise MappingError(f"fields.{target}.values: expected a non-empty object of source value -> target value, "
                           "with a source")
    template = spec.get("template")
    if template is not None:
        if not isinstance(template, str):
            raise MappingError(f"fields.{target}.template: expected text")
        for name in _PLACEHOLDER.findall(template):
            if not _PATH.fullmatch(name):
                raise MappingError(f"fields.{target}.template: {{{name}}} is not a dotted field path")
    return FieldRule(
        target,
        sources=_sources(target, spec["source"]) if "source" in spec else (),
        const=spec.get("const"),
        template=template,
        default=spec.get("default"),
        format=fmt,
        values=values,
    )


_FORGET_PLACEHOLDERS = frozenset({"crm_url", "phone_e164", "event_id"})


def _template_problem(text: str) -> str | None:
    names = set(_PLACEHOLDER.findall(text)) - _FORGET_PLACEHOLDERS
    return f"unknown placeholders {sorted(names)}; known: {sorted(_FORGET_PLACEHOLDERS)}" if names else None


def _forget(spec: object) -> ForgetCall:
    if not isinstance(spec, dict):
        raise MappingError("forget: expected an object {method, url, body}")
    unknown = set(spec) - {"method", "url", "body", "doc"}
    if unknown:
        raise MappingError(f"forget: unknown keys {sorted(unknown)}")
    method = spec.get("method")
    if method not in ("POST", "DELETE"):
        raise MappingError(f"forget.method: expected POST or DELETE, got {method!r}")
    url = spec.get("url")
    if not isinstance(url, str) or not url.startswith("{crm_url}") or (problem := _template_problem(url)):
        raise MappingError("forget.url: expected a template starting with {crm_url}" +
                           ("" if not isinstance(url, str) or not url.startswith("{crm_url}") else f": {problem}"))
    body = spec.get("body")
    if body is not None:
        if not isinstance(body, dict):
            raise MappingError("forget.body: expected an object or null")
        for name, value in body.items():
            if isinstance(value, str) and (problem := _template_problem(value)):
                raise MappingError(f"forget.body.{name}: {problem}")
    return ForgetCall(method, url, body)


def forget_request(call: ForgetCall, *, crm_url: str, phone_e164: str, event_id: str) -> ForgetRequest:
    """The request that makes the CRM forget ``phone_e164`` (``event_id``: the erasure's)."""
    def fill(template: str, quote_values: bool) -> str:
        values = {"crm_url": crm_url.rstrip("/"), "phone_e164": phone_e164, "event_id": event_id}
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) == "crm_url" or not quote_values
                                else urllib.parse.quote(values[m.group(1)], safe=""), template)

    body = ({name: fill(value, False) if isinstance(value, str) else value for name, value in call.body.items()}
            if call.body is not None else None)
    return ForgetRequest(call.method, fill(call.url, True), body)


def parse_mapping(data: object, *, where: str = "mapping") -> CrmMapping:
    """Check a decoded mapping document; raise :class:`MappingError` naming ``where`` and the field."""
    try:
        if not isinstance(data, dict):
            raise MappingError("expected a JSON object")
        unknown = set(data) - {"name", "doc", "envelope", "static", "fields", "forget"}
        if unknown:
            raise MappingError(f"unknown keys {sorted(unknown)}")
        fields = data.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise MappingError("fields: expected a non-empty object of target field -> rule")
        envelope = data.get("envelope")
        if envelope is not None and not (isinstance(envelope, str) and envelope):
            raise MappingError("envelope: expected a member name or null")
        static = data.get("static")
        if static is not None and not isinstance(static, dict):
            raise MappingError("static: expected an object")
        name = data.get("name", "custom")
        if not isinstance(name, str):
            raise MappingError("name: expected text")
        forget = _forget(data["forget"]) if data.get("forget") is not None else None
        return CrmMapping(name, tuple(_rule(str(t), s) for t, s in fields.items()), envelope, static, forget)
    except MappingError as exc:
        raise MappingError(f"{where}: {exc}") from None


def load_mapping(preset: str = "generic", path: Path | None = None) -> CrmMapping:
    """The mapping in ``path`` when given, else the packaged preset named ``preset``."""
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MappingError(f"{path}: {exc}") from exc
        return parse_mapping(data, where=str(path))
    if preset not in PRESETS:
        raise MappingError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    text = resources.files("connectors").joinpath("presets", f"{preset}.json").read_text(encoding="utf-8")
    return parse_mapping(json.loads(text), where=f"preset {preset}")


# --- applying ------------------------------------------------------------------------------------


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str | Sequence | Mapping) and not isinstance(value, bytes)
                             and len(value) == 0)


def lookup(record: Mapping[str, Any], path: str) -> object:
    """The value at dotted ``path`` in ``record``, or None when any step is absent."""
    value: object = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
        if value is None:
            return None
    return value


def jsonable(value: object) -> object:
    """``value`` with times as ISO-8601 text and bytes as hex, so ``json.dumps`` accepts it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _format(value: object, fmt: Format) -> object:
    if fmt == "auto":
        return jsonable(value)
    if fmt == "json":
        return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False)
    if fmt == "epoch_ms":
        if isinstance(value, datetime):
            return int(value.timestamp() * 1000)
        return jsonable(value)
    if fmt == "date":
        if isinstance(value, datetime | date):
            return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
        return jsonable(value)
    # text
    converted = jsonable(value)
    if isinstance(converted, dict | list):
        return json.dumps(converted, sort_keys=True, ensure_ascii=False)
    return "" if converted is None else str(converted)


def _render(template: str, record: Mapping[str, Any]) -> str:
    """``template`` with each ``{path}`` replaced by the value's text; a missing one renders empty."""

    def one(match: re.Match[str]) -> str:
        value = lookup(record, match.group(1))
        return "" if _missing(value) else str(_format(value, "text"))

    return _PLACEHOLDER.sub(one, template)


def _value(rule: FieldRule, record: Mapping[str, Any]) -> object:
    if rule.template is not None:
        rendered = _render(rule.template, record).strip()
        return rendered or None
    if rule.sources:
        for path in rule.sources:
            value = lookup(record, path)
            if not _missing(value):
                return value if rule.values is None else rule.values.get(str(value))
        return None
    return rule.const


def map_record(mapping: CrmMapping, record: Mapping[str, Any]) -> dict[str, object]:
    """The CRM request body for ``record``: every rule whose source is present (or has a default)."""
    fields: dict[str, object] = {}
    for rule in mapping.fields:
        value = _value(rule, record)
        if _missing(value):
            if rule.default is None:
                continue
            value = rule.default
        fields[rule.target] = _format(value, rule.format)
    body: dict[str, object] = {str(k): jsonable(v) for k, v in (mapping.static or {}).items()}
    if mapping.envelope is not None:
        body[mapping.envelope] = fields
    else:
        body.update(fields)
    return body
