"""The worker's reads need a key with the read scope: the dial-check and /metrics answer 401 without
one, 403 to a write-only key, 200 to a read key; Faust's built-in views are not served; /healthz
is open and says only whether the worker is ready."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from conftest import KEYS_DOCUMENT, READ_KEY, Pipeline

pytestmark = pytest.mark.integration

WRITE_KEY = KEYS_DOCUMENT["keys"][1]["key"]


def status(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("path", ["/v1/dial-check/%2B13052094411?campaign_id=solar-q4", "/metrics", "/"])
def test_each_read_needs_a_read_key(pipeline: Pipeline, path: str) -> None:
    url = pipeline.worker.url + path
    assert status(url, {}) == 401
    assert status(url, {"X-API-Key": "not-a-key-0123456789"}) == 401
    assert status(url, {"X-API-Key": WRITE_KEY}) == 403
    assert status(url, {"X-API-Key": READ_KEY}) == 200
    assert status(url, {"Authorization": f"Bearer {READ_KEY}"}) == 200


@pytest.mark.parametrize("path", ["/router/", "/table/", "/table/suppressions/", "/assignment/", "/graph/",
                                  "/performance/"])
def test_fausts_built_in_views_are_off(pipeline: Pipeline, path: str) -> None:
    url = pipeline.worker.url + path
    assert status(url, {}) == 401  # nothing answers without a key, not even "not found"
    assert status(url, {"X-API-Key": READ_KEY}) == 404


def test_healthz_is_open_and_says_only_whether_the_worker_is_ready(pipeline: Pipeline) -> None:
    with urllib.request.urlopen(f"{pipeline.worker.url}/healthz", timeout=5) as resp:  # noqa: S310 - loopback
        assert json.loads(resp.read()) == {"status": "ok", "ready": True}
    detailed = json.loads(pipeline.read(f"{pipeline.worker.url}/healthz"))
    assert detailed["ready"] is True and detailed["app_id"] == pipeline.settings.app_id
