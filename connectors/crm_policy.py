"""What to do after one delivery attempt to a CRM: the retry policy as pure functions.

    2xx                                  delivered
    408, 429, 5xx, no answer at all      retry after a full-jitter exponential backoff (at least the
                                         CRM's Retry-After, at most the cap), until
                                         ``max_attempts`` attempts were made, then dead-letter
    any other status (4xx, 3xx, 1xx)     permanent: dead-letter at once, with the CRM's answer

A CRM's answer often echoes what it was sent (a name, an email): a verdict's ``reason`` — what
logs, ``/healthz`` and metrics may show — names the status and the answer's length and SHA-256
only; the answer itself travels in ``answer``, for the dead-letter record, which already holds the
lead's bytes.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th wait is drawn
uniformly from ``[0, min(cap, base * 2**(n-1))]``, so many connectors retrying against one
recovering CRM do not arrive in waves. The random draw is passed in: these functions hold no state
and read no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.redaction import fingerprint

RETRIABLE_4XX = frozenset({408, 429})
_MAX_ANSWER_KEPT = 300


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one lead before it goes to the dead-letter topic."""

    max_attempts: int = 5
    """Attempts in all (the first one included); at least 1."""
    base_s: float = 0.5
    cap_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError("base_s and cap_s must not be negative")

    def worst_case_s(self, timeout_s: float) -> float:
        """The longest one lead can take: every attempt timing out and every wait at its ceiling."""
        waits = sum(backoff_ceiling(self, n) for n in range(1, self.max_attempts))
        return self.max_attempts * timeout_s + waits


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one HTTP attempt produced: a status (and the start of the body), or no answer."""

    status: int | None
    body: str = ""
    error: str | None = None
    """Why there was no answer (refused, reset, timed out); None when a status came back."""
    retry_after_s: float | None = None
    """The CRM's ``Retry-After`` in seconds, when it sent one (429 and 503 often do)."""

    def describe(self) -> str:
        """What happened, without the answer's content: fit for a log line."""
        if self.status is None:
            return f"no answer: {self.error or 'unknown error'}"
        body = self.body.strip()
        return f"HTTP {self.status} (answer: {fingerprint(body)})" if body else f"HTTP {self.status}"

    def answer(self) -> str:
        """The start of the CRM's answer, which may quote personal data: for the dead-letter record only."""
        body = self.body.strip()
        return body[:_MAX_ANSWER_KEPT] + "..." if len(body) > _MAX_ANSWER_KEPT else body


@dataclass(frozen=True, slots=True)
class Delivered:
    attempts: int


@dataclass(frozen=True, slots=True)
class RetryAfter:
    delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Dead-letter the lead: ``permanent`` when the CRM refused it, else attempts ran out."""

    reason: str
    """Without the CRM's answer: fit for logs."""
    permanent: bool
    attempts: int
    answer: str = ""
    """The start of the CRM's last answer (may quote personal data): for the dead-letter record only."""


Verdict = Delivered | RetryAfter | GiveUp


def is_retriable(attempt: Attempt) -> bool:
    """True when trying again may succeed: no answer, 408, 429 or a 5xx."""
    status = attempt.status
    return status is None or status in RETRIABLE_4XX or 500 <= status <= 599


def backoff_ceiling(policy: RetryPolicy, retry: int) -> float:
    """The longest wait before retry number ``retry`` (1 = the wait after the first attempt)."""
    if retry < 1:
        raise ValueError(f"retry counts from 1, got {retry}")
    # 2**60 already exceeds any cap; bounding the exponent keeps the float finite.
    return min(policy.cap_s, policy.base_s * 2.0 ** min(retry - 1, 60))


def backoff_delay(policy: RetryPolicy, retry: int, draw: float) -> float:
    """Full jitter: ``draw`` (uniform in [0, 1)) scaled to ``[0, backoff_ceiling)``."""
    if not 0.0 <= draw < 1.0:
        raise ValueError(f"draw must be in [0, 1), got {draw}")
    return draw * backoff_ceiling(policy, retry)


def after_attempt(policy: RetryPolicy, attempt_number: int, attempt: Attempt, draw: float) -> Verdict:
    """The verdict after attempt number ``attempt_number`` (from 1) of one lead ended in ``attempt``."""
    if attempt.status is not None and 200 <= attempt.status <= 299:
        return Delivered(attempt_number)
    reason = attempt.describe()
    if not is_retriable(attempt):
        return GiveUp(f"refused by the CRM: {reason}", permanent=True, attempts=attempt_number,
                      answer=attempt.answer())
    if attempt_number >= policy.max_attempts:
        return GiveUp(f"{attempt_number} attempts failed, last: {reason}", permanent=False, attempts=attempt_number,
                      answer=attempt.answer())
    delay = backoff_delay(policy, attempt_number, draw)
    if attempt.retry_after_s is not None:
        # The CRM said when to come back: not sooner, but never beyond our own cap.
        delay = min(policy.cap_s, max(delay, attempt.retry_after_s))
    return RetryAfter(delay, reason)
