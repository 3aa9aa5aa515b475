"""The OpenAPI document stays true: every route is in it and nothing else, it is what the gateway
serves, and its request schemas agree with what the request mapping accepts and refuses."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import pytest
from aiohttp import web
from gateway_harness import serve_gateway

from pipeline.broker import free_port
from pipeline.codec import SchemaStore
from pipeline.config import Settings
from pipeline.gateway.openapi import EXAMPLES, FORM_EXAMPLE, build_document
from pipeline.gateway.request import EventMapper
from pipeline.gateway.server import create_app, mappers_for, producer_for
from pipeline.http_auth import KeyRing, parse_api_keys
from pipeline.topics import LEAD_CAPTURED

SETTINGS = Settings().with_bootstrap("127.0.0.1:9")  # never contacted: the producer is not started
MAPPERS = mappers_for(SETTINGS, SchemaStore())
DOCUMENT = build_document(MAPPERS, max_body_bytes=SETTINGS.gateway_max_body_bytes)
NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
_ids = itertools.count()


def accepts(mapper: EventMapper, body: object) -> bool:
    return not mapper.from_json(body, source="webform-main", now=NOW, new_id=lambda: f"id-{next(_ids)}").errors


def body_schema(path: str, content_type: str = "application/json") -> dict[str, Any]:
    schema: dict[str, Any] = DOCUMENT["paths"][path]["post"]["requestBody"]["content"][content_type]["schema"]
    return schema


def documented(body: object, schema: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(body)


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    producer = producer_for(SETTINGS)
    app = create_app(SETTINGS, producer, codec=None,  # type: ignore[arg-type]  # no request is served
                     keys=KeyRing(parse_api_keys({"keys": [{"key_id": "k", "source": "s", "key": "k" * 16}]})))
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD" and isinstance(r.resource, web.Resource)}
    in_document = {(method, path) for path, item in DOCUMENT["paths"].items() for method in item}
    assert routes == in_document


async def test_the_served_document_is_the_built_one() -> None:
    settings = Settings().with_bootstrap(f"127.0.0.1:{free_port()}")
    async with serve_gateway(settings, wait_ready=False) as gateway:
        resp = await gateway.get("/openapi.json")
        assert resp.status == 200
        built = build_document(mappers_for(settings), max_body_bytes=settings.gateway_max_body_bytes)
        assert await resp.json() == built


@pytest.mark.parametrize("path", list(MAPPERS))
def test_request_schemas_match_the_mapping(path: str) -> None:
    mapper = MAPPERS[path]
    schema = body_schema(path)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(schema["properties"]) == [f.name for f in mapper.schema.fields]
    assert schema.get("required", []) == list(mapper.required)
    example = EXAMPLES[mapper.kind]
    assert documented(example, schema) and accepts(mapper, example)
    # Each way of breaking the example is refused by both the document and the gateway.
    broken: list[object] = [[], {**example, "not_a_field": "x"}]
    for name in mapper.required:
        broken.append({k: v for k, v in example.items() if k != name})
    for f in mapper.schema.fields:
        wrong = copy.deepcopy(example)
        wrong[f.name] = 12345 if f.name != "occurred_at" else ["not", "a", "time"]
        broken.append(wrong)
    for body in broken:
        assert not documented(body, schema), body
        assert not accepts(mapper, body), body


def test_the_form_example_is_accepted_and_documented() -> None:
    mapper = MAPPERS["/v1/leads"]
    assert mapper.kind == LEAD_CAPTURED
    pairs = parse_qsl(FORM_EXAMPLE, keep_blank_values=True)
    mapped = mapper.from_form(pairs, source="webform-main", now=NOW, new_id=lambda: "id")
    assert mapped.errors == {}
    assert mapped.record is not None and mapped.record["attributes"] == {"timeline": "this_month"}
    form = body_schema("/v1/leads", "application/x-www-form-urlencoded")
    assert documented(dict(pairs), form)
    assert form["required"] == list(mapper.required)
    assert set(name.split(".")[0] for name in form["properties"]) == {f.name for f in mapper.schema.fields}


def test_every_post_documents_the_answers_it_gives() -> None:
    for path in MAPPERS:
        answers = DOCUMENT["paths"][path]["post"]["responses"]
        assert set(answers) == {"202", "401", "403", "413", "415", "422", "503"}
