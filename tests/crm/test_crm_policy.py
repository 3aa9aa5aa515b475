"""The retry policy: which answers are retried, how long to wait, when to give up."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.crm_policy import (
    Attempt,
    Delivered,
    GiveUp,
    RetryAfter,
    RetryPolicy,
    after_attempt,
    backoff_ceiling,
    backoff_delay,
    is_retriable,
)

POLICY = RetryPolicy(max_attempts=4, base_s=0.5, cap_s=3.0)


@pytest.mark.parametrize(("status", "retriable"), [
    (None, True), (408, True), (429, True), (500, True), (502, True), (503, True), (599, True),
    (400, False), (401, False), (403, False), (404, False), (409, False), (422, False), (301, False),
])
def test_which_answers_are_worth_retrying(status: int | None, retriable: bool) -> None:
    assert is_retriable(Attempt(status, error=None if status else "ConnectionRefusedError")) is retriable


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_delivered(status: int) -> None:
    assert after_attempt(POLICY, 3, Attempt(status), 0.5) == Delivered(3)


def test_a_refusal_is_dead_lettered_at_once_with_the_crms_answer_kept_out_of_the_reason() -> None:
    answer = '{"error": "Email ana@example.com is invalid"}'
    verdict = after_attempt(POLICY, 1, Attempt(400, answer), 0.5)
    digest = hashlib.sha256(answer.encode()).hexdigest()[:12]
    assert verdict == GiveUp(f"refused by the CRM: HTTP 400 (answer: {len(answer)} bytes, sha256 {digest})",
                             permanent=True, attempts=1, answer=answer)
    assert "ana@" not in verdict.reason  # the reason is what logs and /healthz show


def test_retriable_failures_are_retried_until_the_attempts_run_out() -> None:
    answers = [Attempt(503), Attempt(None, error="ConnectionResetError: reset"), Attempt(429), Attempt(500, "boom")]
    verdicts = [after_attempt(POLICY, n, a, 0.999) for n, a in enumerate(answers, start=1)]
    assert [type(v) for v in verdicts] == [RetryAfter, RetryAfter, RetryAfter, GiveUp]
    last = verdicts[-1]
    assert isinstance(last, GiveUp)
    assert not last.permanent
    assert last.reason.startswith("4 attempts failed, last: HTTP 500 (answer: 4 bytes, sha256 ")
    assert last.answer == "boom"
    assert verdicts[1] == RetryAfter(pytest.approx(0.999 * 1.0), "no answer: ConnectionResetError: reset")


def test_one_attempt_only_means_no_retry() -> None:
    verdict = after_attempt(RetryPolicy(max_attempts=1), 1, Attempt(503), 0.1)
    assert isinstance(verdict, GiveUp) and verdict.attempts == 1


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_ceiling(POLICY, n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert backoff_ceiling(POLICY, 10_000) == 3.0  # no overflow


def test_retry_after_is_honoured_within_the_cap() -> None:
    assert after_attempt(POLICY, 1, Attempt(429, retry_after_s=2.0), 0.0) == RetryAfter(2.0, "HTTP 429")
    assert after_attempt(POLICY, 1, Attempt(503, retry_after_s=120.0), 0.0) == RetryAfter(3.0, "HTTP 503")


@given(retry=st.integers(min_value=1, max_value=200), draw=st.floats(min_value=0.0, max_value=0.999999))
def test_full_jitter_stays_within_zero_and_the_ceiling(retry: int, draw: float) -> None:
    delay = backoff_delay(POLICY, retry, draw)
    assert 0.0 <= delay <= backoff_ceiling(POLICY, retry) <= POLICY.cap_s


def test_worst_case_bounds_the_time_one_lead_can_take() -> None:
    # 4 attempts of 10 s plus waits 0.5 + 1 + 2
    assert POLICY.worst_case_s(10.0) == 43.5


def test_bad_policies_and_draws_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="draw"):
        backoff_delay(POLICY, 1, 1.0)
    with pytest.raises(ValueError, match="retry counts from 1"):
        backoff_ceiling(POLICY, 0)
