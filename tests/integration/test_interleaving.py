"""Thousands of leads and opt-outs for the same numbers, interleaved, through the real broker.

Issue 3's guarantee: no ``call-ready`` READY stands for a number after its opt-out. Leads are keyed
by lead id, as vendors send them, so the worker re-keys them onto ``<app>-number-events``; opt-outs
are keyed by their number, as the gateway sends them, and are decided at once. The two meet in the
number's writer in an order nobody chose. That order is visible on the outputs: a number's
lead-decision and call-ready records share its key, hence one partition, and their offsets are the
order the writer made them in.

Which of the two wins is up to the brokers' timing: on Apache Kafka with exactly-once the re-key hop
waits for its transaction, so every opt-out can overtake every lead. The opt-outs of a few numbers are
therefore held back until one of their leads is offered, so that the withdraw story is always told.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Pipeline, lead, opt_out

from pipeline.topics import CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT, number_events_topic

pytestmark = pytest.mark.integration

NUMBERS = 300
LEADS_PER_NUMBER = 10
HELD = 20  # numbers whose opt-out is sent only after one of their leads was offered
CAMPAIGNS = ("solar-q4", "insurance-renewals")

Input = tuple[str, dict[str, Any], str]  # (topic, record, key)


def national(phone: str) -> str:
    """+13052094001 as a person types it into a form: (305) 209-4001."""
    return f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"


def interleaved(phones: list[str], held: set[str],
                rng: random.Random) -> tuple[list[Input], list[Input], dict[str, str]]:
    """Leads for both campaigns and one opt-out per number, shuffled, but for the opt-outs of
    ``held``, returned apart; and each number's opt-out event_id."""
    inputs: list[Input] = []
    held_back: list[Input] = []
    stop_of: dict[str, str] = {}
    for phone in phones:
        for i in range(LEADS_PER_NUMBER):
            record = lead(phone if i % 2 else national(phone), campaign_id=CAMPAIGNS[i % 2])
            inputs.append((LEAD_CAPTURED, record, record["lead_id"]))
        stop = opt_out(phone)
        stop_of[phone] = stop["event_id"]
        (held_back if phone in held else inputs).append((OPT_OUT, stop, phone))
    rng.shuffle(inputs)
    return inputs, held_back, stop_of


