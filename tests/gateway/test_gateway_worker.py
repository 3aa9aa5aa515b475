"""End to end: what the gateway writes, a real worker decodes, validates and decides on — nothing
it writes is dead-lettered, and an opt-out it accepted blocks the number, whatever its instants."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_harness import PLAIN_KEY, READ_KEY, Site

from pipeline.codec import make_codec
from pipeline.kafka_clients import EventProducer, TopicTail
from pipeline.processes import WorkerProcess
from pipeline.topics import DEAD_LETTER, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

# The fixtures (site, gateway, keys_file, fresh_phone); not a conftest.py: see gateway_harness.
pytest_plugins = ["gateway_harness"]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker(site: Site, keys_file: Path) -> Iterator[WorkerProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env["LEADPIPE_API_KEYS_PATH"] = str(keys_file)  # the gateway's keys: READ_KEY may read
    env["LEADPIPE_ERASURE_KEY"] = "gateway-worker-test-erasure-key"
    process = WorkerProcess(bootstrap=site.settings.bootstrap_servers or "", env=env,
                            log_path=site.log_dir / "worker.log")
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="module")
def worker_outputs(site: Site, worker: WorkerProcess) -> Iterator[TopicTail]:
    tail = TopicTail(site.settings.kafka_client_config(), make_codec(site.settings),
                     [LEAD_DECISION, DEAD_LETTER, LEAD_CAPTURED, OPT_OUT])
    try:
        worker.wait_ready(timeout_s=90)
        yield tail.start()
    finally:
        tail.stop()


async def test_the_worker_decides_on_what_the_gateway_wrote(gateway: TestClient[Any, Any], site: Site,
                                                            worker: WorkerProcess, worker_outputs: TopicTail,
                                                            fresh_phone: Callable[[], str]) -> None:
    phone = fresh_phone()
    auth = {"X-API-Key": PLAIN_KEY}
    lead = await gateway.post("/v1/leads", headers=auth, data={
        "phone": phone[2:], "country": "US", "campaign_id": "solar-q4", "consent.purpose": "marketing",
        "consent.channel": "ANY", "consent.granted_at": "2026-11-24T16:58:00Z", "timeline": "this_month"})
    assert lead.status == 202
    answer = await lead.json()
    opt_out = await gateway.post("/v1/opt-outs", headers=auth, json={"phone": phone, "reason": "asked"})
    assert opt_out.status == 202
    opt_out_id = (await opt_out.json())["event_id"]

    [decision] = worker_outputs.wait_for(
        LEAD_DECISION, lambda r: r.record is not None and r.record["input_event_id"] == answer["event_id"],
        timeout_s=60)
    assert decision.record is not None
    assert decision.record["lead_id"] == answer["lead_id"] and decision.record["phone_e164"] == phone
    assert decision.record["source"] == "webform-main"
    # Both were written keyed by their E.164 number, so the number's writer decided them at once.
    for topic, event_id in ((LEAD_CAPTURED, answer["event_id"]), (OPT_OUT, opt_out_id)):
        [written] = worker_outputs.wait_for(
            topic, lambda r, event_id=event_id: r.record is not None and r.record["event_id"] == event_id)
        assert written.key == phone.encode()
    # The opt-out was applied: the worker's dial-check blocks the number for it.
    deadline = time.monotonic() + 60
    while not any(opt_out_id in r["detail"] for r in dial_check(worker, phone)["reasons"]):
        assert time.monotonic() < deadline, "the accepted opt-out never blocked the number"
        await asyncio.sleep(0.05)
    assert not [r for r in worker_outputs.records(DEAD_LETTER) if r.key in (phone.encode(), phone[2:].encode())]


EDGE_OPT_OUTS: list[tuple[dict[str, Any], str | None]] = [
    # (opt-out body, the field a 422 names; None: accepted, so it must block)
    ({"occurred_at": "0001-01-01T00:00:00Z"}, None),
    ({"occurred_at": "0001-01-01T00:00:00-01:00"}, None),
    ({"category": "TEMPORARY", "expires_at": "9999-12-31T23:59:59.999Z"}, None),
    ({"category": "TEMPORARY", "expires_at": "9999-12-31T23:59:59+14:00", "occurred_at": "0001-01-01T00:00:00Z"}, None),
    ({"category": "TEMPORARY", "expires_at": "9999-12-31T23:59:59-23:00"}, "expires_at"),
    ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at"),
    ({"category": "TEMPORARY", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
]


def dial_check(worker: WorkerProcess, phone: str) -> dict[str, Any]:
    url = f"{worker.url}/v1/dial-check/{urllib.parse.quote(phone)}?campaign_id=solar-q4"
    request = urllib.request.Request(url, headers={"X-API-Key": READ_KEY})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback
        return dict(json.loads(resp.read()))


async def test_an_accepted_opt_out_with_edge_instants_always_blocks(gateway: TestClient[Any, Any], site: Site,
                                                                     worker: WorkerProcess, worker_outputs: TopicTail,
                                                                     fresh_phone: Callable[[], str]) -> None:
    accepted: list[tuple[str, str]] = []
    for body, refused_field in EDGE_OPT_OUTS:
        phone = fresh_phone()
        resp = await gateway.post("/v1/opt-outs", headers={"X-API-Key": PLAIN_KEY}, json={"phone": phone, **body})
        if refused_field is not None:
            assert resp.status == 422, body
            assert list((await resp.json())["fields"]) == [refused_field]
            continue
        assert resp.status == 202, (body, await resp.text())
        accepted.append((phone, (await resp.json())["event_id"]))
    assert len(accepted) == 4
    # Keyed by their numbers, they are decided at once. Wait until each number's check names its opt-out.
    deadline = time.monotonic() + 60
    answers: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(answers) < len(accepted):
        for phone, event_id in accepted:
            answer = dial_check(worker, phone)
            if any(event_id in r["detail"] for r in answer["reasons"] if r["code"] == "DNC_OPT_OUT"):
                answers[phone] = answer
        await asyncio.sleep(0.1)
    assert set(answers) == {phone for phone, _ in accepted}
    assert all(answer["allowed"] is False for answer in answers.values())
    assert not [r for r in worker_outputs.records(DEAD_LETTER) if r.key in {p.encode() for p, _ in accepted}]


def test_the_same_instant_written_straight_to_kafka_is_dead_lettered_with_a_clear_reason(
        site: Site, worker_outputs: TopicTail, fresh_phone: Callable[[], str]) -> None:
    phone = fresh_phone()
    producer = EventProducer(site.settings.kafka_client_config(), make_codec(site.settings))
    record = {"event_id": f"edge-{phone}", "occurred_at": datetime.now(UTC), "phone": phone, "country": None,
              "action": "ADD", "scope": "ALL_CHANNELS", "category": "TEMPORARY", "campaign_id": None,
              "expires_at": datetime.fromisoformat("9999-12-31T23:59:59-23:00"), "source": "vendor",
              "reason": None, "evidence": None}
    producer.send(OPT_OUT, record, key=phone)  # the writer's encoder takes it: only a reader cannot
    producer.flush()
    [dead] = worker_outputs.wait_for(DEAD_LETTER, lambda r: r.key == phone.encode(), timeout_s=60)
    assert dead.record is not None
    assert (dead.record["topic"], dead.record["stage"]) == (OPT_OUT, "decode")
    assert "instant outside years 1-9999 in UTC" in dead.record["error"]
