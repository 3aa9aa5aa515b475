"""The differential guard: the recorded mixed stream, through the pure path, gives the golden outputs.

Every output record — call-ready, lead-decision, qualified-lead, dead-letter — is compared field by
field with the outputs recorded from main, ids included (consumers dedupe by them). A change of
behaviour on purpose regenerates the golden (``PYTHONPATH=tests .venv/bin/python -m streams.golden
--write``) and says in its commit which outputs changed and why.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import pytest

from pipeline.events import CallOutcomeCode, DecisionOutcome
from pipeline.topics import CALL_OUTCOME, CONSENT_CHANGED, LEAD_CAPTURED, OPT_OUT, RELEASE_SCHEDULER
from streams.compare import first_difference, per_key, read_golden, write_golden
from streams.golden import GOLDEN
from streams.mixed import DEFAULT_EVENTS, Garbage, Input, MixedStream, Tick, mixed_stream
from streams.reference import Output, run_reference


@pytest.fixture(scope="module")
def stream() -> MixedStream:
    return mixed_stream()


@pytest.fixture(scope="module")
def outputs() -> list[Output]:
    return read_golden(GOLDEN)


def test_the_mixed_stream_decides_exactly_as_recorded(stream: MixedStream, outputs: list[Output]) -> None:
    # The reference runner over the stream's first 5,000 items gives the golden's first outputs, record
    # for record (outputs come item by item). The whole stream against the golden is the worker path's
    # test (tests/streams/test_worker_path.py) and ``python -m streams.golden`` for the reference.
    head = run_reference(dataclasses.replace(stream, items=stream.items[:5000]))
    assert len(head) > 6_000
    difference = first_difference(outputs[:len(head)], head)
    assert difference is None, (
        f"{difference}\nIf this change of behaviour is meant, regenerate the golden "
        "(PYTHONPATH=tests .venv/bin/python -m streams.golden --write) and explain the difference in the commit."
    )


def test_the_same_seed_gives_the_same_stream_and_another_seed_another(stream: MixedStream) -> None:
    assert mixed_stream() == stream
    assert mixed_stream(seed=1, events=300) != mixed_stream(seed=2, events=300)
    assert stream.inputs == DEFAULT_EVENTS


def test_the_stream_holds_every_kind_of_input_it_promises(stream: MixedStream) -> None:
    inputs = [item for item in stream.items if isinstance(item, Input)]
    by_topic: dict[str, list[dict[str, object]]] = {}
    for item in inputs:
        if item.schema == item.topic:
            by_topic.setdefault(item.topic, []).append(dict(item.record))
    seen = Counter(f"{name}={record[name]}" for topic, name in (
        (OPT_OUT, "action"), (OPT_OUT, "scope"), (OPT_OUT, "category"), (CONSENT_CHANGED, "action"),
        (CALL_OUTCOME, "outcome"), (CALL_OUTCOME, "dnc_scope"),
    ) for record in by_topic[topic])
    wanted = ({f"outcome={code}" for code in get_args(CallOutcomeCode)}
              | {f"action={a}" for a in ("ADD", "REMOVE", "ERASE", "GRANT", "REVOKE")}
              | {f"scope={s}" for s in ("ALL_CHANNELS", "VOICE", "SMS", "CAMPAIGN")}
              | {f"category={c}" for c in ("PERMANENT", "CHANNEL_LIMITED", "TEMPORARY")}
              | {f"dnc_scope={s}" for s in ("ALL_CHANNELS", "VOICE", "CAMPAIGN")})
    assert wanted <= seen.keys(), wanted - seen.keys()

    outcomes = by_topic[CALL_OUTCOME]
    assert any(o["outcome"] == "CALLBACK_REQUESTED" and o["callback_at"] for o in outcomes)
    assert any(o["outcome"] == "NOT_NOW" and o["callback_at"] for o in outcomes)
    assert any(o["outcome"] == "QUALIFIED" and o["answers"] for o in outcomes)
    leads = by_topic[LEAD_CAPTURED]
    emails = Counter((lead["email"], lead["phone"]) for lead in leads if lead["email"])
    shared = Counter(email for email, _ in emails)
    assert sum(1 for count in shared.values() if count > 1) > 100, "emails shared across numbers"
    assert len({lead["lead_id"] for lead in leads}) < len(leads), "leads resent under the same id"
    event_ids = Counter(str(item.record["event_id"]) for item in inputs)
    assert sum(1 for count in event_ids.values() if count > 1) > 100, "redelivered records"
    assert sum(1 for item in stream.items if isinstance(item, Garbage)) > 100
    assert any(item.schema != item.topic for item in inputs)
    ticks = [item.at for item in stream.items if isinstance(item, Tick)]
    assert ticks == sorted(ticks) and ticks[-1] - ticks[0] > (datetime(2026, 12, 1, tzinfo=UTC) - ticks[0])


def test_the_outputs_hold_every_decision_and_record_kind(outputs: list[Output]) -> None:
    decisions = [o.record for o in outputs if o.topic == "lead-decision"]
    assert {d["outcome"] for d in decisions} == set(get_args(DecisionOutcome))
    assert {o.record["action"] for o in outputs if o.topic == "call-ready"} == {"READY", "WITHDRAW"}
    assert {o.record["stage"] for o in outputs if o.topic == "dead-letter"} == {"decode", "validate", "normalize"}
    assert sum(1 for o in outputs if o.topic == "qualified-lead") > 100
    released = Counter(d["outcome"] for d in decisions if d["input_topic"] == RELEASE_SCHEDULER)
    assert {"CALL_READY", "DEFERRED", "SUPPRESSED"} <= released.keys()
    codes = Counter(reason["code"] for d in decisions for reason in d["reasons"])
    for code in ("FREQUENCY_CAP", "WIRELESS_RESTRICTED", "DNC_ERASED", "NUMBER_NON_WORKING", "CONSENT_REVOKED",
                 "OUTSIDE_CALL_WINDOW", "NO_LEGAL_WINDOW", "CALLBACK_SCHEDULED", "FAILED_DAYS"):
        assert codes[code] > 0, code
    assert any("same email" in d["reasons"][0]["detail"] for d in decisions if d["outcome"] == "DUPLICATE")


# --- the comparison itself -----------------------------------------------------------------------

T = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def decision(lead_id: str, *, code: str = "CALLABLE", key: bytes = b"+13055550123") -> Output:
    return Output("lead-decision", key, {
        "event_id": f"ev-{lead_id}", "lead_id": lead_id, "decided_at": T, "score": 12.5,
        "reasons": [{"code": code, "rule_id": "decision.callable", "detail": "ok"}],
    })


def test_the_first_difference_names_the_output_the_field_and_both_values() -> None:
    expected = [decision("L1"), decision("L2"), decision("L3")]
    actual = [decision("L1"), decision("L2", code="OUTSIDE_CALL_WINDOW"), decision("L3")]

    difference = first_difference(expected, actual)

    assert difference is not None
    assert (difference.index, difference.path) == (1, "record.reasons[0].code")
    text = str(difference)
    assert "output #1" in text and "lead_id L2" in text and "'+13055550123'" in text
    assert "expected 'CALLABLE'" in text and "actual   'OUTSIDE_CALL_WINDOW'" in text
    assert first_difference(expected, list(expected)) is None


def test_a_missing_output_and_a_changed_type_are_differences() -> None:
    short = first_difference([decision("L1"), decision("L2")], [decision("L1")])
    assert short is not None and (short.path, short.expected, short.actual) == ("<count>", 2, 1)
    assert "the first 1 agree" in str(short) and "L2" in str(short)
    integral = Output("lead-decision", b"k", {**decision("L1").record, "score": 12})
    assert first_difference([decision("L1", key=b"k")], [integral]) is not None


def test_per_key_order_ignores_interleaving_across_keys_but_not_within_one() -> None:
    a1, a2, b1 = decision("A1", key=b"a"), decision("A2", key=b"a"), decision("B1", key=b"b")
    assert first_difference([a1, b1, a2], [b1, a1, a2], order="per_key") is None
    assert first_difference([a1, b1, a2], [a2, b1, a1], order="per_key") is not None
    assert [o.record["lead_id"] for o in per_key([a2, b1, a1])] == ["A2", "A1", "B1"]


def test_the_golden_file_gives_back_instants_and_bytes_unchanged(tmp_path: Path) -> None:
    outputs = [decision("L1"), Output("dead-letter", None, {"value": b"\xc3\x01\x00", "occurred_at": T,
                                                             "partition": 3, "flag": True})]
    write_golden(tmp_path / "a.jsonl.xz", outputs)
    write_golden(tmp_path / "b.jsonl.xz", outputs)
    assert read_golden(tmp_path / "a.jsonl.xz") == outputs
    assert (tmp_path / "a.jsonl.xz").read_bytes() == (tmp_path / "b.jsonl.xz").read_bytes()
