"""One rule evaluation: may this number be contacted for this campaign at this instant, and why.

Every question the pipeline asks about a call goes through :func:`evaluate` — a new lead's decision
and a waiting lead's release (``pipeline.core.number``), the withdrawal of offers after an opt-out,
consent change or call, and the dial-time check (``pipeline.core.dialcheck``) — so they weigh the
same places with the same checks and give the same reasons:

1. **Where** (``pipeline.core.geography.place_of``): the number's country and area-code state,
   every address on record for the number in the campaign (plus the lead being decided), every
   jurisdiction of its countries for a number that says nowhere; and their time zones.
2. **Erasure**: an erased number is blocked by ``DNC_ERASED`` alone — nothing else about it is
   known, so nothing else is said.
3. **Do-not-call and consent** (``decision.dnc_reason``, ``decision.consent_reason``): suppressions
   in force for the campaign's channel and campaign; consent for its purpose and channel. A
   revocation covers every channel unless counsel's ``revocation_scope`` override allows narrower
   ones; when that reading changed the answer, a ``REVOCATION_SCOPE_NARROWED`` note says so.
4. **Restrictions**: a national registry listing (lifted by an EBR in force or by prior express
   written consent, ``EBR_EXEMPTION`` / ``PEWC_EXEMPTION``), a stale registry, a number marked
   non-working, a state's wireless reading.
5. **Timing**: the legal window of every jurisdiction in every time zone, narrowed by the
   campaign's hours; the frequency caps; a "not now" snooze of the campaign
   (``pipeline.core.snooze``, ``NOT_NOW_SNOOZE``: a hold, not a do-not-call). When one stops the
   call now, the evaluation finds the first instant all allow (the window at the cap's release or
   the snooze's end, the cap at the window's opening).
6. **Lapses**: a permission that ends by itself — the consent's expiry, the exempting EBR's end —
   cuts the offered window short, and makes the lead unofferable when it ends before the window opens.

The outcome: SUPPRESSED (a blocker, or no window), DEFERRED (timing; ``callable_from`` is the first
instant every check allows), CALL_READY (``callable_until`` the earliest of the window's close and
any lapse). For any one state, the offer window of a CALL_READY or DEFERRED decision contains
exactly the instants at which the same evaluation allows the call, up to its close
(``tests/core/test_evaluation.py`` holds this as a property).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pipeline.core.campaigns import CampaignPolicy
from pipeline.core.consents import ConsentEntry, ConsentStatus, consent_status
from pipeline.core.decision import (
    Decision,
    callable_reason,
    conclude,
    consent_reason,
    contact_noun,
    dnc_reason,
    window_reason,
)
from pipeline.core.ebr import EbrStatus, active_ebr
from pipeline.core.geography import Address, Place, place_of
from pipeline.core.leads import NumberLeads
from pipeline.core.linetype import wireless_reading_type
from pipeline.core.number_state import NumberState
from pipeline.core.reasons import reason
from pipeline.core.registries import Registries
from pipeline.core.rulepack import (
    HouseHours,
    RulePack,
    WindowVerdict,
    cap_verdict,
    consent_exemptions,
    frequency_caps,
    legal_window,
    revocation_scope,
    wireless_restricted,
)
from pipeline.core.scoring import Score
from pipeline.core.snooze import Snooze, active_snooze
from pipeline.core.suppressions import blocking
from pipeline.core.window import Window
from pipeline.events import PhoneInfo, Reason

RULE_NON_WORKING = "lifecycle.non_working"
_DEFERRAL_STEPS = 16
"""Rounds of "the window opens, then the cap frees up, then the window..." tried before giving up
(each round moves forward by a window or a cap period; two or three always suffice in practice)."""
_NO_SCORE = Score(0.0, ())

_WindowAt = Callable[[datetime], WindowVerdict]
_CapAt = Callable[[datetime], "tuple[Reason, datetime] | None"]


@dataclass(frozen=True, slots=True)
class Lapse:
    """A permission the evaluation relies on that ends by itself, and what is said from then on."""

    at: datetime
    reason: Reason


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything :func:`evaluate` found; :meth:`decision` turns it into the decision's reasons."""

    at: datetime
    policy: CampaignPolicy
    place: Place
    verdict: WindowVerdict
    """The legal window at ``at``."""
    blockers: tuple[Reason, ...]
    """Reasons that forbid the call outright, strongest first."""
    timing: tuple[Reason, ...]
    """Why not at ``at`` although nothing forbids it: a snooze holds the campaign, the window is
    closed, or a cap is reached (the snooze first)."""
    exemptions: tuple[Reason, ...]
    """Blocks lifted (an EBR, written consent): part of the trace."""
    notes: tuple[Reason, ...]
    """Counsel overrides the answer relied on (a narrower revocation scope)."""
    consent: ConsentStatus | None
    """None after an erasure: nothing about consent is known."""
    callable_from: datetime | None
    """CALL_READY: the current window's opening; DEFERRED: the first instant every check allows."""
    callable_until: datetime | None
    lapses: tuple[Lapse, ...]
    closing_rule: str
    """The rule that ends the offered window: the window's closing rule, or the lapse that cuts it."""
    cap: Reason | None = None
    """A frequency cap reached at ``at``, whatever the window (withdrawals act on it)."""
    snooze: Snooze | None = None
    """The "not now" snooze that holds the call, when it is what stands in the way."""

    @property
    def allowed(self) -> bool:
        """Whether the call may be made at ``at``."""
        return not self.blockers and not self.timing

    def decision(self, score: Score = _NO_SCORE) -> Decision:
        """The decision these findings make (see ``pipeline.core.decision.conclude``)."""
        detail = ""
        if self.allowed:
            detail = callable_reason(self.callable_until, self.closing_rule, self.consent, self.policy)
        return conclude(blockers=self.blockers, timing=self.timing, callable_from=self.callable_from,
                        callable_until=self.callable_until, callable_detail=detail,
                        exemptions=(*self.exemptions, *self.notes), score=score)


