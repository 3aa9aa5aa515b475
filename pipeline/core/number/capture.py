"""lead-captured: a new lead joins the number (its consent to the ledger) and is decided, or is a
DUPLICATE of a known lead — by lead id, by campaign and window, or by email on another number."""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline import topics
from pipeline.core import scoring
from pipeline.core.consents import grant_from_lead
from pipeline.core.decision import Decision, duplicate
from pipeline.core.frozen import replace
from pipeline.core.leads import LeadRecord, NumberLeads
from pipeline.core.number.context import ProcessContext
from pipeline.core.number.emits import Emit, lead_decision, record_id
from pipeline.core.number.offer import decide_lead, lead_quality_flags
from pipeline.core.number_state import NumberState
from pipeline.events import LeadCaptured, NumberEvent


def on_lead(
    state: NumberState, event: NumberEvent, lead: LeadCaptured, ctx: ProcessContext
) -> tuple[NumberState, tuple[Emit, ...]]:
    lead_id, campaign_id, source = lead["lead_id"], lead["campaign_id"], lead["source"]
    decision_id = record_id(lead["event_id"], "decision", lead_id)
    phone = event["phone"]
    window = ctx.campaigns.policy_for(campaign_id).duplicate_window
    if event["duplicate_of"] is not None:
        return _on_email_duplicate(state, event, lead, event["duplicate_of"], window, decision_id, ctx)
    consents = grant_from_lead(state.consents, lead)
    state = replace(state, consents=consents)
    found = _duplicate_of(state.leads, lead, window)
    if found is not None:
        known, original = found
        flags = lead_quality_flags(lead["first_name"], lead["last_name"], lead["email"], phone, ctx.disposable_domains)
        state = _merge(state, original, lead_id)
        return state, (lead_decision(ctx, event, lead_id, campaign_id, source, known, decision_id, flags),)

    facts = scoring.lead_facts(lead, phone, ctx.disposable_domains)
    lead_score = scoring.capture_score(facts, ctx.scoring_rules, ctx.scoring_model)
    address = lead["address"]
    consent = lead["consent"]
    record = LeadRecord(
        lead_id=lead_id,
        campaign_id=campaign_id,
        source=source,
        status="NEW",
        captured_at=lead["occurred_at"],
        first_name=lead["first_name"],
        last_name=lead["last_name"],
        email=lead["email"],
        consent_certificate_id=consent["certificate_id"] if consent is not None else None,
        score=lead_score.total,
        score_breakdown=lead_score.breakdown,
        address_region=address["region"] if address else None,
        address_country=address["country"] if address else None,
    )
    return decide_lead(state, event, record, decision_id, ctx, flags=scoring.quality_flags_of(facts))


def _duplicate_of(leads: NumberLeads, lead: LeadCaptured,
                  window: timedelta) -> tuple[Decision, LeadRecord] | None:
    """The DUPLICATE decision for ``lead`` and the known lead it duplicates, or None."""
    same = leads.get(lead["lead_id"])
    if same is not None:
        return duplicate(same.lead_id, f"lead {same.lead_id} was already received (status {same.status})"), same
    recent = leads.recent_in_campaign(lead["campaign_id"], lead["occurred_at"], window)
    if recent is None or recent.captured_at is None:
        return None
    return duplicate(recent.lead_id, (
        f"lead {recent.lead_id} for campaign {recent.campaign_id} was captured "
        f"{recent.captured_at.isoformat()}, within {window.days} days (status {recent.status})"
    )), recent


def _merge(state: NumberState, original: LeadRecord, lead_id: str) -> NumberState:
    """``state`` with the duplicate ``lead_id`` recorded in ``original``'s history (a resend of the
    same lead id changes nothing)."""
    merged = original.merge(lead_id)
    return state if merged is original else replace(state, leads=state.leads.put(merged))


def _live_within(record: LeadRecord, at: datetime, window: timedelta) -> bool:
    return (record.status not in ("SUPPRESSED", "REJECTED") and record.captured_at is not None
            and abs(at - record.captured_at) < window)


def _on_email_duplicate(state: NumberState, event: NumberEvent, lead: LeadCaptured, original_id: str,
                        window: timedelta, decision_id: str,
                        ctx: ProcessContext) -> tuple[NumberState, tuple[Emit, ...]]:
    """A lead the email stage found to share its email with ``original_id``, sent to the original's
    number: ``state`` is that number's, ``event["phone"]`` the new lead's own number.

    A live lead of the campaign here (the original, or the lead the original was itself a duplicate
    of) makes it a DUPLICATE, recorded here; its consent does not join this number's ledger (it is
    another number's). Otherwise (the original was suppressed, or is out of the window) the lead is
    sent on to its own number, unmarked, to be decided there.
    """
    original = state.leads.get(original_id)
    if original is not None and not _live_within(original, lead["occurred_at"], window):
        original = None
    target = original or state.leads.recent_in_campaign(lead["campaign_id"], lead["occurred_at"], window)
    if target is None or target.captured_at is None:
        onward: NumberEvent = {**event, "duplicate_of": None}
        return state, (Emit(topics.NUMBER_EVENTS, event["phone"]["phone_e164"], topics.NUMBER_EVENT_SCHEMA, onward),)
    via = "" if target.lead_id == original_id else f" (lead {original_id} was a duplicate of it)"
    decision = duplicate(target.lead_id, (
        f"same email as lead {target.lead_id}{via} for campaign {target.campaign_id}, captured "
        f"{target.captured_at.isoformat()} on another number, within {window.days} days (status {target.status})"
    ))
    flags = lead_quality_flags(lead["first_name"], lead["last_name"], lead["email"], event["phone"],
                              ctx.disposable_domains)
    state = _merge(state, target, lead["lead_id"])
    return state, (lead_decision(ctx, event, lead["lead_id"], lead["campaign_id"], lead["source"], decision,
                                  decision_id, flags),)
