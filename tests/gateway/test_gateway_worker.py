"""End to end: what the gateway writes, a real worker decodes, validates and decides on — nothing
it writes is dead-lettered."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_harness import PLAIN_KEY, Site

from connectors.kafka import TopicTail
from pipeline.codec import make_codec
from pipeline.processes import WorkerProcess
from pipeline.topics import DEAD_LETTER, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

# The fixtures (site, gateway, keys_file, fresh_phone); not a conftest.py: see gateway_harness.
pytest_plugins = ["gateway_harness"]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker(site: Site) -> Iterator[WorkerProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    worker = WorkerProcess(bootstrap=site.settings.bootstrap_servers or "", env=env,
                           log_path=site.log_dir / "worker.log")
    try:
        worker.start().wait_ready(timeout_s=90)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def worker_outputs(site: Site, worker: WorkerProcess) -> Iterator[TopicTail]:
    tail = TopicTail(site.settings.kafka_client_config(), make_codec(site.settings),
                     [LEAD_DECISION, DEAD_LETTER, LEAD_CAPTURED, OPT_OUT])
    try:
        yield tail.start()
    finally:
        tail.stop()


def wait_blocked(worker: WorkerProcess, phone: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """The worker's dial-check once it blocks ``phone`` for an opt-out: proof the opt-out was applied."""
    url = f"{worker.url}/v1/dial-check/{urllib.parse.quote(phone)}?campaign_id=solar-q4"
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback
            answer: dict[str, Any] = json.loads(resp.read())
        if any(r["code"] == "DNC_OPT_OUT" for r in answer["reasons"]) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


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
    answer_now = wait_blocked(worker, phone)
    assert answer_now["allowed"] is False and "DNC_OPT_OUT" in {r["code"] for r in answer_now["reasons"]}
    assert not [r for r in worker_outputs.records(DEAD_LETTER) if r.key in (phone.encode(), phone[2:].encode())]