def campaign_addresses(leads: NumberLeads, campaign_id: str) -> tuple[Address, ...]:
    """The addresses on record for the number in ``campaign_id``: one per lead of the campaign."""
    return tuple((lead.address_region, lead.address_country) for lead in leads.leads
                 if lead.campaign_id == campaign_id and (lead.address_region or lead.address_country))


def evaluate(state: NumberState, phone: PhoneInfo, policy: CampaignPolicy, *, pack: RulePack,
             registries: Registries, at: datetime, address: Address | None = None) -> Evaluation:
    """Whether ``phone`` may be contacted for ``policy``'s campaign at ``at`` given ``state``, and
    why (see the module doc). ``address``: the lead being decided, when it is not on record yet."""
    campaign_id = policy.campaign_id
    addresses = campaign_addresses(state.leads, campaign_id)
    place = place_of(phone, (*addresses, address) if address is not None else addresses, pack)
    where = place.jurisdictions
    autodialed = policy.channel == "AUTODIALED_VOICE"
    house = HouseHours(policy.hours_rule_id, policy.call_start, policy.call_end)

    def window_at(instant: datetime) -> WindowVerdict:
        return legal_window(pack, where, place.time_zones, instant, autodialed=autodialed, house_hours=house)

    verdict = window_at(at)
    closed = window_reason(verdict, policy)
    if state.erasure is not None:  # the objection survives; nothing else about the number is known
        return Evaluation(at, policy, place, verdict, (state.erasure.reason(),), (), (), (), None, None, None, (),
                          verdict.deciding_rule)

    narrowing_rule = revocation_scope(pack, where, at)
    consent = consent_status(state.consents, purpose=policy.consent_purpose, channel=policy.channel, now=at,
                             narrow_revocations=narrowing_rule is not None)
    blockers = [dnc_reason(s) for s in blocking(state.suppressions, channel=policy.channel,
                                                campaign_id=campaign_id, now=at)]
    if (consent_block := consent_reason(consent, policy)) is not None:
        blockers.append(consent_block)
    notes: tuple[Reason, ...] = ()
    if narrowing_rule is not None and consent.narrowed is not None:
        notes = (_narrowed_note(consent.narrowed, narrowing_rule, policy),)
    lapses: list[Lapse] = []
    if consent.state == "GRANTED" and policy.requires_consent and consent.entry is not None \
            and consent.entry.expires_at is not None:
        lapses.append(Lapse(consent.entry.expires_at, _expired(consent.entry, policy)))

    restrictions, exemptions, exemption_lapse = _registry(phone, state, consent, policy, pack, registries, where, at)
    blockers += restrictions
    if exemption_lapse is not None:
        lapses.append(exemption_lapse)
    blockers += non_working_reasons(state.leads, at)
    if (wireless := _wireless(phone, pack, where, at)) is not None:
        blockers.append(wireless)

    cap = cap_reached(state.leads, where, autodialed, pack, at)
    timing: tuple[Reason, ...] = (closed,) if closed is not None else (cap[0],) if cap is not None else ()
    lapses.sort(key=lambda lapse: lapse.at)
    callable_from = callable_until = None
    closing_rule = verdict.deciding_rule
    holding: Snooze | None = None
    if not blockers and (closed is None or closed["code"] != "NO_LEGAL_WINDOW"):
        def cap_at(instant: datetime) -> tuple[Reason, datetime] | None:
            return cap_reached(state.leads, where, autodialed, pack, instant)

        found = _first_callable(verdict.window, at, cap, window_at, cap_at)
        snooze = active_snooze(state.leads.snoozes, campaign_id, at)
        if snooze is not None and found is not None and found[0] < snooze.until:
            # Held until the snooze ends, then the first instant the window and caps allow.
            holding, timing = snooze, (snooze.reason(), *timing)
            later = window_at(snooze.until)
            found = _first_callable(later.window, snooze.until, cap_at(snooze.until), window_at, cap_at)
            if found is not None:  # an open window at the snooze's end: callable from that end, not its opening
                found = (max(found[0], snooze.until), found[1])
        lapse = lapses[0] if lapses else None
        if found is None:  # a cap frees up only where no window opens within the horizon: never offered
            timing = (*timing, reason("NO_LEGAL_WINDOW", verdict.deciding_rule, (
                f"{contact_noun(policy.channel)} not allowed: no legal window opens within the horizon once the "
                f"frequency caps (and any snooze) allow a call")))
        elif lapse is not None and timing and lapse.at <= found[0]:
            blockers.append(lapse.reason)  # it ends before the number could be called: nothing to offer
        else:
            callable_from, callable_until = found
            if lapse is not None and (callable_until is None or lapse.at < callable_until):
                callable_until, closing_rule = lapse.at, lapse.reason["rule_id"]
    if blockers:
        callable_from = callable_until = None
    return Evaluation(at, policy, place, verdict, tuple(blockers), timing, exemptions, notes, consent,
                      callable_from, callable_until, tuple(lapses), closing_rule,
                      cap[0] if cap is not None else None, holding)


