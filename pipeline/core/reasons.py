"""The reason vocabulary: every reason code the core can give, once, with what it means.

A reason is (code, rule id, detail). The code names the *fact* — an opt-out, a do-not-call said on
a call, a closed window — and each fact has one code and one rule id wherever it appears: a
lead-decision, a call-ready withdrawal, a dial-check answer, the console's report and dashboard.
Every reason the core builds goes through :func:`reason`, whose ``code`` is a :data:`ReasonCode`
(mypy holds the core to it, ``tests/test_reason_vocabulary.py`` holds the report and the dashboard
to it). Details are free text that match the case: the channel (calls or texts), the consents on
record, the suppression and who added it.

The report (``pipeline.reporting``) ships :func:`vocabulary_json` with every report so the
dashboard shows a label for each code; call outcomes that close a lead are counted under the code
their closing decision gives (:data:`OUTCOME_REASONS`), so a "do not call" said on a call reads
``DNC_CALL_OUTCOME`` in the decision, the dial-check, the report and the dashboard alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

from pipeline.events import CallOutcomeCode, Reason

ReasonCode = Literal[
    # callable, and blocks lifted or counsel overrides relied on (listed after the deciding reason)
    "CALLABLE", "EBR_EXEMPTION", "PEWC_EXEMPTION", "REVOCATION_SCOPE_NARROWED",
    # do-not-call
    "DNC_OPT_OUT", "DNC_CALL_OUTCOME", "DNC_CONSENT_REVOCATION", "DNC_IMPORT", "DNC_REGISTRY", "REGISTRY_STALE",
    "DNC_ERASED",
    # consent
    "CONSENT_REVOKED", "CONSENT_MISSING", "CONSENT_EXPIRED",
    # where and when
    "OUTSIDE_CALL_WINDOW", "NO_LEGAL_WINDOW", "FREQUENCY_CAP", "WIRELESS_RESTRICTED", "NUMBER_NON_WORKING",
    "NOT_NOW_SNOOZE",
    # the dial-time check: a past instant, one lead
    "STATE_HISTORY_INCOMPLETE", "LEAD_UNKNOWN", "LEAD_SUPPRESSED", "LEAD_WAITING", "LEAD_ATTEMPTS_USED",
    # intake and duplicates
    "PHONE_EMPTY", "PHONE_UNPARSEABLE", "PHONE_INVALID", "PHONE_NOT_DIALABLE", "FIELD_TOO_LONG", "DUPLICATE_LEAD",
    # the lead lifecycle
    "RETRY_SCHEDULED", "CALLBACK_SCHEDULED", "NOT_NOW", "NOT_READY", "QUALIFIED", "NO_FIT", "NOT_INTERESTED",
    "WRONG_NUMBER", "FAILED_DAYS", "MAX_ATTEMPTS", "NURTURE", "OFFER_EXPIRED", "OFFER_STALE", "LEAD_CLOSED",
]
"""Every reason code the core gives."""

REASON_CODES: tuple[ReasonCode, ...] = get_args(ReasonCode)


@dataclass(frozen=True, slots=True)
class Meaning:
    label: str
    """A few words for a dashboard."""
    meaning: str
    """One sentence: what the fact is and where its rule id comes from."""


_VOCABULARY: dict[ReasonCode, Meaning] = {
    "CALLABLE": Meaning("callable", "may be called (or texted) now, inside the legal window (decision.callable)"),
    "EBR_EXEMPTION": Meaning("EBR exemption", "an established business relationship in force lifted a national "
                             "registry listing (rule: the pack's ebr rule that limits it)"),
    "PEWC_EXEMPTION": Meaning("written consent exemption", "prior express written consent naming the seller "
                              "lifted a national registry listing (us.pewc)"),
    "REVOCATION_SCOPE_NARROWED": Meaning("narrow revocation (counsel)", "a channel-specific revocation was read as "
                                         "covering only its channel, by counsel's override of us.revocation"),
    "DNC_OPT_OUT": Meaning("opted out", "a company-specific do-not-call request received as an opt-out (dnc.company)"),
    "DNC_CALL_OUTCOME": Meaning("asked not to be called", "a do-not-call request said on a call (dnc.company); "
                                "the lead is closed and the number suppressed"),
    "DNC_CONSENT_REVOCATION": Meaning("revocation on the DNC list", "a suppression recorded from a consent "
                                      "revocation (dnc.revocation)"),
    "DNC_IMPORT": Meaning("imported DNC list", "a suppression imported from a do-not-call list (dnc.import)"),
    "DNC_REGISTRY": Meaning("national DNC registry", "the number is on a national do-not-call registry "
                            "(dnc.registry)"),
    "REGISTRY_STALE": Meaning("registry copy too old", "a required national registry copy is missing or older "
                              "than its rule allows: blocked until refreshed (its freshness rule)"),
    "DNC_ERASED": Meaning("erased (objection kept)", "the number's personal data was erased on request; the "
                          "objection stands (privacy.erasure)"),
    "CONSENT_REVOKED": Meaning("consent revoked", "consent for the purpose was revoked; it covers calls and texts "
                               "unless counsel allows narrower revocations (consent.revocation)"),
    "CONSENT_MISSING": Meaning("no consent", "the campaign requires consent and none on record covers its purpose "
                               "and channel (consent.required)"),
    "CONSENT_EXPIRED": Meaning("consent expired", "the consent on record expired, or expires before the number "
                               "could be called (consent.required)"),
    "OUTSIDE_CALL_WINDOW": Meaning("outside legal hours", "the legal window is closed now and opens later (the "
                                   "hours, no-call-day or holiday rule that closes it)"),
    "NO_LEGAL_WINDOW": Meaning("no legal hours", "no legal window opens within the horizon: the rules of every "
                               "place the callee may be never overlap (the rule that closes it)"),
    "FREQUENCY_CAP": Meaning("call cap reached", "a state's cap on calls per period is reached (its cap rule)"),
    "WIRELESS_RESTRICTED": Meaning("wireless restriction", "a state restricts solicitation calls to mobiles and "
                                   "the number is, or may be, one (its wireless rule)"),
    "NUMBER_NON_WORKING": Meaning("number not working", "a call found the number disconnected; not called until "
                                  "its recheck (lifecycle.non_working)"),
    "NOT_NOW_SNOOZE": Meaning("snoozed (not now)", "someone said not now on a call: calls about the campaign "
                              "wait until the date, a hold, not a do-not-call (lifecycle.snooze.not_now)"),
    "STATE_HISTORY_INCOMPLETE": Meaning("history not kept", "a dial-check about a past instant the number's kept "
                                        "history does not reach (dial-check.history)"),
    "LEAD_UNKNOWN": Meaning("lead unknown", "the lead was never captured for this number (dial-check.lead, "
                            "lifecycle.unknown_lead)"),
    "LEAD_SUPPRESSED": Meaning("lead suppressed", "the lead's last decision found it not callable (dial-check.lead)"),
    "LEAD_WAITING": Meaning("lead waiting", "the lead waits for a retry, its callback, its window or a snooze "
                            "(dial-check.lead)"),
    "LEAD_ATTEMPTS_USED": Meaning("attempts used up", "the lead has no attempts left (dial-check.lead)"),
    "PHONE_EMPTY": Meaning("no phone", "no phone number was given (phone.valid)"),
    "PHONE_UNPARSEABLE": Meaning("unreadable phone", "not a phone number (phone.valid)"),
    "PHONE_INVALID": Meaning("invalid phone", "no such number in its country's numbering plan (phone.valid)"),
    "PHONE_NOT_DIALABLE": Meaning("undialable phone", "premium-rate, pager, voicemail or global number "
                                  "(phone.valid)"),
    "FIELD_TOO_LONG": Meaning("field too long", "a field over its size limit (pipeline/core/limits.py); the detail "
                              "names it (input.limits)"),
    "DUPLICATE_LEAD": Meaning("duplicate", "the same lead, or the same person for the campaign recently "
                              "(lead.dedupe)"),
    "RETRY_SCHEDULED": Meaning("retry scheduled", "no contact: called again after a delay (lifecycle.retry.*)"),
    "CALLBACK_SCHEDULED": Meaning("callback requested", "called back when asked (lifecycle.callback.requested)"),
    "NOT_NOW": Meaning("not now", "the person said not now: the lead is called back at the date given "
                       "(lifecycle.callback.not_now); its campaign is snoozed meanwhile"),
    "NOT_READY": Meaning("interested, not ready", "a callback for later (lifecycle.callback.not_ready)"),
    "QUALIFIED": Meaning("qualified", "qualified on the call (lifecycle.qualified)"),
    "NO_FIT": Meaning("no fit", "disqualified on the call (lifecycle.disqualified.no_fit)"),
    "NOT_INTERESTED": Meaning("not interested", "refused on the call (lifecycle.refused.not_interested)"),
    "WRONG_NUMBER": Meaning("wrong number", "the number is not the lead's (lifecycle.inactive.wrong_number)"),
    "FAILED_DAYS": Meaning("unreachable", "failed attempts on too many different days "
                           "(lifecycle.inactive.failed_days)"),
    "MAX_ATTEMPTS": Meaning("attempts used up", "no attempts left (lifecycle.inactive.max_attempts)"),
    "NURTURE": Meaning("nurture", "engaged but never ready: closed for the CRM's nurture track "
                       "(lifecycle.nurture.*)"),
    "OFFER_EXPIRED": Meaning("offer unworked", "the offer's window closed with no call: re-offered, no attempt "
                             "counted (lifecycle.offer.expired)"),
    "OFFER_STALE": Meaning("stale", "offered again and again and never worked: closed (lifecycle.stale.unworked)"),
    "LEAD_CLOSED": Meaning("already closed", "an outcome for a closed lead is counted only (lifecycle.closed)"),
}
VOCABULARY: Mapping[ReasonCode, Meaning] = MappingProxyType(_VOCABULARY)

OUTCOME_REASONS: Mapping[CallOutcomeCode, ReasonCode] = MappingProxyType({
    "DO_NOT_CALL": "DNC_CALL_OUTCOME",
    "NOT_INTERESTED": "NOT_INTERESTED",
    "WRONG_NUMBER": "WRONG_NUMBER",
    "DISCONNECTED": "NUMBER_NON_WORKING",
})
"""The reason code a call outcome that closes a lead is given (``pipeline.core.lifecycle``)."""


def reason(code: ReasonCode, rule_id: str, detail: str) -> Reason:
    """A reason with a code from the vocabulary."""
    return {"code": code, "rule_id": rule_id, "detail": detail}


def reason_code(code: str) -> ReasonCode:
    """``code`` as a vocabulary code (a code computed elsewhere, e.g. a PhoneError's); raises
    ValueError for a code the vocabulary lacks: a bug, caught by the tests."""
    for known in REASON_CODES:
        if known == code:
            return known
    raise ValueError(f"reason code {code!r} is not in the vocabulary (pipeline.core.reasons)")


def vocabulary_json() -> dict[str, dict[str, str]]:
    """Every code with its label and meaning, for reports and dashboards."""
    return {code: {"label": m.label, "meaning": m.meaning} for code, m in _VOCABULARY.items()}
