"""Child processes leadpipe starts for local runs: workers and, through ``pipeline.broker``, the broker.

Every child runs in its own session (so Ctrl-C reaches only the parent, which stops children in
order: workers first, then the broker) and is killed by the kernel if the parent dies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from pipeline.broker import _die_with_parent, free_port
from pipeline.errors import LeadpipeError


class WorkerProcess:
    """One ``leadpipe worker`` process pointed at a running broker (``embedded``: the Tansu one)."""

    def __init__(self, *, bootstrap: str, env: dict[str, str] | None = None, log_path: Path | None = None,
                 web_port: int | None = None, embedded: bool = True) -> None:
        self.web_port = web_port or free_port()
        self.log_path = log_path
        self._env = dict(os.environ if env is None else env)
        self._env.update({
            "LEADPIPE_BOOTSTRAP_SERVERS": bootstrap,
            "LEADPIPE_WEB_PORT": str(self.web_port),
            "LEADPIPE_WEB_HOST": "127.0.0.1",
            "LEADPIPE_WEB_ENABLED": "true",
            "PYTHONUNBUFFERED": "1",
        })
        if embedded:  # Tansu's high-water marks can be short by a batch: see Settings
            self._env["LEADPIPE_RECOVERY_CONSISTENCY_CHECK"] = "false"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> WorkerProcess:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        out = self._log if self._log is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker"],
            env=self._env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        return self

    def health(self) -> dict[str, object] | None:
        """The worker's /healthz body, or None when it does not answer."""
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1.0) as resp:  # noqa: S310 - loopback
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read() or b"{}"))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the worker has its partitions and recovered its tables."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise LeadpipeError(f"worker exited with code {code} before it was ready (log: {self.log_path})")
            body = self.health()
            if body is not None and body.get("ready"):
                return
            time.sleep(0.1)
        raise LeadpipeError(f"worker not ready within {timeout_s}s (log: {self.log_path})")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM and wait (Faust commits and closes on SIGTERM); SIGKILL after ``timeout_s``."""
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