def _first_callable(window: Window, at: datetime, cap: tuple[Reason, datetime] | None, window_at: _WindowAt,
                    cap_at: _CapAt) -> tuple[datetime, datetime | None] | None:
    """(callable_from, the window's close) of the first instant at or after ``at`` that both the
    window and the caps allow; callable_from is the window's opening when ``at`` itself is allowed.
    None when no window opens within the horizon."""
    if window.open_now and cap is None:
        return (window.opens_at or at), window.closes_at
    instant = at
    for _ in range(_DEFERRAL_STEPS):
        if not window.open_now:
            if window.opens_at is None:
                return None
            instant = window.opens_at
            window = Window(True, window.opens_at, window.closes_at, window.rule_id)
        blocked = cap_at(instant) if instant != at else cap
        if blocked is None:
            return instant, window.closes_at
        instant = blocked[1]
        window = window_at(instant).window
    return None



def _narrowed_note(revocation: ConsentEntry, rule_id: str, policy: CampaignPolicy) -> Reason:
    return reason("REVOCATION_SCOPE_NARROWED", rule_id, (
        f"revocation {revocation.describe()} was sent for {revocation.channel} only; counsel's override {rule_id} "
        f"reads it as not covering {policy.channel} (by default a revocation covers calls and texts)"))


def _expired(entry: ConsentEntry, policy: CampaignPolicy) -> Reason:
    return reason("CONSENT_EXPIRED", "consent.required", (
        f"campaign {policy.campaign_id} requires consent: {policy.consent_purpose}/{policy.channel} consent "
        f"expires {entry.expires_at.isoformat() if entry.expires_at else '?'}: {entry.describe()}"))


