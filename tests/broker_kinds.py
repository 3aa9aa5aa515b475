"""The two brokers the integration suite runs on, behind one shape (tests/conftest.py picks them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pipeline.broker import EmbeddedBroker
from pipeline.kafka_broker import DEFAULT_KAFKA_VERSION, KafkaBroker

BROKER_KINDS = ("tansu", "kafka")

KAFKA_TEST_SETTINGS = {
    # The cleaner looks for dirty logs every 0.5 s instead of 15 s: a compaction test waits for it.
    "log.cleaner.backoff.ms": "500",
}
"""Broker-level settings the tests shorten; topic-level ones (segment.ms, min.cleanable.dirty.ratio)
are set per topic by the test that needs them."""


class Broker(Protocol):
    """What EmbeddedBroker and KafkaBroker both offer a test."""

    kind: str

    @property
    def bootstrap_servers(self) -> str: ...

    @property
    def port(self) -> int: ...

    def start(self, timeout_s: float = ...) -> str: ...

    def stop(self, timeout_s: float = ...) -> None: ...

    def kill(self) -> None: ...


BrokerFactory = Callable[..., Broker]


def new_broker(kind: str, directory: Path, *, port: int | None = None,
               kafka_version: str = DEFAULT_KAFKA_VERSION) -> Broker:
    """An unstarted broker of ``kind`` keeping its data (Kafka) and log in ``directory``."""
    if kind == "kafka":
        return KafkaBroker(directory, version=kafka_version, port=port, log_path=directory / "broker.log",
                           settings=KAFKA_TEST_SETTINGS)
    return EmbeddedBroker(port=port, log_path=directory / "broker.log")
