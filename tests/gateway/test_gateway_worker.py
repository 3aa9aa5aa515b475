"""End to end: what the gateway writes, a real worker decodes, validates and decides on — nothing
it writes is dead-lettered."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_harness import PLAIN_KEY, Site

from connectors.kafka import TopicTail
from pipeline.codec import make_codec
from pipeline.processes import WorkerProcess
from pipeline.topics import DEAD_LETTER, LEAD_DECISION, number_events_topic

# The fixtures (site, gateway, keys_file, fresh_phone); not a conftest.py: see gateway_harness.
pytest_plugins = ["gateway_harness"]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker_outputs(site: Site) -> Iterator[TopicTail]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    worker = WorkerProcess(bootstrap=site.settings.bootstrap_servers or "", env=env,
                           log_path=site.log_dir / "worker.log")
    tail = TopicTail(site.settings.kafka_client_config(), make_codec(site.settings),
                     [LEAD_DECISION, DEAD_LETTER, number_events_topic(site.settings.app_id)])
    try:
        worker.start().wait_ready(timeout_s=90)
        yield tail.start()
    finally:
        tail.stop()
        worker.stop()


async def test_the_worker_decides_on_what_the_gateway_wrote(gateway: TestClient[Any, Any], site: Site,
                                                            worker_outputs: TopicTail,
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
    # The opt-out went through intake too: re-keyed by its E.164 number.
    [routed] = worker_outputs.wait_for(
        number_events_topic(site.settings.app_id),
        lambda r: r.record is not None and r.record["event"]["event_id"] == opt_out_id, timeout_s=60)
    assert routed.key == phone.encode()
    assert not [r for r in worker_outputs.records(DEAD_LETTER) if r.key in (phone.encode(), phone[2:].encode())]