def _registry(phone: PhoneInfo, state: NumberState, consent: ConsentStatus, policy: CampaignPolicy, pack: RulePack,
              registries: Registries, where: Sequence[str],
              at: datetime) -> tuple[tuple[Reason, ...], tuple[Reason, ...], Lapse | None]:
    """(blocks, exemptions, when the exemption lapses): a national-registry listing is lifted by an
    EBR in force (US only) or by prior express written consent (rule kind ``consent_exemption``);
    a stale registry is never lifted (fail closed)."""
    verdict = registries.verdict(phone["phone_e164"], at)
    if not verdict.blocked:
        return (), (), None
    block = reason(verdict.reason_code or "DNC_REGISTRY", verdict.rule_id or "dnc.registry", verdict.detail)
    if verdict.reason_code != "DNC_REGISTRY" or verdict.registry is None:
        return (block,), (), None
    exemptions: list[tuple[datetime | None, Reason]] = []
    ebr = active_ebr(state.consents, state.suppressions, pack, where, at) if verdict.registry == "us-dnc" else None
    if ebr is not None:
        exemptions.append((ebr.ends_at, _ebr_exemption(ebr)))
    pewc_rule = consent_exemptions(pack, where, at).get(verdict.registry)
    if pewc_rule is not None and (pewc := written_consent(consent, policy)) is not None:
        exemptions.append((pewc.expires_at, reason("PEWC_EXEMPTION", pewc_rule, (
            f"prior express written consent {pewc.describe()} names {_seller_of(policy)} and is in force: "
            f"exempt from the national DNC registry {verdict.registry}"))))
    if not exemptions:
        return (block,), (), None
    ends = [end for end, _ in exemptions]
    lapse = None if None in ends else Lapse(max(e for e in ends if e is not None), {
        **block, "detail": f"{block['detail']}; the exemption from it ended"})
    return (), tuple(reason for _, reason in exemptions), lapse


def _ebr_exemption(ebr: EbrStatus) -> Reason:
    return reason("EBR_EXEMPTION", ebr.rule_id, ebr.detail)


def written_consent(consent: ConsentStatus | None, policy: CampaignPolicy) -> ConsentEntry | None:
    """The consent on record when it is prior express *written* consent for this campaign's seller:
    in force for the campaign's purpose and channel (granted, unrevoked, unexpired), carrying the
    text the person agreed to and a signature record (certificate id), and that text names the
    campaign's seller (``CampaignPolicy.seller``) or the campaign id. None otherwise."""
    if consent is None or consent.state != "GRANTED" or consent.entry is None:
        return None
    entry = consent.entry
    if not entry.consent_text or not entry.certificate_id:
        return None
    text = entry.consent_text.casefold()
    names = [name for name in (policy.seller, policy.campaign_id) if name]
    return entry if any(name.casefold() in text for name in names) else None


def _seller_of(policy: CampaignPolicy) -> str:
    return f"the seller {policy.seller!r}" if policy.seller else f"campaign {policy.campaign_id!r}"


def _wireless(phone: PhoneInfo, pack: RulePack, where: Sequence[str], at: datetime) -> Reason | None:
    rule_id = wireless_restricted(pack, where, wireless_reading_type(phone), at)
    if rule_id is None:
        return None
    line = ("the line type is MOBILE" if phone["line_type"] == "MOBILE" else
            f"the line type is unknown ({phone['number_type']}): treated as wireless (fail closed)")
    return reason("WIRELESS_RESTRICTED", rule_id,
                  f"solicitation calls to wireless numbers are restricted in {', '.join(where)}; {line}")


def non_working_reasons(leads: NumberLeads, at: datetime) -> tuple[Reason, ...]:
    """The reason a number marked non-working (a DISCONNECTED outcome) is not offered, until its recheck."""
    if leads.non_working_until is None or at >= leads.non_working_until:
        return ()
    return (reason("NUMBER_NON_WORKING", RULE_NON_WORKING, (
        f"call outcome {leads.non_working_evidence} found the number disconnected; not offered "
        f"until {leads.non_working_until.isoformat()} unless a call reaches someone")),)


def cap_reached(leads: NumberLeads, where: Sequence[str], autodialed: bool, pack: RulePack,
                at: datetime) -> tuple[Reason, datetime] | None:
    """The frequency-cap reason and when the cap frees up, when the number's cap is reached at ``at``."""
    caps = frequency_caps(pack, where, at, autodialed=autodialed)
    if not caps:
        return None
    verdict = cap_verdict(caps, leads.call_attempts, at)
    if verdict.allowed or verdict.next_allowed_at is None:
        return None
    return reason("FREQUENCY_CAP", verdict.rule_id or "cap", (
        f"{len(leads.call_attempts)} calls recorded for this number; cap {verdict.rule_id} reached "
        f"until {verdict.next_allowed_at.isoformat()}")), verdict.next_allowed_at

