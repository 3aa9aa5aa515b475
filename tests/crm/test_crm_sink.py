"""The local CRM stand-in over real HTTP on loopback, and the connector's POST against it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from connectors.crm import CrmTarget, post_json
from connectors.crm_mapping import load_mapping
from connectors.crm_policy import RetryPolicy
from connectors.crm_sink import Faults, create_sink_app
from pipeline.broker import free_port

TOKEN = "test-token"  # noqa: S105 - a made-up bearer token for a loopback test server


class Sink:
    def __init__(self, url: str) -> None:
        self.url = url

    async def post(self, body: dict[str, Any], key: str | None = None, token: str | None = None) -> tuple[int, Any]:
        headers = {} if key is None else {"Idempotency-Key": key}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with aiohttp.ClientSession() as session, session.post(f"{self.url}/leads", json=body,
                                                                    headers=headers) as resp:
            return resp.status, await resp.json()

    async def received(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/received") as resp:
            return dict(await resp.json())


async def start_sink(faults: Faults, token: str | None = None) -> tuple[web.AppRunner, Sink]:
    runner = web.AppRunner(create_sink_app(faults, token=token))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, Sink(f"http://127.0.0.1:{port}")


@pytest.fixture
async def plain_sink() -> AsyncIterator[Sink]:
    runner, sink = await start_sink(Faults())
    yield sink
    await runner.cleanup()


async def test_stores_leads_and_lists_them(plain_sink: Sink) -> None:
    status, body = await plain_sink.post({"a": 1}, key="k1")
    assert status == 201 and body["created"] is True
    received = await plain_sink.received()
    assert [lead["body"] for lead in received["leads"]] == [{"a": 1}]
    assert received["leads"][0]["idempotency_key"] == "k1"


async def test_a_repeated_idempotency_key_creates_nothing_and_gets_the_first_answer(plain_sink: Sink) -> None:
    first = await plain_sink.post({"a": 1}, key="same")
    second = await plain_sink.post({"a": 2}, key="same")
    assert first == second
    assert first[0] == 201
    received = await plain_sink.received()
    assert received["stored"] == 1
    assert received["replayed"] == 1


async def test_without_a_key_every_request_is_stored(plain_sink: Sink) -> None:
    await plain_sink.post({"a": 1})
    await plain_sink.post({"a": 1})
    assert (await plain_sink.received())["stored"] == 2


async def test_fail_first_then_every_nth() -> None:
    runner, sink = await start_sink(Faults(fail_first=2, every_nth=5))
    try:
        statuses = [(await sink.post({"n": n}, key=f"k{n}"))[0] for n in range(1, 11)]
        assert statuses == [503, 503, 201, 201, 503, 201, 201, 201, 201, 503]
        assert (await sink.received())["failures_before_store"] == 4
    finally:
        await runner.cleanup()


async def test_seeded_failure_rate_repeats_exactly() -> None:
    runs = []
    for _ in range(2):
        runner, sink = await start_sink(Faults(failure_rate=0.5, seed=3))
        try:
            runs.append([(await sink.post({"n": n}, key=f"k{n}"))[0] for n in range(20)])
        finally:
            await runner.cleanup()
    assert runs[0] == runs[1]
    assert 0 < runs[0].count(503) < 20


async def test_failure_after_store_keeps_the_lead_and_a_retry_gets_the_stored_answer() -> None:
    runner, sink = await start_sink(Faults(fail_after_store_rate=1.0))
    try:
        status, body = await sink.post({"lead": "x"}, key="lost-answer")
        assert status == 503
        status, body = await sink.post({"lead": "x"}, key="lost-answer")
        assert status == 201 and body["created"] is True
        received = await sink.received()
        assert received["stored"] == 1
        assert received["failures_after_store"] == 1
    finally:
        await runner.cleanup()


async def test_reject_marker_and_token() -> None:
    runner, sink = await start_sink(Faults(reject_marker="REJECT-ME"), token=TOKEN)
    try:
        assert (await sink.post({"a": 1}, key="k1"))[0] == 401
        status, body = await sink.post({"name": "REJECT-ME"}, key="k2", token=TOKEN)
        assert status == 400 and "REJECT-ME" in body["error"]
        assert (await sink.post({"name": "REJECT-ME"}, key="k2", token=TOKEN))[0] == 400  # replayed
        assert (await sink.post({"name": "ok"}, key="k3", token=TOKEN))[0] == 201
        assert (await sink.received())["stored"] == 1
    finally:
        await runner.cleanup()


async def test_post_json_sends_the_idempotency_key_token_and_json(plain_sink: Sink) -> None:
    target = CrmTarget(f"{plain_sink.url}/crm/v3/objects/contacts", load_mapping("hubspot"), RetryPolicy(), 5.0,
                       token=TOKEN)
    attempt = await asyncio.to_thread(post_json, target, {"properties": {"phone": "+13052094411"}}, "ev-42")
    assert attempt.status == 201
    [lead] = (await plain_sink.received())["leads"]
    assert lead == {**lead, "idempotency_key": "ev-42", "path": "/crm/v3/objects/contacts",
                    "body": {"properties": {"phone": "+13052094411"}}, "authorization": True}


async def test_post_json_reports_refusals_failures_and_no_answer_as_attempts() -> None:
    runner, sink = await start_sink(Faults(fail_first=1, reject_marker="bad"))
    try:
        target = CrmTarget(f"{sink.url}/leads", load_mapping("generic"), RetryPolicy(), 5.0)
        failed = await asyncio.to_thread(post_json, target, {"x": "ok"}, "k1")
        assert failed.status == 503 and "injected failure" in failed.body
        refused = await asyncio.to_thread(post_json, target, {"x": "bad"}, "k2")
        assert refused.status == 400 and json.loads(refused.body)["error"].startswith("rejected")
    finally:
        await runner.cleanup()
    nobody = CrmTarget(f"http://127.0.0.1:{free_port()}/leads", load_mapping("generic"), RetryPolicy(), 2.0)
    silent = await asyncio.to_thread(post_json, nobody, {"x": 1}, "k3")
    assert silent.status is None and silent.error is not None and "refused" in silent.error.lower()


def test_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        Faults(failure_rate=1.5)


async def test_a_redirect_is_not_followed_with_a_body_less_get() -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    app = web.Application()
    app.router.add_post("/old", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        target = CrmTarget(f"http://127.0.0.1:{port}/old", load_mapping("generic"), RetryPolicy(), 5.0)
        attempt = await asyncio.to_thread(post_json, target, {"x": 1}, "k1")
        assert attempt.status == 302  # a refusal: dead-lettered, never silently re-sent as a GET
    finally:
        await runner.cleanup()


async def _forget(method: str, url: str, body: dict[str, Any] | None = None) -> int:
    async with aiohttp.ClientSession() as session, session.request(method, url, json=body) as resp:
        return resp.status


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/leads/forget", {"phone_e164": "+13052094411"}),
    ("POST", "/crm/v3/objects/contacts/gdpr-delete", {"idProperty": "leadpipe_phone_e164", "objectId": "+13052094411"}),
    ("DELETE", "/services/data/v60.0/sobjects/Lead/Leadpipe_Phone_E164__c/%2B13052094411", None),
])
async def test_forget_removes_every_lead_holding_the_number_in_each_presets_shape(
        plain_sink: Sink, method: str, path: str, body: dict[str, Any] | None) -> None:
    await plain_sink.post({"properties": {"leadpipe_phone_e164": "+13052094411", "firstname": "Ana"}}, key="a")
    await plain_sink.post({"Phone": "+13052094411", "LastName": "Silva"}, key="b")
    await plain_sink.post({"phone_e164": "+13052094499", "first_name": "Bo"}, key="c")
    assert await _forget(method, plain_sink.url + path, body) == 204
    received = await plain_sink.received()
    assert [lead["body"] for lead in received["leads"]] == [{"phone_e164": "+13052094499", "first_name": "Bo"}]
    assert received["forgotten"] == 2
    assert await _forget(method, plain_sink.url + path, body) == 404  # nothing left for that number


async def test_an_echoing_sink_quotes_what_it_refused() -> None:
    runner, sink = await start_sink(Faults(reject_marker="bad", echo_body=True))
    try:
        status, answer = await sink.post({"first_name": "Zelda", "notes": "bad"}, key="k")
        assert status == 400 and answer["received"] == {"first_name": "Zelda", "notes": "bad"}
    finally:
        await runner.cleanup()
