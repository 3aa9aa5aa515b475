"""The report aggregator: table-driven figures and idempotence under replay and reordering."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from console_builders import NOW, ago, captured, decision, offer, opt_out, outcome, qualified
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.reporting.aggregate import Aggregator, Report

Record = tuple[str, dict[str, Any]]


def report_of(records: list[Record]) -> Report:
    agg = Aggregator()
    for topic, record in records:
        agg.add(topic, record)
    return agg.report(NOW)


def lead(lead_id: str, outcome_name: str = "CALL_READY", *, source: str = "web", codes: tuple[str, ...] = (),
         segment: str | None = None, flags: tuple[str, ...] | None = None, at: Any = NOW) -> list[Record]:
    topic, cap = captured(lead_id, source=source, segment=segment, at=at)
    return [(topic, cap), decision(lead_id, outcome_name, input_event_id=cap["event_id"], codes=codes,
                                   source=source, flags=flags, at=at)]


def a_day() -> list[Record]:
    """Six leads: one contacted and qualified, one not interested, one disconnected, one rejected,
    one suppressed then nothing, one duplicate; plus an opt-out."""
    return [
        *lead("L1"), outcome("L1", "NO_ANSWER"), outcome("L1", "QUALIFIED"), qualified("L1"),
        *lead("L2"), outcome("L2", "NOT_INTERESTED", tags=("too_expensive",)),
        *lead("L3"), outcome("L3", "DISCONNECTED"),
        *lead("L4", "REJECTED", codes=("PHONE_INVALID",), source="vendor-x"),
        *lead("L5", "SUPPRESSED", codes=("DNC_OPT_OUT",), source="vendor-x"),
        *lead("L6", "DUPLICATE", codes=("DUPLICATE_LEAD",), source="vendor-x"),
        opt_out(),
    ]


def test_funnel_counts() -> None:
    t = report_of(a_day()).totals
    assert (t.captured, t.valid, t.duplicates, t.callable, t.contacted, t.qualified) == (6, 5, 1, 3, 2, 1)


def test_reasons_by_outcome_and_code_including_disqualification() -> None:
    reasons = {k: dict(v) for k, v in report_of(a_day()).totals.reasons.items()}
    assert reasons == {
        "REJECTED": {"PHONE_INVALID": 1}, "SUPPRESSED": {"DNC_OPT_OUT": 1}, "DUPLICATE": {"DUPLICATE_LEAD": 1},
        # Untagged, a closing outcome counts under its closing decision's code (one fact, one code).
        "DISQUALIFIED": {"too_expensive": 1, "NUMBER_NON_WORKING": 1},
    }


def test_health_figures_and_targets() -> None:
    health = report_of(a_day()).totals.health()
    # One number for every lead in the builders: 3 leads' outcomes, all on the same number.
    assert health["non_working_share"]["value"] == 1.0
    assert health["contact_rate"]["value"] == 1.0
    assert health["duplicate_share"] == {"value": pytest.approx(1 / 6), "target": "< 0.05", "ok": False}
    assert health["no_interaction_90d_share"] == {"value": 0.0, "target": "< 0.3", "ok": True}


@pytest.mark.parametrize(("outcomes", "dialed", "contacted", "non_working"), [
    ([], 0, 0, 0),
    ([("+1305A", "NO_ANSWER"), ("+1305A", "INTERESTED")], 1, 1, 0),
    ([("+1305A", "BUSY"), ("+1305B", "DISCONNECTED"), ("+1305C", "SALE")], 3, 1, 1),
    ([("+1305A", "WRONG_NUMBER"), ("+1305B", "GATEKEEPER")], 2, 0, 0),
])
def test_numbers_dialed_contacted_and_non_working(outcomes: list[tuple[str, str]], dialed: int, contacted: int,
                                                  non_working: int) -> None:
    records = [outcome(f"X{i}", code, phone=phone) for i, (phone, code) in enumerate(outcomes)]
    t = report_of(records).totals
    assert (t.dialed_numbers, t.contacted_numbers, t.non_working_numbers) == (dialed, contacted, non_working)


@pytest.mark.parametrize(("capture_days_ago", "outcome_days_ago", "stale"), [
    (10, None, 0), (91, None, 1), (200, 30, 0), (200, 95, 1), (90, None, 0),
])
def test_no_interaction_in_90_days(capture_days_ago: int, outcome_days_ago: int | None, stale: int) -> None:
    records = lead("L1", at=ago(capture_days_ago))
    if outcome_days_ago is not None:
        records.append(outcome("L1", "NO_ANSWER", at=ago(outcome_days_ago)))
    assert report_of(records).totals.leads_without_interaction_90d == stale


def test_groups_by_campaign_source_and_segment() -> None:
    report = report_of([*lead("L1", segment="homeowner"), *lead("L2"), *lead("L3", source="vendor-x")])
    assert sorted((k, f.captured) for k, f in report.groups.items()) == [
        (("solar-q4", "vendor-x", "US"), 1), (("solar-q4", "web", "US"), 1), (("solar-q4", "web", "homeowner"), 1),
    ]
    assert sorted(report.sources) == ["vendor-x", "web"]


def test_quality_flags_read_when_present_and_absent() -> None:
    report = report_of([*lead("L1", flags=("disposable_email",)), *lead("L2", flags=()), *lead("L3")])
    assert dict(report.totals.quality_flags) == {"disposable_email": 1}
    assert report.to_json()["sources"][0]["quality_flags"] == {"disposable_email": 1}


def test_a_lead_re_decided_later_counts_callable_once() -> None:
    topic, cap = captured("L1")
    records = [(topic, cap), decision("L1", "DEFERRED", input_event_id=cap["event_id"], codes=("WINDOW_CLOSED",)),
               decision("L1", "CALL_READY", input_event_id="release-1", input_topic="release-scheduler"),
               decision("L1", "WITHDRAWN", input_event_id="opt-1", input_topic="opt-out", codes=("DNC_OPT_OUT",))]
    t = report_of(records).totals
    assert (t.captured, t.valid, t.callable) == (1, 1, 1)
    assert {k: dict(v) for k, v in t.reasons.items()} == {"DEFERRED": {"WINDOW_CLOSED": 1},
                                                          "WITHDRAWN": {"DNC_OPT_OUT": 1}}


def test_records_without_event_id_or_of_other_topics_are_ignored() -> None:
    report = report_of([("lead-captured", {"lead_id": "L1"}), ("somewhere-else", {"event_id": "x"})])
    assert report.totals.captured == 0
    assert report.to_json()["records"]["lead-captured"] == 0


def test_report_json_is_plain_data() -> None:
    body = report_of(a_day()).to_json()
    assert body["totals"]["captured"] == 6
    assert body["opt_outs"] == {"ADD": 1}
    assert {s["source"]: s["valid_share"] for s in body["sources"]} == {"vendor-x": pytest.approx(2 / 3), "web": 1.0}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_replays_and_reordering_give_the_same_report(data: st.DataObject) -> None:
    records = a_day()
    replayed = data.draw(st.lists(st.sampled_from(records), max_size=len(records) * 2))
    shuffled = data.draw(st.permutations(records + replayed))
    assert report_of(shuffled).to_json() == report_of(records).to_json()


def test_every_prefix_order_converges() -> None:
    records = a_day()[:6]
    reports = {repr(report_of(list(p)).to_json()) for p in itertools.permutations(records)}
    assert len(reports) == 1


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_reports_taken_between_records_end_where_one_report_does(data: st.DataObject) -> None:
    # The aggregator caches per-lead summaries between reports: a lead must be re-summarized
    # whenever a fact about it arrives.
    records = data.draw(st.permutations(a_day()))
    cuts = set(data.draw(st.lists(st.integers(0, len(records)), max_size=5)))
    agg = Aggregator()
    for i, (topic, record) in enumerate(records):
        if i in cuts:
            agg.report(NOW)
        agg.add(topic, record)
    assert agg.report(NOW).to_json() == report_of(list(records)).to_json()


def test_records_without_a_lead_id_do_not_merge() -> None:
    report = report_of([outcome("", "DISCONNECTED", phone="+1305A"), outcome("", "SALE", phone="+1305B")])
    assert (report.totals.dialed_numbers, report.totals.contacted_numbers, report.totals.contacted) == (2, 1, 1)


def test_stranded_offers_and_stale_leads_with_the_oldest() -> None:
    h = timedelta(hours=1)
    records = [
        # L1: offered yesterday, nothing since: its window closed long ago — stranded.
        *lead("L1", at=NOW - 30 * h), offer("L1", at=NOW - 30 * h, until=NOW - 24 * h),
        # L2: offered, window closed, but the worker re-decided it after the window (the expiry).
        *lead("L2", at=NOW - 30 * h), offer("L2", at=NOW - 30 * h, until=NOW - 24 * h, decision_id="d2"),
        decision("L2", "DEFERRED", input_event_id="rel-2", input_topic="release-scheduler", at=NOW - 23 * h,
                 status="IN_PROGRESS", codes=("OFFER_EXPIRED",)),
        # L3: offered, worked (an outcome after the offer).
        *lead("L3", at=NOW - 30 * h), offer("L3", at=NOW - 30 * h, until=NOW - 24 * h),
        outcome("L3", "NO_ANSWER", at=NOW - 29 * h),
        # L4: offered this morning, window still open: not stranded.
        *lead("L4", at=NOW - h), offer("L4", at=NOW - h, until=NOW + 3 * h),
        # L5 and L6: closed STALE two and five hours ago; L7 stranded since an earlier day.
        decision("L5", "CLOSED", input_event_id="rel-5", input_topic="release-scheduler", at=NOW - 2 * h,
                 status="STALE", codes=("OFFER_STALE",)),
        decision("L6", "CLOSED", input_event_id="rel-6", input_topic="release-scheduler", at=NOW - 5 * h,
                 status="STALE", codes=("OFFER_STALE",)),
        offer("L7", at=NOW - 60 * h, until=NOW - 50 * h),
    ]
    t = report_of(records).totals
    assert (t.stranded_offers, t.oldest_stranded) == (2, NOW - 50 * h)
    assert (t.stale_leads, t.oldest_stale) == (2, NOW - 5 * h)
    assert t.to_json()["stranded_offers"] == {"count": 2, "oldest": (NOW - 50 * h).isoformat()}
    assert t.statuses["STALE"] == 2
    assert report_of([]).totals.to_json()["stale_leads"] == {"count": 0, "oldest": None}


def test_not_now_counts_as_a_snooze_and_nurture_is_a_status_not_a_qualified_lead() -> None:
    records = [
        *lead("L1"), outcome("L1", "NOT_NOW"),
        decision("L1", "DEFERRED", input_event_id="oc-1", input_topic="call-outcome", status="CALLBACK",
                 attempts=1, codes=("NOT_NOW",)),
        *lead("L2"), outcome("L2", "CALLBACK_REQUESTED"),
        decision("L2", "CLOSED", input_event_id="oc-2", input_topic="call-outcome", status="NURTURE", attempts=4,
                 codes=("NURTURE",)),
        qualified("L2", status="NURTURE"),
        *lead("L3"), outcome("L3", "QUALIFIED"), qualified("L3"),  # written before lead_status existed
    ]
    t = report_of(records).totals
    assert (t.snoozed, t.qualified) == (1, 1)
    assert t.statuses["NURTURE"] == 1 and t.statuses["CALLBACK"] == 1
    assert "DNC_CALL_OUTCOME" not in str(t.reasons)  # a snooze is never counted as a do-not-call
    assert dict(t.reasons["DEFERRED"]) == {"NOT_NOW": 1}
