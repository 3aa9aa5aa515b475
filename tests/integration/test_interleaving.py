"""Thousands of leads and opt-outs for the same numbers, interleaved, through the real broker.

Issue 3's guarantee: no ``call-ready`` READY stands for a number after its opt-out. Leads are
keyed by lead id and opt-outs by phone, as web forms and SMS gateways send them, so the inputs
land on unrelated partitions of two topics and ``intake`` re-keys them in an order nobody chose.
The order that counts is the one ``decide`` saw: a number's records on the internal topic. Outputs
are matched to it through their ids, and read in offset order (one key, one partition).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Pipeline, lead, opt_out

from pipeline.topics import CALL_READY, LEAD_CAPTURED, LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration

NUMBERS = 300
LEADS_PER_NUMBER = 10
CAMPAIGNS = ("solar-q4", "insurance-renewals")

Input = tuple[str, dict[str, Any], str]  # (topic, record, key)


def national(phone: str) -> str:
    """+13052094001 as a person types it into a form: (305) 209-4001."""
    return f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"


def interleaved(phones: list[str], rng: random.Random) -> tuple[list[Input], dict[str, str]]:
    """Leads for both campaigns and one opt-out per number, shuffled; and each number's opt-out event_id."""
    inputs: list[Input] = []
    stop_of: dict[str, str] = {}
    for phone in phones:
        for i in range(LEADS_PER_NUMBER):
            record = lead(phone if i % 2 else national(phone), campaign_id=CAMPAIGNS[i % 2])
            inputs.append((LEAD_CAPTURED, record, record["lead_id"]))
        stop = opt_out(phone)
        stop_of[phone] = stop["event_id"]
        inputs.append((OPT_OUT, stop, phone))
    rng.shuffle(inputs)
    return inputs, stop_of


