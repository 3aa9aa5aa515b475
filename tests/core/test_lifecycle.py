"""The lead state machine (``pipeline.core.lifecycle``), the qualification framework, and both inside
``process``: retries, callbacks, failed days, non-working numbers, qualified leads.

T0 is Monday 2 June 2025, 11:00 in New York (core_builders); the number is a Florida one
(08:00-20:00 local, at most 3 calls in 24 h).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from core_builders import PHONE, T0, assert_fits_schema, context, lead, number_event, opt_out, outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core import qualification as qual
from pipeline.core.decision import compliance_reasons
from pipeline.core.dialcheck import DialCheckRequest, dial_check, parse_request
from pipeline.core.leads import LeadRecord, LeadStatus
from pipeline.core.lifecycle import CLOSED_STATUSES, LifecyclePolicy, load_lifecycle, transition
from pipeline.core.number import Emit, NumberState, due_releases, process
from pipeline.core.scoring import ScoringModel
from pipeline.errors import ConfigError
from pipeline.events import CallOutcome, CallOutcomeCode, InputEvent
from pipeline.packaged import (
    default_campaigns,
    default_framework,
    default_lifecycle,
    default_rule_pack,
    default_scoring,
)

POLICY = default_lifecycle()
FRAMEWORK = default_framework()
ZONE = "America/New_York"
STATUSES: tuple[LeadStatus, ...] = get_args(LeadStatus)
CODES: tuple[CallOutcomeCode, ...] = get_args(CallOutcomeCode)

QUALIFIED_ANSWERS = {"fit": "yes", "role": "owner", "interest": "high", "timeline": "this_month",
                     "next_step": "site_visit", "contact_name": "Ada King", "contact_role": "owner"}


def call(code: CallOutcomeCode, event_id: str = "oc-1", lead_id: str = "L1", *, at: datetime = T0,
         answers: dict[str, str] | None = None, tags: list[str] | None = None, **extra: Any) -> CallOutcome:
    record = outcome(event_id, lead_id, code, occurred_at=at, **extra)
    record["answers"] = answers if answers is not None else {}
    record["tags"] = tags if tags is not None else []
    return record


def a_lead(status: LeadStatus = "IN_PROGRESS", **extra: Any) -> LeadRecord:
    return LeadRecord(lead_id="L1", campaign_id="solar-q4", source="solar-form", status=status,
                      captured_at=T0 - timedelta(hours=1), **extra)


def judged(record: LeadRecord, ev: CallOutcome, *, now: datetime = T0,
           policy: LifecyclePolicy = POLICY) -> Any:
    code, answers = ev["outcome"], ev["answers"]
    verdict = qual.evaluate(FRAMEWORK, code, answers) if qual.applies(code, answers) else None
    return transition(record, ev, policy, now, ZONE, verdict)


# --- the transition, exhaustively ------------------------------------------------------------------

# What an outcome does to an open lead (answers empty): (status, next).
OPEN_EXPECTED: dict[CallOutcomeCode, tuple[LeadStatus, str]] = {
    "NO_ANSWER": ("IN_PROGRESS", "RETRY"),
    "BUSY": ("IN_PROGRESS", "RETRY"),
    "VOICEMAIL": ("IN_PROGRESS", "RETRY"),
    "GATEKEEPER": ("IN_PROGRESS", "RETRY"),
    "INTERESTED": ("IN_PROGRESS", "RETRY"),
    "CALLBACK_REQUESTED": ("CALLBACK", "CALLBACK"),
    "NOT_NOW": ("CALLBACK", "CALLBACK"),
    "QUALIFIED": ("QUALIFIED", "CLOSED"),
    "APPOINTMENT_SET": ("QUALIFIED", "CLOSED"),
    "SALE": ("QUALIFIED", "CLOSED"),
    "NOT_INTERESTED": ("REFUSED", "CLOSED"),
    "DO_NOT_CALL": ("REFUSED", "CLOSED"),
    "WRONG_NUMBER": ("INACTIVE", "CLOSED"),
    "DISCONNECTED": ("INACTIVE", "CLOSED"),
}
PAIRS = [(status, code) for status in STATUSES for code in CODES]


def test_the_expectation_table_covers_every_outcome() -> None:
    assert set(OPEN_EXPECTED) == set(CODES)


@pytest.mark.parametrize(("status", "code"), PAIRS, ids=[f"{s}-{c}" for s, c in PAIRS])
def test_every_outcome_from_every_status(status: LeadStatus, code: CallOutcomeCode) -> None:
    record = a_lead(status, attempts=2)
    step = judged(record, call(code))
    assert step.attempts == 3  # every attempt counts, whatever the status
    # A lifecycle rule, or for a do-not-call the company-DNC rule its suppression is known by.
    assert step.reason["rule_id"].startswith("lifecycle.") or (code, step.reason["rule_id"]) == (
        "DO_NOT_CALL", "dnc.company")
    assert step.reason["detail"]
    if status in CLOSED_STATUSES:
        assert (step.status, step.next, step.next_at) == (status, "UNCHANGED", None)
        return
    assert (step.status, step.next) == OPEN_EXPECTED[code]
    if step.next in ("RETRY", "CALLBACK"):
        assert step.next_at is not None and step.next_at >= T0
    else:
        assert step.next_at is None


@pytest.mark.parametrize("code", ["NO_ANSWER", "BUSY", "VOICEMAIL", "GATEKEEPER", "INTERESTED"])
def test_retry_delays_come_from_the_policy(code: CallOutcomeCode) -> None:
    step = judged(a_lead(), call(code))
    delay = POLICY.rule(code).retry_after
    assert delay is not None
    assert step.next_at == T0 + delay
    assert step.reason["rule_id"] == f"lifecycle.retry.{code.lower()}"
    assert step.reason["code"] == "RETRY_SCHEDULED"


def test_three_failed_attempts_on_different_local_days_make_the_lead_inactive() -> None:
    record = a_lead()
    for day in range(2):
        step = judged(record, call("NO_ANSWER", at=T0 + timedelta(days=day)))
        assert step.status == "IN_PROGRESS"
        record = replace(record, status=step.status, attempts=step.attempts, failed_days=step.failed_days)
    assert record.failed_days == ("2025-06-02", "2025-06-03")
    step = judged(record, call("BUSY", at=T0 + timedelta(days=2)))
    assert (step.status, step.next, step.reason["rule_id"]) == ("INACTIVE", "CLOSED", "lifecycle.inactive.failed_days")


def test_failures_on_one_local_day_count_once_and_days_are_the_callees() -> None:
    record = a_lead()
    # 23:30 and 23:50 in New York on 2 June are 03:30 and 03:50 UTC on 3 June: one local day.
    late = datetime(2025, 6, 3, 3, 30, tzinfo=UTC)
    for i, at in enumerate((T0, late, late + timedelta(minutes=20))):
        step = judged(record, call("NO_ANSWER", f"oc-{i}", at=at), now=at)
        record = replace(record, status=step.status, attempts=step.attempts, failed_days=step.failed_days)
    assert record.failed_days == ("2025-06-02",)
    assert record.status == "IN_PROGRESS"


def test_a_contact_starts_the_failed_days_over() -> None:
    record = a_lead(failed_days=("2025-05-30", "2025-05-31"))
    step = judged(record, call("CALLBACK_REQUESTED", callback_at=T0 + timedelta(days=1)))
    assert step.failed_days == ()
    record = a_lead(failed_days=("2025-05-30", "2025-05-31"))
    assert judged(record, call("NO_ANSWER")).status == "INACTIVE"


def test_the_outcome_attempt_limit_closes_the_lead() -> None:
    limit = POLICY.attempt_limit("VOICEMAIL")
    assert limit == 5
    step = judged(a_lead(attempts=limit - 2), call("VOICEMAIL"))
    assert step.next == "RETRY"
    step = judged(a_lead(attempts=limit - 1), call("VOICEMAIL"))
    assert (step.status, step.reason["rule_id"]) == ("INACTIVE", "lifecycle.inactive.max_attempts")


def test_the_lead_wide_limit_caps_callbacks_too_and_an_engaged_person_ends_nurture() -> None:
    last = a_lead(attempts=POLICY.max_attempts_per_lead - 1)
    step = judged(last, call("CALLBACK_REQUESTED"))
    assert (step.status, step.next, step.reason["rule_id"]) == ("NURTURE", "CLOSED", "lifecycle.nurture.max_attempts")
    assert judged(last, call("VOICEMAIL")).status == "INACTIVE"  # no one answered: not engagement
    off = replace(POLICY, nurture_after_callbacks=0)
    step = judged(last, call("CALLBACK_REQUESTED"), policy=off)
    assert (step.status, step.reason["code"]) == ("INACTIVE", "MAX_ATTEMPTS")


def test_a_callback_is_scheduled_at_the_requested_time_or_the_default() -> None:
    wanted = T0 + timedelta(days=2, hours=3)
    step = judged(a_lead(), call("CALLBACK_REQUESTED", callback_at=wanted))
    assert (step.status, step.next_at, step.reason["rule_id"]) == ("CALLBACK", wanted, "lifecycle.callback.requested")
    assert judged(a_lead(), call("CALLBACK_REQUESTED")).next_at == T0 + POLICY.callback_default
    # A time already past is due at once (the release re-checks the window).
    assert judged(a_lead(), call("CALLBACK_REQUESTED", callback_at=T0 - timedelta(hours=1))).next_at == T0


def test_not_now_comes_back_at_its_date_or_after_the_default() -> None:
    date = T0 + timedelta(days=90)
    assert judged(a_lead(), call("NOT_NOW", callback_at=date)).next_at == date
    assert judged(a_lead(), call("NOT_NOW")).next_at == T0 + POLICY.not_now_default


def test_refusals_and_bad_numbers_say_why() -> None:
    step = judged(a_lead(), call("NOT_INTERESTED", tags=["too_expensive", "chose_competitor"]))
    assert step.reason["code"] == "NOT_INTERESTED" and "too_expensive, chose_competitor" in step.reason["detail"]
    step = judged(a_lead(), call("DO_NOT_CALL", dnc_scope="VOICE"))
    # Named as the suppression it leaves is named by every later decision and dial-check.
    assert (step.reason["code"], step.reason["rule_id"]) == ("DNC_CALL_OUTCOME", "dnc.company")
    assert "VOICE" in step.reason["detail"]
    disconnected = judged(a_lead(), call("DISCONNECTED")).reason
    assert (disconnected["code"], disconnected["rule_id"]) == ("NUMBER_NON_WORKING", "lifecycle.non_working")
    assert judged(a_lead(), call("WRONG_NUMBER")).reason["rule_id"] == "lifecycle.inactive.wrong_number"


# --- qualification -----------------------------------------------------------------------------------


def test_answers_meeting_every_criterion_qualify() -> None:
    result = qual.evaluate(FRAMEWORK, "QUALIFIED", QUALIFIED_ANSWERS)
    assert result.verdict == "QUALIFIED"
    assert {c.criterion_id: c.result for c in result.checks} == {
        "fit": "PASS", "role_relevance": "PASS", "interest": "PASS", "timeline": "PASS", "next_step": "PASS",
        "budget": "UNKNOWN"}  # budget is optional


def test_interested_but_not_ready_is_not_no_fit() -> None:
    not_ready = {**QUALIFIED_ANSWERS, "timeline": "next_year"}
    no_fit = {**QUALIFIED_ANSWERS, "fit": "no"}
    assert qual.evaluate(FRAMEWORK, "INTERESTED", not_ready).verdict == "NOT_READY"
    assert qual.evaluate(FRAMEWORK, "INTERESTED", no_fit).verdict == "NO_FIT"
    # A fit failure outweighs readiness: there is no point calling back.
    assert qual.evaluate(FRAMEWORK, "QUALIFIED", {**not_ready, "fit": "no"}).verdict == "NO_FIT"

    step = judged(a_lead(), call("INTERESTED", answers=not_ready))
    assert (step.status, step.next, step.reason["rule_id"]) == ("CALLBACK", "CALLBACK", "lifecycle.callback.not_ready")
    step = judged(a_lead(), call("QUALIFIED", answers=no_fit))
    assert (step.status, step.next) == ("DISQUALIFIED", "CLOSED")
    assert step.reason["rule_id"] == "lifecycle.disqualified.no_fit"


def test_interested_qualifies_only_when_every_required_answer_is_known() -> None:
    assert qual.evaluate(FRAMEWORK, "INTERESTED", QUALIFIED_ANSWERS).verdict == "QUALIFIED"
    partial = {"fit": "yes", "interest": "high"}
    assert qual.evaluate(FRAMEWORK, "INTERESTED", partial).verdict == "NOT_READY"
    # The agent's QUALIFIED claim covers what was not recorded; the checks show the gaps.
    result = qual.evaluate(FRAMEWORK, "QUALIFIED", partial)
    assert result.verdict == "QUALIFIED" and "not recorded" in result.detail
    assert judged(a_lead(), call("INTERESTED", answers=QUALIFIED_ANSWERS)).status == "QUALIFIED"


def test_free_text_answers_pass_unless_rejected_and_keys_have_fallbacks() -> None:
    # What the simulated dialer records: a budget figure, a next step in words, decision_maker=yes.
    answers = {"timeline": "this_month", "budget": "15000", "decision_maker": "yes", "next_step": "send proposal"}
    result = qual.evaluate(FRAMEWORK, "QUALIFIED", answers)
    assert result.verdict == "QUALIFIED"
    checks = {c.criterion_id: (c.answer_key, c.result) for c in result.checks}
    assert checks["role_relevance"] == ("decision_maker", "PASS")
    assert checks["budget"] == ("budget", "PASS") and checks["next_step"] == ("next_step", "PASS")
    assert qual.evaluate(FRAMEWORK, "QUALIFIED", {**answers, "budget": "none"}).verdict == "NO_FIT"
    assert qual.evaluate(FRAMEWORK, "QUALIFIED", {**answers, "next_step": "not_yet"}).verdict == "NOT_READY"


def test_answers_are_matched_without_case_or_spaces() -> None:
    assert qual.evaluate(FRAMEWORK, "INTERESTED", {k: f" {v.upper()} " for k, v in QUALIFIED_ANSWERS.items()}
                         ).verdict == "QUALIFIED"


def test_a_sale_is_qualified_whatever_the_answers() -> None:
    assert not qual.applies("SALE", {"fit": "no"})
    assert judged(a_lead(), call("SALE", answers={"fit": "no"})).status == "QUALIFIED"


# --- configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "names"), [
    ({"outcomes": {"NO_ANSWR": {"retry_after": 5}}}, "outcomes.NO_ANSWR"),
    ({"outcomes": {"NOT_INTERESTED": {"retry_after": 5}}}, "outcomes.NOT_INTERESTED.retry_after"),
    ({"outcomes": {"SALE": {"max_attempts": 2}}}, "outcomes.SALE.max_attempts"),
    ({"outcomes": {"BUSY": {"retry_after": 0}}}, "outcomes.BUSY.retry_after"),
    ({"outcomes": {"BUSY": {"retry_after": "5"}}}, "outcomes.BUSY.retry_after"),
    ({"outcomes": {"BUSY": {"delay": 5}}}, "outcomes.BUSY"),
    ({"failed_days_to_inactive": 0}, "failed_days_to_inactive"),
    ({"max_attempts_per_lead": True}, "max_attempts_per_lead"),
    ({"retries": {}}, "retries"),
    ([], "JSON object"),
])
def test_a_bad_lifecycle_file_is_refused_naming_the_key(data: object, names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        load_lifecycle(data)


def test_a_lifecycle_file_sets_delays_and_limits() -> None:
    policy = load_lifecycle({"max_attempts_per_lead": 4, "failed_days_to_inactive": 2, "not_now_default_days": 30,
                             "outcomes": {"NO_ANSWER": {"retry_after": 60, "max_attempts": 3}}})
    assert policy.rule("NO_ANSWER").retry_after == timedelta(minutes=60)
    assert (policy.attempt_limit("NO_ANSWER"), policy.attempt_limit("BUSY")) == (3, 4)
    assert policy.not_now_default == timedelta(days=30) and policy.failed_days_to_inactive == 2


@pytest.mark.parametrize(("data", "names"), [
    ({"criteria": [{"id": "fit", "answer": "fit", "accepted": ["yes"], "kind": "FITS"}]}, "fit.kind"),
    ({"criteria": [{"id": "fit", "answer": "fit", "accepted": [], "kind": "FIT"}]}, "fit.accepted"),
    ({"criteria": [{"id": "fit", "answer": "fit", "kind": "FIT"}]}, "exactly one of accepted"),
    ({"criteria": [{"id": "fit", "answer": "fit", "accepted": ["y"], "rejected": ["n"], "kind": "FIT"}]},
     "exactly one of accepted"),
    ({"criteria": [{"id": "fit", "accepted": ["yes"], "kind": "FIT"}]}, "fit.answer"),
    ({"criteria": [{"id": "fit", "answer": "fit", "accepted": ["y"], "kind": "FIT", "required": "no"}]},
     "fit.required"),
    ({"criteria": [{"id": "a", "answer": "a", "accepted": ["y"], "kind": "FIT", "weight": 1}]}, "weight"),
    ({"rules": []}, "criteria"),
])
def test_a_bad_qualification_file_is_refused_naming_the_key(data: object, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        qual.load_framework(data)


# --- inside process ----------------------------------------------------------------------------------


def run(state: NumberState, ev: InputEvent | Any, now: datetime, *, topic: str | None = None,
        policy: LifecyclePolicy = POLICY, model: ScoringModel | None = None) -> tuple[NumberState, list[Emit]]:
    ctx = replace(context(now), lifecycle=policy)
    if model is not None:
        ctx = replace(ctx, scoring_model=model)
    new, emits = process(state, number_event(ev, input_topic=topic), ctx)
    for emit in emits:
        assert emit.key == PHONE
        assert_fits_schema(emit)
    return new, list(emits)


def release_all(state: NumberState, now: datetime, model: ScoringModel | None = None) -> tuple[NumberState, list[Emit]]:
    emitted: list[Emit] = []
    for release in due_releases(state.leads, now):
        state, emits = run(state, release, now, topic="release-scheduler", model=model)
        emitted.extend(emits)
    return state, emitted


def shown(emits: list[Emit]) -> list[tuple[str, object]]:
    return [(e.topic, e.record.get("outcome") if e.topic == "lead-decision" else e.record.get("action")
             if e.topic == "call-ready" else e.record["lead_id"]) for e in emits]


def test_a_callback_outside_the_window_is_offered_when_the_window_opens_not_before() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    wanted = datetime(2025, 6, 3, 2, 0, tzinfo=UTC)  # 22:00 in New York: Florida's window closed at 20:00
    state, emits = run(state, call("CALLBACK_REQUESTED", callback_at=wanted), T0 + timedelta(minutes=5))
    [decision] = [e.record for e in emits if e.topic == "lead-decision"]
    assert (decision["outcome"], decision["lead_status"], decision["callable_from"], decision["attempts"]) == (
        "DEFERRED", "CALLBACK", wanted, 1)
    assert decision["reasons"][0]["rule_id"] == "lifecycle.callback.requested"  # type: ignore[index]

    assert release_all(state, wanted - timedelta(seconds=1))[1] == []
    state, emits = release_all(state, wanted)
    assert shown(emits) == [("lead-decision", "DEFERRED")]  # the legal window, not the callback, decides now
    opens = emits[0].record["callable_from"]
    assert opens == datetime(2025, 6, 3, 12, 0, tzinfo=UTC)  # 08:00 in New York
    assert state.leads.get("L1").status == "CALLBACK"  # type: ignore[union-attr]
    assert release_all(state, opens - timedelta(seconds=1))[1] == []  # type: ignore[operator]
    state, emits = release_all(state, opens)  # type: ignore[arg-type]
    assert shown(emits) == [("lead-decision", "CALL_READY"), ("call-ready", "READY")]
    assert release_all(state, opens + timedelta(hours=1))[1] == []  # type: ignore[operator]


def test_no_answer_retries_then_goes_inactive_on_the_third_day() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    now = T0
    for day in range(3):
        state, emits = run(state, call("NO_ANSWER", f"oc-{day}", at=now), now)
        if day < 2:
            [decision] = [e.record for e in emits if e.topic == "lead-decision"]
            assert decision["outcome"] == "DEFERRED" and decision["lead_status"] == "IN_PROGRESS"
            now = T0 + timedelta(days=day + 1)
            state, emits = release_all(state, now)
            assert shown(emits) == [("lead-decision", "CALL_READY"), ("call-ready", "READY")]
    [decision] = [e.record for e in emits if e.topic == "lead-decision"]
    assert (decision["outcome"], decision["lead_status"], decision["attempts"]) == ("CLOSED", "INACTIVE", 3)
    assert decision["reasons"][0]["rule_id"] == "lifecycle.inactive.failed_days"  # type: ignore[index]
    assert release_all(state, now + timedelta(days=5))[1] == []


def test_not_now_suppresses_then_brings_the_lead_back_at_its_date() -> None:
    date = T0 + timedelta(days=30)
    state, _ = run(NumberState.empty(), lead(), T0)
    state, _ = run(state, call("NOT_NOW", callback_at=date), T0)
    assert release_all(state, date - timedelta(minutes=1))[1] == []
    state, emits = release_all(state, date)
    assert shown(emits) == [("lead-decision", "CALL_READY"), ("call-ready", "READY")]


def test_a_disconnected_number_is_non_working_until_someone_answers() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    state, emits = run(state, call("DISCONNECTED"), T0)
    assert shown(emits) == [("lead-decision", "CLOSED")]
    assert state.leads.non_working_until == T0 + POLICY.non_working_recheck

    state, emits = run(state, lead("ev-2", "L2", campaign_id="insurance-renewals"), T0 + timedelta(hours=1))
    [decision] = [e.record for e in emits]
    assert decision["outcome"] == "SUPPRESSED"
    assert decision["reasons"][0]["code"] == "NUMBER_NON_WORKING"  # type: ignore[index]

    later = T0 + POLICY.non_working_recheck
    _, emits = run(state, lead("ev-3", "L3", campaign_id="other", occurred_at=later), later)
    assert shown(emits)[0] == ("lead-decision", "CALL_READY")
    # A call that reaches someone shows the number works again.
    state, _ = run(state, call("WRONG_NUMBER", "oc-2", "L9"), T0 + timedelta(hours=2))
    assert state.leads.non_working_until is None


def test_a_qualified_lead_carries_what_sales_needs_once() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    ev = call("QUALIFIED", answers=QUALIFIED_ANSWERS, tags=["hot"])
    state, emits = run(state, ev, T0 + timedelta(minutes=3))
    assert shown(emits) == [("lead-decision", "CLOSED"), ("qualified-lead", "L1")]
    q = emits[1].record
    assert (q["contact_name"], q["contact_role"], q["next_step"], q["tags"], q["attempts"]) == (
        "Ada King", "owner", "site_visit", ["hot"], 1)
    assert (q["consent_certificate_id"], q["consent_form_url"]) == ("cert-1", "https://solar.example/quote")
    assert q["consent_text"] and q["consent_granted_at"] == T0 - timedelta(minutes=5)
    # The score at the offer, then at the qualifying call (which counts its attempt): the record's score.
    assert [h["outcome"] for h in q["score_history"]] == ["CALL_READY", "CLOSED"]  # type: ignore[attr-defined]
    assert q["score"] == q["score_history"][-1]["score"]  # type: ignore[index]
    assert {c["criterion"]: c["result"] for c in q["qualification"]}["timeline"] == "PASS"  # type: ignore[attr-defined]
    # Redelivered with a new id, or another qualifying outcome: nothing more reaches the CRM.
    state, emits = run(state, {**ev, "event_id": "oc-again"}, T0 + timedelta(minutes=4))
    assert shown(emits) == [("lead-decision", "IGNORED_CLOSED")]
    assert state.leads.get("L1").attempts == 2  # type: ignore[union-attr]


def test_an_interested_lead_with_answers_not_ready_is_called_back_not_closed() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    state, emits = run(state, call("INTERESTED", answers={**QUALIFIED_ANSWERS, "timeline": "next_year"}), T0)
    [decision] = [e.record for e in emits]
    assert (decision["outcome"], decision["lead_status"]) == ("DEFERRED", "CALLBACK")
    assert decision["reasons"][0]["code"] == "NOT_READY"  # type: ignore[index]


# --- property: never over the attempt limit, never READY while suppressed ------------------------------

CAMPAIGNS = ("solar-q4", "insurance-renewals", "default")
RETRYABLE_CODES: tuple[CallOutcomeCode, ...] = ("NO_ANSWER", "BUSY", "VOICEMAIL", "GATEKEEPER", "INTERESTED",
                                               "CALLBACK_REQUESTED")
ACTION = st.tuples(
    # Retryable outcomes weigh more, so leads live long enough to run into their limits.
    st.sampled_from((*CODES, *RETRYABLE_CODES, *RETRYABLE_CODES, *RETRYABLE_CODES, "tick", "lead", "opt_out")),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=30 * 60),  # minutes the clock moves before the action
)
POLICIES = st.builds(
    lambda most, days, per_outcome, retry: load_lifecycle({
        "max_attempts_per_lead": most, "failed_days_to_inactive": days, "callback_default_minutes": retry,
        "outcomes": {code: {"retry_after": retry, "max_attempts": per_outcome}
                     for code in ("NO_ANSWER", "BUSY", "VOICEMAIL", "GATEKEEPER")},
    }),
    st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(1, 600),
)


def _check_offers(state: NumberState, emits: list[Emit], now: datetime, policy: LifecyclePolicy) -> None:
    """Every READY just emitted is for a lead under its attempt limit that no suppression covers."""
    campaigns = default_campaigns()
    for emit in emits:
        if emit.topic != "call-ready" or emit.record["action"] != "READY":
            continue
        record = state.leads.get(str(emit.record["lead_id"]))
        assert record is not None and record.offered
        limit = policy.attempt_limit(record.last_outcome) if record.last_outcome else policy.max_attempts_per_lead
        assert record.attempts < limit
        campaign = campaigns.policy_for(record.campaign_id)
        assert compliance_reasons(campaign_id=record.campaign_id, suppressions=state.suppressions,
                                  consents=state.consents, policy=campaign, now=now) == ()
    for record in state.leads.leads:
        assert record.attempts <= policy.max_attempts_per_lead


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(POLICIES, st.lists(ACTION, min_size=1, max_size=50))
def test_a_lead_never_exceeds_its_attempts_and_is_never_offered_while_suppressed(
    policy: LifecyclePolicy, actions: list[tuple[str, int, int]],
) -> None:
    state, _ = run(NumberState.empty(), lead("lead-0", "L0"), T0, policy=policy)
    now = T0
    leads = 1
    for n, (kind, pick, minutes) in enumerate(actions):
        now += timedelta(minutes=minutes)
        for release in due_releases(state.leads, now):
            state, emits = run(state, release, now, topic="release-scheduler", policy=policy)
            _check_offers(state, emits, now, policy)
        if kind == "lead":
            state, emits = run(state, lead(f"lead-{leads}", f"L{leads}", campaign_id=CAMPAIGNS[pick % 3],
                                           occurred_at=now), now, policy=policy)
            leads += 1
        elif kind == "opt_out":
            temporary = pick % 2 == 0
            ev = opt_out(f"oo-{n}", category="TEMPORARY" if temporary else "PERMANENT", occurred_at=now,
                         expires_at=now + timedelta(days=2) if temporary else None)
            state, emits = run(state, ev, now, policy=policy)
        elif kind == "tick":
            continue
        else:  # a dialer works one of the offered leads (dialers only call what is offered)
            offered = state.leads.offered()
            if not offered:
                continue
            target = offered[pick % len(offered)]
            code: CallOutcomeCode = kind  # type: ignore[assignment]  # one of CODES here
            ev = call(code, f"oc-{n}", target.lead_id, at=now, campaign_id=target.campaign_id,
                      callback_at=now + timedelta(hours=5 * pick) if pick else None,
                      answers=QUALIFIED_ANSWERS if pick == 3 else {})
            state, emits = run(state, ev, now, policy=policy)
        _check_offers(state, emits, now, policy)


def test_the_dial_time_check_refuses_a_number_found_disconnected() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    parsed = parse_request(PHONE, {"campaign": "solar-q4"}, "US")
    assert isinstance(parsed, DialCheckRequest)
    before = dial_check(parsed, state, campaigns=default_campaigns(), pack=default_rule_pack(), now=T0,
                        lifecycle=default_lifecycle())
    assert before.to_json()["allowed"] is True
    state, _ = run(state, call("DISCONNECTED"), T0)
    after = dial_check(parsed, state, campaigns=default_campaigns(), pack=default_rule_pack(), now=T0,
                       lifecycle=default_lifecycle()).to_json()
    assert after["allowed"] is False
    assert "NUMBER_NON_WORKING" in [r["code"] for r in after["reasons"]]  # type: ignore[attr-defined]


# --- offers nobody worked: re-offered at the next window, then STALE -------------------------------------


def test_an_offer_that_expires_unworked_is_offered_again_at_the_next_window_without_an_attempt() -> None:
    state, emits = run(NumberState.empty(), lead(), T0)
    [ready] = [e.record for e in emits if e.topic == "call-ready"]
    closes = ready["callable_until"]
    assert closes == datetime(2025, 6, 3, 0, 0, tzinfo=UTC)  # 20:00 in New York (Florida)
    expires = closes + POLICY.offer_grace  # type: ignore[operator]
    # An outcome may still arrive in the grace after the window: nothing happens before it ends.
    assert release_all(state, expires - timedelta(seconds=1))[1] == []  # type: ignore[operator]
    state, emits = release_all(state, expires)  # type: ignore[arg-type]
    [decision] = [e.record for e in emits]
    assert (decision["outcome"], decision["lead_status"], decision["attempts"]) == ("DEFERRED", "IN_PROGRESS", 0)
    assert [r["code"] for r in decision["reasons"]][:2] == ["OFFER_EXPIRED", "OUTSIDE_CALL_WINDOW"]  # type: ignore[attr-defined]
    assert "no attempt counted" in decision["reasons"][0]["detail"]  # type: ignore[index]
    opens = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)  # 08:00 in New York
    assert decision["callable_from"] == opens
    state, emits = release_all(state, opens)
    assert shown(emits) == [("lead-decision", "CALL_READY"), ("call-ready", "READY")]
    record = state.leads.get("L1")
    assert record is not None and (record.attempts, record.expired_offers, record.offered) == (0, 1, True)
    # Worked this time: the count of unworked offers starts over.
    state, _ = run(state, call("NO_ANSWER", at=opens + timedelta(hours=1)), opens + timedelta(hours=1))
    assert state.leads.get("L1").expired_offers == 0  # type: ignore[union-attr]


def test_offers_that_keep_expiring_end_stale_with_a_reason() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    now = T0
    for day in range(1, POLICY.max_expired_offers + 2):
        now = T0 + timedelta(days=day)  # 11:00 the next day: the evening's expiry and the morning's re-offer are due
        state, emits = release_all(state, now)
        if day <= POLICY.max_expired_offers:
            assert ("call-ready", "READY") in shown(emits), day
    [stale] = [e.record for e in emits]
    assert (stale["outcome"], stale["lead_status"], stale["attempts"]) == ("CLOSED", "STALE", 0)
    assert stale["reasons"][0]["rule_id"] == "lifecycle.stale.unworked"  # type: ignore[index]
    assert f"offered {POLICY.max_expired_offers + 1} times" in stale["reasons"][0]["detail"]  # type: ignore[index]
    assert release_all(state, now + timedelta(days=5))[1] == []
    # A late outcome for the stale lead is recorded and moves nothing.
    _, emits = run(state, call("NO_ANSWER", at=now), now)
    assert shown(emits) == [("lead-decision", "IGNORED_CLOSED")]


def test_the_grace_and_the_limit_come_from_the_lifecycle_file() -> None:
    policy = load_lifecycle({"offer_grace_minutes": 0, "max_expired_offers": 0, "nurture_after_callbacks": 0,
                             "callback_priority_boost": 50})
    assert (policy.offer_grace, policy.max_expired_offers, policy.nurture_after_callbacks,
            policy.callback_priority_boost) == (timedelta(0), 0, 0, 50)
    with pytest.raises(ConfigError, match="max_expired_offers"):
        load_lifecycle({"max_expired_offers": -1})
    state, emits = run(NumberState.empty(), lead(), T0, policy=policy)
    closes = next(e.record for e in emits if e.topic == "call-ready")["callable_until"]
    _, emits = release_all_with(state, closes, policy)  # type: ignore[arg-type]
    assert [(e.record["outcome"], e.record["lead_status"]) for e in emits] == [("CLOSED", "STALE")]


def release_all_with(state: NumberState, now: datetime, policy: LifecyclePolicy) -> tuple[NumberState, list[Emit]]:
    emitted: list[Emit] = []
    for release in due_releases(state.leads, now):
        state, emits = run(state, release, now, topic="release-scheduler", policy=policy)
        emitted.extend(emits)
    return state, emitted


# --- callbacks: the re-offer says what was promised -----------------------------------------------------


def _offered_then(ev: CallOutcome, at: datetime) -> NumberState:
    state, _ = run(NumberState.empty(), lead(), T0)
    state, _ = run(state, ev, at)
    return state


def test_a_callback_comes_back_with_its_promise_above_new_leads_and_callable_from_the_time_asked() -> None:
    five_pm = datetime(2025, 6, 2, 21, 0, tzinfo=UTC)  # 17:00 in New York
    ev = call("CALLBACK_REQUESTED", callback_at=five_pm, agent_id="agent-3", notes="busy at work",
              callback_notes="call me at 5, ask for Ada")
    state = _offered_then(ev, T0 + timedelta(minutes=2))
    assert release_all(state, five_pm - timedelta(seconds=1))[1] == []
    tick = five_pm + timedelta(seconds=3)  # the release scheduler's tick after 17:00
    state, emits = release_all(state, tick)
    [decision, ready] = [e.record for e in emits]
    assert ready["action"] == "READY"
    assert ready["callback"] == {"requested_at": five_pm, "promised_by_agent": "agent-3",
                                 "notes": "call me at 5, ask for Ada"}
    assert ready["callable_from"] == decision["callable_from"] == five_pm  # not the window's 08:00
    # A new lead offered at the same instant ranks below the callback.
    _, new = run(NumberState.empty(), lead("ev-n", "LN", occurred_at=tick), tick)
    [new_ready] = [e.record for e in new if e.topic == "call-ready"]
    assert new_ready["callback"] is None
    assert ready["priority"] >= new_ready["priority"] + POLICY.callback_priority_boost - 100  # type: ignore[operator]
    assert ready["priority"] > new_ready["priority"]  # type: ignore[operator]
    # Worked: the promise is kept; the next re-offer is an ordinary one.
    state, _ = run(state, call("NO_ANSWER", "oc-2", at=tick + timedelta(minutes=1)), tick + timedelta(minutes=1))
    assert state.leads.get("L1").callback is None  # type: ignore[union-attr]


def test_a_callback_asked_for_outside_the_window_is_offered_at_the_opening_with_its_promise() -> None:
    half_past_nine = datetime(2025, 6, 3, 1, 30, tzinfo=UTC)  # 21:30 in New York: Florida closed at 20:00
    state = _offered_then(call("CALLBACK_REQUESTED", callback_at=half_past_nine, agent_id="agent-3"), T0)
    state, emits = release_all(state, half_past_nine)
    assert shown(emits) == [("lead-decision", "DEFERRED")]
    opens = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)
    state, emits = release_all(state, opens)
    ready = emits[1].record
    assert ready["callable_from"] == opens  # the earliest legal instant after the time asked
    assert ready["callback"]["requested_at"] == half_past_nine  # type: ignore[index]
    # Not worked that day: the re-offer after the expiry still carries the promise.
    closes = ready["callable_until"]
    state, _ = release_all(state, closes + POLICY.offer_grace)  # type: ignore[operator]
    state, emits = release_all(state, opens + timedelta(days=1))
    assert emits[1].record["callback"]["promised_by_agent"] == "agent-3"  # type: ignore[index]


# --- engagement-aware closing ------------------------------------------------------------------------------


def test_repeated_callback_requests_end_as_nurture_and_reach_the_crm_once() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    now = T0
    for n in range(1, POLICY.nurture_after_callbacks + 1):
        now += timedelta(days=1)
        state, _ = release_all(state, now)
        state, emits = run(state, call("CALLBACK_REQUESTED", f"oc-{n}", at=now, callback_at=now + timedelta(days=1),
                                       contact_name="Ada K.", title="Owner"), now)
    [decision, crm] = [e.record for e in emits]
    assert (decision["outcome"], decision["lead_status"]) == ("CLOSED", "NURTURE")
    assert decision["reasons"][0]["rule_id"] == "lifecycle.nurture.callbacks"  # type: ignore[index]
    assert (crm["lead_status"], crm["outcome"], crm["attempts"]) == ("NURTURE", "CALLBACK_REQUESTED",
                                                                     POLICY.nurture_after_callbacks)
    assert (crm["contact_name"], crm["title"]) == ("Ada K.", "Owner")
    state, emits = run(state, call("CALLBACK_REQUESTED", "oc-late", at=now), now)
    assert shown(emits) == [("lead-decision", "IGNORED_CLOSED")]


def test_with_nurture_off_repeated_callbacks_run_into_the_attempt_limit() -> None:
    policy = replace(POLICY, nurture_after_callbacks=0)
    step = judged(a_lead(callbacks=9, attempts=2), call("CALLBACK_REQUESTED"), policy=policy)
    assert (step.status, step.next, step.callbacks) == ("CALLBACK", "CALLBACK", 10)


# --- every outcome leaves a lead-decision ------------------------------------------------------------------


def test_a_seventh_busy_after_the_lead_went_inactive_leaves_an_ignored_closed_decision() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    now = T0
    emits: list[Emit] = []
    for day in range(3):
        now = T0 + timedelta(days=day)
        state, _ = release_all(state, now)
        state, emits = run(state, call("BUSY", f"oc-{day}", at=now), now)
    assert [e.record["lead_status"] for e in emits] == ["INACTIVE"]
    for n in range(3, 7):
        state, emits = run(state, call("BUSY", f"oc-{n}", at=now + timedelta(minutes=n)), now + timedelta(minutes=n))
        [decision] = [e.record for e in emits]
        assert (decision["outcome"], decision["lead_status"], decision["attempts"]) == (
            "IGNORED_CLOSED", "INACTIVE", n + 1)
        assert decision["reasons"][0]["code"] == "LEAD_CLOSED"  # type: ignore[index]
        assert "is closed (INACTIVE)" in decision["reasons"][0]["detail"]  # type: ignore[index]


# --- who was reached: schema fields, not hidden answers ------------------------------------------------------


def test_contact_fields_of_the_outcome_reach_the_qualified_lead() -> None:
    state, _ = run(NumberState.empty(), lead(), T0)
    ev = call("QUALIFIED", answers={**QUALIFIED_ANSWERS, "contact_name": "from answers"},
              contact_name="Ada King", contact_role="co-owner", title="CFO", best_time_to_call="weekday mornings")
    _, emits = run(state, ev, T0 + timedelta(minutes=3))
    q = emits[1].record
    assert (q["contact_name"], q["contact_role"], q["title"], q["best_time_to_call"], q["lead_status"]) == (
        "Ada King", "co-owner", "CFO", "weekday mornings", "QUALIFIED")


# --- property: the qualified record's counts match the lead's history ------------------------------------


HISTORY = st.lists(st.tuples(st.sampled_from((*RETRYABLE_CODES, "QUALIFIED", "SALE", "NOT_NOW", "tick")),
                             st.integers(0, 26 * 60)), min_size=1, max_size=14)


MODEL = default_scoring()[1]
"""The packaged scoring model: its contactability says how many attempts were made."""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HISTORY)
def test_attempt_counts_and_scores_agree_with_the_lead_history(history: list[tuple[str, int]]) -> None:
    state, emits = run(NumberState.empty(), lead(), T0, model=MODEL)
    now, calls = T0, 0
    seen_decisions: list[dict[str, Any]] = [dict(e.record) for e in emits if e.topic == "lead-decision"]
    crm: list[dict[str, Any]] = []
    for n, (kind, minutes) in enumerate(history):
        now += timedelta(minutes=minutes)
        state, emitted = release_all(state, now, MODEL)
        if kind != "tick":
            code: CallOutcomeCode = kind  # type: ignore[assignment]  # an outcome code here
            ev = call(code, f"oc-{n}", at=now, answers=QUALIFIED_ANSWERS if code == "QUALIFIED" else {},
                      callback_at=now + timedelta(hours=3))
            state, more = run(state, ev, now, model=MODEL)
            calls += 1
            if n % 4 == 0:  # redelivered: applied once
                state, again = run(state, ev, now, model=MODEL)
                assert again == []
            mine = [e.record for e in more if e.topic == "lead-decision" and e.record["lead_id"] == "L1"]
            assert mine and mine[0]["attempts"] == calls  # every outcome leaves a decision with the count so far
            emitted += more
        for emit in emitted:
            if emit.topic == "lead-decision" and emit.record["lead_id"] == "L1":
                seen_decisions.append(dict(emit.record))
            elif emit.topic == "qualified-lead":
                crm.append(dict(emit.record))
    record = state.leads.get("L1")
    assert record is not None and record.attempts == calls
    for decision in seen_decisions:
        score = decision["score"]
        assert score is None or round(score, 2) == score
        assert score is None or round(sum(c["points"] for c in decision["score_breakdown"]), 2) == score
    assert len(crm) <= 1
    for q in crm:
        closing = next(d for d in seen_decisions if d["input_event_id"] == q["outcome_event_id"])
        assert q["attempts"] == closing["attempts"]
        assert q["score"] == q["score_history"][-1]["score"] == closing["score"]
        [made] = [c["detail"] for c in q["score_breakdown"] if c["rule_id"] == "contactability.attempts"]
        assert made.startswith(f"attempts made so far: {q['attempts']};")


def test_a_wait_kept_with_microseconds_is_released_by_its_millisecond_release() -> None:
    """Rows written while the worker's clock had microseconds keep waits like 13:11:37.723719; the
    release crosses the number-events topic as Avro timestamp-millis (…37.723). It must still release
    the lead — once it was ignored as "no longer the lead's wait" and the callback never came back."""
    state, _ = run(NumberState.empty(), lead(), T0)
    state, _ = run(state, call("CALLBACK_REQUESTED", callback_at=None), T0 + timedelta(minutes=5))
    waiting = state.leads.get("L1")
    assert waiting is not None and waiting.deferred_until is not None
    kept = waiting.deferred_until + timedelta(microseconds=723_719)
    state = replace(state, leads=state.leads.put(replace(waiting, deferred_until=kept)))
    later = kept + timedelta(minutes=1)
    [release] = due_releases(state.leads, later)
    on_the_wire = release["due_at"].replace(microsecond=release["due_at"].microsecond // 1000 * 1000)
    # process() itself: run() checks that every emit survives Avro unchanged, and this offer's window
    # starts at the legacy microsecond instant (the wire cuts it, which is all that is lost).
    event = number_event({**release, "due_at": on_the_wire}, input_topic="release-scheduler")
    state, emits = process(state, event, context(later))
    assert shown(list(emits)) == [("lead-decision", "CALL_READY"), ("call-ready", "READY")]
    assert process(state, event, context(later))[1] == ()  # once
