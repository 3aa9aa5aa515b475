"""Do-not-call state of one number: opt-outs, removals, outcome suppressions and what blocks what."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import get_args

import pytest
from core_builders import INSTANTS, T0, opt_out, outcome
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.suppressions import (
    MAX_ACTIVE,
    STATE_TEXT_MAX,
    Removal,
    Suppression,
    SuppressionSource,
    SuppressionState,
    add,
    apply_opt_out,
    blocking,
    suppression_from_outcome,
    without_expired,
)
from pipeline.events import CallOutcomeCode, ConsentChannel, SuppressionCategory, SuppressionScope
from pipeline.state_codec import decode, encode


def suppression(
    suppression_id: str = "s1",
    *,
    scope: SuppressionScope = "ALL_CHANNELS",
    category: SuppressionCategory = "PERMANENT",
    campaign_id: str | None = None,
    source: SuppressionSource = "OPT_OUT",
    created_at: datetime = T0,
    expires_at: datetime | None = None,
) -> Suppression:
    return Suppression(
        suppression_id=suppression_id,
        scope=scope,
        category=category,
        campaign_id=campaign_id,
        source=source,
        added_by="test",
        evidence=None,
        reason=None,
        created_at=created_at,
        expires_at=expires_at,
    )


def test_an_add_opt_out_becomes_a_suppression_keyed_by_its_event() -> None:
    state = apply_opt_out(SuppressionState(), opt_out("ev-1", scope="VOICE", category="CHANNEL_LIMITED"))

    (only,) = state.active
    assert only.suppression_id == "ev-1"
    assert (only.scope, only.category, only.source) == ("VOICE", "CHANNEL_LIMITED", "OPT_OUT")
    assert (only.added_by, only.evidence, only.reason) == ("sms-stop-handler", "sms-msg-42", "replied STOP")
    assert only.created_at == T0


def test_an_opt_out_is_kept_whatever_its_free_text_but_the_text_is_bounded() -> None:
    long = {**opt_out("ev-long"), "evidence": "é" * 30_000, "reason": "x" * (STATE_TEXT_MAX + 1)}
    (only,) = apply_opt_out(SuppressionState(), long).active  # type: ignore[arg-type]
    assert only.suppression_id == "ev-long"  # applied: the number is blocked
    assert only.evidence is not None and only.reason is not None
    assert len(only.evidence) == len(only.reason) == STATE_TEXT_MAX
    assert only.evidence.endswith("…") and only.evidence.startswith("é" * 100)
    short = apply_opt_out(SuppressionState(), {**opt_out("ev-short"), "reason": "x" * STATE_TEXT_MAX}).active[0]
    assert short.reason == "x" * STATE_TEXT_MAX  # at the bound: kept whole


def test_applying_the_same_add_twice_changes_nothing() -> None:
    once = apply_opt_out(SuppressionState(), opt_out("ev-1"))
    assert apply_opt_out(once, opt_out("ev-1")) is once


def test_a_remove_lifts_matching_suppressions_and_records_who_asked() -> None:
    state = apply_opt_out(SuppressionState(), opt_out("add-1"))
    state = apply_opt_out(state, opt_out("add-2", scope="SMS"))
    removed = apply_opt_out(state, opt_out("rm-1", action="REMOVE", occurred_at=T0 + timedelta(days=1)))

    assert [s.suppression_id for s in removed.active] == ["add-2"]
    assert removed.removals == (Removal("rm-1", ("add-1",), T0 + timedelta(days=1), "sms-stop-handler"),)


def test_replaying_a_remove_or_the_add_it_lifted_changes_nothing() -> None:
    state = apply_opt_out(SuppressionState(), opt_out("add-1"))
    removed = apply_opt_out(state, opt_out("rm-1", action="REMOVE", occurred_at=T0 + timedelta(days=1)))

    assert apply_opt_out(removed, opt_out("rm-1", action="REMOVE")) is removed
    assert apply_opt_out(removed, opt_out("add-1")) is removed


def test_a_remove_that_happened_before_an_add_does_not_lift_it() -> None:
    state = apply_opt_out(SuppressionState(), opt_out("add-late", occurred_at=T0 + timedelta(hours=1)))
    state = apply_opt_out(state, opt_out("rm-early", action="REMOVE", occurred_at=T0))

    assert [s.suppression_id for s in state.active] == ["add-late"]


@pytest.mark.parametrize(
    ("existing", "remove_scope", "remove_campaign", "lifted"),
    [
        (suppression(scope="VOICE"), "VOICE", None, True),
        (suppression(scope="VOICE"), "ALL_CHANNELS", None, False),
        (suppression(scope="CAMPAIGN", campaign_id="solar-q4"), "CAMPAIGN", "solar-q4", True),
        (suppression(scope="CAMPAIGN", campaign_id="solar-q4"), "CAMPAIGN", "insurance-renewals", False),
        (suppression(source="REGISTRY"), "ALL_CHANNELS", None, False),
        (suppression(source="CALL_OUTCOME"), "ALL_CHANNELS", None, True),
    ],
)
def test_which_suppressions_a_remove_lifts(
    existing: Suppression, remove_scope: SuppressionScope, remove_campaign: str | None, lifted: bool
) -> None:
    state = add(SuppressionState(), existing)
    after = apply_opt_out(
        state,
        opt_out(
            "rm",
            action="REMOVE",
            scope=remove_scope,
            campaign_id=remove_campaign,
            occurred_at=T0 + timedelta(days=1),
        ),
    )
    assert (after.active == ()) is lifted


def test_only_temporary_opt_outs_expire() -> None:
    later = T0 + timedelta(days=7)
    temporary = apply_opt_out(SuppressionState(), opt_out("t", category="TEMPORARY", expires_at=later))
    permanent = apply_opt_out(SuppressionState(), opt_out("p", category="PERMANENT", expires_at=later))

    assert temporary.active[0].expires_at == later
    assert permanent.active[0].expires_at is None


_OUTCOMES_WITHOUT_SUPPRESSION = [c for c in get_args(CallOutcomeCode) if c != "DO_NOT_CALL"]


@pytest.mark.parametrize("code", _OUTCOMES_WITHOUT_SUPPRESSION)
def test_outcomes_other_than_do_not_call_suppress_nothing(code: CallOutcomeCode) -> None:
    assert suppression_from_outcome(outcome(code=code)) is None


@pytest.mark.parametrize(
    ("dnc_scope", "scope", "category"),
    [
        (None, "ALL_CHANNELS", "PERMANENT"),
        ("ALL_CHANNELS", "ALL_CHANNELS", "PERMANENT"),
        ("CAMPAIGN", "CAMPAIGN", "PERMANENT"),
        ("VOICE", "VOICE", "CHANNEL_LIMITED"),
        ("SMS", "SMS", "CHANNEL_LIMITED"),
    ],
)
def test_do_not_call_on_a_call_never_expires(
    dnc_scope: SuppressionScope | None, scope: SuppressionScope, category: SuppressionCategory
) -> None:
    found = suppression_from_outcome(outcome("oc-1", code="DO_NOT_CALL", dnc_scope=dnc_scope))

    assert found is not None
    assert (found.suppression_id, found.source, found.added_by) == ("oc-1", "CALL_OUTCOME", "agent-7")
    assert (found.scope, found.category, found.expires_at) == (scope, category, None)
    assert found.campaign_id == "solar-q4"


def test_not_now_is_not_a_do_not_call_request() -> None:
    # A snooze of the lead's campaign (pipeline.core.snooze), never a suppression of the number.
    assert suppression_from_outcome(outcome(code="NOT_NOW", callback_at=T0 + timedelta(days=30))) is None


@pytest.mark.parametrize(
    ("scope", "campaign_id", "channel", "blocks"),
    [
        ("ALL_CHANNELS", None, "VOICE", True),
        ("ALL_CHANNELS", None, "SMS", True),
        ("ALL_CHANNELS", None, "AUTODIALED_VOICE", True),
        ("VOICE", None, "VOICE", True),
        ("VOICE", None, "AUTODIALED_VOICE", True),
        ("VOICE", None, "SMS", False),
        ("VOICE", None, "ANY", True),
        ("SMS", None, "SMS", True),
        ("SMS", None, "VOICE", False),
        ("SMS", None, "AUTODIALED_VOICE", False),
        ("CAMPAIGN", "solar-q4", "VOICE", True),
        ("CAMPAIGN", "solar-q4", "SMS", True),
        ("CAMPAIGN", "insurance-renewals", "VOICE", False),
        ("CAMPAIGN", None, "VOICE", True),
    ],
)
def test_what_each_scope_blocks(
    scope: SuppressionScope, campaign_id: str | None, channel: ConsentChannel, blocks: bool
) -> None:
    state = add(SuppressionState(), suppression(scope=scope, campaign_id=campaign_id))
    found = blocking(state, channel=channel, campaign_id="solar-q4", now=T0)
    assert bool(found) is blocks


def test_an_expired_temporary_suppression_does_not_block() -> None:
    until = T0 + timedelta(days=1)
    state = add(SuppressionState(), suppression(category="TEMPORARY", expires_at=until))

    assert blocking(state, channel="VOICE", campaign_id="solar-q4", now=until - timedelta(seconds=1))
    assert not blocking(state, channel="VOICE", campaign_id="solar-q4", now=until)


def test_blocking_names_permanent_suppressions_first() -> None:
    state = add(
        SuppressionState(), suppression("temp", category="TEMPORARY", expires_at=T0 + timedelta(days=9))
    )
    state = add(state, suppression("perm", created_at=T0 + timedelta(hours=1)))

    found = blocking(state, channel="VOICE", campaign_id="solar-q4", now=T0 + timedelta(hours=2))
    assert [s.suppression_id for s in found] == ["perm", "temp"]


def test_without_expired_drops_only_what_has_ended() -> None:
    state = add(
        SuppressionState(), suppression("temp", category="TEMPORARY", expires_at=T0 + timedelta(days=1))
    )
    state = add(state, suppression("perm"))

    assert without_expired(state, T0) is state
    assert [s.suppression_id for s in without_expired(state, T0 + timedelta(days=2)).active] == ["perm"]


def test_redundant_suppressions_are_dropped_past_the_bound_but_distinct_ones_are_kept() -> None:
    state = SuppressionState()
    for n in range(MAX_ACTIVE * 2):
        state = add(state, suppression(f"same-{n}", created_at=T0 + timedelta(minutes=n)))
    assert len(state.active) == MAX_ACTIVE
    assert state.active[-1].suppression_id == f"same-{MAX_ACTIVE * 2 - 1}"

    for n in range(MAX_ACTIVE + 1):
        state = add(state, suppression(f"campaign-{n}", scope="CAMPAIGN", campaign_id=f"c{n}"))
    assert {f"campaign-{n}" for n in range(MAX_ACTIVE + 1)} <= {s.suppression_id for s in state.active}
    assert blocking(state, channel="SMS", campaign_id="zzz", now=T0)


optional_text = st.none() | st.text(max_size=20)
suppressions = st.builds(
    Suppression,
    suppression_id=st.text(min_size=1, max_size=20),
    scope=st.sampled_from(get_args(SuppressionScope)),
    category=st.sampled_from(get_args(SuppressionCategory)),
    campaign_id=optional_text,
    source=st.sampled_from(get_args(SuppressionSource)),
    added_by=st.text(max_size=20),
    evidence=optional_text,
    reason=optional_text,
    created_at=INSTANTS,
    expires_at=st.none() | INSTANTS,
)
removals = st.builds(
    Removal,
    event_id=st.text(max_size=20),
    removed_ids=st.lists(st.text(max_size=10), max_size=3).map(tuple),
    removed_at=INSTANTS,
    removed_by=st.text(max_size=10),
)
states = st.builds(
    SuppressionState,
    active=st.lists(suppressions, max_size=5).map(tuple),
    removals=st.lists(removals, max_size=3).map(tuple),
)


@given(states)
def test_state_round_trips_through_its_table_row(state: SuppressionState) -> None:
    assert decode(SuppressionState, encode(state)) == state
