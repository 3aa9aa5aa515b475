"""The console end to end: the real embedded broker, a real worker, the console as a real process and
the dashboard loaded in Debian's headless chromium. The numbers the page shows must equal counts
computed here from the topics with a plain consumer, and must follow new events without a reload.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from chromium_browser import headless_chromium, read_dashboard
from selenium import webdriver
from selenium.webdriver.common.by import By
from waiting import wait_until

from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.console.process import ConsoleProcess
from pipeline.console.sources import LagProbe
from pipeline.core.outcomes import contact_kind
from pipeline.core.reasons import OUTCOME_REASONS, VOCABULARY
from pipeline.kafka_clients import EventProducer, TopicTail
from pipeline.processes import WorkerProcess
from pipeline.topics import (
    CALL_OUTCOME,
    CALL_READY,
    CONSENT_CHANGED,
    DEAD_LETTER,
    LEAD_CAPTURED,
    LEAD_DECISION,
    OPT_OUT,
    QUALIFIED_LEAD,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # Tue 12:00 in New York: inside every US window
TOPICS = [LEAD_CAPTURED, OPT_OUT, CONSENT_CHANGED, CALL_OUTCOME, LEAD_DECISION, CALL_READY, QUALIFIED_LEAD,
          DEAD_LETTER]
STAGES = ("captured", "valid", "callable", "contacted", "qualified")

_numbers = itertools.count(2095000)


def fresh_number() -> str:
    while True:
        candidate = f"+1305{next(_numbers):07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def new_id() -> str:
    return str(uuid.uuid4())


def lead(phone: str, *, source: str = "web-form:quote", consent: bool = True, **extra: Any) -> dict[str, Any]:
    proof = {"purpose": "marketing", "channel": "ANY", "granted_at": NOW - timedelta(minutes=5),
             "form_url": "https://example.com/quote", "consent_text": "I agree to be called.",
             "certificate_id": "cert-" + new_id()[:8], "ip": "203.0.113.7", "expires_at": None}
    record: dict[str, Any] = {
        "event_id": new_id(), "occurred_at": NOW - timedelta(minutes=1), "lead_id": "L-" + new_id()[:8],
        "source": source, "campaign_id": "solar-q4", "phone": phone, "country": "US", "first_name": "Ana",
        # A different email per lead: one email on two numbers is one person, a duplicate.
        "last_name": "Silva", "email": f"ana.{new_id()[:8]}@example.com", "address": None,
        "consent": proof if consent else None,
        "attributes": {},
    }
    record.update(extra)
    return record


def opt_out(phone: str) -> dict[str, Any]:
    return {"event_id": new_id(), "occurred_at": NOW - timedelta(minutes=2), "phone": phone, "country": "US",
            "action": "ADD", "scope": "ALL_CHANNELS", "category": "PERMANENT", "campaign_id": None,
            "expires_at": None, "source": "sms-keyword:STOP", "reason": "replied STOP", "evidence": None}


def call_outcome(phone: str, lead_id: str, code: str) -> dict[str, Any]:
    return {"event_id": new_id(), "occurred_at": NOW, "lead_id": lead_id, "phone": phone, "country": None,
            "campaign_id": "solar-q4", "outcome": code, "agent_id": "agent-7", "notes": None, "callback_at": None,
            "dnc_scope": None, "answers": {}, "tags": []}


class System:
    def __init__(self, producer: EventProducer, tail: TopicTail, worker: WorkerProcess, console: ConsoleProcess,
                 browser: webdriver.Chrome) -> None:
        self.producer, self.tail, self.worker, self.console, self.browser = producer, tail, worker, console, browser
        self.tail_config: dict[str, str | int | float | bool] = {}

    def send(self, topic: str, record: dict[str, Any], key: str) -> None:
        self.producer.send(topic, record, key=key)

    def records(self, topic: str) -> list[dict[str, Any]]:
        return [r.record for r in self.tail.records(topic) if r.record is not None]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    log_dir = tmp_path_factory.mktemp("console-logs")
    broker = EmbeddedBroker(log_path=log_dir / "broker.log")
    worker = console = None
    tail = None
    profile = Path(tempfile.mkdtemp(prefix="leadpipe-chromium-"))
    try:
        settings = Settings(fixed_clock=NOW).with_bootstrap(broker.start())
        ensure_topics(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
        env["LEADPIPE_FIXED_CLOCK"] = NOW.isoformat()
        keys_file = log_dir / "api-keys.json"
        keys_file.write_text(json.dumps(KEYS_DOCUMENT), encoding="utf-8")
        # Worker and console check reads against the same keys; the console scrapes the worker with READ_KEY.
        env.update(LEADPIPE_API_KEYS_PATH=str(keys_file), LEADPIPE_API_KEY=READ_KEY,
                   LEADPIPE_ERASURE_KEY="console-test-erasure-key-0123456789")
        worker = WorkerProcess(bootstrap=settings.bootstrap_servers or "", env=env,
                               log_path=log_dir / "worker.log").start()
        console = ConsoleProcess(bootstrap=settings.bootstrap_servers or "", worker_urls=[worker.url], env=env,
                                 log_path=log_dir / "console.log")
        worker.wait_ready(timeout_s=90)
        codec = make_codec(settings)
        tail = TopicTail(settings.kafka_client_config(), codec, TOPICS).start()
        producer = EventProducer(settings.kafka_client_config(), codec)
        with headless_chromium(profile) as browser:
            handle = System(producer, tail, worker, console, browser)
            handle.tail_config = settings.kafka_client_config()
            yield handle
    finally:
        if tail is not None:
            tail.stop()
        if console is not None:
            console.stop()
        if worker is not None:
            worker.stop()
        broker.stop()
        shutil.rmtree(profile, ignore_errors=True)


READ_KEY = "console-read-key-0123456789"
WRITE_KEY = "console-write-key-0123456789"
KEYS_DOCUMENT = {"keys": [
    {"key_id": "ops", "source": "ops", "key": READ_KEY, "hmac_secret": None, "scopes": ["read"]},
    {"key_id": "web", "source": "web", "key": WRITE_KEY, "hmac_secret": None, "scopes": ["write"]},
]}


def read(url: str, key: str = READ_KEY) -> bytes:
    request = urllib.request.Request(url, headers={"X-API-Key": key})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback
        return bytes(resp.read())


def status(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def expected_from_topics(system: System) -> dict[str, Any]:
    """The figures, counted here from the topics' records without the console's aggregator."""
    decisions = system.records(LEAD_DECISION)
    captures = {r["event_id"] for r in system.records(LEAD_CAPTURED)}
    on_capture = {d["input_event_id"]: d for d in decisions if d["input_topic"] == LEAD_CAPTURED}
    reasons: Counter[str] = Counter()
    for d in decisions:
        if d["outcome"] != "CALL_READY":
            for reason in d["reasons"] or [{"code": "-"}]:
                reasons[f"{d['outcome']}:{reason['code']}"] += 1
    for o in system.records(CALL_OUTCOME):
        if o["outcome"] in ("NOT_INTERESTED", "WRONG_NUMBER", "DISCONNECTED", "DO_NOT_CALL"):
            for tag in o["tags"] or [OUTCOME_REASONS[o["outcome"]]]:
                reasons[f"DISQUALIFIED:{tag}"] += 1
    outcomes = system.records(CALL_OUTCOME)
    dialed = {o["phone"] for o in outcomes}  # the test sends E.164 numbers: the lead's phone_e164
    contacted_numbers = {o["phone"] for o in outcomes if contact_kind(o["outcome"]) == "CONTACT"}
    by_source = Counter(r["source"] for r in system.records(LEAD_CAPTURED))
    # Offers whose window closed before the console's instant (NOW) with nothing after them; leads closed STALE.
    worked = {o["lead_id"] for o in outcomes}
    latest: dict[str, dict[str, Any]] = {}
    for r in system.records(CALL_READY):
        if r["action"] == "READY" and (r["lead_id"] not in latest
                                       or r["occurred_at"] >= latest[r["lead_id"]]["occurred_at"]):
            latest[r["lead_id"]] = r
    stranded = [r["callable_until"] for lead_id, r in latest.items()
                if r["callable_until"] is not None and r["callable_until"] < NOW and lead_id not in worked
                and not any(d["lead_id"] == lead_id and d["decided_at"] > r["occurred_at"] for d in decisions)]
    stale = [d["decided_at"] for d in decisions if d["lead_status"] == "STALE"]
    return {
        "by_source": dict(by_source),
        "contact_rate": round(len(contacted_numbers) / len(dialed), 9) if dialed else None,
        "captured": len(captures),
        "valid": sum(1 for e in captures if e in on_capture and on_capture[e]["outcome"] != "REJECTED"),
        "callable": len({d["lead_id"] for d in decisions if d["outcome"] == "CALL_READY"}),
        "contacted": len({o["lead_id"] for o in system.records(CALL_OUTCOME)
                          if contact_kind(o["outcome"]) == "CONTACT"}),
        "qualified": len({q["lead_id"] for q in system.records(QUALIFIED_LEAD)}),
        "reasons": dict(reasons),
        # Each reason is shown by its label from the vocabulary (a dialer's tag as sent).
        "reason_labels": {key: f"{key.split(':')[0]}: {_label(key.split(':', 1)[1])}" for key in reasons},
        "opt_outs": len({r["event_id"] for r in system.records(OPT_OUT)}),
        "stranded_offers": (len(stranded), min(stranded).isoformat() if stranded else None),
        "stale_leads": (len(stale), min(stale).isoformat() if stale else None),
    }


_LABELS = {code: meaning.label for code, meaning in VOCABULARY.items()}


def _label(code: str) -> str:
    return _LABELS.get(code, code)


def shown(browser: webdriver.Chrome) -> dict[str, Any]:
    return read_dashboard(browser, STAGES)


def settle(system: System, expected_lead_decisions: int, what: str) -> dict[str, Any]:
    """Wait until the worker decided every lead sent, then until the page shows what the topics say."""
    wait_until(lambda: sum(1 for d in system.records(LEAD_DECISION) if d["input_topic"] == LEAD_CAPTURED)
               >= expected_lead_decisions, f"{expected_lead_decisions} lead decisions ({what})")
    last: dict[str, Any] = {}

    def matches() -> bool:
        nonlocal last
        want = expected_from_topics(system)
        got = shown(system.browser)
        last = {"want": want, "got": got}
        return got == want

    try:
        wait_until(matches, f"the dashboard to show the topics' figures ({what})", timeout_s=30)
    except AssertionError:
        raise AssertionError(f"dashboard never matched the topics ({what}): {json.dumps(last, indent=1)}") from None
    return dict(last["want"])


def feed_wave(system: System, *, leads: int, source: str) -> tuple[int, list[tuple[str, str]]]:
    """Leads (some without consent, one unusable number, one opted out before), returns how many
    lead records were sent and the (phone, lead_id) of those sent with consent."""
    sent = 0
    good: list[tuple[str, str]] = []
    opted = fresh_number()
    system.send(OPT_OUT, opt_out(opted), opted)
    system.producer.flush()
    for i in range(leads):
        phone = fresh_number()
        record = lead(phone, source=source, consent=i % 4 != 3)
        system.send(LEAD_CAPTURED, record, record["lead_id"])
        sent += 1
        if i % 4 != 3:
            good.append((phone, record["lead_id"]))
    bad = lead("555-not-a-number", source=source)
    system.send(LEAD_CAPTURED, bad, bad["lead_id"])
    late = lead(opted, source=source)
    system.send(LEAD_CAPTURED, late, late["lead_id"])
    again = lead(good[0][0], source=source, lead_id=good[0][1])  # the same lead id again: a duplicate
    system.send(LEAD_CAPTURED, again, again["lead_id"])
    system.producer.flush()
    return sent + 3, good


def left_behind(system: System) -> None:
    """A READY from yesterday whose window closed 20 hours ago with nothing after it, and a lead the
    worker closed STALE two hours ago (both as the worker writes them)."""
    phone, stale_phone = fresh_number(), fresh_number()
    offered_at, closes = NOW - timedelta(hours=28), NOW - timedelta(hours=20)
    stranded = {"lead_id": "L-stranded-" + new_id()[:8], "decision_id": new_id()}
    system.send(LEAD_DECISION, decision_record(phone, **stranded, input_topic="release-scheduler", at=offered_at,
                                               outcome="CALL_READY", status="IN_PROGRESS", until=closes,
                                               reason=("CALLABLE", "decision.callable")), phone)
    system.send(CALL_READY, {
        "event_id": new_id(), "occurred_at": offered_at, "action": "READY", "phone_e164": phone,
        "campaign_id": "solar-q4", "priority": 40, "score": 40.0, "score_breakdown": [], "callable_from": offered_at,
        "callable_until": closes, "seconds_left": 8 * 3600, "time_zones": ["America/New_York"], "reasons": [],
        "rule_pack_version": "2026.11.2", "callback": None, **stranded}, phone)
    system.send(LEAD_DECISION, decision_record(
        stale_phone, lead_id="L-stale-" + new_id()[:8], decision_id=new_id(), input_topic="release-scheduler",
        at=NOW - timedelta(hours=2), outcome="CLOSED", status="STALE", until=None,
        reason=("OFFER_STALE", "lifecycle.stale.unworked")), stale_phone)
    system.producer.flush()


def decision_record(phone: str, *, lead_id: str, decision_id: str, input_topic: str, at: datetime, outcome: str,
                    status: str, until: datetime | None, reason: tuple[str, str]) -> dict[str, Any]:
    return {
        "event_id": new_id(), "occurred_at": at, "decision_id": decision_id, "input_event_id": new_id(),
        "input_topic": input_topic, "lead_id": lead_id, "campaign_id": "solar-q4", "source": "web-form:quote",
        "phone": phone, "phone_e164": phone, "region": "US", "number_type": "FIXED_LINE_OR_MOBILE",
        "time_zones": ["America/New_York"], "outcome": outcome,
        "reasons": [{"code": reason[0], "rule_id": reason[1], "detail": "written by the test as the worker would"}],
        "rules_fired": [reason[1]], "score": 40.0, "score_breakdown": [], "callable_from": None,
        "callable_until": until, "rule_pack_version": "2026.11.2", "decided_at": at, "lead_status": status,
        "attempts": 0, "quality_flags": []}


def test_dashboard_shows_the_topics_and_updates_live(system: System) -> None:
    sent, good = feed_wave(system, leads=12, source="web-form:quote")
    wait_until(lambda: len({r["lead_id"] for r in system.records(CALL_READY) if r["action"] == "READY"})
               >= len(good), "offers for the consented leads")
    for (phone, lead_id), code in zip(good, itertools.cycle(["INTERESTED", "NO_ANSWER", "DISCONNECTED",
                                                            "QUALIFIED", "NOT_INTERESTED"]), strict=False):
        system.send(CALL_OUTCOME, call_outcome(phone, lead_id, code), phone)
    system.producer.flush()
    wait_until(lambda: len(system.records(QUALIFIED_LEAD)) >= 1, "a qualified lead")

    system.console.start().wait_ready(timeout_s=60)
    # The link the demo prints: the fragment logs the browser in (session cookie), then the page loads.
    system.browser.get(f"{system.console.dashboard_url}#key={READ_KEY}")
    system.browser.execute_script("window.__sameDocument = 'first load';")
    first = settle(system, sent, "first wave")
    assert first["captured"] == sent
    assert first["qualified"] >= 1 and first["contacted"] >= 2
    shown_outcomes = {k.split(":")[0] for k in first["reasons"]}
    assert {"SUPPRESSED", "REJECTED", "DUPLICATE", "DISQUALIFIED"} <= shown_outcomes, first["reasons"]

    # The worker measured opt-out → blocked and the console shows it (scraped from the worker's /metrics).
    wait_until(lambda: int(system.browser.find_element(By.ID, "latency-count").get_attribute("data-value") or 0)
               >= first["opt_outs"], "the opt-out latency on the page")
    lag_total = system.browser.find_element(By.ID, "lag-total").get_attribute("data-value")
    assert lag_total is not None and int(lag_total) >= 0
    rows = system.browser.find_elements(By.CSS_SELECTOR, "#sources-body tr[data-source]")
    assert [r.get_attribute("data-source") for r in rows] == ["web-form:quote"]

    assert (first["stranded_offers"], first["stale_leads"]) == ((0, None), (0, None))

    # More events: the same page (no reload) follows. Among them what a worker left behind on an
    # earlier day (written here as the worker writes them): an offer never worked or re-decided
    # (stranded: its worker fell behind) and a lead it closed STALE.
    seq_before = int(system.browser.find_element(By.ID, "update-seq").get_attribute("data-value") or 0)
    left_behind(system)
    more, more_good = feed_wave(system, leads=8, source="vendor:acme")
    phone, lead_id = more_good[0]
    wait_until(lambda: any(r["lead_id"] == lead_id for r in system.records(CALL_READY)), "an offer in wave 2")
    system.send(CALL_OUTCOME, call_outcome(phone, lead_id, "SALE"), phone)
    system.producer.flush()
    wait_until(lambda: any(q["lead_id"] == lead_id for q in system.records(QUALIFIED_LEAD)), "the sale qualified")
    second = settle(system, sent + more, "second wave")
    assert second["captured"] == sent + more
    assert second["stranded_offers"] == (1, (NOW - timedelta(hours=20)).isoformat())
    assert second["stale_leads"] == (1, (NOW - timedelta(hours=2)).isoformat())
    assert second["qualified"] == first["qualified"] + 1
    assert system.browser.execute_script("return window.__sameDocument;") == "first load"
    assert int(system.browser.find_element(By.ID, "update-seq").get_attribute("data-value") or 0) > seq_before
    sources = {r.get_attribute("data-source")
               for r in system.browser.find_elements(By.CSS_SELECTOR, "#sources-body tr[data-source]")}
    assert sources == {"web-form:quote", "vendor:acme"}

    # The lag arithmetic on the real broker: a group that never consumed lags by every record.
    probe = LagProbe(system.tail_config, "leadpipe-console-test-idle-group", [OPT_OUT], interval_s=0.5).start()
    try:
        wait_until(lambda: sum(r["lag"] for r in probe.rows) == len(system.records(OPT_OUT)), "lag of an idle group")
    finally:
        probe.stop()

    # /metrics carries the same figures in Prometheus text, and /v1/report the same as JSON.
    metrics = read(f"{system.console.url}/metrics").decode()
    assert f"leadpipe_report_captured {second['captured']}\n" in metrics
    assert f"leadpipe_report_qualified {second['qualified']}\n" in metrics
    assert "leadpipe_optout_to_blocked_seconds_count" in metrics
    assert "leadpipe_consumer_lag{" in metrics
    report = json.loads(read(f"{system.console.url}/v1/report"))
    assert {k: report["funnel"][k] for k in STAGES} == {k: second[k] for k in STAGES}


# After the test above, which starts the console once the topics hold data.
@pytest.mark.parametrize("path", ["/dashboard", "/v1/report", "/metrics"])
def test_each_console_read_needs_a_read_key(system: System, path: str) -> None:
    if not system.console.alive():
        system.console.start().wait_ready(timeout_s=60)
    url = system.console.url + path
    assert status(url, {}) == 401
    assert status(url, {"X-API-Key": WRITE_KEY}) == 403
    assert status(url, {"X-API-Key": READ_KEY}) == 200
    assert status(url, {"Authorization": f"Bearer {READ_KEY}"}) == 200


def test_the_console_healthz_is_open_but_says_only_whether_it_is_ready(system: System) -> None:
    if not system.console.alive():
        system.console.start().wait_ready(timeout_s=60)
    with urllib.request.urlopen(f"{system.console.url}/healthz", timeout=5) as resp:  # noqa: S310 - loopback
        assert json.loads(resp.read()) == {"ready": True, "status": "ok"}
    assert "records_read" in json.loads(read(f"{system.console.url}/healthz"))
