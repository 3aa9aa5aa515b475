"""The simulated dialer's answers and the shipped qualification framework speak the same language:
a call that went well qualifies, a poor fit is told apart from not ready yet."""

from __future__ import annotations

import pytest

from connectors.outcome_model import QUALIFICATION_ANSWERS
from pipeline.core.qualification import evaluate
from pipeline.packaged import default_framework

GOOD = {"contact_name": "Ana Silva", "role": "homeowner", "fit": "good", "interest": "high", "timeline": "now",
        "next_step": "send_proposal", "budget": "15000"}


@pytest.mark.parametrize("role", [r for r in QUALIFICATION_ANSWERS["role"] if r != "property_manager"])
def test_a_good_call_qualifies_whoever_of_the_household_answers(role: str) -> None:
    assert evaluate(default_framework(), "QUALIFIED", {**GOOD, "role": role}).verdict == "QUALIFIED"


def test_a_property_manager_is_no_fit_for_a_homeowner_offer() -> None:
    assert evaluate(default_framework(), "QUALIFIED", {**GOOD, "role": "property_manager"}).verdict == "NO_FIT"


def test_a_fit_lead_six_months_out_is_not_ready_rather_than_no_fit() -> None:
    assert evaluate(default_framework(), "QUALIFIED", {**GOOD, "timeline": "6_months"}).verdict == "NOT_READY"


@pytest.mark.parametrize("key", ["fit", "role", "interest", "timeline", "next_step", "budget"])
def test_every_answer_key_the_dialer_gathers_is_one_the_framework_reads(key: str) -> None:
    read = {name for criterion in default_framework().criteria for name in criterion.answer_keys}
    assert key in read
