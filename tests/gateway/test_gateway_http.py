"""The gateway over HTTP against the real embedded broker: what it answers and what it writes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from broker_kinds import BrokerFactory
from gateway_harness import HMAC_SECRET, PLAIN_KEY, READ_KEY, SIGNED_KEY, Site, serve_gateway

from pipeline.admin import ensure_topics
from pipeline.broker import free_port
from pipeline.codec import SINGLE_OBJECT_MAGIC
from pipeline.config import Settings
from pipeline.http_auth import sign
from pipeline.topics import CALL_OUTCOME, CONSENT_CHANGED, LEAD_CAPTURED, OPT_OUT

# The fixtures (site, gateway, keys_file, fresh_phone); not a conftest.py: see gateway_harness.
pytest_plugins = ["gateway_harness"]
pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
AUTH = {"X-API-Key": PLAIN_KEY}


def lead_body(phone: str, **extra: Any) -> dict[str, Any]:
    return {"phone": phone, "country": "US", "campaign_id": "solar-q4", "first_name": "Ana",
            "consent": {"purpose": "marketing", "channel": "ANY", "granted_at": "2026-11-24T16:58:00Z"},
            "attributes": {"timeline": "this_month"}, **extra}


async def test_a_json_lead_is_acknowledged_and_reads_back_as_avro(gateway: Client, site: Site,
                                                                  fresh_phone: Callable[[], str]) -> None:
    phone = fresh_phone()
    resp = await gateway.post("/v1/leads", json=lead_body(phone, lead_id="L-gw-1"), headers=AUTH)
    assert resp.status == 202
    answer = await resp.json()
    assert answer["topic"] == LEAD_CAPTURED and answer["lead_id"] == "L-gw-1"
    received = site.wait_event(LEAD_CAPTURED, answer["event_id"])
    assert received.value is not None and received.value[:2] == SINGLE_OBJECT_MAGIC  # real Avro bytes
    assert received.key == phone.encode()
    assert received.record is not None
    assert received.record["source"] == "webform-main" and received.record["lead_id"] == "L-gw-1"
    assert received.record["consent"]["purpose"] == "marketing"


async def test_a_form_encoded_lead(gateway: Client, site: Site, fresh_phone: Callable[[], str]) -> None:
    phone = fresh_phone()
    form = {"phone": phone, "campaign_id": "solar-q4", "address.region": "FL", "consent.purpose": "marketing",
            "consent.channel": "VOICE", "consent.granted_at": "2026-11-24T16:58:00Z", "timeline": "this_month",
            "email": ""}
    resp = await gateway.post("/v1/leads", data=form, headers=AUTH)
    assert resp.status == 202, await resp.text()
    record = site.wait_event(LEAD_CAPTURED, (await resp.json())["event_id"]).record
    assert record is not None
    assert record["address"]["region"] == "FL" and record["email"] is None
    assert record["attributes"] == {"timeline": "this_month"}


@pytest.mark.parametrize(("path", "topic", "body"), [
    ("/v1/opt-outs", OPT_OUT, {"category": "TEMPORARY", "expires_at": "2036-12-24T00:00:00Z",
                               "reason": "not now"}),
    ("/v1/consents", CONSENT_CHANGED, {"action": "REVOKE", "channel": "SMS", "channel_specific": True}),
    ("/v1/call-outcomes", CALL_OUTCOME, {"lead_id": "L-9", "campaign_id": "solar-q4", "outcome": "DO_NOT_CALL",
                                         "tags": ["angry"], "event_id": "given-id-1"}),
    # who was reached: top-level fields (they used to get a 422 and hid in answers)
    ("/v1/call-outcomes", CALL_OUTCOME, {"lead_id": "L-10", "campaign_id": "solar-q4", "outcome": "QUALIFIED",
                                         "contact_name": "Ana Silva", "contact_role": "owner", "title": "CFO",
                                         "best_time_to_call": "weekday mornings",
                                         "callback_notes": "send the proposal first"}),
])
async def test_the_other_inputs(gateway: Client, site: Site, fresh_phone: Callable[[], str], path: str, topic: str,
                                body: dict[str, Any]) -> None:
    phone = fresh_phone()
    resp = await gateway.post(path, json={"phone": phone, **body}, headers=AUTH)
    assert resp.status == 202, await resp.text()
    answer = await resp.json()
    assert answer["topic"] == topic and "lead_id" not in answer
    record = site.wait_event(topic, answer["event_id"]).record
    assert record is not None and record["phone"] == phone
    for name, value in body.items():
        if name not in ("expires_at",):
            assert record[name] == value


async def test_unauthenticated_and_invalid_requests_write_nothing(gateway: Client, site: Site,
                                                                  fresh_phone: Callable[[], str]) -> None:
    phone = fresh_phone()
    body = json.dumps(lead_body(phone)).encode()
    refused = [
        await gateway.post("/v1/leads", data=body, headers={"Content-Type": "application/json"}),
        await gateway.post("/v1/leads", data=body, headers={"Content-Type": "application/json", "X-API-Key": "nope"}),
        await gateway.post("/v1/leads", data=body, headers={"Content-Type": "application/json",
                                                            "X-API-Key": SIGNED_KEY}),  # unsigned
        await gateway.post("/v1/leads", data=body, headers={"Content-Type": "application/json", "X-API-Key": SIGNED_KEY,
                                                            "X-Leadpipe-Signature": sign("wrong", body)}),
    ]
    assert [r.status for r in refused] == [401, 401, 401, 401]
    assert [(await r.json())["error"] for r in refused] == [
        "missing X-API-Key header", "unknown API key",
        "missing X-Leadpipe-Signature header: this key signs its requests",
        "X-Leadpipe-Signature does not match the body (expected sha256=<hex HMAC-SHA256>)"]
    invalid = await gateway.post("/v1/leads", json=lead_body(phone, campaign_id=" ", email=3), headers=AUTH)
    assert invalid.status == 422
    # A signed request that passes, same number: same key, same partition, written after the refused ones.
    ok = await gateway.post("/v1/leads", data=body, headers={
        "Content-Type": "application/json", "X-API-Key": SIGNED_KEY, "X-Leadpipe-Signature": sign(HMAC_SECRET, body)})
    assert ok.status == 202
    written = site.wait_event(LEAD_CAPTURED, (await ok.json())["event_id"])
    assert written.record is not None and written.record["source"] == "vendor-x"
    # The accepted record is the marker: anything the refused requests had written would sit before it
    # on the same partition (same number, same key), so it would have been read already.
    assert [r.record["event_id"] for r in site.records(LEAD_CAPTURED, phone) if r.record] == [
        written.record["event_id"]]


async def test_422_names_each_bad_field(gateway: Client) -> None:
    resp = await gateway.post("/v1/leads", headers=AUTH, json={
        "campaign_id": "", "occurred_at": "2026-11-24 12:00", "consent": {"channel": "FAX"}, "shoe_size": 44})
    assert resp.status == 422
    assert await resp.json() == {"error": "invalid request", "fields": {
        "phone": "missing",
        "campaign_id": "empty or whitespace only",
        "occurred_at": "'2026-11-24 12:00' needs a UTC offset, e.g. Z or -05:00",
        "consent.purpose": "missing",
        "consent.channel": "expected one of ANY, VOICE, AUTODIALED_VOICE, SMS",
        "consent.granted_at": "missing",
        "shoe_size": "unknown field",
    }}
    bad_json = await gateway.post("/v1/opt-outs", data=b'{"phone": ',
                                  headers={**AUTH, "Content-Type": "application/json"})
    assert bad_json.status == 422
    assert list((await bad_json.json())["fields"]) == ["body"]
    metrics = await (await gateway.get("/metrics", headers={"X-API-Key": READ_KEY})).text()
    assert 'leadpipe_gateway_requests_total{route="/v1/leads",status="422"} 1' in metrics
    assert 'leadpipe_gateway_requests_total{route="/v1/opt-outs",status="422"} 1' in metrics
    assert "leadpipe_gateway_ready 1" in metrics
    deep = await gateway.post("/v1/leads", data=b"[" * 20_000 + b"]" * 20_000,
                              headers={**AUTH, "Content-Type": "application/json"})
    assert deep.status == 422
    assert await deep.json() == {"error": "invalid request", "fields": {"body": "JSON nested too deeply"}}


async def test_lone_surrogates_out_of_range_instants_and_long_fields_are_422_naming_the_field(
        gateway: Client) -> None:
    raw = b'{"phone": "+13052094411", "campaign_id": "solar-q4", "first_name": "\\ud800"}'
    resp = await gateway.post("/v1/leads", data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 422
    assert list((await resp.json())["fields"]) == ["first_name"]
    resp = await gateway.post("/v1/opt-outs", headers=AUTH, json={
        "phone": "+13052094411", "category": "TEMPORARY", "expires_at": "9999-12-31T23:59:59-23:00"})
    assert resp.status == 422
    assert await resp.json() == {"error": "invalid request", "fields": {
        "expires_at": "'9999-12-31T23:59:59-23:00' falls outside years 1-9999 in UTC"}}
    resp = await gateway.post("/v1/call-outcomes", headers=AUTH, json={
        "phone": "+13052094411", "lead_id": "L-1", "campaign_id": "solar-q4", "outcome": "NO_ANSWER",
        "notes": "n" * 2001})
    assert resp.status == 422
    assert await resp.json() == {"error": "invalid request", "fields": {"notes": "2001 characters, at most 2000"}}


async def test_reads_need_a_read_key_and_writes_a_write_key(gateway: Client, fresh_phone: Callable[[], str]) -> None:
    assert (await gateway.get("/metrics")).status == 401
    assert (await gateway.get("/metrics", headers={"X-API-Key": PLAIN_KEY})).status == 403  # write-only
    assert (await gateway.get("/metrics", headers={"X-API-Key": READ_KEY})).status == 200
    assert (await gateway.get("/metrics", headers={"Authorization": f"Bearer {READ_KEY}"})).status == 200
    refused = await gateway.post("/v1/opt-outs", json={"phone": fresh_phone()}, headers={"X-API-Key": READ_KEY})
    assert refused.status == 403
    assert (await refused.json())["error"] == "API key 'ops' may not write (its scopes: read)"
    bearer = await gateway.post("/v1/opt-outs", json={"phone": fresh_phone()},
                                headers={"Authorization": f"Bearer {PLAIN_KEY}"})
    assert bearer.status == 202
    health = await gateway.get("/healthz")
    assert health.status == 200 and await health.json() == {"ready": True, "status": "ok"}
    assert (await gateway.get("/openapi.json")).status == 200


async def test_413_over_the_size_limit_and_415_for_other_types(gateway: Client, site: Site) -> None:
    limit = site.settings.gateway_max_body_bytes
    big = json.dumps(lead_body("+13052094411", first_name="x" * limit))
    resp = await gateway.post("/v1/leads", data=big, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"] == "body too large"

    async def chunks() -> Any:  # no Content-Length: the limit holds while reading
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000

    resp = await gateway.post("/v1/leads", data=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 413
    resp = await gateway.post("/v1/leads", data="phone=1", headers={**AUTH, "Content-Type": "text/plain"})
    assert resp.status == 415
    resp = await gateway.post("/v1/opt-outs", data={"phone": "+13052094411"}, headers=AUTH)  # form: leads only
    assert resp.status == 415


async def test_cors_preflight_and_headers(site: Site, fresh_phone: Callable[[], str]) -> None:
    settings = dataclasses.replace(site.settings, gateway_cors_origins=("https://forms.example.com",))
    async with serve_gateway(settings) as gateway:
        preflight = await gateway.options("/v1/leads", headers={
            "Origin": "https://forms.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-api-key"})
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://forms.example.com"
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]
        other = await gateway.options("/v1/leads", headers={"Origin": "https://evil.example",
                                                            "Access-Control-Request-Method": "POST"})
        assert other.status == 403 and "Access-Control-Allow-Origin" not in other.headers
        posted = await gateway.post("/v1/leads", json=lead_body(fresh_phone()),
                                    headers={**AUTH, "Origin": "https://forms.example.com"})
        assert posted.status == 202
        assert posted.headers["Access-Control-Allow-Origin"] == "https://forms.example.com"
    async with serve_gateway(site.settings) as no_cors:  # default: no CORS headers at all
        posted = await no_cors.post("/v1/leads", json=lead_body(fresh_phone()),
                                    headers={**AUTH, "Origin": "https://forms.example.com"})
        assert posted.status == 202 and "Access-Control-Allow-Origin" not in posted.headers


async def test_503_when_the_broker_stops_and_never_a_202_for_an_unwritten_event(
        broker_kind: str, broker_factory: BrokerFactory, fresh_phone: Callable[[], str]) -> None:
    broker = broker_factory(broker_kind, "gateway-503")
    try:
        settings = dataclasses.replace(Settings().with_bootstrap(broker.start()), gateway_delivery_timeout_s=2.0)
        ensure_topics(settings)
        async with serve_gateway(settings) as gateway:
            assert (await gateway.post("/v1/leads", json=lead_body(fresh_phone()), headers=AUTH)).status == 202
            broker.stop()
            started = time.monotonic()
            resp = await gateway.post("/v1/leads", json=lead_body(fresh_phone()), headers=AUTH)
            elapsed = time.monotonic() - started
            assert resp.status == 503
            answer = await resp.json()
            assert answer["error"] == "broker unavailable" and answer["event_id"]
            assert elapsed < 2.0 + 2.5  # bounded by the delivery timeout, not librdkafka's 300 s default
            # Once the producer saw the broker go, refusals are immediate and health says so.
            for _ in range(100):
                health = await gateway.get("/healthz")
                if health.status == 503:
                    break
                await asyncio.sleep(0.1)
            assert health.status == 503 and await health.json() == {"ready": False, "status": "starting"}
            detailed = await (await gateway.get("/healthz", headers={"X-API-Key": READ_KEY})).json()
            assert detailed["ready"] is False and detailed["detail"]  # why: for readers only
            started = time.monotonic()
            assert (await gateway.post("/v1/opt-outs", json={"phone": fresh_phone()}, headers=AUTH)).status == 503
            assert time.monotonic() - started < 0.5
    finally:
        broker.stop()


async def test_503_when_no_broker_answers_at_start() -> None:
    settings = Settings().with_bootstrap(f"127.0.0.1:{free_port()}")
    async with serve_gateway(settings, wait_ready=False) as gateway:
        health = await gateway.get("/healthz")
        assert health.status == 503 and (await health.json())["ready"] is False
        started = time.monotonic()
        resp = await gateway.post("/v1/leads", json=lead_body("+13052094411"), headers=AUTH)
        assert resp.status == 503 and time.monotonic() - started < 0.5


async def test_the_gateway_recovers_when_the_broker_comes_back(broker_kind: str, broker_factory: BrokerFactory,
                                                              fresh_phone: Callable[[], str]) -> None:
    broker = broker_factory(broker_kind, "gateway-restart")
    try:
        settings = dataclasses.replace(Settings().with_bootstrap(broker.start()), gateway_delivery_timeout_s=2.0)
        ensure_topics(settings)
        async with serve_gateway(settings) as gateway:
            assert (await gateway.post("/v1/leads", json=lead_body(fresh_phone()), headers=AUTH)).status == 202
            broker.stop()
            assert (await gateway.post("/v1/leads", json=lead_body(fresh_phone()), headers=AUTH)).status == 503
            broker.start()  # the same port; Kafka reopens its data, Tansu starts empty
            ensure_topics(settings)  # the embedded broker keeps nothing across a restart
            for _ in range(150):
                if (await gateway.get("/healthz")).status == 200:
                    break
                await asyncio.sleep(0.1)
            resp = await gateway.post("/v1/leads", json=lead_body(fresh_phone()), headers=AUTH)
            assert resp.status == 202, await resp.text()
    finally:
        broker.stop()
