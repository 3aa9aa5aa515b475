"""Gateway test harness: the real embedded broker, a plain-consumer tail on the input topics, and
the gateway app served in-process on a free loopback port with a real producer. Nothing is mocked.

Not a conftest.py: tests/integration's modules import theirs as ``conftest``, and a second one
would shadow it when the whole suite runs. Test modules load the fixtures with
``pytest_plugins = ["gateway_harness"]``; the broker fixture is module-scoped, so each module's
broker stops when the module is done. The modules also import names from it before pytest loads it
as a plugin, so it is left as written (no asserts here): PYTEST_DONT_REWRITE."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.gateway.server import create_app, producer_for
from pipeline.http_auth import KeyRing, parse_api_keys
from pipeline.kafka_clients import Received, TopicTail
from pipeline.topics import INPUT_TOPICS

PLAIN_KEY = "plain-key-0123456789"
SIGNED_KEY = "vendor-key-0123456789"
READ_KEY = "read-key-0123456789ab"
HMAC_SECRET = "s3cret"  # noqa: S105 - a test fixture's secret, not a real one
KEYS_DOCUMENT = {"keys": [
    {"key_id": "webform-main", "source": "webform-main", "key": PLAIN_KEY, "hmac_secret": None},
    {"key_id": "vendor-x", "source": "vendor-x", "key": SIGNED_KEY, "hmac_secret": HMAC_SECRET},
    {"key_id": "ops", "source": "ops", "key": READ_KEY, "hmac_secret": None, "scopes": ["read"]},
]}


@dataclasses.dataclass
class Site:
    settings: Settings
    tail: TopicTail
    log_dir: Path

    def records(self, topic: str, phone: str) -> list[Received]:
        return [r for r in self.tail.records(topic) if r.key == phone.encode()]

    def wait_event(self, topic: str, event_id: str, timeout_s: float = 15.0) -> Received:
        [found] = self.tail.wait_for(topic, lambda r: r.record is not None and r.record["event_id"] == event_id,
                                     timeout_s=timeout_s)
        return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    log_dir = tmp_path_factory.mktemp("gateway")
    broker = EmbeddedBroker(log_path=log_dir / "broker.log")
    tail: TopicTail | None = None
    try:
        settings = Settings().with_bootstrap(broker.start())
        ensure_topics(settings)
        tail = TopicTail(settings.kafka_client_config(), make_codec(settings), INPUT_TOPICS).start()
        yield Site(settings, tail, log_dir)
    finally:
        if tail is not None:
            tail.stop()
        broker.stop()


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    path.write_text(json.dumps(KEYS_DOCUMENT))
    return path


@contextlib.asynccontextmanager
async def serve_gateway(settings: Settings, *, wait_ready: bool = True) -> AsyncIterator[TestClient[Any, Any]]:
    """The gateway app on a free loopback port, its producer started in this loop."""
    producer = producer_for(settings).start()
    app = create_app(settings, producer, make_codec(settings), KeyRing(parse_api_keys(KEYS_DOCUMENT)))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        if wait_ready:
            for _ in range(200):
                if (await client.get("/healthz")).status == 200:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("gateway not ready within 10 s")
        yield client
    finally:
        await client.close()
        await producer.stop()


@pytest.fixture
async def gateway(site: Site) -> AsyncIterator[TestClient[Any, Any]]:
    async with serve_gateway(site.settings) as client:
        yield client


_numbers = itertools.count(2095000)


@pytest.fixture
def fresh_phone() -> Any:
    """A valid Florida number no other gateway test uses, E.164."""

    def make() -> str:
        while True:
            candidate = f"+1305{next(_numbers):07d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                return candidate

    return make
