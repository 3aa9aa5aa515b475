"""The topic registry says how long each topic keeps what it holds, and topics are created with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]  # exported at runtime

from pipeline import topics
from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.topics import DAY_MS, registry


def by_name() -> dict[str, topics.TopicSpec]:
    return {spec.name: spec for spec in registry("leadpipe")}


def test_every_topic_says_how_long_it_keeps_records() -> None:
    specs = by_name()
    for spec in specs.values():
        config = spec.config()
        assert config["cleanup.policy"] == spec.cleanup_policy
        if spec.cleanup_policy == "compact":
            assert spec.retention is None and int(config["max.compaction.lag.ms"]) == 7 * DAY_MS
            assert int(config["delete.retention.ms"]) == DAY_MS
        else:
            assert spec.retention is not None and int(config["retention.ms"]) == spec.retention
    days = {name: spec.retention // DAY_MS for name, spec in specs.items() if spec.retention is not None}
    assert {days[t] for t in topics.INPUT_TOPICS} == {7}  # replay window; the tables keep what must last
    assert days["leadpipe-number-events"] == days["leadpipe-email-events"] == 7
    assert days[topics.CALL_READY] == days[topics.QUALIFIED_LEAD] == days[topics.DEAD_LETTER] == 30
    assert days[topics.LEAD_DECISION] >= 5 * 365  # company DNC records: 5 years
    assert all(specs[topics.changelog_topic("leadpipe", t)].cleanup_policy == "compact" for t in topics.TABLES)


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    embedded = EmbeddedBroker()
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@pytest.mark.integration
def test_topics_are_created_with_their_configs_on_the_embedded_broker(broker: str) -> None:
    settings = Settings().with_bootstrap(broker)
    reports = ensure_topics(settings)  # Tansu may ignore the configs; creating must not fail on them
    assert {r.name for r in reports} == set(by_name()) and all(r.created for r in reports)
    admin = AdminClient(settings.kafka_client_config())
    # Tansu keeps what it was given (it does not act on it: memory storage, no retention or compaction).
    for name in (topics.LEAD_DECISION, topics.OPT_OUT):
        resource = ConfigResource("topic", name)
        described = admin.describe_configs([resource])[resource].result(10)
        assert described["retention.ms"].value == str(by_name()[name].retention)
