"""The dial-time check as a pure function: same answers, same rule ids as the pipeline."""

from __future__ import annotations

from datetime import timedelta

from core_builders import T0, context, lead, number_event, opt_out, outcome

from pipeline.core.campaigns import default_campaigns
from pipeline.core.dialcheck import DialCheckRequest, dial_check, parse_request
from pipeline.core.number import NumberState, process
from pipeline.core.rulepack import default_rule_pack
from pipeline.events import InputEvent

PACK = default_rule_pack()


def apply(*events: InputEvent) -> NumberState:
    state = NumberState.empty()
    for ev in events:
        state, _ = process(state, number_event(ev), context(T0))
    return state


def check(state: NumberState, **query: str) -> dict[str, object]:
    parsed = parse_request("+13052094411", query, "US")
    assert isinstance(parsed, DialCheckRequest)
    return dial_check(parsed, state, campaigns=default_campaigns(), pack=PACK, now=T0).to_json()


def codes(answer: dict[str, object]) -> list[object]:
    reasons = answer["reasons"]
    assert isinstance(reasons, list)
    return [r["code"] for r in reasons]


def test_a_number_with_consent_inside_its_window_may_be_dialed_with_seconds_left() -> None:
    answer = check(apply(lead()), campaign="solar-q4")
    assert answer["allowed"] is True
    assert codes(answer) == ["CALLABLE"]
    assert answer["seconds_left"] == 9 * 3600  # until 20:00 in Florida (us.fl.hours)
    assert answer["rule_pack_version"] == PACK.version


def test_an_opt_out_blocks_the_number_with_the_suppression_named() -> None:
    answer = check(apply(lead(), opt_out()), campaign="solar-q4")
    assert answer["allowed"] is False
    assert codes(answer) == ["DNC_OPT_OUT"]
    assert answer["seconds_left"] == 0


def test_at_answers_for_a_past_instant_with_the_rule_that_decided() -> None:
    evening = (T0.replace(hour=0, minute=30) + timedelta(days=1)).isoformat()  # 20:30 in New York
    answer = check(apply(lead()), campaign="solar-q4", at=evening)
    assert answer["allowed"] is False
    assert codes(answer) == ["OUTSIDE_CALL_WINDOW"]
    assert answer["rules_fired"] == ["us.fl.hours"]
    assert answer["at"] == evening


def test_the_frequency_cap_blocks_a_fourth_call_in_24_hours() -> None:
    calls = [outcome(f"c{i}", "L1", "NO_ANSWER", occurred_at=T0 - timedelta(hours=i + 1)) for i in range(3)]
    answer = check(apply(lead(), *calls), campaign="solar-q4")
    assert answer["allowed"] is False
    assert "FREQUENCY_CAP" in codes(answer)


def test_bad_requests_name_every_bad_field() -> None:
    errors = parse_request("12", {"channel": "FAX", "at": "yesterday"}, "US")
    assert isinstance(errors, dict)
    assert set(errors) == {"phone", "channel", "at"}
    naive = parse_request("+13052094411", {"at": "2026-11-24T20:30:00"}, "US")
    assert isinstance(naive, dict) and "UTC offset" in naive["at"]


def test_campaign_is_named_campaign_id_as_everywhere_else_with_the_old_name_still_read() -> None:
    for query in ({"campaign_id": "solar-q4"}, {"campaign": "solar-q4"}):
        parsed = parse_request("+13052094411", query, "US")
        assert isinstance(parsed, DialCheckRequest) and parsed.campaign_id == "solar-q4"
    parsed = parse_request("+13052094411", {}, "US")
    assert isinstance(parsed, DialCheckRequest) and parsed.campaign_id == "default"
