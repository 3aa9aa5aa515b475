"""`leadpipe kafka` and KafkaBroker: a real Apache Kafka node from Maven Central's jars — its data
kept across SIGTERM and kill -9 restarts, one-line errors (exit 2) for every reason it cannot start,
and no Java process left behind however its parent ends."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker_kinds import BrokerFactory
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline import kafka_broker
from pipeline.kafka_broker import INSTALL_HINT, KafkaBroker, default_cache_dir, find_java

pytestmark = pytest.mark.integration


def run_cli(*args: str, env: dict[str, str] | None = None, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "kafka", *args], env=env,
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadpipe kafka: ")
    return lines[0]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def bare_env(**extra: str) -> dict[str, str]:
    """This environment without leadpipe's settings (the jar cache kept) or JAVA_HOME, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k == "LEADPIPE_KAFKA_CACHE_DIR" or not k.startswith(("LEADPIPE_", "JAVA_HOME"))}
    env.update(extra)
    return env


def test_java_missing_says_how_to_install_it(tmp_path: Path) -> None:
    line = one_error_line(run_cli("--data-dir", str(tmp_path / "data"), env=bare_env(PATH=str(tmp_path))))
    assert "no java is on PATH" in line and INSTALL_HINT in line


def test_mvn_missing_with_nothing_cached_says_how_to_install_it(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "java").symlink_to(find_java())
    result = run_cli("--data-dir", str(tmp_path / "data"),
                     env=bare_env(PATH=str(tools), LEADPIPE_KAFKA_CACHE_DIR=str(tmp_path / "empty-cache")))
    line = one_error_line(result)
    assert "mvn is missing" in line and INSTALL_HINT in line


def test_a_version_maven_cannot_resolve_shows_mavens_reason(tmp_path: Path) -> None:
    result = run_cli("--kafka-version", "0.0.1", "--data-dir", str(tmp_path / "data"),
                     env=bare_env(LEADPIPE_KAFKA_CACHE_DIR=str(tmp_path / "cache")))
    line = one_error_line(result)
    assert "cannot resolve Apache Kafka 0.0.1's jars with Maven: " in line
    assert "org.apache.kafka:kafka_2.13" in line  # Maven's own words name the artifact
    assert not (tmp_path / "cache" / "0.0.1" / "lib").exists()  # nothing half-made is taken for a cache


def test_a_taken_port_is_refused(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(run_cli("--port", str(port), "--data-dir", str(tmp_path / "data"), env=bare_env()))
    assert f"port 127.0.0.1:{port} is taken" in line


@pytest.fixture(scope="module")
def running(broker_factory: BrokerFactory) -> Iterator[KafkaBroker]:
    broker = broker_factory("kafka", "restarts")
    assert isinstance(broker, KafkaBroker)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_a_data_dir_another_broker_holds_is_refused(running: KafkaBroker) -> None:
    line = one_error_line(run_cli("--data-dir", str(running.data_dir), env=bare_env()))
    assert f"data directory {running.data_dir} is locked by another running Kafka broker" in line


def _read_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                values.append(msg.value() or b"")
    finally:
        consumer.close()
    return values


def test_data_and_offsets_survive_sigterm_and_kill_9_restarts(running: KafkaBroker) -> None:
    topic = f"kept-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": running.bootstrap_servers})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": running.bootstrap_servers, "acks": "all"})
    for n in range(3):
        producer.produce(topic, f"before-{n}".encode())
    assert producer.flush(30) == 0

    address = running.bootstrap_servers
    running.stop()
    assert running.start() == address  # the same port: clients configured with it reconnect
    assert _read_all(address, topic, 3) == [b"before-0", b"before-1", b"before-2"]

    producer = Producer({"bootstrap.servers": address, "acks": "all"})
    producer.produce(topic, b"after-sigterm")
    assert producer.flush(30) == 0
    running.kill()
    running.start()
    assert _read_all(address, topic, 4)[-1] == b"after-sigterm"  # acknowledged before kill -9: kept


def _start_cli(data_dir: Path) -> tuple[subprocess.Popen[str], int, str]:
    """``leadpipe kafka`` in the background; its process, the broker's pid and bootstrap address."""
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "kafka", "--data-dir", str(data_dir)],
                            env=bare_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    said = []
    for line in proc.stdout:  # the CLI prints this line only once the broker answers metadata
        said.append(line)
        found = re.search(r"\(KRaft, pid (\d+)\) listening on (\S+),", line)
        if found:
            return proc, int(found.group(1)), found.group(2)
    proc.wait(10)
    raise AssertionError(f"leadpipe kafka exited with {proc.returncode} before listening: {''.join(said)}")


def _end(proc: subprocess.Popen[str], pid: int) -> None:
    """Whatever happened, leave neither the CLI nor its broker behind, and close the pipe."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    if proc.stdout is not None:
        proc.stdout.close()


def test_ctrl_c_stops_the_broker(tmp_path: Path) -> None:
    proc, pid, bootstrap = _start_cli(tmp_path / "data")
    try:
        assert bootstrap.startswith("127.0.0.1:") and alive(pid)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(90) == 0
        assert wait_gone(pid, 10), "Ctrl-C left the Kafka process running"
    finally:
        _end(proc, pid)


def test_a_killed_cli_takes_its_broker_along(tmp_path: Path) -> None:
    proc, pid, _ = _start_cli(tmp_path / "data")
    try:
        proc.kill()  # kill -9: no finally block runs; the kernel's parent-death signal stops Kafka
        proc.wait(10)
        assert wait_gone(pid, 90), "the Kafka process outlived its killed parent"
    finally:
        _end(proc, pid)


def test_jars_are_cached_outside_the_tree_and_the_cache_is_configurable(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_KAFKA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("LEADPIPE_KAFKA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "leadpipe" / "kafka"


def test_cluster_ids_never_start_with_a_dash_the_storage_tool_would_read_as_an_option() -> None:
    ids = [kafka_broker._cluster_id() for _ in range(5000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
