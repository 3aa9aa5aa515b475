"""Withdrawing offers the number's state no longer allows (after an opt-out, a consent change, an
outcome, or an erasure): a call-ready WITHDRAW and a lead-decision WITHDRAWN for each."""

from __future__ import annotations

from pipeline import topics
from pipeline.core.decision import withdrawn
from pipeline.core.evaluation import evaluate
from pipeline.core.frozen import replace
from pipeline.core.leads import LeadStatus
from pipeline.core.number.context import ProcessContext
from pipeline.core.number.emits import Emit, lead_decision, record_id
from pipeline.core.number_state import NumberState
from pipeline.events import CallReady, NumberEvent, Reason


def withdraw_blocked(
    state: NumberState, event: NumberEvent, ctx: ProcessContext, extra: tuple[Reason, ...] = ()
) -> tuple[NumberState, tuple[Emit, ...]]:
    """Withdraw every offered lead that the number's current state (or ``extra``) forbids calling."""
    emits: list[Emit] = []
    leads = state.leads
    input_event_id = event["event"]["event_id"]
    phone = event["phone"]
    for lead in state.leads.offered():
        reasons = extra
        snooze = None
        if not reasons:  # what stands in the way now, the window aside: the offer carries its own
            found = evaluate(state, phone, ctx.campaigns.policy_for(lead.campaign_id), pack=ctx.rule_pack,
                             registries=ctx.registries, at=ctx.now)
            reasons = (*found.blockers, found.cap) if found.cap is not None else found.blockers
            if not reasons and found.snooze is not None:
                snooze = found.snooze
                reasons = (snooze.reason(),)
        if not reasons:
            continue
        decision = withdrawn(reasons, score=lead.score, score_breakdown=lead.score_breakdown)
        decision_id = record_id(input_event_id, "decision", lead.lead_id)
        # A snooze only holds the lead: it waits for the snooze's end, still in its campaign's queue.
        status: LeadStatus = lead.status if snooze is not None else "SUPPRESSED"
        until = snooze.until if snooze is not None else None
        if snooze is not None:
            decision = replace(decision, callable_from=until)
        withdraw: CallReady = {
            "event_id": record_id(input_event_id, "call-ready", lead.lead_id),
            "occurred_at": ctx.now,
            "action": "WITHDRAW",
            "phone_e164": phone["phone_e164"],
            "lead_id": lead.lead_id,
            "campaign_id": lead.campaign_id,
            "priority": round(lead.score) if lead.score is not None else 0,
            "score": lead.score if lead.score is not None else 0.0,
            "score_breakdown": list(lead.score_breakdown),
            "callable_from": None,
            "callable_until": None,
            "seconds_left": 0,
            "time_zones": list(phone["time_zones"]),
            "reasons": list(reasons),
            "decision_id": decision_id,
            "rule_pack_version": ctx.rule_pack_version,
            "callback": None,
        }
        emits.append(lead_decision(ctx, event, lead.lead_id, lead.campaign_id, lead.source, decision,
                                    decision_id, lead_status=status, attempts=lead.attempts))
        emits.append(Emit(topics.CALL_READY, phone["phone_e164"], topics.CALL_READY, withdraw))
        leads = leads.put(replace(lead, offered=False, status=status, last_decision_id=decision_id,
                                  deferred_until=until))
    return replace(state, leads=leads), tuple(emits)
