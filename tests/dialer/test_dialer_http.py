"""The dialer's and web forms' HTTP edges against a real local aiohttp server that records requests."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from dialer_builders import NOW, ready
from dialer_http_server import RecordingServer

from connectors.demo.webforms import WebFormSimulator, is_web_form, sample_submissions
from connectors.dialer import DialCheckClient, DialCheckUnavailable, HttpOutcomeSink, OutcomeRejected
from connectors.gateway_client import GatewayClient, GatewayUnavailable
from connectors.outcome_model import OutcomeModel
from pipeline.broker import free_port
from pipeline.topics import CONSENT_CHANGED, LEAD_CAPTURED, OPT_OUT

KEY = "test-key-0123456789"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    s = RecordingServer().start()
    yield s
    s.stop()


def gateway(server: RecordingServer, pauses: list[float] | None = None, **kw: object) -> GatewayClient:
    sleep = pauses.append if pauses is not None else (lambda _s: None)
    return GatewayClient(server.url, KEY, sleep=sleep, **kw)  # type: ignore[arg-type]


def qualified_outcome() -> dict[str, object]:
    model = OutcomeModel(seed=11)
    for i in range(200):
        outcome = model.outcome(ready(f"+1305555{i:04d}"), ended_at=NOW)
        if outcome["outcome"] == "CALLBACK_REQUESTED":
            return dict(outcome)
    raise AssertionError("no callback in 200 draws")


def test_http_outcome_sink_posts_json_with_the_api_key(server: RecordingServer) -> None:
    outcome = qualified_outcome()

    HttpOutcomeSink(gateway(server)).send(outcome)  # type: ignore[arg-type]

    [request] = server.requests
    assert (request.method, request.path, request.content_type) == ("POST", "/v1/call-outcomes", "application/json")
    assert request.headers["x-api-key"] == KEY
    body = request.fields()
    assert body["event_id"] == outcome["event_id"] and body["outcome"] == "CALLBACK_REQUESTED"
    assert body["occurred_at"] == NOW.isoformat()
    assert body["callback_at"] == outcome["callback_at"].isoformat()  # type: ignore[attr-defined]
    assert set(body) == set(outcome)


def test_503_is_retried_with_backoff_sending_the_same_bytes(server: RecordingServer) -> None:
    server.answer("/v1/call-outcomes", 503, {"error": "broker unavailable"})
    server.answer("/v1/call-outcomes", 503, {"error": "broker unavailable"}, {"Retry-After": "2"})
    pauses: list[float] = []

    HttpOutcomeSink(gateway(server, pauses, backoff_s=0.2)).send(qualified_outcome())  # type: ignore[arg-type]

    assert len(server.requests) == 3
    assert len({r.body for r in server.requests}) == 1  # same event_id each time: idempotent
    assert pauses == [0.2, 2.0]  # backoff, then the gateway's Retry-After


def test_a_refusal_is_final_and_a_gateway_that_stays_down_is_reported(server: RecordingServer) -> None:
    server.answer("/v1/call-outcomes", 422, {"error": "invalid request", "fields": {"outcome": "unknown"}})
    with pytest.raises(OutcomeRejected, match="outcome"):
        HttpOutcomeSink(gateway(server)).send(qualified_outcome())  # type: ignore[arg-type]
    assert len(server.requests) == 1

    for _ in range(3):
        server.answer("/v1/call-outcomes", 503)
    with pytest.raises(GatewayUnavailable, match="after 3 attempts"):
        HttpOutcomeSink(gateway(server, max_attempts=3)).send(qualified_outcome())  # type: ignore[arg-type]

    nobody = GatewayClient(f"http://127.0.0.1:{free_port()}", KEY, max_attempts=2, sleep=lambda _s: None)
    with pytest.raises(GatewayUnavailable, match="unreachable"):
        HttpOutcomeSink(nobody).send(qualified_outcome())  # type: ignore[arg-type]


def test_a_key_with_an_hmac_secret_signs_the_raw_body(server: RecordingServer) -> None:
    client = GatewayClient(server.url, KEY, hmac_secret="s3cret", sleep=lambda _s: None)  # noqa: S106 - a test secret

    client.post("/v1/opt-outs", b'{"phone": "+13055550100"}')

    [request] = server.requests
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-leadpipe-signature"] == f"sha256={expected}"


def test_web_forms_post_html_forms_and_json_and_count_the_answers(server: RecordingServer) -> None:
    events = sample_submissions(NOW, leads=30)
    leads = [r for t, r in events if t == LEAD_CAPTURED]
    web_form = next(r for r in leads if is_web_form(r) and r["consent"] and r["address"])
    server.answer("/v1/leads", 503)  # the first lead is retried once
    server.answer("/v1/leads", 202, {"event_id": leads[0]["event_id"]})
    second = leads[1]
    server.answer("/v1/leads", 422, {"error": "invalid request", "fields": {"phone": "not a number"}})
    server.answer("/v1/leads", 500, {"error": "boom"})

    stats = WebFormSimulator(gateway(server)).post_all(events)

    by_path = {path: [r for r in server.requests if r.path == path]
               for path in ("/v1/leads", "/v1/opt-outs", "/v1/consents")}
    topics = [t for t, _ in events]
    assert len(by_path["/v1/leads"]) == topics.count(LEAD_CAPTURED) + 1
    assert len(by_path["/v1/opt-outs"]) == topics.count(OPT_OUT)
    assert len(by_path["/v1/consents"]) == topics.count(CONSENT_CHANGED)
    assert by_path["/v1/leads"][0].body == by_path["/v1/leads"][1].body  # the retry: same event_id
    assert all(r.headers["x-api-key"] == KEY for r in server.requests)

    assert stats.posted == len(events) and stats.retries == 1
    assert (stats.accepted, stats.client_errors, stats.server_errors) == (len(events) - 2, 1, 1)
    assert any(second["event_id"] in e and "not a number" in e for e in stats.errors)

    forms = [r for r in by_path["/v1/leads"] if r.content_type == "application/x-www-form-urlencoded"]
    assert len({r.fields()["event_id"] for r in forms}) == stats.form_encoded == sum(map(is_web_form, leads)) > 0
    posted = next(r.fields() for r in forms if r.fields()["event_id"] == web_form["event_id"])
    assert posted["phone"] == web_form["phone"] and "source" not in posted
    assert posted["address.region"] == web_form["address"]["region"]
    assert posted["consent.consent_text"] == web_form["consent"]["consent_text"]
    assert posted["consent.granted_at"] == web_form["consent"]["granted_at"].isoformat()
    assert posted["timeline"] == web_form["attributes"]["timeline"]  # attributes: plain fields
    vendor = next(r.fields() for r in by_path["/v1/leads"][1:] if r.content_type == "application/json")
    assert "source" not in vendor and isinstance(vendor["attributes"], dict)


def test_dial_check_client_asks_with_the_campaign_and_fails_over(server: RecordingServer) -> None:
    server.dial_checks["+13055550101"] = {"allowed": False, "reasons": [
        {"code": "DNC_OPT_OUT", "rule_id": "dnc.opt-out", "detail": "replied STOP"}]}
    dead = f"http://127.0.0.1:{free_port()}"
    checker = DialCheckClient([dead, server.url], timeout_s=1)

    blocked = checker.check("+13055550101", "solar-q4", call_id="call-1")
    allowed = checker.check("+13055550102", "solar-q4", "L-7")

    assert (blocked.allowed, [r["code"] for r in blocked.reasons]) == (False, ["DNC_OPT_OUT"])
    assert allowed.allowed is True
    assert server.requests[0].path == "/v1/dial-check/+13055550101"
    assert server.requests[0].query == {"campaign_id": "solar-q4", "call_id": "call-1"}
    assert server.requests[1].query == {"campaign_id": "solar-q4", "lead_id": "L-7"}


def test_dial_check_client_refuses_what_the_worker_cannot_read_and_fails_closed(server: RecordingServer) -> None:
    server.answer("/v1/dial-check/12345", 400, {"error": "invalid request", "fields": {"phone": "too short"}})
    answer = DialCheckClient([server.url]).check("12345", "solar-q4")
    assert answer.allowed is False and answer.reasons[0]["code"] == "DIAL_CHECK_REFUSED"

    server.answer("/v1/dial-check/+13055550103", 503)
    with pytest.raises(DialCheckUnavailable, match="HTTP 503"):
        DialCheckClient([server.url]).check("+13055550103", "solar-q4")


def test_dial_check_client_sends_its_read_key_and_a_refused_key_means_no_call(server: RecordingServer) -> None:
    DialCheckClient([server.url], api_key="dialer-key-0123456789").check("+13055550104", "solar-q4")
    assert server.requests[-1].headers["x-api-key"] == "dialer-key-0123456789"
    server.answer("/v1/dial-check/+13055550105", 401, {"error": "unknown API key"})
    with pytest.raises(DialCheckUnavailable, match="HTTP 401"):
        DialCheckClient([server.url], api_key="wrong-key-0123456789").check("+13055550105", "solar-q4")


def test_form_fields_skip_empty_values() -> None:
    from connectors.demo.webforms import lead_form_fields

    lead = dict(sample_submissions(NOW, leads=5)[0][1])
    lead.update(email=None, address={"street": None, "city": None, "region": "FL", "postal_code": None,
                                     "country": "US"}, occurred_at=NOW - timedelta(minutes=1))
    fields = lead_form_fields(lead)
    assert "email" not in fields and "address.city" not in fields
    assert fields["address.region"] == "FL" and fields["occurred_at"] == (NOW - timedelta(minutes=1)).isoformat()
    assert json.dumps(fields)  # every value is text


def test_leadpipe_webforms_command_posts_the_sample_traffic(server: RecordingServer) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env.update(LEADPIPE_GATEWAY_URL=server.url, LEADPIPE_API_KEY=KEY, LEADPIPE_FIXED_CLOCK=NOW.isoformat())

    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "webforms", "--leads", "10"], env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    posted = len(sample_submissions(NOW, leads=10))
    assert f"webforms: {posted} posted" in result.stdout and f"{posted} accepted" in result.stdout
    assert len(server.requests) == posted
    assert {r.path for r in server.requests} <= {"/v1/leads", "/v1/opt-outs", "/v1/consents"}
