"""The dial-time check as a pure function: same answers, same rule ids as the pipeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core_builders import T0, context, lead, number_event, opt_out, outcome

from pipeline.core.campaigns import default_campaigns
from pipeline.core.dialcheck import DialCheckRequest, dial_check, parse_request
from pipeline.core.lifecycle import default_lifecycle
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


# --- with lead_id: the lead's status too, never less than the number's rules ---------------------------


def test_with_a_lead_id_the_answer_is_about_the_lead_as_well() -> None:
    state = apply(lead())
    answer = check(state, campaign_id="solar-q4", lead_id="L1")
    assert (answer["allowed"], codes(answer)) == (True, ["CALLABLE"])
    assert answer["lead"] == {"lead_id": "L1", "known": True, "status": "IN_PROGRESS", "attempts": 0,
                              "attempts_left": 8, "offered": True, "waiting_until": None, "callback": None}
    # No campaign named: the lead's own.
    assert check(state, lead_id="L1")["campaign_id"] == "solar-q4"
    assert check(state)["campaign_id"] == "default"


def test_a_closed_leads_number_may_be_callable_but_the_lead_is_not() -> None:
    state = apply(lead(), outcome("oc-1", "L1", "QUALIFIED"))
    assert check(state, campaign_id="solar-q4")["allowed"] is True  # the number: nothing against it
    answer = check(state, campaign_id="solar-q4", lead_id="L1")
    assert answer["allowed"] is False and codes(answer) == ["LEAD_CLOSED"]
    assert "closed (QUALIFIED)" in answer["reasons"][0]["detail"]  # type: ignore[index]
    assert answer["rules_fired"] == ["dial-check.lead"]


def test_a_lead_waiting_for_its_callback_is_not_dialed_before_it() -> None:
    callback = T0 + timedelta(hours=2)
    state = apply(lead(), outcome("oc-1", "L1", "CALLBACK_REQUESTED", callback_at=callback, agent_id="agent-3"))
    answer = check(state, campaign_id="solar-q4", lead_id="L1")
    assert codes(answer) == ["LEAD_WAITING"] and answer["allowed"] is False
    lead_part = answer["lead"]
    assert isinstance(lead_part, dict)
    assert (lead_part["status"], lead_part["attempts"], lead_part["attempts_left"], lead_part["waiting_until"]) == (
        "CALLBACK", 1, 7, callback.isoformat())
    assert lead_part["callback"]["promised_by_agent"] == "agent-3"


def test_a_snoozed_campaign_and_an_unknown_lead_are_said_and_number_rules_still_apply() -> None:
    state = apply(lead(), outcome("oc-1", "L1", "NOT_NOW", callback_at=T0 + timedelta(days=30)))
    answer = check(state, campaign_id="solar-q4", lead_id="L1")
    assert codes(answer) == ["NOT_NOW_SNOOZE", "LEAD_WAITING"]
    assert check(state, campaign_id="insurance-renewals")["allowed"] is True  # another campaign
    assert codes(check(state, campaign_id="solar-q4", lead_id="nobody")) == ["NOT_NOW_SNOOZE", "LEAD_UNKNOWN"]
    # An open lead cannot lift a number-level block.
    blocked = apply(lead(), opt_out())
    assert codes(check(blocked, campaign_id="solar-q4", lead_id="L1"))[0] == "DNC_OPT_OUT"


def test_a_lead_out_of_attempts_and_a_bad_lead_id() -> None:
    state = apply(lead(), *(outcome(f"oc-{n}", "L1", "CALLBACK_REQUESTED", callback_at=T0) for n in range(3)))
    record = state.leads.get("L1")
    assert record is not None and record.attempts == 3
    tight = replace(default_lifecycle(), max_attempts_per_lead=3)
    parsed = parse_request("+13052094411", {"campaign_id": "solar-q4", "lead_id": "L1"}, "US")
    assert isinstance(parsed, DialCheckRequest)
    answer = dial_check(parsed, state, campaigns=default_campaigns(), pack=PACK, now=T0, lifecycle=tight).to_json()
    assert "LEAD_ATTEMPTS_USED" in codes(answer)
    assert parse_request("+13052094411", {"lead_id": " "}, "US") == {"lead_id": "expected 1 to 128 printable "
                                                                      "characters, got ' '"}


def test_an_at_the_window_search_cannot_reach_is_a_bad_request_naming_at() -> None:
    for raw in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:00", "3000-01-01T00:00:00Z"):
        errors = parse_request("+13052094411", {"at": raw}, "US")
        assert isinstance(errors, dict) and list(errors) == ["at"], raw
        assert "outside 1970-2999" in errors["at"]
    for raw in ("1970-01-01T00:00:00Z", "2999-12-31T23:59:59.999Z"):
        parsed = parse_request("+13052094411", {"at": raw, "campaign_id": "solar-q4"}, "US")
        assert isinstance(parsed, DialCheckRequest), raw
        answer = dial_check(parsed, apply(lead()), campaigns=default_campaigns(), pack=PACK, now=T0)
        assert answer.at == parsed.at and answer.rule_pack_version == PACK.version


def test_query_values_over_their_limits_are_named() -> None:
    errors = parse_request("+13052094411", {"campaign_id": "c" * 129, "purpose": "p" * 101}, "US")
    assert errors == {"campaign_id": "129 characters, at most 128", "purpose": "101 characters, at most 100"}
