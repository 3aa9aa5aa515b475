"""Prometheus text: the histogram, parsing a worker's /metrics back, and the report's exposition."""

from __future__ import annotations

import re

import pytest
from console_builders import NOW, captured, decision, outcome

from pipeline.reporting.aggregate import Aggregator
from pipeline.reporting.prometheus import LATENCY_BUCKETS, OPTOUT_LATENCY, Histogram, parse_histogram, render_report


def test_histogram_buckets_are_cumulative() -> None:
    h = Histogram()
    for value in (0.003, 0.02, 0.02, 0.7, 100.0):
        h.observe(value)
    assert dict(zip(LATENCY_BUCKETS, h.counts, strict=True))[0.005] == 1
    assert dict(zip(LATENCY_BUCKETS, h.counts, strict=True))[0.025] == 3
    assert dict(zip(LATENCY_BUCKETS, h.counts, strict=True))[60.0] == 4
    assert h.count == 5
    assert h.quantile(0.5) == 0.025
    assert h.quantile(0.99) is None  # beyond the last bucket: no bound to give


def test_render_then_parse_round_trips_and_merges() -> None:
    h = Histogram()
    for value in (0.004, 0.03, 1.2):
        h.observe(value)
    text = "# some other metric\nleadpipe_registry_stale{registry=\"us-dnc\"} 0\n" + h.render(OPTOUT_LATENCY, "x")
    assert 'leadpipe_optout_to_blocked_seconds_bucket{le="+Inf"} 3' in text
    parsed = parse_histogram(text, OPTOUT_LATENCY)
    assert parsed is not None
    assert (parsed.counts, parsed.count, parsed.sum) == (h.counts, 3, pytest.approx(h.sum))
    parsed.merge(h)
    assert parsed.count == 6


def test_parse_histogram_absent_gives_none() -> None:
    assert parse_histogram("leadpipe_registry_stale 0\n", OPTOUT_LATENCY) is None


def test_report_exposition_has_totals_groups_health_and_lag() -> None:
    agg = Aggregator()
    topic, cap = captured("L1", source='we"b')
    agg.add(topic, cap)
    agg.add(*decision("L1", "SUPPRESSED", input_event_id=cap["event_id"], codes=("DNC_OPT_OUT",), source='we"b'))
    agg.add(*outcome("L9", "NO_ANSWER"))
    text = render_report(agg.report(NOW), lag=[{"group": "leadpipe", "topic": "opt-out", "partition": 0, "lag": 3}],
                         latency=Histogram())
    assert "leadpipe_report_captured 1\n" in text
    assert 'leadpipe_report_captured{campaign="solar-q4",source="we\\"b",segment="US"} 1' in text
    assert 'leadpipe_report_reasons{outcome="SUPPRESSED",code="DNC_OPT_OUT"} 1' in text
    assert "leadpipe_health_contact_rate 0.000000" in text
    assert 'leadpipe_consumer_lag{group="leadpipe",topic="opt-out",partition="0"} 3' in text
    assert "leadpipe_optout_to_blocked_seconds_count 0" in text
    # Every sample line is NAME{labels} VALUE, every family has HELP and TYPE once.
    for line in text.splitlines():
        assert line.startswith("#") or re.fullmatch(r'[a-z_0-9]+(\{.*\})? [-+0-9.eInf]+', line), line
    types = re.findall(r"^# TYPE (\S+)", text, flags=re.M)
    assert len(types) == len(set(types))
