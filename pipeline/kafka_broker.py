"""Apache Kafka on demand: one KRaft node (broker + controller) as a local Java process.

The same shape as :class:`pipeline.broker.EmbeddedBroker` — ``start()`` returns the bootstrap
address, ``stop()`` is SIGTERM and wait, ``kill()`` is SIGKILL, ``start()`` again reuses the data
directory and the ports — but durable: topics, offsets, changelogs and transactions survive a
restart on the same data directory, and the log cleaner compacts.

Kafka's own jars come from Maven Central: the pom shipped in ``pipeline/data/kafka/pom.xml`` is
resolved with ``mvn dependency:copy-dependencies`` into ``<cache>/<version>/lib`` (cache:
``LEADPIPE_KAFKA_CACHE_DIR``, default ``~/.cache/leadpipe/kafka``). Once there, nothing is fetched
again: a complete cache needs no Maven at all, and an incomplete one is first tried offline.

Errors that stop a start are :class:`BrokerStartError`, one line each: java or mvn missing, jars
that do not resolve (with Maven's reason), the port taken, the data directory locked by another
broker, a broker that exits or does not answer (with the last lines of its log).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import IO

from pipeline.broker import _die_with_parent, free_port
from pipeline.errors import BrokerStartError

DEFAULT_KAFKA_VERSION = "3.9.1"
"""The tested version; docker-compose pins the same image (tests/test_compose.py checks it)."""

INSTALL_HINT = "Debian: apt-get install default-jre-headless maven"

SINGLE_NODE_SETTINGS: Mapping[str, str] = {
    # Only `leadpipe topics create` creates topics: an auto-created one gets the wrong partition count.
    "auto.create.topics.enable": "false",
    # One node: internal topics and acknowledged writes cannot ask for more replicas than exist.
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "min.insync.replicas": "1",
    # A group's first join is not held back waiting for more members (Kafka's default is 3 s).
    "group.initial.rebalance.delay.ms": "0",
    # Changelogs are compacted: erased rows must really go (the cleaner is on by default; say so).
    "log.cleaner.enable": "true",
}
"""Broker settings for a one-node cluster. docker-compose's ``KAFKA_*`` variables carry the same
values (tests/test_compose.py checks it), so what is tested is what compose runs."""

_READY_MARKER = ".leadpipe-complete"


def default_cache_dir() -> Path:
    """Where resolved jars live: ``LEADPIPE_KAFKA_CACHE_DIR`` or ``~/.cache/leadpipe/kafka``."""
    configured = os.environ.get("LEADPIPE_KAFKA_CACHE_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "leadpipe" / "kafka"


def find_java() -> str:
    """The java executable (``$JAVA_HOME/bin/java``, else the one on PATH)."""
    java_home = os.environ.get("JAVA_HOME", "").strip()
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerStartError(f"Apache Kafka needs Java 17 or newer and no java is on PATH ({INSTALL_HINT})")
    return found


def _mvn_reason(output: str) -> str:
    """The line of Maven's output that says why resolution failed."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)  # colour codes, which some Maven versions print anyway
    errors = [line.removeprefix("[ERROR]").removesuffix("-> [Help 1]").strip()
              for line in output.splitlines() if line.startswith("[ERROR]")]
    errors = [e for e in errors if e and not e.startswith(("->", "To see", "Re-run", "For more", "[Help"))]
    if errors:
        return errors[0]
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def resolve_jars(version: str = DEFAULT_KAFKA_VERSION, cache_dir: Path | None = None) -> Path:
    """The directory holding every jar Kafka ``version`` needs, resolving it with Maven when absent.

    A complete cache is used as is (no Maven needed). Otherwise Maven runs offline first (its
    local repository may have everything) and then online. Raises :class:`BrokerStartError` when
    mvn is missing or resolution fails, with Maven's reason.
    """
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[A-Za-z0-9.]+)?", version):
        raise BrokerStartError(f"Kafka version {version!r}: expected a release number such as {DEFAULT_KAFKA_VERSION}")
    lib = (cache_dir or default_cache_dir()) / version / "lib"
    if (lib / _READY_MARKER).is_file():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerStartError(f"Apache Kafka {version}'s jars are not cached in {lib} and mvn is missing "
                               f"to fetch them ({INSTALL_HINT})")
    lib.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lib-", dir=lib.parent))
    pom = resources.files("pipeline") / "data" / "kafka" / "pom.xml"
    with resources.as_file(pom) as pom_path:
        cmd = [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom_path), f"-Dkafka.version={version}",
               f"-Dkafka.major={version.split('.')[0]}", "dependency:copy-dependencies",
               f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
        # Our own resolved mvn with fixed arguments; the version is passed as one -D value.
        result = subprocess.run([cmd[0], "-o", *cmd[1:]], capture_output=True, text=True,  # noqa: S603
                                check=False, cwd=lib.parent)
        if result.returncode != 0:  # not all in Maven's local repository: fetch what is missing
            result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=lib.parent)  # noqa: S603
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerStartError(f"cannot resolve Apache Kafka {version}'s jars with Maven: "
                               f"{_mvn_reason(result.stdout + result.stderr)}")
    (staging / _READY_MARKER).write_text(version, encoding="utf-8")
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    return lib


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As Kafka binds (Java sets SO_REUSEADDR): a port in TIME_WAIT after our own stop is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _locked_by_another_process(log_dir: Path) -> bool:
    """True when another process holds Kafka's lock on ``log_dir`` (Java's FileChannel.tryLock
    takes a POSIX record lock, which ``fcntl.lockf`` sees)."""
    lock_file = log_dir / ".lock"
    if not lock_file.is_file():
        return False
    with lock_file.open("a") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(handle, fcntl.LOCK_UN)
    return False