def decide_order(pipeline: Pipeline, phones: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Each event's index in its number's sequence on the internal topic; and each number's count."""
    position: dict[str, int] = {}
    count: dict[str, int] = defaultdict(int)
    for routed in sorted(pipeline.tail.records(pipeline.internal_topic), key=lambda r: (r.partition, r.offset)):
        if routed.record is not None and (phone := routed.record["phone"]["phone_e164"]) in phones:
            position[routed.record["event"]["event_id"]] = count[phone]
            count[phone] += 1
    return position, count


def test_no_offer_outlives_an_opt_out_under_interleaving(pipeline: Pipeline,
                                                         us_number: Callable[[], str]) -> None:
    phones = [us_number() for _ in range(NUMBERS)]
    ours = set(phones)
    inputs, stop_of = interleaved(phones, random.Random(20261124))
    started = time.monotonic()
    for topic, record, key in inputs:  # as fast as the producer goes, not pre-partitioned
        pipeline.producer.send(topic, record, key=key)
    pipeline.producer.flush()
    input_ids = {record["event_id"] for _, record, _ in inputs}
    pipeline.tail.wait_for(pipeline.internal_topic,
                           lambda r: r.record is not None and r.record["event"]["event_id"] in input_ids,
                           count=len(input_ids), timeout_s=60)

    # A barrier per number: one more lead, sent once every opt-out is routed, is decided after
    # everything else on its number, so once its decision is in, all of the number's decisions are.
    markers = [lead(phone, campaign_id=CAMPAIGNS[n % 2]) for n, phone in enumerate(phones)]
    for record in markers:
        pipeline.producer.send(LEAD_CAPTURED, record, key=record["lead_id"])
    pipeline.producer.flush()
    lead_events = {record["event_id"] for topic, record, _ in inputs if topic == LEAD_CAPTURED}
    lead_events |= {record["event_id"] for record in markers}
    pipeline.tail.wait_for(LEAD_DECISION, lambda r: r.record is not None and r.record["input_event_id"] in lead_events,
                           count=len(lead_events), timeout_s=60)
    decisions = [r.record for r in pipeline.tail.records(LEAD_DECISION)
                 if r.record is not None and r.record["phone_e164"] in ours]
    # Every READY has a CALL_READY decision and every WITHDRAW a WITHDRAWN one: that many call-ready.
    offered = sum(1 for d in decisions if d["outcome"] in ("CALL_READY", "WITHDRAWN"))
    pipeline.tail.wait_for(CALL_READY, lambda r: r.record is not None and r.record["phone_e164"] in ours,
                           count=offered, timeout_s=60)
    elapsed = time.monotonic() - started

    position, events_per_number = decide_order(pipeline, ours)
    assert all(events_per_number[phone] == LEADS_PER_NUMBER + 2 for phone in phones)
    cause = {d["decision_id"]: d["input_event_id"] for d in decisions}  # call-ready shares the decision_id
    decisions_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in decisions:
        decisions_of[d["phone_e164"]].append(d)
    offers_of: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for r in pipeline.tail.records(CALL_READY):
        if r.record is not None and r.record["phone_e164"] in ours:
            offers_of[r.record["phone_e164"]].append((r.offset, r.record))

    marker_ids = {record["lead_id"] for record in markers}
    withdrawn = suppressed = numbers_offered_then_stopped = 0
    for phone in phones:
        stop = stop_of[phone]
        stop_at = position[stop]
        for d in decisions_of[phone]:
            if d["input_topic"] != LEAD_CAPTURED:
                continue
            if position[d["input_event_id"]] > stop_at:  # decided after the opt-out: suppressed by it
                assert (d["outcome"], d["reasons"][0]["code"]) == ("SUPPRESSED", "DNC_OPT_OUT"), d
                suppressed += d["lead_id"] not in marker_ids
            else:  # the first lead of each campaign is offered, later ones are duplicates of it
                assert d["outcome"] in ("CALL_READY", "DUPLICATE"), d

        standing: set[str] = set()  # leads with a READY and no WITHDRAW yet
        after_stop: list[tuple[str, str]] = []  # (action, lead_id) emitted once the opt-out was applied
        last = -1
        for _, offer in sorted(offers_of[phone], key=lambda o: o[0]):  # offset order is emission order
            at = position[cause[offer["decision_id"]]]
            assert at >= last, f"{phone}: call-ready emitted out of decide order"
            last = at
            if offer["action"] == "READY":
                standing.add(offer["lead_id"])
            else:
                assert offer["lead_id"] in standing, f"{phone}: WITHDRAW of a lead not offered"
                assert cause[offer["decision_id"]] == stop
                assert offer["reasons"][0]["code"] == "DNC_OPT_OUT"
                standing.discard(offer["lead_id"])
                withdrawn += 1
            if at >= stop_at:
                after_stop.append((offer["action"], offer["lead_id"]))
        # After the opt-out, no READY unless a WITHDRAW of the same lead follows it ...
        for i, (action, lead_id) in enumerate(after_stop):
            if action == "READY":
                assert ("WITHDRAW", lead_id) in after_stop[i + 1:], f"{phone}: READY {lead_id} after its opt-out"
        # ... and every READY from before it was withdrawn.
        assert standing == set(), f"{phone}: offers still standing after its opt-out: {standing}"
        numbers_offered_then_stopped += any(action == "WITHDRAW" for action, _ in after_stop)

    # The interleaving told both stories: offers withdrawn by an opt-out, later leads suppressed by it.
    assert withdrawn > 0
    assert numbers_offered_then_stopped > 0
    assert suppressed > 0
    print(f"\n{len(inputs) + len(markers)} inputs for {NUMBERS} numbers decided in {elapsed:.1f}s: "
          f"{withdrawn} offers withdrawn by an opt-out on {numbers_offered_then_stopped} numbers, "
          f"{suppressed} interleaved leads suppressed after one (+{len(markers)} barrier leads)")
