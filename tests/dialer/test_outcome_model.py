"""The simulated call outcomes: repeatable, realistic, and valid call-outcome records."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import fastavro
import pytest
from dialer_builders import NOW, ready

from connectors.outcome_model import DEFAULT_MIX, NOT_INTERESTED_TAGS, QUALIFICATION_ANSWERS, OutcomeModel
from pipeline.core.validation import validate_input

SCHEMA = fastavro.parse_schema(json.loads((Path(__file__).resolve().parents[2] / "schemas/call-outcome.avsc")
                                          .read_text()))


@pytest.fixture(scope="module")
def outcomes() -> list[dict[str, Any]]:
    model = OutcomeModel(seed=11)
    return [dict(model.outcome(ready(f"+1305555{i:04d}"), ended_at=NOW)) for i in range(2000)]


def test_same_seed_and_offer_same_outcome_whatever_the_order() -> None:
    offers = [ready(f"+1305555{i:04d}") for i in range(50)]
    first = [OutcomeModel(seed=3).outcome(o, ended_at=NOW) for o in offers]
    backwards = [OutcomeModel(seed=3).outcome(o, ended_at=NOW) for o in reversed(offers)]
    other_seed = [OutcomeModel(seed=4).outcome(o, ended_at=NOW) for o in offers]

    assert first == list(reversed(backwards))
    assert [o["outcome"] for o in first] != [o["outcome"] for o in other_seed]
    assert len({o["event_id"] for o in first}) == 50


def test_the_mix_is_followed_and_every_code_of_it_shows_up(outcomes: list[dict[str, Any]]) -> None:
    seen = Counter(o["outcome"] for o in outcomes)
    total = sum(weight for _, weight in DEFAULT_MIX)

    assert set(seen) == {code for code, _ in DEFAULT_MIX}
    for code, weight in DEFAULT_MIX:
        assert abs(seen[code] / len(outcomes) - weight / total) < 0.03, code


def test_every_outcome_is_a_valid_call_outcome_record(outcomes: list[dict[str, Any]]) -> None:
    for outcome in outcomes:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, SCHEMA, outcome)
        assert validate_input("call-outcome", outcome, NOW) == []
        assert outcome["phone"].startswith("+1305555") and outcome["campaign_id"] == "solar-q4"


def test_each_kind_carries_what_a_real_dialer_reports(outcomes: list[dict[str, Any]]) -> None:
    by_code: dict[str, list[dict[str, Any]]] = {}
    for outcome in outcomes:
        by_code.setdefault(outcome["outcome"], []).append(outcome)
    new_york = ZoneInfo("America/New_York")

    for o in by_code["CALLBACK_REQUESTED"]:
        local = o["callback_at"].astimezone(new_york)
        assert NOW + timedelta(hours=12) < o["callback_at"] < NOW + timedelta(days=4)
        assert 10 <= local.hour <= 17  # a local daytime hour
        assert o["callback_notes"] and o["contact_name"] in QUALIFICATION_ANSWERS["contact_name"]
    for o in by_code["NOT_NOW"]:
        assert o["callback_at"] in (NOW + timedelta(days=90), NOW + timedelta(days=180))
    assert {o["dnc_scope"] for o in by_code["DO_NOT_CALL"]} == {"ALL_CHANNELS", "CAMPAIGN", "VOICE"}
    for o in by_code["NOT_INTERESTED"]:
        assert len(o["tags"]) == 1 and o["tags"][0] in NOT_INTERESTED_TAGS
    for code in ("QUALIFIED", "APPOINTMENT_SET"):
        for o in by_code[code]:
            assert set(o["answers"]) == set(QUALIFICATION_ANSWERS)
            assert all(o["answers"][k] in QUALIFICATION_ANSWERS[k] for k in QUALIFICATION_ANSWERS)
            # who was reached: in its own fields, as the gateway and the CRM take it
            assert (o["contact_name"], o["contact_role"]) == (o["answers"]["contact_name"], o["answers"]["role"])
            assert o["best_time_to_call"]
    assert {o["answers"]["next_step"] for o in by_code["APPOINTMENT_SET"]} == {"site_visit"}
    for code in ("NO_ANSWER", "BUSY", "VOICEMAIL", "GATEKEEPER", "DISCONNECTED", "WRONG_NUMBER"):
        for o in by_code[code]:
            assert (o["answers"], o["callback_at"], o["dnc_scope"], o["tags"]) == ({}, None, None, [])


def test_naive_end_times_and_empty_mixes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        OutcomeModel().outcome(ready(), ended_at=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="positive weight"):
        OutcomeModel(mix=(("NO_ANSWER", 0),))


def test_a_callback_soon_and_the_agent_on_the_call() -> None:
    model = OutcomeModel(seed=11, mix=(("CALLBACK_REQUESTED", 1),), callback_in=timedelta(0))
    o = model.outcome(ready(), ended_at=NOW, agent_id="a-104")
    assert (o["callback_at"], o["agent_id"]) == (NOW, "a-104")
    assert o["callback_notes"] == "call back right away, on this number"
    assert OutcomeModel(seed=11).outcome(ready(), ended_at=NOW)["agent_id"] == "sim-dialer-1"
