"""``leadpipe dial-check-replica``: the same answers as the worker, from a process of its own."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import Pipeline, lead, opt_out

from pipeline.broker import free_port
from pipeline.processes import ServiceProcess
from pipeline.topics import CALL_READY, DIAL_CHECK, LEAD_CAPTURED, OPT_OUT

pytestmark = pytest.mark.integration


@pytest.fixture
def replica(pipeline: Pipeline) -> Iterator[ServiceProcess]:
    port = free_port()
    env = {**pipeline.env, "LEADPIPE_BOOTSTRAP_SERVERS": pipeline.settings.bootstrap_servers or "",
           "LEADPIPE_REPLICA_PORT": str(port)}
    process = ServiceProcess(["dial-check-replica"], env=env, web_port=port,
                             log_path=pipeline.log_dir / f"replica-{port}.log")
    try:
        process.start().wait_ready(timeout_s=60)
        yield process
    finally:
        process.stop()


def ask(pipeline: Pipeline, base: str, phone: str) -> dict[str, Any]:
    url = f"{base}/v1/dial-check/{urllib.parse.quote(phone)}?campaign_id=solar-q4"
    return dict(json.loads(pipeline.read(url)))


def same(answer: dict[str, Any]) -> tuple[object, ...]:
    return (answer["allowed"], answer["reasons"], answer["rules_fired"], answer["callable_until"])


def test_the_replica_answers_as_the_worker_and_sees_an_opt_out(pipeline: Pipeline, replica: ServiceProcess,
                                                               us_number: Callable[[], str]) -> None:
    offered, stopped = us_number(), us_number()
    for phone in (offered, stopped):
        record = lead(phone)
        pipeline.send(LEAD_CAPTURED, record, key=phone)
        pipeline.wait(CALL_READY, lead_id=record["lead_id"], action="READY")
    pipeline.send(OPT_OUT, opt_out(stopped), key=stopped)
    pipeline.wait_blocked(stopped)  # the worker applied it; the replica follows its changelog

    deadline = time.monotonic() + 30
    while not any(r["code"] == "DNC_OPT_OUT" for r in ask(pipeline, replica.url, stopped)["reasons"]):
        assert time.monotonic() < deadline, "the replica never saw the opt-out"
        time.sleep(0.05)
    for phone in (offered, stopped):
        from_worker, from_replica = pipeline.dial_check(phone), ask(pipeline, replica.url, phone)
        assert same(from_replica) == same(from_worker)
        assert "replica" in from_replica["worker_id"] and from_replica["replica_current_ms_ago"] >= 0
    assert ask(pipeline, replica.url, offered)["allowed"] is True
    # Every replica answer is on record too, said to come from the replica.
    answered = ask(pipeline, replica.url, offered)
    [audit] = pipeline.wait(DIAL_CHECK, request_id=answered["request_id"])
    assert audit["worker_id"] == answered["worker_id"]


def test_the_replica_refuses_reads_without_a_key(replica: ServiceProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{replica.url}/v1/dial-check/%2B13055550100", timeout=5)  # noqa: S310 - loopback
    refused.value.close()
    assert refused.value.code == 401
