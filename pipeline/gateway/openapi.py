"""The gateway's OpenAPI 3.1 document, served at ``GET /openapi.json``.

Request bodies are derived from the same compiled Avro schemas the request mapping uses
(:class:`pipeline.gateway.request.EventMapper`), so the document cannot drift from what the gateway
accepts; ``tests/gateway/test_gateway_openapi.py`` checks the routes, the required fields and that
every example is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline import topics
from pipeline.gateway.request import (
    ArrayOf,
    AvroType,
    Enum,
    EventMapper,
    MapOf,
    Nullable,
    Primitive,
    Record,
    Timestamp,
)
from pipeline.http_auth import KEY_HEADER, SIGNATURE_HEADER

HEALTH_PATH = "/healthz"
OPENAPI_PATH = "/openapi.json"
METRICS_PATH = "/metrics"

EXAMPLES: dict[str, dict[str, Any]] = {
    topics.LEAD_CAPTURED: {
        "phone": "(305) 209-4411", "country": "US", "campaign_id": "solar-q4",
        "first_name": "Ana", "last_name": "Diaz", "email": "ana@example.com",
        "address": {"street": "1 Ocean Dr", "city": "Miami", "region": "FL", "postal_code": "33139", "country": "US"},
        "consent": {"purpose": "marketing", "channel": "ANY", "granted_at": "2026-11-24T16:58:00Z",
                    "form_url": "https://example.com/quote", "consent_text": "I agree to be called about solar.",
                    "certificate_id": None, "ip": "203.0.113.9", "expires_at": None},
        "attributes": {"timeline": "this_month", "budget": "15000"},
    },
    topics.OPT_OUT: {"phone": "+13052094411", "action": "ADD", "scope": "ALL_CHANNELS", "category": "PERMANENT",
                     "reason": "asked on the phone", "evidence": "recording-8812"},
    topics.CONSENT_CHANGED: {"phone": "+13052094411", "action": "REVOKE", "purpose": "*", "channel": "ANY"},
    topics.CALL_OUTCOME: {"lead_id": "L-1001", "phone": "+13052094411", "campaign_id": "solar-q4",
                          "outcome": "CALLBACK_REQUESTED", "agent_id": "agent-7",
                          "callback_at": "2026-11-25T15:00:00-05:00", "answers": {}, "tags": []},
}
"""One request body per input topic; each is accepted by the gateway (a test proves it)."""

FORM_EXAMPLE = ("phone=%28305%29+209-4411&country=US&campaign_id=solar-q4&first_name=Ana&address.region=FL"
                "&consent.purpose=marketing&consent.channel=ANY&consent.granted_at=2026-11-24T16%3A58%3A00Z"
                "&consent.consent_text=I+agree+to+be+called.&timeline=this_month")
"""A form-encoded lead: dotted nested names; ``timeline`` is not a field, so it lands in ``attributes``."""

_SUMMARIES = {
    topics.LEAD_CAPTURED: "Capture a lead (web form or vendor)",
    topics.OPT_OUT: "Record an opt-out (or its removal, or an erasure request)",
    topics.CONSENT_CHANGED: "Record a consent grant or revocation",
    topics.CALL_OUTCOME: "Report the outcome of a call attempt",
}


def json_schema(t: AvroType) -> dict[str, Any]:
    """JSON Schema of the JSON form the gateway accepts for Avro type ``t``."""
    if isinstance(t, Nullable):
        return {"anyOf": [json_schema(t.inner), {"type": "null"}]}
    if isinstance(t, Primitive):
        kind = {"string": "string", "boolean": "boolean", "int": "integer", "long": "integer"}.get(t.name, "number")
        return {"type": kind}
    if isinstance(t, Timestamp):
        return {"type": "string", "format": "date-time", "description": "ISO-8601 with a UTC offset"}
    if isinstance(t, Enum):
        return {"type": "string", "enum": list(t.symbols)}
    if isinstance(t, MapOf):
        return {"type": "object", "additionalProperties": json_schema(t.values)}
    if isinstance(t, ArrayOf):
        return {"type": "array", "items": json_schema(t.items)}
    return record_schema(t, frozenset())


def record_schema(t: Record, generated: frozenset[str]) -> dict[str, Any]:
    """JSON Schema of a record; ``generated`` fields are optional (the gateway fills them)."""
    properties: dict[str, Any] = {}
    for f in t.fields:
        schema = json_schema(f.type)
        if f.doc:
            schema = {**schema, "description": f.doc}
        if f.name in generated:
            schema = {**schema, "description": (schema.get("description", "") + " Filled by the gateway when "
                                                "absent (ids: a UUID; occurred_at: now; source: the API key's).")
                      .strip()}
        properties[f.name] = schema
    required = [f.name for f in t.fields if not f.has_default and f.name not in generated]
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    if t.doc:
        out["description"] = t.doc
    return out


def form_schema(mapper: EventMapper) -> dict[str, Any]:
    """The flat, dotted form-encoded shape of ``mapper``'s records (all values are text)."""
    properties: dict[str, Any] = {}
    for f in mapper.schema.fields:
        inner = f.type.inner if isinstance(f.type, Nullable) else f.type
        if isinstance(inner, Record):
            for sub in inner.fields:
                properties[f"{f.name}.{sub.name}"] = {"type": "string"}
        elif isinstance(inner, MapOf):
            properties[f"{f.name}.{{name}}"] = {"type": "string"}
        else:
            properties[f.name] = {"type": "string"}
    return {
        "type": "object", "properties": properties, "required": list(mapper.required),
        "additionalProperties": {"type": "string", "description": "any other field goes into attributes"},
    }


