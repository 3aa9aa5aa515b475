"""The dialer client's loop: race guard, withdrawals, pacing and talk time, outcome delivery.

The dial-time check and the sink are in-process stand-ins here; tests/dialer/test_dialer_http.py
and tests/integration/test_dialer.py run the real HTTP and Kafka edges.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from dialer_builders import NOW, ready, withdraw

import connectors.dialer.client as dialer_module
from connectors.dialer import (
    DialCheckAnswer,
    DialCheckClient,
    DialCheckUnavailable,
    DialerClient,
    OutcomeRejected,
)
from connectors.gateway_client import GatewayUnavailable
from connectors.outcome_model import OutcomeModel
from pipeline.events import CallOutcome

OPTED_OUT = {"code": "DNC_OPT_OUT", "rule_id": "dnc.opt-out", "detail": "replied STOP"}


class Checker(DialCheckClient):
    def __init__(self) -> None:
        self.blocked: dict[str, tuple[dict[str, str], ...]] = {}
        self.down = False
        self.asked: list[tuple[str, str]] = []
        self.leads: list[str | None] = []
        self.call_ids: list[str | None] = []

    def check(self, phone_e164: str, campaign_id: str, lead_id: str | None = None, *,
              call_id: str | None = None) -> DialCheckAnswer:
        self.asked.append((phone_e164, campaign_id))
        self.leads.append(lead_id)
        self.call_ids.append(call_id)
        if self.down:
            raise DialCheckUnavailable("no worker answered")
        reasons = self.blocked.get(phone_e164)
        return DialCheckAnswer(reasons is None, reasons or ())


class Sink:
    def __init__(self) -> None:
        self.sent: list[CallOutcome] = []
        self.failures: list[Exception] = []

    def send(self, outcome: CallOutcome) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(outcome)


class Clock:
    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 100.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


def client(checker: Checker, sink: Sink, clock: Clock, **kw: Any) -> DialerClient:
    return DialerClient(checker=checker, sink=sink, model=OutcomeModel(seed=5), clock=clock.now,
                        monotonic=clock.monotonic, **kw)


def test_an_opt_out_after_the_offer_is_caught_by_the_dial_time_check() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock, calls_per_second=10)
    dialer.handle(ready("+13055550101", lead_id="stale", priority=90))
    dialer.handle(ready("+13055550102", lead_id="fine", priority=10))
    checker.blocked["+13055550101"] = (OPTED_OUT,)  # opted out; its WITHDRAW not read yet

    dialer.step()

    assert checker.asked == [("+13055550101", "solar-q4"), ("+13055550102", "solar-q4")]
    assert checker.leads == ["stale", "fine"]  # the lead is asked about too
    assert [o["lead_id"] for o in sink.sent] == ["fine"]
    assert (dialer.stats.blocked, dict(dialer.stats.blocked_reasons)) == (1, {"DNC_OPT_OUT": 1})
    assert dialer.stats.dialed == 1 and dialer.pending() == 0
    # Each check names the call it is for; the call made reports its outcome under that id.
    assert None not in checker.call_ids and len(set(checker.call_ids)) == 2
    assert sink.sent[0]["event_id"] == checker.call_ids[1]


def test_withdrawn_offers_are_never_checked_or_dialed() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock, calls_per_second=100)
    dialer.handle(ready("+13055550101", lead_id="A"))
    dialer.handle(ready("+13055550101", lead_id="B"))
    dialer.handle(ready("+13055550102", lead_id="C"))
    dialer.handle(ready("+13055550103", lead_id="D"))
    dialer.handle(withdraw("+13055550101", lead_id="A"))
    dialer.handle(withdraw("+13055550102"))  # no lead id: every offer of the number

    while dialer.step():
        clock.advance(1)

    assert [o["lead_id"] for o in sink.sent] == ["B", "D"]
    assert {p for p, _ in checker.asked} == {"+13055550101", "+13055550103"}
    assert (dialer.stats.withdrawals, dialer.stats.withdrawn) == (2, 2)


def test_redelivered_records_and_other_campaigns_are_ignored() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock, campaigns={"solar-q4"})
    offer = ready("+13055550101")
    dialer.handle(offer)
    dialer.handle(dict(offer))
    dialer.handle(ready("+13055550102", campaign_id="insurance-renewals"))
    dialer.handle(None)

    assert len(dialer.hopper) == 1
    s = dialer.stats
    assert (s.offers, s.redelivered, s.other_campaigns, s.undecodable, s.records_seen()) == (1, 1, 1, 1, 4)


def test_an_expired_offer_is_counted_and_not_dialed() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock)
    dialer.handle(ready("+13055550101", until=NOW + timedelta(seconds=30)))
    clock.advance(30)

    dialer.step()

    assert (dialer.stats.expired, dialer.stats.dialed, checker.asked) == (1, 0, [])


def test_pacing_and_talk_time() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock, calls_per_second=2, talk_time_s=3)
    for i in range(4):
        dialer.handle(ready(f"+1305555010{i}"))

    dialed_at: list[float] = []
    reported_at: list[float] = []
    for _ in range(40):  # 10 s in quarter-second ticks (exact in binary: no drift)
        before_dialed, before_sent = dialer.stats.dialed, len(sink.sent)
        dialer.step()
        dialed_at += [clock.mono] * (dialer.stats.dialed - before_dialed)
        reported_at += [clock.mono] * (len(sink.sent) - before_sent)
        clock.advance(0.25)

    assert [round(t - 100, 1) for t in dialed_at] == [0.0, 0.5, 1.0, 1.5]
    assert [round(t - 100, 1) for t in reported_at] == [3.0, 3.5, 4.0, 4.5]
    assert sink.sent[0]["occurred_at"] == NOW + timedelta(seconds=3)  # reported when the call ended


def test_no_worker_answering_means_no_call_and_the_offer_waits() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock, retry_after_s=5)
    dialer.handle(ready("+13055550101"))
    checker.down = True

    dialer.step()
    clock.advance(1)
    dialer.step()  # still in the back-off: not even asked

    assert (dialer.stats.check_unavailable, dialer.stats.dialed, len(checker.asked)) == (1, 0, 1)
    checker.down = False
    clock.advance(5)
    dialer.step()
    assert dialer.stats.dialed == 1 and len(sink.sent) == 1


def test_an_undelivered_outcome_is_kept_and_sent_again_in_order() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock, calls_per_second=100)
    dialer.handle(ready("+13055550101", lead_id="first"))
    dialer.handle(ready("+13055550102", lead_id="second"))
    sink.failures = [GatewayUnavailable("503 x5")]

    dialer.step()
    assert sink.sent == [] and dialer.pending() == 2  # the outcome of "first" waits, "second" is queued

    clock.advance(1)
    dialer.step()

    assert [o["lead_id"] for o in sink.sent] == ["first", "second"]
    assert dialer.pending() == 0


def test_a_refused_outcome_is_counted_and_not_sent_again() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    dialer = client(checker, sink, clock)
    dialer.handle(ready("+13055550101"))
    sink.failures = [OutcomeRejected("422 fields")]

    dialer.step()
    clock.advance(1)
    dialer.step()

    assert (sink.sent, dialer.stats.outcomes_rejected, dialer.pending()) == ([], 1, 0)


def test_stopping_finishes_calls_in_progress_without_dialing_more() -> None:
    class Feed:
        def poll(self, timeout_s: float) -> list[Any]:
            return []

    checker, sink = Checker(), Sink()
    dialer = DialerClient(checker=checker, sink=sink, model=OutcomeModel(seed=5), clock=lambda: NOW,
                          calls_per_second=100, talk_time_s=0.1)
    for i in range(3):
        dialer.handle(ready(f"+1305555010{i}"))
    dialer.step()  # one call in progress, two offers queued

    dialer.run(Feed(), lambda: True)  # type: ignore[arg-type]  # a stand-in feed with poll() only

    assert dialer.stats.dialed == 1 and len(sink.sent) == 1 and len(dialer.hopper) == 2


def test_the_redelivery_guard_keeps_a_bounded_window_of_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dialer_module, "SEEN_IDS_KEPT", 3)
    dialer = client(Checker(), Sink(), Clock())
    offers = [ready(f"+130555501{i:02d}") for i in range(5)]
    for offer in offers:
        dialer.handle(offer)
    dialer.handle(dict(offers[-1]))  # a redelivery inside the window is ignored
    assert dialer.stats.redelivered == 1
    dialer.handle(dict(offers[0]))  # aged out of the window: taken as an offer again (the hopper dedupes by lead)
    assert dialer.stats.redelivered == 1


def test_a_callback_goes_to_the_agent_who_promised_it_and_the_dialer_says_so() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    said: list[str] = []
    dialer = client(checker, sink, clock, calls_per_second=100, talk_time_s=10, agents=("a-1", "a-2", "a-3"),
                    announce=said.append)
    dialer.handle(ready("+13055550101", lead_id="new", priority=60))
    dialer.handle(ready("+13055550102", lead_id="cb", priority=1050, promised_by="a-2", notes="call me at noon"))

    dialer.step()  # the callback outranks the new lead; a-2 takes it
    clock.advance(1)
    dialer.step()
    clock.advance(10)
    while dialer.step():
        clock.advance(1)

    by_lead = {o["lead_id"]: o["agent_id"] for o in sink.sent}
    assert by_lead == {"cb": "a-2", "new": "a-1"}
    # No number and no notes: the announcement goes to the log by default.
    assert said == ["callback for lead cb routed to a-2, who promised it for 12:00Z"]
    assert (dialer.stats.callbacks_to_promiser, dialer.stats.callbacks_to_another) == (1, 0)


def test_a_callback_waits_for_its_busy_agent_and_goes_to_another_when_its_agent_is_not_logged_in() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    said: list[str] = []
    dialer = client(checker, sink, clock, calls_per_second=100, talk_time_s=10, agents=("a-1", "a-2"),
                    announce=said.append)
    dialer.handle(ready("+13055550101", lead_id="first", priority=2000, promised_by="a-1"))
    dialer.step()  # a-1 is now on the first callback
    dialer.handle(ready("+13055550102", lead_id="mine", priority=1500, promised_by="a-1"))
    dialer.handle(ready("+13055550103", lead_id="orphan", priority=1400, promised_by="a-9"))
    clock.advance(1)
    dialer.step()  # "mine" waits for a-1; "orphan" (a-9 is not logged in) goes to a-2
    assert [c.offer["lead_id"] for c in dialer._calls] == ["first", "orphan"]
    assert "promised by a-9, who is not logged in: routed to a-2" in said[-1]
    clock.advance(1)
    assert dialer.step() is False and len(dialer._calls) == 2  # both agents busy: nothing more is dialed
    clock.advance(10)
    while dialer.step():
        clock.advance(10)
    assert {o["lead_id"]: o["agent_id"] for o in sink.sent} == {"first": "a-1", "orphan": "a-2", "mine": "a-1"}
    assert (dialer.stats.callbacks_to_promiser, dialer.stats.callbacks_to_another) == (2, 1)


def test_without_named_agents_calls_use_the_model_agent_on_many_lines() -> None:
    checker, sink, clock = Checker(), Sink(), Clock()
    said: list[str] = []
    dialer = client(checker, sink, clock, calls_per_second=100, talk_time_s=5, announce=said.append)
    for i in range(3):
        dialer.handle(ready(f"+1305555011{i}", promised_by="a-1" if i == 0 else None))
        dialer.step()
        clock.advance(0.1)
    assert len(dialer._calls) == 3
    clock.advance(5)
    while dialer.step():
        clock.advance(1)
    assert {o["agent_id"] for o in sink.sent} == {"sim-dialer-1"}
    assert said and "who is not logged in: routed to sim-dialer-1" in said[0]


def test_agents_must_be_distinct() -> None:
    with pytest.raises(ValueError, match="distinct"):
        client(Checker(), Sink(), Clock(), agents=("a-1", "a-1"))
