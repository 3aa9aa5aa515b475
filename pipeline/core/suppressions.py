"""Do-not-call state of one number: its suppressions, the ones that ended, and the audit of removals.

One ``SuppressionState`` per ``phone_e164`` lives in the ``suppressions`` table. Every change is
keyed by the event that caused it, so applying an event twice (an at-least-once replay) changes
nothing.

Scope decides which calls a suppression blocks (see ``Suppression.covers``); category says what
kind of request it was and whether it ends: only TEMPORARY suppressions expire. A PERMANENT or
CHANNEL_LIMITED suppression ignores any ``expires_at`` sent with it (the stricter reading).

**History.** A suppression that ends — lifted by a REMOVE (``lifted_at``) or expired — moves to
``ended`` instead of being forgotten, so the state can say which suppressions were in force at a
past instant (``as_of``). ``ended`` keeps the last ``MAX_ENDED`` (by end); when older ones are
dropped, ``history_from`` records the latest end dropped: answers for instants before it may miss a
suppression. A row written before history was kept (no ``history`` key) reads ``history_from`` as
the newest instant it records (a created or removal instant): what happened before that may have
been dropped without a trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pipeline.core.frozen import replace
from pipeline.events import (
    CallOutcome,
    ConsentChannel,
    OptOut,
    SuppressionCategory,
    SuppressionScope,
)

SuppressionSource = Literal["OPT_OUT", "CALL_OUTCOME", "CONSENT_REVOCATION", "REGISTRY", "IMPORT"]

REMOVABLE_SOURCES: frozenset[SuppressionSource] = frozenset(
    {"OPT_OUT", "CALL_OUTCOME", "CONSENT_REVOCATION", "IMPORT"}
)
"""Sources an opt-out REMOVE may lift. National-registry entries are not ours to lift: they leave
only when the registry's own change list deletes them."""

MAX_ACTIVE = 64
"""Soft bound on active suppressions per number. Over it, redundant ones (another suppression with
the same scope and campaign lasts at least as long) are dropped oldest first; a suppression that
alone blocks something is never dropped, so the bound can only be exceeded by many distinct
campaign scopes."""

MAX_REMOVALS = 32
"""Removals kept in the table value. The opt-out topic is the full, permanent record; the table
keeps only the recent audit a dial-check or trace needs."""
STATE_TEXT_MAX = 500
"""Characters of a request's free text (evidence, reason) kept in the suppression: the row stays
small whatever a caller wrote, and the original stays on the input topic and in the audit trail.
An opt-out is never refused for its text."""

MAX_ENDED = 32
"""Ended (lifted or expired) suppressions kept for answers about past instants; see the module doc."""

# A voice suppression stops manual and autodialed calls alike. Asked about ANY (a campaign that may
# use every channel), a suppression on any one channel blocks it.
_SCOPE_CHANNELS: dict[SuppressionScope, frozenset[ConsentChannel]] = {
    "VOICE": frozenset({"VOICE", "AUTODIALED_VOICE", "ANY"}),
    "SMS": frozenset({"SMS", "ANY"}),
}


@dataclass(frozen=True, slots=True)
class Suppression:
    """One do-not-contact request (or registry/import entry) for a number."""

    suppression_id: str
    """event_id of the event that created it."""
    scope: SuppressionScope
    category: SuppressionCategory
    campaign_id: str | None
    """Campaign it is limited to when scope is CAMPAIGN; otherwise where the request was made."""
    source: SuppressionSource
    added_by: str
    """The event's source, agent or dialer id."""
    evidence: str | None
    reason: str | None
    created_at: datetime
    expires_at: datetime | None
    """End of a TEMPORARY suppression; None for the others."""
    lifted_at: datetime | None = None
    """When a REMOVE lifted it (then it lives in ``SuppressionState.ended``); None while not lifted."""

    def active_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    @property
    def ended_at(self) -> datetime | None:
        """When it stopped blocking: lifted or expired, whichever came first; None while open-ended."""
        ends = [t for t in (self.lifted_at, self.expires_at) if t is not None]
        return min(ends) if ends else None

    def in_force_at(self, at: datetime) -> bool:
        """Whether it blocked at ``at``: made by then and not yet lifted or expired."""
        end = self.ended_at
        return self.created_at <= at and (end is None or at < end)

    def covers(self, channel: ConsentChannel, campaign_id: str) -> bool:
        """Whether this suppression blocks contacting the number on ``channel`` for ``campaign_id``.

        ALL_CHANNELS covers everything; VOICE covers VOICE and AUTODIALED_VOICE; SMS covers SMS;
        CAMPAIGN covers every channel of that campaign only. A CAMPAIGN suppression without a
        campaign id cannot say which campaign it meant, so it covers all of them.
        """
        if self.scope == "ALL_CHANNELS":
            return True
        if self.scope == "CAMPAIGN":
            return self.campaign_id is None or self.campaign_id == campaign_id
        return channel in _SCOPE_CHANNELS[self.scope]

    def lasts_at_least_as_long_as(self, other: Suppression) -> bool:
        if self.expires_at is None:
            return True
        return other.expires_at is not None and self.expires_at >= other.expires_at



