"""The reference dialer client against the real worker and broker: the dial-time check guards the
race with a late opt-out, outcomes reach ``call-outcome`` as Avro and the worker takes them in."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator

import pytest
from conftest import NOW, READ_KEY, Pipeline, call_outcome, lead, opt_out

from connectors.dialer import CallReadyFeed, DialCheckClient, DialerClient, KafkaOutcomeSink
from connectors.outcome_model import OutcomeModel
from pipeline.kafka_clients import EventProducer, TopicTail
from pipeline.topics import CALL_OUTCOME, CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration


@pytest.fixture
def outcomes(pipeline: Pipeline) -> Iterator[TopicTail]:
    tail = TopicTail(pipeline.settings.kafka_client_config(), pipeline.codec, [CALL_OUTCOME]).start()
    yield tail
    tail.stop()


def make_dialer(pipeline: Pipeline, campaigns: Collection[str] = ()) -> DialerClient:
    producer = EventProducer(pipeline.settings.kafka_client_config(), pipeline.codec)
    return DialerClient(checker=DialCheckClient([pipeline.worker.url], api_key=READ_KEY),
                        sink=KafkaOutcomeSink(producer),
                        model=OutcomeModel(seed=11), clock=lambda: NOW, calls_per_second=50, campaigns=campaigns)


def offered(pipeline: Pipeline, phone: str) -> dict[str, object]:
    record = lead(phone)
    pipeline.send(LEAD_CAPTURED, record, key=record["lead_id"])
    [offer] = pipeline.wait(CALL_READY, lead_id=record["lead_id"], action="READY")
    return offer


def test_an_opt_out_landing_after_the_offer_is_blocked_by_the_dial_time_check(
        pipeline: Pipeline, us_number: Callable[[], str], outcomes: TopicTail) -> None:
    phone = us_number()
    offer = offered(pipeline, phone)
    dialer = make_dialer(pipeline)
    dialer.handle(offer)  # the dialer holds the READY ...
    pipeline.send(OPT_OUT, opt_out(phone), key=phone)  # ... the person replies STOP ...
    pipeline.wait(CALL_READY, phone_e164=phone, action="WITHDRAW")  # ... the worker has applied it,
    # but this dialer has not read the WITHDRAW: only the dial-time check stands between it and the call.

    dialer.step()

    assert dialer.stats.dialed == 0
    # The number is opted out, and its lead, withdrawn, is no longer to be called: both are said.
    assert (dialer.stats.blocked, dict(dialer.stats.blocked_reasons)) == (1, {"DNC_OPT_OUT": 1, "LEAD_SUPPRESSED": 1})
    assert dialer.pending() == 0
    # A marker outcome on the number's partition, written after step() returned (the dialer's sink
    # waits for its acks): once it is read, an outcome the dialer had written would have been too.
    marker = call_outcome(phone, f"marker-{phone}", "NO_ANSWER")
    pipeline.send(CALL_OUTCOME, marker, key=phone)
    outcomes.wait_for(CALL_OUTCOME, lambda r: r.record is not None and r.record["event_id"] == marker["event_id"])
    assert [r for r in outcomes.records(CALL_OUTCOME) if r.record and r.record["phone"] == phone
            and r.record["event_id"] != marker["event_id"]] == []


def test_a_dialed_offer_reports_its_outcome_on_call_outcome_and_the_worker_takes_it(
        pipeline: Pipeline, us_number: Callable[[], str], outcomes: TopicTail) -> None:
    phone = us_number()
    offer = offered(pipeline, phone)
    dialer = make_dialer(pipeline)
    dialer.handle(offer)

    dialer.step()

    assert (dialer.stats.dialed, dialer.pending()) == (1, 0)
    [received] = outcomes.wait_for(CALL_OUTCOME, lambda r: r.record is not None and r.record["phone"] == phone)
    assert received.schema == CALL_OUTCOME and received.key == phone.encode()
    outcome = received.record
    assert outcome is not None
    assert (outcome["lead_id"], outcome["campaign_id"], outcome["occurred_at"]) == (offer["lead_id"], "solar-q4", NOW)
    assert dialer.stats.outcomes == {outcome["outcome"]: 1}
    # The worker took it: its lifecycle step is on lead-decision.
    pipeline.wait(LEAD_DECISION, input_event_id=outcome["event_id"])


def test_the_client_reads_call_ready_itself_dropping_withdrawn_offers(
        pipeline: Pipeline, us_number: Callable[[], str], outcomes: TopicTail) -> None:
    feed = CallReadyFeed(pipeline.settings.kafka_client_config(), pipeline.codec, from_beginning=False).start()
    try:
        keep, drop = us_number(), us_number()
        kept = offered(pipeline, keep)
        dropped = offered(pipeline, drop)
        pipeline.send(OPT_OUT, opt_out(drop), key=drop)
        pipeline.wait(CALL_READY, phone_e164=drop, action="WITHDRAW")
        dialer = make_dialer(pipeline, campaigns={"solar-q4"})
        deadline = time.monotonic() + 30

        dialer.run(feed, lambda: time.monotonic() > deadline or (dialer.stats.records_seen() >= 3
                                                                 and dialer.pending() == 0))
    finally:
        feed.close()

    assert dialer.stats.offers == 2 and dialer.stats.dialed == 1
    assert dialer.stats.withdrawn + dialer.stats.blocked == 1  # dropped on the WITHDRAW, or by the check
    [received] = outcomes.wait_for(CALL_OUTCOME, lambda r: r.record is not None and r.record["phone"] == keep)
    assert received.record is not None and received.record["lead_id"] == kept["lead_id"]
    assert not [r for r in outcomes.records(CALL_OUTCOME) if r.record and r.record["lead_id"] == dropped["lead_id"]]


def test_leadpipe_dialer_command_works_offers_and_stops_on_ctrl_c(
        pipeline: Pipeline, us_number: Callable[[], str], outcomes: TopicTail) -> None:
    env = {**pipeline.env, "LEADPIPE_BOOTSTRAP_SERVERS": pipeline.settings.bootstrap_servers or "",
           "LEADPIPE_DIAL_CHECK_URLS": pipeline.worker.url, "LEADPIPE_DIALER_CAMPAIGNS": "solar-q4",
           "LEADPIPE_API_KEY": READ_KEY,
           "LEADPIPE_DIALER_CALLS_PER_SECOND": "20", "LEADPIPE_DIALER_TALK_TIME_S": "0.2",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "dialer"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        started = proc.stdout.readline()
        # Printed once its feed is positioned at the end of call-ready: offers from now on reach it.
        assert "dialer: solar-q4" in started and "outcomes to topic call-outcome" in started, started
        phone = us_number()
        offer = offered(pipeline, phone)
        [received] = outcomes.wait_for(CALL_OUTCOME,
                                       lambda r: r.record is not None and r.record["phone"] == phone)
        assert received.record is not None and received.record["lead_id"] == offer["lead_id"]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "1 offers" in rest and "1 dialed" in rest, rest