def in_offset_order(pipeline: Pipeline, topic: str, phones: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Each number's records on ``topic`` in the order its writer made them (one key, one partition)."""
    found: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for r in pipeline.tail.records(topic):
        if r.record is not None and r.record["phone_e164"] in phones:
            found[r.record["phone_e164"]].append((r.offset, r.record))
    return {phone: [record for _, record in sorted(records, key=lambda o: o[0])] for phone, records in found.items()}


def test_no_offer_outlives_an_opt_out_under_interleaving(pipeline: Pipeline,
                                                         us_number: Callable[[], str]) -> None:
    phones = [us_number() for _ in range(NUMBERS)]
    ours = set(phones)
    held = set(phones[:HELD])
    inputs, held_back, stop_of = interleaved(phones, held, random.Random(20261124))
    started = time.monotonic()
    for topic, record, key in inputs:  # as fast as the producer goes, not pre-partitioned
        pipeline.producer.send(topic, record, key=key)
    pipeline.producer.flush()
    pipeline.tail.wait_for(CALL_READY, lambda r: r.record is not None and r.record["phone_e164"] in held
                           and r.record["action"] == "READY",
                           count=len(held), distinct=lambda r: r.record["phone_e164"], timeout_s=180)
    for topic, record, key in held_back:  # ... while the rest of the stream may still be deciding
        pipeline.producer.send(topic, record, key=key)
    pipeline.producer.flush()
    inputs += held_back
    lead_ids = {record["event_id"] for topic, record, _ in inputs if topic == LEAD_CAPTURED}
    pipeline.tail.wait_for(number_events_topic(pipeline.settings.app_id),  # every lead re-keyed ...
                           lambda r: r.record is not None and r.record["event"]["event_id"] in lead_ids,
                           count=len(lead_ids), timeout_s=180)
    for phone in phones:  # ... and every opt-out applied
        pipeline.wait_blocked(phone, timeout_s=180)

    # A barrier per number: one more lead, re-keyed after all of the number's earlier leads and
    # applied opt-out, is decided after everything else on its number.
    markers = [lead(phone, campaign_id=CAMPAIGNS[n % 2]) for n, phone in enumerate(phones)]
    for record in markers:
        pipeline.producer.send(LEAD_CAPTURED, record, key=record["lead_id"])
    pipeline.producer.flush()
    lead_events = lead_ids | {record["event_id"] for record in markers}
    pipeline.tail.wait_for(LEAD_DECISION, lambda r: r.record is not None and r.record["input_event_id"] in lead_events,
                           count=len(lead_events), timeout_s=180)
    decisions_of = in_offset_order(pipeline, LEAD_DECISION, ours)
    offered = sum(1 for ds in decisions_of.values() for d in ds if d["outcome"] in ("CALL_READY", "WITHDRAWN"))
    pipeline.tail.wait_for(CALL_READY, lambda r: r.record is not None and r.record["phone_e164"] in ours,
                           count=offered, timeout_s=180)
    elapsed = time.monotonic() - started
    offers_of = in_offset_order(pipeline, CALL_READY, ours)

    marker_ids = {record["lead_id"] for record in markers}
    withdrawn = suppressed = numbers_offered_then_stopped = 0
    for phone in phones:
        stop = stop_of[phone]
        decisions = decisions_of[phone]
        cause = {d["decision_id"]: d["input_event_id"] for d in decisions}  # call-ready shares the decision_id
        lead_decisions = [d for d in decisions if d["input_topic"] == LEAD_CAPTURED]
        assert len(lead_decisions) == LEADS_PER_NUMBER + 1, phone
        # Before the opt-out took effect a lead is offered or a duplicate; from then on every lead
        # is suppressed by it. The sequence never goes back.
        stopped = False
        for d in lead_decisions:
            if d["outcome"] == "SUPPRESSED":
                assert d["reasons"][0]["code"] == "DNC_OPT_OUT" and stop in d["reasons"][0]["detail"], d
                stopped = True
                suppressed += d["lead_id"] not in marker_ids
            else:
                assert not stopped, f"{phone}: {d['outcome']} after a lead was suppressed by the opt-out"
                assert d["outcome"] in ("CALL_READY", "DUPLICATE"), d
        assert lead_decisions[-1]["lead_id"] in marker_ids and stopped
        # Every READY is followed by its WITHDRAW, caused by the opt-out, in the writer's order.
        standing: set[str] = set()
        for offer in offers_of.get(phone, []):
            if offer["action"] == "READY":
                standing.add(offer["lead_id"])
            else:
                assert offer["lead_id"] in standing, f"{phone}: WITHDRAW of a lead not offered"
                assert offer["reasons"][0]["code"] == "DNC_OPT_OUT"
                assert cause[offer["decision_id"]] == stop
                standing.discard(offer["lead_id"])
                withdrawn += 1
        assert standing == set(), f"{phone}: offers still standing after its opt-out: {standing}"
        numbers_offered_then_stopped += any(o["action"] == "WITHDRAW" for o in offers_of.get(phone, []))

    # Both stories were told: offers withdrawn by an opt-out (on every held number at least), later
    # leads suppressed by it.
    assert numbers_offered_then_stopped >= len(held)
    assert withdrawn >= len(held)
    assert suppressed > 0
    print(f"\n{len(inputs) + len(markers)} inputs for {NUMBERS} numbers decided in {elapsed:.1f}s: "
          f"{withdrawn} offers withdrawn by an opt-out on {numbers_offered_then_stopped} numbers, "
          f"{suppressed} interleaved leads suppressed after one (+{len(markers)} barrier leads)")