@dataclass(frozen=True, slots=True)
class Removal:
    """Audit of one REMOVE: which suppressions it lifted, when and on whose word."""

    event_id: str
    removed_ids: tuple[str, ...]
    removed_at: datetime
    removed_by: str



@dataclass(frozen=True, slots=True)
class SuppressionState:
    """The suppressions of one number, in the order they were added, the ones that ended, and recent
    removals."""

    active: tuple[Suppression, ...] = ()
    removals: tuple[Removal, ...] = ()
    ended: tuple[Suppression, ...] = ()
    """Lifted or expired suppressions, oldest end first (at most ``MAX_ENDED``)."""
    history_from: datetime | None = None
    """Answers about instants before this may miss a suppression that was dropped; None: complete."""

    def knows(self, event_id: str) -> bool:
        """Whether ``event_id`` already created a suppression or a removal here."""
        return (any(s.suppression_id == event_id for s in self.active)
                or any(s.suppression_id == event_id for s in self.ended)
                or any(r.event_id == event_id or event_id in r.removed_ids for r in self.removals))

    def as_of(self, at: datetime) -> SuppressionState:
        """The suppressions as they were at ``at``: ``active`` those in force then, ``ended`` those
        made and ended by then, ``removals`` those made by then."""
        every = (*self.active, *self.ended)
        return SuppressionState(
            active=tuple(s for s in every if s.in_force_at(at)),
            removals=tuple(r for r in self.removals if r.removed_at <= at),
            ended=tuple(s for s in every if s.created_at <= at and (end := s.ended_at) is not None and end <= at),
            history_from=self.history_from,
        )


def add(state: SuppressionState, suppression: Suppression) -> SuppressionState:
    """Add ``suppression`` unless its id was already added (or added and since removed)."""
    if state.knows(suppression.suppression_id):
        return state
    active = (*state.active, suppression)
    if len(active) > MAX_ACTIVE:
        active = _drop_redundant(active)
    return replace(state, active=active)


def _drop_redundant(active: tuple[Suppression, ...]) -> tuple[Suppression, ...]:
    kept = list(active)
    for candidate in active:
        if len(kept) <= MAX_ACTIVE:
            break
        # Made no later and lasting at least as long: the other was in force whenever this one was,
        # so dropping it changes no answer, about the past included.
        redundant = any(
            other is not candidate
            and other.scope == candidate.scope
            and other.campaign_id == candidate.campaign_id
            and other.created_at <= candidate.created_at
            and other.lasts_at_least_as_long_as(candidate)
            for other in kept
        )
        if redundant:
            kept.remove(candidate)
    return tuple(kept)


def apply_opt_out(state: SuppressionState, opt_out: OptOut) -> SuppressionState:
    """Apply an opt-out event: ADD one suppression keyed by its event_id, or REMOVE matching ones.

    A REMOVE lifts the active suppressions with the same scope (and, for CAMPAIGN, the same
    campaign) that were created no later than the REMOVE itself, so a removal that arrives late
    never lifts a newer request. A TEMPORARY opt-out without ``expires_at`` does not expire (we
    cannot guess when it ends). Registry entries are never lifted (``REMOVABLE_SOURCES``). Every
    REMOVE is recorded, even one that matched nothing, so its replay is recognised.
    """
    if state.knows(opt_out["event_id"]):
        return state
    if opt_out["action"] == "ADD":
        temporary = opt_out["category"] == "TEMPORARY"
        return add(state, Suppression(
            suppression_id=opt_out["event_id"],
            scope=opt_out["scope"],
            category=opt_out["category"],
            campaign_id=opt_out["campaign_id"],
            source="OPT_OUT",
            added_by=opt_out["source"],
            evidence=_kept(opt_out["evidence"]),
            reason=_kept(opt_out["reason"]),
            created_at=opt_out["occurred_at"],
            expires_at=opt_out["expires_at"] if temporary else None,
        ))
    lifted = tuple(
        s for s in state.active
        if s.source in REMOVABLE_SOURCES
        and s.scope == opt_out["scope"]
        and (s.scope != "CAMPAIGN" or s.campaign_id == opt_out["campaign_id"])
        and s.created_at <= opt_out["occurred_at"]
    )
    removal = Removal(
        event_id=opt_out["event_id"],
        removed_ids=tuple(s.suppression_id for s in lifted),
        removed_at=opt_out["occurred_at"],
        removed_by=opt_out["source"],
    )
    lifted_ids = set(removal.removed_ids)
    return _with_ended(replace(
        state,
        active=tuple(s for s in state.active if s.suppression_id not in lifted_ids),
        removals=(*state.removals, removal)[-MAX_REMOVALS:],
    ), tuple(replace(s, lifted_at=opt_out["occurred_at"]) for s in lifted))


