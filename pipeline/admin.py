"""Topic set-up: create every topic of the registry, explicitly, before any worker starts."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]  # exported at runtime

from pipeline.config import TopicsSettings
from pipeline.errors import BrokerError, TopicSetupError
from pipeline.topics import TopicSpec, registry


@dataclass(frozen=True)
class TopicReport:
    name: str
    partitions: int
    created: bool


def ensure_topics(settings: TopicsSettings, *, timeout_s: float = 15.0) -> list[TopicReport]:
    """Create the missing topics and check every topic has ``settings.partitions`` partitions.

    Idempotent: existing topics are left alone. Raises :class:`TopicSetupError` when an existing
    topic has another partition count (co-partitioning would silently break), naming the topic.
    """
    admin = AdminClient(settings.kafka_client_config())
    specs = registry(settings.app_id)
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as exc:
        raise BrokerError(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}", retriable=True) from exc
    missing = [s for s in specs if s.name not in existing]
    created: set[str] = set()
    if missing:
        futures = admin.create_topics([_new_topic(s, settings) for s in missing], operation_timeout=timeout_s)
        for name, future in futures.items():
            try:
                future.result(timeout_s)
                created.add(name)
            except KafkaException as exc:
                if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue  # another process created it meanwhile: fine, checked below
                raise TopicSetupError(f"cannot create topic {name}: {exc}") from exc
    metadata = _metadata_with(admin, [s.name for s in specs], timeout_s)
    reports = []
    for spec in specs:
        topic = metadata.get(spec.name)
        if topic is None:
            raise TopicSetupError(f"topic {spec.name} is missing after creation", retriable=True)
        count = len(topic.partitions)
        if count != settings.partitions:
            raise TopicSetupError(
                f"topic {spec.name} has {count} partitions but LEADPIPE_PARTITIONS={settings.partitions}: "
                "every topic must have the same count (co-partitioning); recreate it or change the setting"
            )
        reports.append(TopicReport(spec.name, count, spec.name in created))
    return reports


def _metadata_with(admin: AdminClient, names: list[str], timeout_s: float) -> dict[str, Any]:
    """Topic metadata once it lists every one of ``names`` (or at ``timeout_s``, as it is then).

    Kafka answers CreateTopics when the controller has the topic; the broker answering Metadata
    learns of it a moment later, so a topic just created can be missing from the next listing."""
    deadline = time.monotonic() + timeout_s
    while True:
        topics: dict[str, Any] = admin.list_topics(timeout=timeout_s).topics
        if all(name in topics and topics[name].partitions for name in names) or time.monotonic() >= deadline:
            return topics
        time.sleep(0.1)


def _new_topic(spec: TopicSpec, settings: TopicsSettings) -> NewTopic:
    # Retention and compaction from the registry; a broker that ignores a config (Tansu keeps
    # everything in memory) still creates the topic.
    return NewTopic(spec.name, num_partitions=settings.partitions,
                    replication_factor=settings.replication_factor, config=spec.config())
