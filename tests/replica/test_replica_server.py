"""The dial-check replica's HTTP face, with a table copy held in a test: it answers only when it can
show its copy current, and fails closed (503) otherwise."""

from __future__ import annotations

import threading
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from pipeline.config import Settings
from pipeline.replica.server import create_app
from pipeline.worker.audit import DialCheckAuditLog
from pipeline.worker.policies import load_policies
from pipeline.worker.state import NumberTables

SETTINGS = Settings(erasure_key="replica-tests-erasure-key-0123456789", fixed_clock=None, open_reads=True)


class Reader:
    def __init__(self, *, ready: bool, behind_s: float | None) -> None:
        self.ready = threading.Event()
        if ready:
            self.ready.set()
        self._behind = behind_s

    def behind_s(self) -> float | None:
        return self._behind

    def lag_records(self) -> int:
        return 0


class Copy:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.rows: dict[str, dict[bytes, bytes]] = {t: {} for t in ("suppressions", "consents", "leads", "erasures")}
        self.tables = NumberTables(self.rows["suppressions"], self.rows["consents"], self.rows["leads"],
                                   self.rows["erasures"], b"k" * 32)


class Sent:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes]] = []

    async def __call__(self, topic: str, key: bytes, value: bytes) -> Any:
        self.records.append((topic, key, value))

        async def delivered() -> None:
            return None

        return delivered()


async def client_for(reader: Reader, sent: Sent) -> TestClient[Any, Any]:
    from pipeline.codec import make_codec

    audit = DialCheckAuditLog(sent, make_codec(SETTINGS))
    app = create_app(SETTINGS, load_policies(SETTINGS, with_registries=False), Copy(reader), audit, None)  # type: ignore[arg-type]
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_a_current_copy_answers_and_records_the_answer() -> None:
    sent = Sent()
    client = await client_for(Reader(ready=True, behind_s=0.4), sent)
    try:
        resp = await client.get("/v1/dial-check/%2B13052094411", params={"campaign_id": "solar-q4"})
        body = await resp.json()
        assert resp.status == 200 and body["replica_current_ms_ago"] == 400
        assert body["allowed"] is False and body["reasons"][0]["code"] == "CONSENT_MISSING"  # an empty copy
        assert [topic for topic, _, _ in sent.records] == ["dial-check"]
    finally:
        await client.close()


async def test_a_copy_that_cannot_show_it_is_current_refuses_instead_of_answering() -> None:
    for reader in (Reader(ready=False, behind_s=None), Reader(ready=True, behind_s=2.5)):
        sent = Sent()
        client = await client_for(reader, sent)
        try:
            resp = await client.get("/v1/dial-check/%2B13052094411", params={"campaign_id": "solar-q4"})
            assert resp.status == 503 and (await resp.json())["error"] == "replica behind"
            assert (await client.get("/healthz")).status == 503
            assert sent.records == []  # nothing answered, nothing recorded
        finally:
            await client.close()


async def test_a_bad_request_names_its_fields_even_while_loading() -> None:
    client = await client_for(Reader(ready=False, behind_s=None), Sent())
    try:
        resp = await client.get("/v1/dial-check/12", params={"channel": "FAX"})
        assert resp.status == 400
        assert set((await resp.json())["fields"]) == {"phone", "channel"}
    finally:
        await client.close()