def _cluster_id() -> str:
    """A new KRaft cluster id: a random UUID in Kafka's URL-safe base64 form (22 characters).

    Like Kafka's own ``Uuid.randomUuid``, never one starting with ``-``: the storage tool's argument
    parser would read it as an option (``--cluster-id/-t: expected one argument``).
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _log_tail(path: Path | None, lines: int = 3) -> str:
    if path is None or not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    interesting = [line for line in text if "ERROR" in line or "Exception" in line] or text
    return " | ".join(line.strip() for line in interesting[-lines:])


class KafkaBroker:
    """One Apache Kafka KRaft node on loopback, its data in ``data_dir``.

    ``settings`` are added to (and override) :data:`SINGLE_NODE_SETTINGS`, e.g. a short
    ``log.cleaner.backoff.ms`` for a compaction test. Use as a context manager or call
    ``start()``/``stop()``; ``start()`` after ``stop()`` or ``kill()`` reopens the same data.
    """

    kind = "kafka"

    def __init__(self, data_dir: Path, *, version: str = DEFAULT_KAFKA_VERSION, host: str = "127.0.0.1",
                 port: int | None = None, log_path: Path | None = None, cache_dir: Path | None = None,
                 settings: Mapping[str, str] | None = None, heap: str = "512m") -> None:
        self.data_dir = data_dir
        self.version = version
        self.host = host
        self.port = port or free_port(host)
        self.controller_port = free_port(host)
        self._choose_ports = port is None
        """Ports picked here, not given: a first start picks others if one was taken meanwhile (a
        client's ephemeral port can land on it between this and the start)."""
        self.log_path = log_path if log_path is not None else data_dir / "broker.log"
        self.cache_dir = cache_dir
        self.settings = {**SINGLE_NODE_SETTINGS, **(settings or {})}
        self.heap = heap
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_dir(self) -> Path:
        """Kafka's ``log.dirs``: the topics' data and the KRaft metadata log."""
        return self.data_dir / "logs"

    def start(self, timeout_s: float = 90.0) -> str:
        """Start the node (formatting new storage first) and wait until it answers a metadata
        request; return its bootstrap address."""
        if self._process is not None:
            return self.bootstrap_servers
        java = find_java()
        lib = resolve_jars(self.version, self.cache_dir)
        if self._choose_ports and any(_port_taken(self.host, p) for p in (self.port, self.controller_port)):
            self.port, self.controller_port = free_port(self.host), free_port(self.host)
        self._choose_ports = False  # a restart keeps the address its clients know
        for port in (self.port, self.controller_port):
            if _port_taken(self.host, port):
                raise BrokerStartError(f"port {self.host}:{port} is taken by another process; "
                                       "choose another with --port")
        if _locked_by_another_process(self.log_dir):
            raise BrokerStartError(f"data directory {self.data_dir} is locked by another running Kafka broker; "
                                   "stop it or choose another --data-dir")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self._write_config()
        classpath = f"{lib}{os.sep}*"
        jvm = [java, f"-Xmx{self.heap}", "-Xms128m", "-Djava.awt.headless=true", *self._logging_flags(), "-cp",
               classpath]
        if not (self.log_dir / "meta.properties").is_file():
            self._format(jvm, properties)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        # Our own java with fixed arguments.
        self._process = subprocess.Popen(  # noqa: S603
            [*jvm, "kafka.Kafka", str(properties)], stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop the broker after its clients
            preexec_fn=_die_with_parent,
        )
        self._wait_ready(timeout_s)
        return self.bootstrap_servers

    def _write_config(self) -> Path:
        listeners = f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
        config = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": listeners,
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            **self.settings,
        }
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in config.items()), encoding="utf-8")
        return path

    def _logging_flags(self) -> list[str]:
        """Kafka's log goes to stdout (our log file) at INFO: 3.x reads log4j 1 properties, 4.x log4j 2."""
        if self.version.split(".")[0] in ("0", "1", "2", "3"):
            path = self.data_dir / "log4j.properties"
            path.write_text("log4j.rootLogger=INFO, stdout\n"
                            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
                            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
                            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n", encoding="utf-8")
            return [f"-Dlog4j.configuration=file:{path}"]
        path = self.data_dir / "log4j2.properties"
        path.write_text("status = warn\nappender.out.type = Console\nappender.out.name = OUT\n"
                        "appender.out.layout.type = PatternLayout\n"
                        "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
                        "rootLogger.level = info\nrootLogger.appenderRef.out.ref = OUT\n", encoding="utf-8")
        return [f"-Dlog4j2.configurationFile={path}"]

    def _format(self, jvm: list[str], properties: Path) -> None:
        """Format new KRaft storage with a fresh cluster id (``kafka-storage.sh format``)."""
        result = subprocess.run(  # noqa: S603 - our own java with fixed arguments
            [*jvm, "kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(properties)],
            capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            reason = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
            raise BrokerStartError(f"cannot format Kafka storage in {self.log_dir}: "
                                   f"{reason[-1] if reason else result.returncode}")

    def _wait_ready(self, timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout_s
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                code = self._process.returncode
                self._close_log()
                self._process = None
                raise BrokerStartError(f"Apache Kafka {self.version} exited with code {code}: "
                                       f"{_log_tail(self.log_path)} (log: {self.log_path})")
            with contextlib.suppress(Exception):  # not up yet: KafkaException of any kind
                if admin.list_topics(timeout=1.0).brokers:
                    return
            time.sleep(0.1)
        self.kill()
        raise BrokerStartError(f"Apache Kafka did not answer on {self.bootstrap_servers} within {timeout_s}s "
                               f"(log: {self.log_path})")

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop the node: SIGTERM (a controlled shutdown that flushes and closes every log), then
        SIGKILL after ``timeout_s``. Safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        self._close_log()

    def kill(self) -> None:
        """kill -9: the node dies without flushing; the next start recovers its logs."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(30)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