def _error(description: str, example: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}, "example": example}}}


def build_document(mappers: Mapping[str, EventMapper], *, max_body_bytes: int) -> dict[str, Any]:
    """The OpenAPI document for the POST routes in ``mappers`` (route path → mapper) plus the GETs."""
    paths: dict[str, Any] = {}
    for path, mapper in mappers.items():
        kind = mapper.kind
        content: dict[str, Any] = {"application/json": {
            "schema": record_schema(mapper.schema, mapper.generated), "example": EXAMPLES[kind]}}
        if kind == topics.LEAD_CAPTURED:
            content["application/x-www-form-urlencoded"] = {"schema": form_schema(mapper), "example": FORM_EXAMPLE}
        accepted: dict[str, Any] = {"event_id": {"type": "string"}, "topic": {"type": "string", "enum": [kind]}}
        if kind == topics.LEAD_CAPTURED:
            accepted["lead_id"] = {"type": "string"}
        paths[path] = {"post": {
            "summary": _SUMMARIES[kind],
            "operationId": "post_" + kind.replace("-", "_"),
            "description": (f"Writes one `{kind}` record (Avro, schema `schemas/{kind}.avsc`) keyed by the phone "
                            "as given, and answers 202 only after the broker acknowledged it. A 503 means it "
                            "was not acknowledged: retry with the same `event_id` (the worker deduplicates)."),
            "security": [{"apiKey": []}],
            "parameters": [{"name": SIGNATURE_HEADER, "in": "header", "required": False,
                            "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
                            "description": "HMAC-SHA256 of the raw body; required for keys with an hmac_secret"}],
            "requestBody": {"required": True, "content": content},
            "responses": {
                "202": {"description": "acknowledged by the broker", "content": {"application/json": {"schema": {
                    "type": "object", "properties": accepted, "required": list(accepted)}}}},
                "401": _error("missing or wrong API key or signature; nothing written", {"error": "unknown API key"}),
                "403": _error("an API key without the write scope; nothing written",
                              {"error": "API key 'ops' may not write (its scopes: read)"}),
                "413": _error(f"body over {max_body_bytes} bytes", {"error": "body too large"}),
                "415": _error("another content type", {"error": "unsupported content type"}),
                "422": _error("invalid fields, each named", {"error": "invalid request",
                                                             "fields": {"phone": "missing"}}),
                "503": _error("the broker did not acknowledge the write", {"error": "broker unavailable",
                                                                            "detail": "all brokers down"}),
            },
        }}
    paths[HEALTH_PATH] = {"get": {
        "summary": "Readiness: the producer reached the broker and the input topics exist",
        "operationId": "get_health",
        "responses": {
            "200": {"description": "ready", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Health"}}}},
            "503": {"description": "not ready", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Health"}}}},
        },
    }}
    paths[METRICS_PATH] = {"get": {
        "summary": "Prometheus metrics: answers by route and status, readiness", "operationId": "get_metrics",
        "security": [{"apiKey": []}, {"bearer": []}],
        "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}},
                      "401": _error("no or an unknown API key", {"error": "unknown API key"}),
                      "403": _error("an API key without the read scope",
                                    {"error": "API key 'webform-main' may not read (its scopes: write)"})},
    }}
    paths[OPENAPI_PATH] = {"get": {
        "summary": "This document", "operationId": "get_openapi",
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
    }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "leadpipe ingest gateway", "version": "1",
                 "description": "Leads, opt-outs, consent changes and call outcomes in; acknowledged Avro records "
                                "on the input topics out. See docs/gateway.md."},
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER},
                                "bearer": {"type": "http", "scheme": "bearer",
                                           "description": "the same API key as Authorization: Bearer <key>"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "string"}, "detail": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "field path (dotted) → why it was refused"}}},
                "Health": {"type": "object", "required": ["ready", "status"], "properties": {
                    "ready": {"type": "boolean"}, "status": {"type": "string", "enum": ["ok", "starting"]},
                    "detail": {"type": ["string", "null"],
                               "description": "why it is not ready; only for a request with a read key"}}},
            },
        },
    }
