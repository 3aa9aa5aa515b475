"""What a call outcome code means for contact and data quality: one vocabulary for the lead state
machine, reporting and the dashboard.

Every ``CallOutcomeCode`` falls in exactly one kind:

==============  ==========================================================================
kind            codes
==============  ==========================================================================
``CONTACT``     the person was reached: INTERESTED, NOT_INTERESTED, CALLBACK_REQUESTED,
                DO_NOT_CALL, NOT_NOW, QUALIFIED, APPOINTMENT_SET, SALE
``NO_CONTACT``  a failed attempt, worth retrying: NO_ANSWER, BUSY, VOICEMAIL, GATEKEEPER
                (someone answered, but not the person: distinct from a wrong contact)
``WRONG_PARTY`` the number works but is not the lead's: WRONG_NUMBER
``NON_WORKING`` the number is disconnected or invalid: DISCONNECTED
==============  ==========================================================================

The operating practice's database health figures follow from these kinds: the contact rate is the
share of dialed numbers with a CONTACT, non-working numbers are those with a NON_WORKING outcome.
"""

from __future__ import annotations

from typing import Literal, get_args

from pipeline.events import CallOutcomeCode

ContactKind = Literal["CONTACT", "NO_CONTACT", "WRONG_PARTY", "NON_WORKING"]

CONTACT: frozenset[CallOutcomeCode] = frozenset({
    "INTERESTED", "NOT_INTERESTED", "CALLBACK_REQUESTED", "DO_NOT_CALL", "NOT_NOW", "QUALIFIED",
    "APPOINTMENT_SET", "SALE",
})
NO_CONTACT: frozenset[CallOutcomeCode] = frozenset({"NO_ANSWER", "BUSY", "VOICEMAIL", "GATEKEEPER"})
WRONG_PARTY: frozenset[CallOutcomeCode] = frozenset({"WRONG_NUMBER"})
NON_WORKING: frozenset[CallOutcomeCode] = frozenset({"DISCONNECTED"})
QUALIFYING: frozenset[CallOutcomeCode] = frozenset({"QUALIFIED", "APPOINTMENT_SET", "SALE"})
"""Outcomes that claim the lead is qualified (the qualification framework still has its say)."""

_KINDS: tuple[tuple[ContactKind, frozenset[CallOutcomeCode]], ...] = (
    ("CONTACT", CONTACT), ("NO_CONTACT", NO_CONTACT), ("WRONG_PARTY", WRONG_PARTY), ("NON_WORKING", NON_WORKING),
)


def contact_kind(code: CallOutcomeCode) -> ContactKind:
    """The kind of ``code`` (see the module table)."""
    for kind, codes in _KINDS:
        if code in codes:
            return kind
    raise ValueError(f"unknown call outcome code {code!r}")


def _check_partition() -> None:
    # Import-time guard: a code added to the schema must be given a kind here.
    every = set(get_args(CallOutcomeCode))
    covered = [code for _, codes in _KINDS for code in codes]
    if sorted(covered) != sorted(every):
        raise RuntimeError(f"pipeline.core.outcomes: kinds do not partition the outcome codes: {sorted(covered)}")


_check_partition()