def _with_ended(state: SuppressionState, newly_ended: tuple[Suppression, ...]) -> SuppressionState:
    """``state`` with ``newly_ended`` kept in its history, bounded by ``MAX_ENDED`` (see the module doc)."""
    if not newly_ended:
        return state
    ended = sorted((*state.ended, *newly_ended), key=_end_key)
    history_from = state.history_from
    if len(ended) > MAX_ENDED:
        dropped, ended = ended[:-MAX_ENDED], ended[-MAX_ENDED:]
        latest = max(_end_key(s) for s in dropped)
        history_from = latest if history_from is None else max(history_from, latest)
    return replace(state, ended=tuple(ended), history_from=history_from)


def _end_key(suppression: Suppression) -> datetime:
    end = suppression.ended_at
    return end if end is not None else suppression.created_at


def _kept(text: str | None) -> str | None:
    """``text`` as a suppression keeps it: at most ``STATE_TEXT_MAX`` characters, marked when cut."""
    if text is None or len(text) <= STATE_TEXT_MAX:
        return text
    return text[: STATE_TEXT_MAX - 1] + "…"


def suppression_from_outcome(outcome: CallOutcome) -> Suppression | None:
    """The suppression a call outcome asks for, if any.

    DO_NOT_CALL: never expires, scope ``dnc_scope`` (ALL_CHANNELS when absent); category PERMANENT,
    or CHANNEL_LIMITED when the scope is one channel ("no calls, texts ok").
    Every other outcome: None. A NOT_NOW is a snooze of the lead's campaign, not a do-not-call
    request (``pipeline.core.snooze``); before snoozes it was stored here as a TEMPORARY suppression.
    """
    if outcome["outcome"] != "DO_NOT_CALL":
        return None
    scope = outcome["dnc_scope"] or "ALL_CHANNELS"
    category: SuppressionCategory = "CHANNEL_LIMITED" if scope in ("VOICE", "SMS") else "PERMANENT"
    return Suppression(
        suppression_id=outcome["event_id"],
        scope=scope,
        category=category,
        campaign_id=outcome["campaign_id"],
        source="CALL_OUTCOME",
        added_by=outcome["agent_id"] or "dialer",
        evidence=_kept(f"call-outcome {outcome['event_id']} for lead {outcome['lead_id']}"),
        reason=_kept(outcome["notes"]),
        created_at=outcome["occurred_at"],
        expires_at=None,
    )


def blocking(
    state: SuppressionState, *, channel: ConsentChannel, campaign_id: str, now: datetime
) -> tuple[Suppression, ...]:
    """Suppressions that forbid contacting the number on ``channel`` for ``campaign_id`` at ``now``.

    Permanent ones first, then oldest first, so the first names the strongest reason.
    """
    found = [s for s in state.active if s.active_at(now) and s.covers(channel, campaign_id)]
    found.sort(key=lambda s: (s.expires_at is not None, s.created_at))
    return tuple(found)


def without_expired(state: SuppressionState, now: datetime) -> SuppressionState:
    """Move suppressions that have expired by ``now`` from ``active`` to the bounded history: they
    block nothing now, but answers about the past still need them."""
    if all(s.active_at(now) for s in state.active):
        return state
    return _with_ended(replace(state, active=tuple(s for s in state.active if s.active_at(now))),
                       tuple(s for s in state.active if not s.active_at(now)))
