"""Structural checks of docker-compose.yml, the Dockerfile and .dockerignore.

No Docker engine is needed: these read the files and assert what `docker compose up` relies on
(service graph, loopback-only ports, in-network addresses, scalability, a non-root image).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.kafka_broker import DEFAULT_KAFKA_VERSION, SINGLE_NODE_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

LEADPIPE_SERVICES = ("topics", "worker", "gateway", "console", "crm")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment", {})
    if isinstance(env, list):  # ["KEY=value", ...] form
        return dict(item.split("=", 1) for item in env)
    return dict(env)


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):  # short form means service_started
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def _host_ip(port: Any) -> str | None:
    """The host IP of one `ports:` entry, short ("ip:host:container") or long syntax."""
    if isinstance(port, dict):
        return port.get("host_ip")
    if not isinstance(port, str):
        return None  # a bare integer publishes on every interface
    parts = port.split("/")[0].rsplit(":", 2)
    return parts[0] if len(parts) == 3 else None


# --- docker-compose.yml -------------------------------------------------------------------------


def test_compose_spec_has_no_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_services_present(services: dict[str, Any]) -> None:
    assert {"kafka", "schema-registry", "topics", "worker", "gateway", "console", "crm"} <= set(services)


def test_every_published_port_is_bound_to_loopback(services: dict[str, Any]) -> None:
    published = 0
    for name, service in services.items():
        for port in service.get("ports", []):
            published += 1
            assert _host_ip(port) == "127.0.0.1", f"{name}: port {port!r} is not bound to 127.0.0.1"
    assert published >= 4  # kafka, schema-registry, gateway, console


def test_expected_host_ports(services: dict[str, Any]) -> None:
    assert "127.0.0.1:9092:9092" in services["kafka"]["ports"]
    assert "127.0.0.1:8081:8081" in services["schema-registry"]["ports"]
    assert "127.0.0.1:8080:8080" in services["gateway"]["ports"]


def test_environment_values_are_strings(services: dict[str, Any]) -> None:
    # Unquoted YAML booleans/numbers are a classic compose pitfall ("no" -> False, 1.10 -> 1.1).
    for name, service in services.items():
        for key, value in _env(service).items():
            assert isinstance(value, str), f"{name}: {key}={value!r} should be a quoted string"


def test_kafka_is_single_node_kraft(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:(3\.9|4\.\d+)\.\d+", kafka["image"])
    env = _env(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    listeners = env["KAFKA_LISTENERS"]
    assert "PLAINTEXT://" in listeners and "EXTERNAL://:9092" in listeners and "CONTROLLER://" in listeners
    assert "EXTERNAL://localhost:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_kafka_is_the_tested_version_with_the_tested_settings(services: dict[str, Any]) -> None:
    """What compose runs is what `leadpipe kafka` runs in the integration suite."""
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{DEFAULT_KAFKA_VERSION}"
    env = _env(kafka)
    for key, value in SINGLE_NODE_SETTINGS.items():
        assert env.get("KAFKA_" + key.upper().replace(".", "_")) == value, key


def test_kafka_auto_topic_creation_disabled(services: dict[str, Any]) -> None:
    assert _env(services["kafka"])["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_kafka_data_on_named_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    env = _env(services["kafka"])
    log_dir = env["KAFKA_LOG_DIRS"]
    mounts = [v.split(":") for v in services["kafka"]["volumes"]]
    named = [m for m in mounts if len(m) >= 2 and m[1] == log_dir]
    assert named, f"nothing mounted at {log_dir}"
    assert named[0][0] in compose["volumes"]


def test_kafka_healthcheck_uses_broker_api_versions(services: dict[str, Any]) -> None:
    test = " ".join(services["kafka"]["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in test


def test_schema_registry_pinned_and_pointed_at_kafka(services: dict[str, Any]) -> None:
    registry = services["schema-registry"]
    assert re.fullmatch(r"confluentinc/cp-schema-registry:7\.\d+\.\d+", registry["image"])
    env = _env(registry)
    assert env["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"].endswith(_in_network_bootstrap(services))
    assert env["SCHEMA_REGISTRY_LISTENERS"].endswith(":8081")
    assert "healthcheck" in registry
    assert _depends_on(registry) == {"kafka": "service_healthy"}


def _in_network_bootstrap(services: dict[str, Any]) -> str:
    """host:port of kafka's advertised PLAINTEXT (in-network) listener."""
    advertised = _env(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"].split(",")
    plaintext = [a for a in advertised if a.startswith("PLAINTEXT://")]
    assert len(plaintext) == 1
    return plaintext[0].removeprefix("PLAINTEXT://")


def test_in_network_listener_is_the_kafka_service(services: dict[str, Any]) -> None:
    assert _in_network_bootstrap(services).split(":")[0] == "kafka"


def test_topics_is_a_one_shot_after_kafka(services: dict[str, Any]) -> None:
    topics = services["topics"]
    assert _command(topics) == ["leadpipe", "topics", "create"]
    assert topics["restart"] == "no"
    assert _depends_on(topics)["kafka"] == "service_healthy"


def test_worker_waits_for_topics_and_registry(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert _command(worker) == ["leadpipe", "worker"]
    deps = _depends_on(worker)
    assert deps["topics"] == "service_completed_successfully"
    assert deps["schema-registry"] == "service_healthy"


def test_gateway_and_console_run_by_default_crm_behind_profile(services: dict[str, Any]) -> None:
    for name in ("gateway", "console", "crm"):
        assert _command(services[name]) == ["leadpipe", name]
        assert _depends_on(services[name])["topics"] == "service_completed_successfully"
    assert "profiles" not in services["gateway"] and "profiles" not in services["console"]
    assert services["crm"]["profiles"] == ["crm"]
    assert "127.0.0.1:8082:8082" in services["console"]["ports"]


@pytest.mark.parametrize("name", ["gateway", "worker", "console", "crm"])
def test_every_http_service_reads_the_mounted_api_keys(services: dict[str, Any], name: str) -> None:
    service = services[name]
    path = _env(service)["LEADPIPE_API_KEYS_PATH"]
    assert any(str(v).endswith(f":{path}:ro") for v in service["volumes"])
    assert "LEADPIPE_OPEN_READS" not in _env(service)  # reads are open only in local runs
    assert (ROOT / "config" / "api-keys.example.json").is_file()


def test_the_erasure_key_must_be_given_it_has_no_public_default(services: dict[str, Any]) -> None:
    # ${VAR:?message}: compose refuses to start when the variable is unset or empty.
    assert re.fullmatch(r"\$\{LEADPIPE_ERASURE_KEY:\?[^}]+\}", _env(services["worker"])["LEADPIPE_ERASURE_KEY"])


def test_healthy_and_completed_conditions_are_satisfiable(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dep, condition in _depends_on(service).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy: no healthcheck"
            if condition == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} must be a one-shot for {name}"


@pytest.mark.parametrize("name", LEADPIPE_SERVICES)
def test_leadpipe_services_use_in_network_addresses(services: dict[str, Any], name: str) -> None:
    env = _env(services[name])
    assert env["LEADPIPE_BOOTSTRAP_SERVERS"] == _in_network_bootstrap(services)
    registry_port = _env(services["schema-registry"])["SCHEMA_REGISTRY_LISTENERS"].rsplit(":", 1)[1]
    assert env["LEADPIPE_SCHEMA_REGISTRY_URL"] == f"http://schema-registry:{registry_port}"
    assert "build" in services[name]


def test_partition_count_is_the_same_everywhere(services: dict[str, Any]) -> None:
    counts = {name: _env(services[name])["LEADPIPE_PARTITIONS"] for name in LEADPIPE_SERVICES}
    assert len(set(counts.values())) == 1, counts


def test_worker_is_scalable(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    for port in worker.get("ports", []):
        # Only a host-port range can be shared by several replicas.
        host = str(port.get("published", "")) if isinstance(port, dict) else str(port).split(":")[-2]
        assert "-" in host, f"worker publishes fixed host port {port!r}: --scale would clash"
    # A named volume would be shared by every replica (RocksDB files opened twice); a read-only
    # bind mount of a file (the keys) is shared harmlessly.
    for volume in worker.get("volumes", []):
        assert ":" not in volume or (volume.startswith("./") and volume.endswith(":ro")), (
            f"worker mounts {volume!r}: use an anonymous per-replica volume")


def test_worker_web_server_reachable_in_network(services: dict[str, Any]) -> None:
    assert _env(services["worker"])["LEADPIPE_WEB_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container


def test_worker_store_matches_image(services: dict[str, Any]) -> None:
    store = _env(services["worker"]).get("LEADPIPE_STORE", "memory://")
    if store.startswith("rocksdb://"):
        assert "rocksdict" in DOCKERFILE.read_text(encoding="utf-8"), (
            "rocksdb:// needs rocksdict in the image"
        )
    else:
        assert store.startswith("memory://")


def test_production_session_timeout(services: dict[str, Any]) -> None:
    env = _env(services["worker"])
    session, heartbeat = float(env["LEADPIPE_SESSION_TIMEOUT_S"]), float(env["LEADPIPE_HEARTBEAT_INTERVAL_S"])
    assert session == 30
    assert heartbeat * 3 <= session  # the settings validator requires it


# --- Dockerfile and .dockerignore -------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


def test_dockerfile_base_and_install() -> None:
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert re.search(r"pip install --no-cache-dir \.(\s|$)", runs)


def test_dockerfile_cmd_runs_leadpipe() -> None:
    cmds = [args for keyword, args in _instructions() if keyword == "CMD"]
    assert cmds, "no CMD"
    assert json.loads(cmds[-1]) == ["leadpipe", "worker"]  # exec form: leadpipe gets the signals


def test_dockerfile_does_not_run_as_root() -> None:
    instructions = _instructions()
    users = [i for i, (keyword, _) in enumerate(instructions) if keyword == "USER"]
    assert users, "no USER line: the image would run as root"
    last_user = instructions[users[-1]][1].split(":")[0]
    assert last_user not in {"root", "0"}
    cmd_index = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "CMD")
    assert users[-1] < cmd_index


def test_dockerignore_excludes_local_state() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv"} <= patterns
    assert any("__pycache__" in p for p in patterns)
    assert "README.md" not in patterns  # pyproject's readme: `pip install .` needs it
