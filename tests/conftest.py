"""The broker choice for the whole suite: ``--broker=tansu|kafka|both`` (default both, as in CI).

A test (or fixture) that takes ``broker_kind`` runs once per chosen broker; ``broker`` is a started
broker of that kind shared by the session, ``broker_factory`` makes more (each stopped at the end
of the session at the latest: no broker is left behind). Kafka's jars are resolved on first use
into ``LEADPIPE_KAFKA_CACHE_DIR`` (default ``~/.cache/leadpipe/kafka``).

This module is imported by pytest as ``conftest`` before tests/integration/conftest.py, which
replaces it under that name; modules import their helpers from that one, never from here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broker_kinds import BROKER_KINDS, Broker, BrokerFactory, new_broker

from pipeline.kafka_broker import DEFAULT_KAFKA_VERSION


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--broker", choices=(*BROKER_KINDS, "both"), default="both",
                     help="run broker-parametrized integration tests on Tansu, Apache Kafka or both (default)")
    parser.addoption("--kafka-version", default=DEFAULT_KAFKA_VERSION,
                     help=f"Apache Kafka release the Kafka runs use (default {DEFAULT_KAFKA_VERSION}, compose's)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    named = any("broker_kind" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize"))
    if "broker_kind" in metafunc.fixturenames and not named:  # a test may name its one broker itself
        choice = metafunc.config.getoption("broker")
        kinds = BROKER_KINDS if choice == "both" else (choice,)
        metafunc.parametrize("broker_kind", kinds, indirect=True, scope="session")


@pytest.fixture(scope="session")
def broker_kind(request: pytest.FixtureRequest) -> str:
    """``tansu`` or ``kafka``: the broker this test runs on."""
    return str(request.param)


@pytest.fixture(scope="session")
def broker_factory(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerFactory]:
    """``make(kind, name, port=None)``: a new unstarted broker; all of them are stopped at the end."""
    made: list[Broker] = []
    version = str(request.config.getoption("kafka_version"))

    def make(kind: str, name: str, *, port: int | None = None) -> Broker:
        made.append(new_broker(kind, tmp_path_factory.mktemp(f"{kind}-{name}"), port=port, kafka_version=version))
        return made[-1]

    try:
        yield make
    finally:
        for broker in reversed(made):
            broker.stop()


@pytest.fixture(scope="session")
def broker(broker_kind: str, broker_factory: BrokerFactory) -> Iterator[Broker]:
    """A started broker of ``broker_kind``, shared by every test of the session on that kind."""
    shared = broker_factory(broker_kind, "shared")
    try:
        shared.start()
        yield shared
    finally:
        shared.stop()
