"""A local CRM for demos and tests: ``leadpipe crm-sink`` plus ``leadpipe crm`` pointed at it, as
child processes (:class:`~pipeline.processes.ServiceProcess`), ready when this returns.

    crm = start_local_crm(bootstrap, log_dir=Path("logs"), sink_args=["--failure-rate", "0.2"])
    ...
    crm.received()["leads"]     # what the CRM stored
    crm.stats()                 # the connector's delivered / retried / dead_lettered
    crm.stop()
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.broker import free_port
from pipeline.http_auth import KEY_HEADER
from pipeline.processes import ServiceProcess


@dataclass
class LocalCrm:
    sink: ServiceProcess
    connector: ServiceProcess
    read_key: str | None = None
    """A key with the read scope: the connector's detailed /healthz needs one (pipeline.http_auth)."""

    def received(self) -> dict[str, Any]:
        """The sink's ``GET /received``: counts and every stored lead."""
        with urllib.request.urlopen(f"{self.sink.url}/received", timeout=5) as resp:  # noqa: S310 - loopback
            return dict(json.loads(resp.read()))

    def stats(self) -> dict[str, object]:
        """The connector's ``/healthz`` body (delivered, retried, dead_lettered...), {} if it does not answer."""
        return self.connector.health({KEY_HEADER: self.read_key} if self.read_key else None) or {}

    def stop(self) -> None:
        """Connector first (it finishes its attempt in flight), then the sink."""
        self.connector.stop()
        self.sink.stop()


def start_local_crm(bootstrap: str, *, log_dir: Path | None = None, preset: str = "hubspot",
                    sink_args: Sequence[str] = (), connector_env: dict[str, str] | None = None,
                    env: dict[str, str] | None = None, read_key: str | None = None,
                    timeout_s: float = 60.0) -> LocalCrm:
    """Start the sink and a connector delivering ``qualified-lead`` from ``bootstrap`` to it.

    The connector checks reads against ``LEADPIPE_API_KEYS_PATH`` from ``env`` (or
    ``connector_env``); ``read_key`` is one of its keys with the read scope, for :meth:`LocalCrm.stats`.
    """
    base_env = dict(os.environ if env is None else env)
    sink_port, crm_port = free_port(), free_port()
    path = {"hubspot": "/crm/v3/objects/contacts", "salesforce": "/services/data/v60.0/sobjects/Lead"}.get(
        preset, "/leads")
    sink = ServiceProcess(["crm-sink", "--port", str(sink_port), *sink_args], env=base_env, web_port=sink_port,
                          log_path=log_dir / "crm-sink.log" if log_dir else None)
    sink.name = "crm-sink"
    connector = ServiceProcess(["crm"], env=base_env, web_port=crm_port, extra_env={
        "LEADPIPE_BOOTSTRAP_SERVERS": bootstrap, "LEADPIPE_CRM_URL": f"{sink.url}{path}",
        "LEADPIPE_CRM_PRESET": preset, "LEADPIPE_CRM_PORT": str(crm_port), **(connector_env or {}),
    }, log_path=log_dir / "crm.log" if log_dir else None)
    connector.name = "crm connector"
    sink.start()
    try:
        sink.wait_ready(timeout_s)
        connector.start().wait_ready(timeout_s)
    except BaseException:
        connector.stop()
        sink.stop()
        raise
    return LocalCrm(sink, connector, read_key)
