"""call-outcome: the attempt counted, the lead moved through the lifecycle (retry, callback, closed),
the number marked non-working or snoozed, and the qualified-lead sent once."""

from __future__ import annotations

from pipeline import topics
from pipeline.core import qualification as qual
from pipeline.core.consents import ConsentLedger, consent_status
from pipeline.core.decision import Decision
from pipeline.core.frozen import replace
from pipeline.core.leads import LeadRecord, stub
from pipeline.core.lifecycle import CLOSED_STATUSES, Transition, transition
from pipeline.core.number.context import ProcessContext
from pipeline.core.number.emits import Emit, lead_decision, record_id
from pipeline.core.number.offer import decision_score
from pipeline.core.number.withdraw import withdraw_blocked
from pipeline.core.number_state import NumberState
from pipeline.core.outcomes import contact_kind
from pipeline.core.reasons import reason
from pipeline.core.snooze import snooze_from_outcome
from pipeline.core.suppressions import add, suppression_from_outcome, without_expired
from pipeline.events import (
    CallbackPromise,
    CallOutcome,
    CallOutcomeCode,
    DecisionOutcome,
    NumberEvent,
    QualificationCheck,
    QualifiedLead,
)


def on_outcome(
    state: NumberState, event: NumberEvent, outcome: CallOutcome, ctx: ProcessContext
) -> tuple[NumberState, tuple[Emit, ...]]:
    """Count the attempt and move the lead through the lifecycle (``pipeline.core.lifecycle``):
    schedule its retry or callback (``deferred_until``, released by the scheduler through every
    compliance check) or close it, with a lead-decision saying why — IGNORED_CLOSED when the lead
    is closed or unknown here; send a qualified-lead once (QUALIFIED, or NURTURE for the CRM)."""
    code = outcome["outcome"]
    known = state.leads.get(outcome["lead_id"])
    lead = known or stub(outcome["lead_id"], outcome["campaign_id"])
    phone = event["phone"]
    answers = outcome["answers"]
    verdict = (qual.evaluate(ctx.qualification, code, answers)
               if qual.applies(code, answers) and lead.status not in CLOSED_STATUSES else None)
    zone = phone["time_zones"][0] if phone["time_zones"] else "UTC"
    step = transition(lead, outcome, ctx.lifecycle, ctx.now, zone, verdict)
    # A stub (a lead never captured here) is never offered again: there is nothing to re-decide.
    captured = known is not None and known.captured_at is not None
    lead = replace(lead, status=step.status, offered=False, attempts=step.attempts, last_outcome=code,
                   failed_days=step.failed_days, deferred_until=step.next_at if captured else None,
                   callback=_promise(outcome, step) if captured and step.next == "CALLBACK" else None,
                   callbacks=step.callbacks, expired_offers=0)
    decision_id = record_id(outcome["event_id"], "decision", lead.lead_id)
    moved = captured and step.next != "UNCHANGED"
    if moved:  # scored again: this decision's score counts this call's attempt, like its record does
        policy = ctx.campaigns.policy_for(lead.campaign_id)
        consent = consent_status(state.consents, purpose=policy.consent_purpose, channel=policy.channel, now=ctx.now)
        now_score = decision_score(lead, phone, consent, 0, ctx)
        lead = replace(lead, score=now_score.total, score_breakdown=now_score.breakdown)
    emits = [_lifecycle_decision(ctx, event, lead, step, decision_id, captured=captured)]
    lead = replace(lead, last_decision_id=decision_id)
    if moved:
        lead = lead.with_score_mark({"decided_at": ctx.now, "score": lead.score, "decision_id": decision_id,
                                     "outcome": str(emits[0].record["outcome"])})
    if step.next == "CLOSED" and step.status in ("QUALIFIED", "NURTURE") and lead.qualified_by is None:
        emits.append(_qualified_lead(ctx, event, outcome, lead, state.consents, verdict))
        lead = replace(lead, qualified_by=outcome["event_id"])
    leads = state.leads.put(lead).called(outcome["occurred_at"])
    kind = contact_kind(code)
    if kind == "NON_WORKING":
        leads = replace(leads, non_working_until=outcome["occurred_at"] + ctx.lifecycle.non_working_recheck,
                        non_working_evidence=outcome["event_id"], non_working_since=outcome["occurred_at"])
    elif kind in ("CONTACT", "WRONG_PARTY") and leads.non_working_until is not None:
        # Someone answered: it works.
        leads = replace(leads, non_working_until=None, non_working_evidence=None, non_working_since=None)
    snooze = snooze_from_outcome(outcome, not_now_default=ctx.lifecycle.not_now_default)
    if snooze is not None:  # what the person said holds for the campaign, whatever the lead's state
        leads = leads.snoozed(snooze, ctx.now)
    state = replace(state, leads=leads)
    suppression = suppression_from_outcome(outcome)
    if suppression is not None:
        state = replace(state, suppressions=without_expired(add(state.suppressions, suppression), ctx.now))
    # A suppression, a snooze, the number found non-working, or this call reaching the number's
    # frequency cap can end other offers.
    state, withdrawals = withdraw_blocked(state, event, ctx)
    return state, (*emits, *withdrawals)


