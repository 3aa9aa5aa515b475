"""Child processes leadpipe starts for local runs: workers, HTTP services and, through
``pipeline.broker``, the broker.

Every child runs in its own session (so Ctrl-C reaches only the parent, which stops children in
order: services and workers first, then the broker) and is killed by the kernel if the parent dies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Self

from pipeline.broker import _die_with_parent, free_port
from pipeline.errors import LeadpipeError


class ServiceProcess:
    """One ``leadpipe <command>`` child process serving HTTP on ``127.0.0.1:<web_port>``, ready
    when ``GET <health_path>`` answers a JSON body with ``"ready": true``. Its settings come from
    ``env`` (the parent's environment when None) plus ``extra_env``."""

    name = "service"

    def __init__(self, command: list[str], *, env: dict[str, str] | None = None,
                 extra_env: dict[str, str] | None = None, log_path: Path | None = None,
                 web_port: int | None = None, health_path: str = "/healthz") -> None:
        self.command = command
        self.web_port = web_port or free_port()
        self.log_path = log_path
        self.health_path = health_path
        self._env = dict(os.environ if env is None else env)
        self._env.update({"PYTHONUNBUFFERED": "1", **(extra_env or {})})
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> Self:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        out = self._log if self._log is not None else subprocess.DEVNULL
        # Our own console script with arguments chosen by leadpipe's code, never by input.
        self._process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "pipeline.cli", *self.command],
            env=self._env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        return self

    def health(self, headers: Mapping[str, str] | None = None) -> dict[str, object] | None:
        """The health body, or None when the process does not answer. Without a read key in
        ``headers`` it says only whether the process is ready (pipeline.http_auth)."""
        request = urllib.request.Request(f"{self.url}{self.health_path}", headers=dict(headers or {}))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=1.0) as resp:  # noqa: S310 - loopback
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read() or b"{}"))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the process says it is ready (a worker: partitions assigned, tables recovered)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise LeadpipeError(f"{self.name} exited with code {code} before it was ready (log: {self.log_path})")
            body = self.health()
            if body is not None and body.get("ready"):
                return
            time.sleep(0.1)
        raise LeadpipeError(f"{self.name} not ready within {timeout_s}s (log: {self.log_path})")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM and wait (a worker commits and closes on SIGTERM); SIGKILL after ``timeout_s``."""
        process, self._process = self._process, None
        code = None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout_s)
            code = process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def kill(self) -> None:
        """kill -9: for fail-over and recovery tests."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


class WorkerProcess(ServiceProcess):
    """One ``leadpipe worker`` process pointed at a running broker (``embedded``: the Tansu one)."""

    name = "worker"

    def __init__(self, *, bootstrap: str, env: dict[str, str] | None = None, log_path: Path | None = None,
                 web_port: int | None = None, embedded: bool = True) -> None:
        port = web_port or free_port()
        extra = {
            "LEADPIPE_BOOTSTRAP_SERVERS": bootstrap,
            "LEADPIPE_WEB_PORT": str(port),
            "LEADPIPE_WEB_HOST": "127.0.0.1",
            "LEADPIPE_WEB_ENABLED": "true",
        }
        if embedded:  # Tansu's high-water marks can be short by a batch: see Settings
            extra["LEADPIPE_RECOVERY_CONSISTENCY_CHECK"] = "false"
            extra["LEADPIPE_PROCESSING_GUARANTEE"] = "at_least_once"  # Tansu has no transactions
        super().__init__(["worker"], env=env, extra_env=extra, log_path=log_path, web_port=port)


class GatewayProcess(ServiceProcess):
    """One ``leadpipe gateway`` process writing to ``bootstrap`` with the keys in ``api_keys_path``."""

    name = "gateway"

    def __init__(self, *, bootstrap: str, api_keys_path: Path, env: dict[str, str] | None = None,
                 extra_env: dict[str, str] | None = None, log_path: Path | None = None,
                 web_port: int | None = None) -> None:
        port = web_port or free_port()
        extra = {
            "LEADPIPE_BOOTSTRAP_SERVERS": bootstrap,
            "LEADPIPE_API_KEYS_PATH": str(api_keys_path),
            "LEADPIPE_GATEWAY_HOST": "127.0.0.1",
            "LEADPIPE_GATEWAY_PORT": str(port),
            **(extra_env or {}),
        }
        super().__init__(["gateway"], env=env, extra_env=extra, log_path=log_path, web_port=port)
