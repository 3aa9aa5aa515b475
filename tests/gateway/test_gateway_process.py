"""``leadpipe gateway`` as a real process: start-up, a lead written through it, clean stop, and a
clear configuration error when no broker is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from gateway_harness import PLAIN_KEY, Site

from pipeline.codec import SINGLE_OBJECT_MAGIC
from pipeline.processes import GatewayProcess
from pipeline.topics import LEAD_CAPTURED

# The fixtures (site, gateway, keys_file, fresh_phone); not a conftest.py: see gateway_harness.
pytest_plugins = ["gateway_harness"]
pytestmark = pytest.mark.integration


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}


def test_leadpipe_gateway_serves_and_writes(site: Site, keys_file: Path, fresh_phone: Callable[[], str]) -> None:
    gateway = GatewayProcess(bootstrap=site.settings.bootstrap_servers or "", api_keys_path=keys_file,
                             env=_clean_env(), log_path=site.log_dir / "gateway-process.log")
    try:
        gateway.start().wait_ready(timeout_s=30)
        phone = fresh_phone()
        body = json.dumps({"phone": phone, "campaign_id": "solar-q4"}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback http URL
            f"{gateway.url}/v1/leads", data=body, method="POST",
            headers={"Content-Type": "application/json", "X-API-Key": PLAIN_KEY})
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
            assert resp.status == 202
            answer = json.loads(resp.read())
        received = site.wait_event(LEAD_CAPTURED, answer["event_id"])
        assert received.value is not None and received.value.startswith(SINGLE_OBJECT_MAGIC)
        assert received.record is not None and received.record["lead_id"] == answer["lead_id"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - loopback
                f"{gateway.url}/v1/leads", data=body, method="POST", headers={"Content-Type": "application/json"}),
                timeout=10)
        assert refused.value.code == 401
        refused.value.close()
    finally:
        code = gateway.stop()
    assert code == 0  # SIGTERM: flushed and closed, not killed


def test_leadpipe_gateway_without_a_broker_says_what_to_set(keys_file: Path) -> None:
    env = {**_clean_env(), "LEADPIPE_API_KEYS_PATH": str(keys_file)}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "gateway"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "LEADPIPE_BOOTSTRAP_SERVERS" in done.stderr


def test_leadpipe_gateway_without_keys_says_what_to_set(site: Site) -> None:
    env = {**_clean_env(), "LEADPIPE_BOOTSTRAP_SERVERS": site.settings.bootstrap_servers or ""}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "gateway"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "LEADPIPE_API_KEYS_PATH is not set" in done.stderr