def _promise(outcome: CallOutcome, step: Transition) -> CallbackPromise | None:
    """The callback promise a CALLBACK step keeps for the lead's re-offer: when (the time asked for,
    or the default the lifecycle chose), who promised it, and what was said."""
    if step.next_at is None:
        return None
    notes = outcome["callback_notes"] or outcome["notes"]
    return {"requested_at": step.next_at, "promised_by_agent": outcome["agent_id"], "notes": notes}


def _lifecycle_decision(ctx: ProcessContext, event: NumberEvent, lead: LeadRecord, step: Transition,
                        decision_id: str, *, captured: bool) -> Emit:
    """The audit record of a lifecycle step: DEFERRED until the retry or callback, CLOSED, or
    IGNORED_CLOSED when nothing moves — the lead was closed already, or was never captured for this
    number (a stub: it is closed when the outcome says so, and otherwise has nothing to offer)."""
    outcome: DecisionOutcome
    why = step.reason
    if step.next == "CLOSED":
        outcome = "CLOSED"
    elif step.next == "UNCHANGED":
        outcome = "IGNORED_CLOSED"
    elif not captured:
        outcome = "IGNORED_CLOSED"
        why = reason("LEAD_UNKNOWN", "lifecycle.unknown_lead", (
            f"{lead.last_outcome} recorded as attempt {step.attempts} for lead {lead.lead_id}, which was never "
            "captured for this number: nothing to offer again (the call still counts for frequency caps, and a "
            "do-not-call still applies)"))
    else:
        outcome = "DEFERRED"
    callable_from = step.next_at if outcome == "DEFERRED" else None
    decision = Decision(outcome, (why,), (why["rule_id"],), lead.score, lead.score_breakdown,
                        callable_from, None)
    return lead_decision(ctx, event, lead.lead_id, lead.campaign_id, lead.source, decision, decision_id,
                          lead_status=step.status, attempts=step.attempts)


_NEXT_STEP_OF: dict[CallOutcomeCode, str] = {"APPOINTMENT_SET": "appointment set", "SALE": "sale closed"}


def _qualified_lead(ctx: ProcessContext, event: NumberEvent, outcome: CallOutcome, lead: LeadRecord,
                    consents: ConsentLedger, verdict: qual.Qualification | None) -> Emit:
    """The CRM's record of a lead closed QUALIFIED (or NURTURE: ``lead_status`` says which), with the
    outcome that closed it. ``attempts`` counts every call outcome of the lead, this one included."""
    phone_e164 = event["phone"]["phone_e164"]
    answers = outcome["answers"]
    checks = (verdict or qual.evaluate(ctx.qualification, outcome["outcome"], answers)).checks
    qualification: list[QualificationCheck] = [
        {"criterion": c.criterion_id, "answer_key": c.answer_key, "answer": c.answer, "result": c.result}
        for c in checks
    ]
    proof = next((e for e in reversed(consents.entries)
                  if e.action == "GRANT" and lead.consent_certificate_id is not None
                  and e.certificate_id == lead.consent_certificate_id), None)
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) or None
    record: QualifiedLead = {
        "event_id": record_id(outcome["event_id"], "qualified-lead", lead.lead_id),
        "occurred_at": ctx.now,
        "lead_id": lead.lead_id,
        "phone_e164": phone_e164,
        "campaign_id": lead.campaign_id,
        "source": lead.source,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "agent_id": outcome["agent_id"],
        "outcome": outcome["outcome"],
        "notes": outcome["notes"],
        "answers": dict(answers),
        "score": lead.score,
        "score_breakdown": list(lead.score_breakdown),
        "captured_at": lead.captured_at,
        "consent_certificate_id": lead.consent_certificate_id,
        "outcome_event_id": outcome["event_id"],
        "contact_name": outcome["contact_name"] or answers.get("contact_name") or name,
        "contact_role": outcome["contact_role"] or answers.get("contact_role") or answers.get("role"),
        "next_step": answers.get("next_step") or _NEXT_STEP_OF.get(outcome["outcome"]),
        "tags": list(outcome["tags"]),
        "qualification": qualification,
        "score_history": list(lead.score_history),
        "consent_form_url": proof.form_url if proof is not None else None,
        "consent_text": proof.consent_text if proof is not None else None,
        "consent_granted_at": proof.effective_at if proof is not None else None,
        "attempts": lead.attempts,
        "title": outcome["title"] or answers.get("title"),
        "best_time_to_call": outcome["best_time_to_call"] or answers.get("best_time_to_call"),
        "lead_status": lead.status,
    }
    return Emit(topics.QUALIFIED_LEAD, phone_e164, topics.QUALIFIED_LEAD, record)
