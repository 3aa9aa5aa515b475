"""Established business relationships (EBR) of one number: whether one is in force, and until when.

Under the TSR an EBR exempts a call from the **national** do-not-call registry (``us-dnc``), never
from a company-specific do-not-call request — and such a request ends the EBR for good
(COMPLIANCE.md us.ebr, us.ebr.states, us.company_dnc; 47 CFR 64.1200(f)(5)(i)). How long an EBR
lasts is rule-pack data (kind ``ebr``, ``pipeline.core.rulepack.ebr_window``): 18 months after a
purchase, 3 months after an inquiry, or a state's shorter limit.

**How an EBR is recorded.** A consent-changed GRANT whose purpose is ``ebr.purchase`` (a purchase,
delivery or payment) or ``ebr.inquiry`` (an inquiry or application), stamped when that happened:
the ledger's ``effective_at`` (the proof's ``granted_at`` when a proof is sent, else the event's
``occurred_at``). Its channel is not read: the exemption concerns calls screened against the
registry, whatever the campaign's channel. These purposes never match a campaign's consent purpose,
so an EBR is never mistaken for consent.

**What ends one** (``active_ebr``), each only when made at or after the EBR began — a request made
before an EBR does not end a newer one, and a later purchase or inquiry starts a new EBR:

- its window, from ``ebr_window``, or the grant's own ``expires_at`` when that is earlier;
- a company do-not-call request in the suppressions, active or since lifted (``COMPANY_DNC_SOURCES``):
  an opt-out (any scope, category or campaign), a DO_NOT_CALL call outcome (not a NOT_NOW, which
  is TEMPORARY), a consent revocation;
- a consent REVOKE whose purpose is ``*`` or the EBR's own purpose.

A stamp after ``now`` counts too (clock skew fails closed).

**Limitations, all read the stricter way.**

- A lifted suppression is kept in the suppressions' bounded history (``SuppressionState.ended``,
  with its ``created_at`` and source), and its REMOVE in the removal audit (``Removal``: the lifted
  ids and ``removed_at`` only). Both end the EBR: the request itself from when it was made, and — for
  rows whose history does not hold the request — a REMOVE that lifted anything at or after the EBR's
  start (the lifted request may predate the EBR, or have been a NOT_NOW: the EBR ends anyway). Both
  are bounded (``MAX_ENDED``, ``MAX_REMOVALS``): a durable end needs a REVOKE of the EBR purposes in
  the consent ledger (a revocation that still decides is never dropped from it).
- The law ties an EBR to one seller; the ledger has no seller, so an EBR is per number and any
  company request, for any campaign or channel, ends it.
- The consent ledger is bounded (``MAX_ENTRIES``) and drops old grants first: an EBR can be
  forgotten, never invented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pipeline.core.consents import EVERY_PURPOSE, ConsentLedger
from pipeline.core.rulepack import EbrKind, RulePack, ebr_window
from pipeline.core.suppressions import SuppressionSource, SuppressionState

EBR_PURCHASE = "ebr.purchase"
"""Consent purpose of a grant recording a purchase, delivery or payment."""
EBR_INQUIRY = "ebr.inquiry"
"""Consent purpose of a grant recording an inquiry or application."""
EBR_PURPOSES: Mapping[str, EbrKind] = {EBR_PURCHASE: "purchase", EBR_INQUIRY: "inquiry"}

COMPANY_DNC_SOURCES: frozenset[SuppressionSource] = frozenset({"OPT_OUT", "CALL_OUTCOME", "CONSENT_REVOCATION"})
"""Suppression sources that are the person's own request to stop calls (a CALL_OUTCOME only when it
is not TEMPORARY, i.e. DO_NOT_CALL rather than NOT_NOW). REGISTRY entries are what an EBR exempts
from; IMPORT entries come from lists whose origin the state does not record."""


@dataclass(frozen=True, slots=True)
class EbrStatus:
    """The EBR in force at one instant."""

    kind: EbrKind
    started_at: datetime
    ends_at: datetime
    """Exclusive: the EBR exempts calls before this instant."""
    rule_id: str
    """The rule-pack rule that limits the EBR (``us.ebr``, ``us.tx.ebr``...). When the grant's own
    ``expires_at`` comes first, ``ends_at`` is that expiry and ``detail`` says so."""
    event_id: str
    """The consent-changed event that recorded the purchase or inquiry."""
    detail: str
    """One line for the trace."""


@dataclass(frozen=True, slots=True)
class _End:
    """Something that ends every EBR begun at or before ``at`` (of ``purpose`` only, when given)."""

    at: datetime
    purpose: str | None


def active_ebr(
    ledger: ConsentLedger,
    suppressions: SuppressionState,
    pack: RulePack,
    jurisdictions: Sequence[str],
    now: datetime,
) -> EbrStatus | None:
    """The EBR in force at ``now`` (see the module doc), or None.

    Every EBR grant that began by ``now`` is considered; when several are in force, the one that
    ends last is returned (then the later start, then the later arrival). ``jurisdictions`` are the
    number's (``rulepack.jurisdictions``): the shortest of their EBR limits applies. Raises
    ValueError for a naive ``now``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    ends = _company_requests(ledger, suppressions)
    found: EbrStatus | None = None
    for entry in ledger.entries:
        kind = EBR_PURPOSES.get(entry.purpose)
        started_at = entry.effective_at
        if entry.action != "GRANT" or kind is None or started_at > now:
            continue
        if any(end.at >= started_at and end.purpose in (None, entry.purpose) for end in ends):
            continue
        window_end, rule_id = ebr_window(pack, jurisdictions, kind, started_at)
        if window_end is None:
            continue
        ends_at, expiry = window_end, ""
        if entry.expires_at is not None and entry.expires_at < window_end:
            ends_at, expiry = entry.expires_at, f"; the grant expires first ({rule_id} allows {window_end.isoformat()})"
        if now >= ends_at:
            continue
        if found is None or (ends_at, started_at) >= (found.ends_at, found.started_at):
            found = EbrStatus(
                kind=kind,
                started_at=started_at,
                ends_at=ends_at,
                rule_id=rule_id,
                event_id=entry.event_id,
                detail=(
                    f"EBR ({kind}, event {entry.event_id}) from {started_at.isoformat()} "
                    f"until {ends_at.isoformat()} ({rule_id}{expiry}): exempt from the national DNC registry"
                ),
            )
    return found


def _company_requests(ledger: ConsentLedger, suppressions: SuppressionState) -> tuple[_End, ...]:
    active = (
        _End(s.created_at, None)
        for s in (*suppressions.active, *suppressions.ended)
        if s.source in COMPANY_DNC_SOURCES and not (s.source == "CALL_OUTCOME" and s.category == "TEMPORARY")
    )
    # The audit does not say when a lifted suppression was made, nor by what: its removal is the
    # latest instant it can have been made, so reading it as made then fails closed.
    lifted = (_End(r.removed_at, None) for r in suppressions.removals if r.removed_ids)
    revoked = (
        _End(e.effective_at, None if e.purpose == EVERY_PURPOSE else e.purpose)
        for e in ledger.entries
        if e.action == "REVOKE" and (e.purpose == EVERY_PURPOSE or e.purpose in EBR_PURPOSES)
    )
    return (*active, *lifted, *revoked)
