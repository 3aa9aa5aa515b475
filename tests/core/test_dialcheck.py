"""The dial-time check as a pure function: same answers, same rule ids as the pipeline."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from core_builders import (
    T0,
    assert_fits_schema,
    consent_change,
    context,
    lead,
    number_event,
    opt_out,
    outcome,
    phone_info,
    proof,
)

from pipeline.core.campaigns import CampaignBook, load_campaigns
from pipeline.core.consents import ConsentLedger
from pipeline.core.dialcheck import DialCheck, DialCheckRequest, audit_record, dial_check, parse_request
from pipeline.core.evaluation import evaluate
from pipeline.core.leads import NumberLeads
from pipeline.core.number import Emit, NumberState, process
from pipeline.core.phone import normalize_phone
from pipeline.core.rulepack import RulePack, merge_overrides
from pipeline.core.suppressions import SuppressionState
from pipeline.events import Address, ConsentChannel, ConsentProof, InputEvent, LeadDecision, PhoneInfo
from pipeline.packaged import default_campaigns, default_lifecycle, default_rule_pack
from pipeline.registry.check import RegistrySet
from pipeline.registry.disk import LoadedRegistry
from pipeline.registry.kinds import REGISTRY_KINDS
from pipeline.registry.memory import UsRegistry
from pipeline.registry.snapshot import RegistrySnapshot
from pipeline.state_codec import decode, encode

PACK = default_rule_pack()


def apply(*events: InputEvent) -> NumberState:
    state = NumberState.empty()
    for ev in events:
        state, _ = process(state, number_event(ev), context(T0))
    return state


def check(state: NumberState, **query: str) -> dict[str, object]:
    parsed = parse_request("+13052094411", query, "US")
    assert isinstance(parsed, DialCheckRequest)
    return dial_check(parsed, state, campaigns=default_campaigns(), pack=PACK, now=T0,
                      lifecycle=default_lifecycle()).to_json()


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
        answer = dial_check(parsed, apply(lead()), campaigns=default_campaigns(), pack=PACK, now=T0,
                            lifecycle=default_lifecycle())
        assert answer.at == parsed.at and answer.rule_pack_version == PACK.version


def test_query_values_over_their_limits_are_named() -> None:
    errors = parse_request("+13052094411", {"campaign_id": "c" * 129, "purpose": "p" * 101}, "US")
    assert errors == {"campaign_id": "129 characters, at most 128", "purpose": "101 characters, at most 100"}


# --- the findings, one by one (issue 10) ------------------------------------------------

NEW_YORK = phone_info("+12122094411", ("America/New_York",)) | {"area_code_region": "NY"}


def address(region: str | None, country: str | None = "US") -> Address:
    return {"street": None, "city": None, "region": region, "postal_code": None, "country": country}


def decide(phone: PhoneInfo, *events: InputEvent, now: datetime = T0) -> tuple[NumberState, list[LeadDecision]]:
    state, decided = NumberState.empty(), []
    for ev in events:
        state, emits = process(state, number_event(ev, phone=phone), context(now))
        decided += [cast(LeadDecision, e.record) for e in emits if e.topic == "lead-decision"]
    return state, decided


def ask(phone: PhoneInfo, state: NumberState, *, now: datetime = T0, at: datetime | None = None,
        campaign_id: str = "solar-q4", channel: ConsentChannel | None = None, pack: RulePack = PACK,
        campaigns: CampaignBook | None = None) -> DialCheck:
    return dial_check(DialCheckRequest(phone, campaign_id, channel, None, at), state,
                      campaigns=campaigns or default_campaigns(), pack=pack, now=now, lifecycle=default_lifecycle())


def test_the_lead_address_counts_a_new_york_number_living_in_florida_closes_at_20_eastern() -> None:
    state, [decision] = decide(NEW_YORK, lead() | {"address": address("FL")})
    assert decision["outcome"] == "CALL_READY"
    assert decision["callable_until"] == datetime(2025, 6, 3, 0, 0, tzinfo=UTC)  # 20:00 EDT, us.fl.hours
    evening = datetime(2025, 6 , 3, 0, 30, tzinfo=UTC)  # 20:30 EDT
    answer = ask(NEW_YORK, state, at=evening)
    assert answer.allowed is False
    assert [(r["code"], r["rule_id"]) for r in answer.reasons] == [("OUTSIDE_CALL_WINDOW", "us.fl.hours")]


def test_the_lead_address_counts_a_new_york_number_in_texas_of_unknown_line_type_is_wireless_for_both() -> None:
    state, [decision] = decide(NEW_YORK, lead() | {"address": address("TX")})
    answer = ask(NEW_YORK, state)
    assert decision["outcome"] == "SUPPRESSED" and answer.allowed is False
    assert [(r["code"], r["rule_id"]) for r in decision["reasons"]] == [("WIRELESS_RESTRICTED", "us.tx.wireless")]
    assert list(answer.reasons) == decision["reasons"]


def test_every_address_on_record_in_the_campaign_counts_not_those_of_other_campaigns() -> None:
    texas = lead("ev-tx", "L-TX", campaign_id="insurance-renewals", consent=None) | {"address": address("TX")}
    state, _ = decide(NEW_YORK, lead(), texas)
    assert ask(NEW_YORK, state).allowed is True  # Texas lives in another campaign's lead
    codes_there = [r["code"] for r in ask(NEW_YORK, state, campaign_id="insurance-renewals").reasons]
    assert codes_there == ["WIRELESS_RESTRICTED"]


# As of an instant: the state as it was then.

JULY = datetime(2025, 7, 15, 16, 0, tzinfo=UTC)  # a Tuesday, 12:00 in New York
DECEMBER = datetime(2025, 12, 2, 17, 0, tzinfo=UTC)
LATER_STILL = datetime(2026, 2, 3, 17, 0, tzinfo=UTC)


def test_an_opt_out_made_in_december_does_not_block_a_july_instant() -> None:
    state, _ = decide(phone_info(), lead(occurred_at=T0), opt_out("stop", occurred_at=DECEMBER), now=DECEMBER)
    july = ask(phone_info(), state, now=LATER_STILL, at=JULY)
    assert july.allowed is True and [r["code"] for r in july.reasons] == ["CALLABLE"]
    assert (july.state_as_of, july.at) == (JULY, JULY)
    assert july.state_note.startswith("the number's state as it was at 2025-07-15T16:00:00+00:00")
    december = ask(phone_info(), state, now=LATER_STILL, at=DECEMBER + timedelta(hours=1))
    assert [r["code"] for r in december.reasons] == ["DNC_OPT_OUT"]


def test_a_consent_granted_later_does_not_make_an_earlier_instant_allowed() -> None:
    grant = consent_change("g-2026", action="GRANT", channel="ANY", occurred_at=LATER_STILL,
                           with_proof=proof(channel="ANY", granted_at=LATER_STILL))
    state, _ = decide(phone_info(), lead(consent=None, occurred_at=JULY), grant, now=LATER_STILL)
    assert ask(phone_info(), state, now=LATER_STILL + timedelta(hours=1)).allowed is True
    before = ask(phone_info(), state, now=LATER_STILL + timedelta(hours=1), at=JULY)
    assert [r["code"] for r in before.reasons] == ["CONSENT_MISSING"]


def test_a_later_revocation_does_not_reach_back_and_a_removal_counts_from_its_instant() -> None:
    state, _ = decide(phone_info(), lead(occurred_at=JULY - timedelta(days=1)),
                      opt_out("stop", occurred_at=JULY - timedelta(hours=1)),
                      opt_out("lift", action="REMOVE", occurred_at=JULY + timedelta(hours=1)),
                      consent_change("rev", occurred_at=DECEMBER), now=DECEMBER)
    asked = {at: [r["code"] for r in ask(phone_info(), state, now=LATER_STILL, at=at).reasons]
             for at in (JULY - timedelta(hours=2), JULY, JULY + timedelta(hours=2), DECEMBER + timedelta(hours=1))}
    assert list(asked.values()) == [["CALLABLE"], ["DNC_OPT_OUT"], ["CALLABLE"], ["CONSENT_REVOKED"]]


def test_the_caps_count_the_calls_made_by_the_instant_asked_about() -> None:
    calls = [outcome(f"c{i}", "L1", "NO_ANSWER", occurred_at=JULY - timedelta(hours=5 - i)) for i in range(3)]
    state, _ = decide(phone_info(), lead(occurred_at=JULY - timedelta(days=1)), *calls, now=JULY)
    assert [r["code"] for r in ask(phone_info(), state, now=JULY, at=JULY - timedelta(hours=3, minutes=30)).reasons] \
        == ["CALLABLE"]  # two calls made by then
    assert [r["code"] for r in ask(phone_info(), state, now=JULY).reasons] == ["FREQUENCY_CAP"]


def test_a_future_instant_is_answered_from_todays_state_and_says_so() -> None:
    state, _ = decide(phone_info(), lead())
    planned = ask(phone_info(), state, at=T0 + timedelta(days=1))
    assert planned.allowed is True
    assert planned.state_as_of == T0 and "in the future (a planned call)" in planned.state_note
    assert ask(phone_info(), state).state_note == "today's state"


def test_before_the_history_a_row_in_todays_format_keeps_the_answer_says_it_cannot_tell() -> None:
    rows = {  # exactly as the worker of release 0.1 writes them (pipeline.app: to_json, compact)
        "suppressions": {"active": [{"id": "stop", "scope": "ALL_CHANNELS", "category": "PERMANENT",
                                     "source": "OPT_OUT", "added_by": "sms",
                                     "created_at": "2025-12-02T17:00:00+00:00"}],
                         "removals": []},
        "consents": {"entries": [{"event_id": "lead-ev-1", "action": "GRANT", "purpose": "marketing",
                                  "channel": "ANY", "effective_at": "2025-06-02T14:55:00+00:00",
                                  "source": "solar-form", "certificate_id": "cert-1"}]},
        "leads": {"leads": [{"lead_id": "L1", "campaign_id": "solar-q4", "source": "solar-form", "status": "NEW",
                             "captured_at": "2025-06-02T15:00:00+00:00"}],
                  "seen": ["lead-ev-1", "stop"], "calls": ["2025-12-01T17:00:00+00:00"]},
    }
    state = NumberState(decode(SuppressionState, json.dumps(rows["suppressions"]).encode()),
                        decode(ConsentLedger, json.dumps(rows["consents"]).encode()),
                        decode(NumberLeads, json.dumps(rows["leads"]).encode()))
    assert [r["code"] for r in ask(phone_info(), state, now=LATER_STILL).reasons] == ["DNC_OPT_OUT"]
    july = ask(phone_info(), state, now=LATER_STILL, at=JULY)
    assert july.allowed is False
    assert july.reasons[0]["code"] == "STATE_HISTORY_INCOMPLETE"
    assert "complete from 2025-12-02T17:00:00+00:00" in july.reasons[0]["detail"]
    assert ask(phone_info(), state, now=LATER_STILL, at=DECEMBER + timedelta(days=2)).reasons[0]["code"] \
        == "DNC_OPT_OUT"  # after the newest instant the row records, its history is whole
    for part in (state.suppressions, state.consents, state.leads):  # and it is written back in the new format
        assert "history" in json.loads(encode(part))


def test_after_an_erasure_the_answer_is_the_erasure_alone_and_before_it_nothing_can_be_told() -> None:
    erase = opt_out("erase-1", occurred_at=DECEMBER) | {"action": "ERASE", "source": "privacy-portal"}
    state, _ = decide(phone_info(), lead(occurred_at=JULY), erase, now=DECEMBER)
    after = ask(phone_info(), state, now=LATER_STILL)
    assert [(r["code"], r["rule_id"]) for r in after.reasons] == [("DNC_ERASED", "privacy.erasure")]
    before = ask(phone_info(), state, now=LATER_STILL, at=JULY)
    assert [r["code"] for r in before.reasons] == ["STATE_HISTORY_INCOMPLETE"]
    assert before.allowed is False and "erased at 2025-12-02T17:00:00+00:00" in before.reasons[0]["detail"]


# Prior express written consent (us.pewc).

SELLER_BOOK = load_campaigns({"campaigns": {"solar-q4": {"channel": "AUTODIALED_VOICE", "seller": "Sunrise Solar"}}})


def _registry_with(number: int) -> RegistrySet:
    store = UsRegistry.empty()
    store.add_many([number])
    snap = RegistrySnapshot(registry="us-dnc", snapshot_date=(T0 - timedelta(days=3)).date(), max_age_days=31,
                            imported_at=T0, numbers=1, added=1, removed=0, sources=(), data_file="", data_sha256="")
    return RegistrySet(loaded={"us-dnc": LoadedRegistry(REGISTRY_KINDS["us-dnc"], snap, store)})


LISTED = _registry_with(3052094411)
WRITTEN = proof(granted_at=T0 - timedelta(days=2)) | {
    "consent_text": "I agree that Sunrise Solar may call me at this number, including by autodialer."}


def _pewc_decision(consent: ConsentProof | None, *, pack: RulePack = PACK, later: tuple[InputEvent, ...] = ()) -> (
        tuple[LeadDecision, DialCheck]):
    ctx = replace(context(T0), campaigns=SELLER_BOOK, registries=LISTED, rule_pack=pack)
    state = NumberState.empty()
    for ev in later:
        state, _ = process(state, number_event(ev), ctx)
    state, emits = process(state, number_event(lead(consent=consent)), ctx)
    [decision] = [cast(LeadDecision, e.record) for e in emits if e.topic == "lead-decision"]
    answer = dial_check(DialCheckRequest(phone_info(), "solar-q4", None, None, None), state, campaigns=SELLER_BOOK,
                        pack=pack, now=T0, registries=LISTED, lifecycle=default_lifecycle())
    return decision, answer


def test_written_consent_naming_the_seller_lifts_the_national_registry() -> None:
    decision, answer = _pewc_decision(WRITTEN)
    assert decision["outcome"] == "CALL_READY" and answer.allowed is True
    assert [(r["code"], r["rule_id"]) for r in decision["reasons"]] == [
        ("CALLABLE", "decision.callable"), ("PEWC_EXEMPTION", "us.pewc")]
    assert "Sunrise Solar" in decision["reasons"][1]["detail"] and "cert-1" in decision["reasons"][1]["detail"]


@pytest.mark.parametrize("consent", [
    pytest.param(proof(granted_at=T0 - timedelta(days=2)), id="the text does not name the seller"),
    pytest.param(WRITTEN | {"certificate_id": None}, id="no signature record"),
    pytest.param(None, id="no consent at all"),
])
def test_consent_that_is_not_written_consent_naming_the_seller_leaves_the_registry_block(
        consent: ConsentProof | None) -> None:
    decision, answer = _pewc_decision(consent)
    assert decision["outcome"] == "SUPPRESSED" and answer.allowed is False
    assert "DNC_REGISTRY" in [r["code"] for r in decision["reasons"]]


def test_revoked_written_consent_exempts_nothing() -> None:
    revoked = (consent_change("rev", occurred_at=T0 - timedelta(days=1)),)
    decision, _ = _pewc_decision(WRITTEN | {"granted_at": T0 - timedelta(days=2)}, later=revoked)
    assert [r["code"] for r in decision["reasons"]] == ["CONSENT_REVOKED", "DNC_REGISTRY"]


def test_counsel_can_turn_the_written_consent_exemption_off() -> None:
    off = merge_overrides(PACK, {"rules": [{"id": "us.pewc", "enabled": False}]})
    decision, answer = _pewc_decision(WRITTEN, pack=off)
    assert decision["outcome"] == "SUPPRESSED" and answer.allowed is False
    assert [r["code"] for r in decision["reasons"]] == ["DNC_REGISTRY"]


# Numbers that say nowhere: the most restrictive window of every jurisdiction, unless an address says.

def _non_geographic(e164: str, number_type: str, zones: tuple[str, ...]) -> PhoneInfo:
    return {"phone_e164": e164, "region": (e164.startswith("+44") and "GB") or "US", "number_type": number_type,
            "time_zones": list(zones), "area_code_region": None, "carrier": None, "line_type": "UNKNOWN",
            "area_code_location": None}


NANP_ZONES = tuple(normalize_phone("+18005550199", None, "US")["time_zones"])  # type: ignore[index]


@pytest.mark.parametrize("phone", [
    pytest.param(normalize_phone("+18005550199", None, "US"), id="toll-free"),
    # Intake refuses premium-rate numbers (PHONE_NOT_DIALABLE); the evaluation still never opens one.
    pytest.param(_non_geographic("+19002001234", "PREMIUM_RATE", NANP_ZONES), id="premium"),
    pytest.param(normalize_phone("+15002001234", None, "US"), id="personal"),
])
def test_a_non_geographic_number_without_an_address_gets_every_jurisdictions_window(phone: PhoneInfo) -> None:
    consented = lead(campaign_id="insurance-renewals", consent=None)  # no consent needed: the window decides
    for hours in range(0, 7 * 24, 3):  # a whole week, every three hours: never callable
        state, [decision] = decide(phone, consented, now=T0 + timedelta(hours=hours))
        answer = ask(phone, state, now=T0 + timedelta(hours=hours), campaign_id="insurance-renewals")
        assert decision["outcome"] == "SUPPRESSED" and answer.allowed is False
        assert "NO_LEGAL_WINDOW" in [r["code"] for r in answer.reasons]
    assert {"US-FL", "US-TX", "US-RI", "CA"} <= set(answer.rules_fired) | set(
        evaluate(state, phone, default_campaigns().policy_for("insurance-renewals"), pack=PACK,
                 registries=RegistrySet(), at=T0).place.jurisdictions)


@pytest.mark.parametrize("phone", [
    pytest.param(normalize_phone("+18005550199", None, "US"), id="toll-free"),
    pytest.param(_non_geographic("+19002001234", "PREMIUM_RATE", NANP_ZONES), id="premium"),
    pytest.param(normalize_phone("+15002001234", None, "US") | {"line_type": "LANDLINE"}, id="personal"),
])
def test_a_non_geographic_number_whose_lead_gives_a_state_gets_that_states_window(phone: PhoneInfo) -> None:
    texan = lead(campaign_id="insurance-renewals", consent=None) | {"address": address("TX")}
    state, [decision] = decide(phone, texan)
    assert decision["outcome"] == "CALL_READY"
    # insurance-renewals calls 09:00-20:00: 20:00 in Texas (Central), in UTC.
    assert decision["callable_until"] == datetime(2025, 6, 3, 1, 0, tzinfo=UTC)
    assert ask(phone, state, campaign_id="insurance-renewals").allowed is True


def test_a_premium_rate_number_never_reaches_a_decision_or_a_dial_check() -> None:
    refused = parse_request("+19002001234", {}, "US")
    assert isinstance(refused, dict) and refused["phone"].startswith("PHONE_NOT_DIALABLE")


# One vocabulary.

def test_an_sms_check_speaks_of_texts_and_a_missing_consent_names_what_is_on_record() -> None:
    texts_only = consent_change("g-sms", action="GRANT", channel="SMS", purpose="marketing",
                                with_proof=proof(channel="SMS", granted_at=T0 - timedelta(hours=1)))
    state, _ = decide(phone_info(), texts_only)
    sms = ask(phone_info(), state, channel="SMS")
    assert sms.allowed is True and sms.reasons[0]["detail"].startswith("texts allowed until")
    night = ask(phone_info(), state, channel="SMS", at=T0 + timedelta(hours=10))
    assert night.reasons[0]["detail"].startswith("texts not allowed: closed")
    voice = ask(phone_info(), state, channel="VOICE")
    assert voice.reasons[0]["code"] == "CONSENT_MISSING"
    assert "on record for marketing: GRANT marketing/SMS" in voice.reasons[0]["detail"]


def test_a_do_not_call_said_on_a_call_has_one_name_in_the_decision_and_the_dial_check() -> None:
    state, decided = decide(phone_info(), lead(), outcome("dnc", "L1", "DO_NOT_CALL"))
    closing = decided[-1]
    assert (closing["outcome"], closing["reasons"][0]["code"], closing["reasons"][0]["rule_id"]) == (
        "CLOSED", "DNC_CALL_OUTCOME", "dnc.company")
    answer = ask(phone_info(), state)
    assert [(r["code"], r["rule_id"]) for r in answer.reasons] == [("DNC_CALL_OUTCOME", "dnc.company")]


# Every answer on record.

def test_the_audit_record_of_an_answer_fits_the_dial_check_schema() -> None:
    state, _ = decide(phone_info(), lead())
    request = DialCheckRequest(phone_info(), "solar-q4", None, None, T0 + timedelta(hours=10), call_id="call-77")
    answer = dial_check(request, state, campaigns=default_campaigns(), pack=PACK, now=T0, lifecycle=default_lifecycle())
    record = audit_record(request, answer, "worker-a:6066:123", "req-1")
    assert_fits_schema(Emit("dial-check", answer.phone_e164, "dial-check", record))
    assert (record["event_id"], record["call_id"], record["allowed"], record["worker_id"]) == (
        "req-1", "call-77", False, "worker-a:6066:123")
    assert record["reasons"] == list(answer.reasons) and record["state_as_of"] == T0
    body = answer.to_json(request_id="req-1", worker_id="worker-a:6066:123")
    assert (body["request_id"], body["call_id"], body["worker_id"]) == ("req-1", "call-77", "worker-a:6066:123")


def test_a_call_id_must_be_short_printable_text() -> None:
    assert parse_request("+13052094411", {"call_id": "c-1"}, "US").call_id == "c-1"  # type: ignore[union-attr]
    for bad in ("", "x" * 200, "a\nb"):
        errors = parse_request("+13052094411", {"call_id": bad}, "US")
        assert isinstance(errors, dict) and set(errors) == {"call_id"}
