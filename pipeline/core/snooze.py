"""The "not now" answer: a per-lead, per-campaign snooze — never a do-not-call entry.

A person who says "not now" on a call about campaign C is called back about C at the date they gave
(``callback_at``, or the lifecycle's ``not_now_default``): the lead waits as a CALLBACK, and every
other lead of C for the same number waits until then too (DEFERRED, reason ``NOT_NOW_SNOOZE``).
Other campaigns are untouched, and the snooze ends by itself at its date: nothing has to lift it.

Snoozes live with the number's leads (``NumberLeads.snoozes``, the ``leads`` table). Before this
module, a NOT_NOW was stored as a TEMPORARY suppression from a call outcome (scope ALL_CHANNELS
unless the dialer sent one) and blocked every campaign, even for leads captured while it lasted;
:func:`pipeline.core.snooze_migration.migrate_not_now` turns those rows into snoozes the first time
the number is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.core.reasons import reason
from pipeline.events import CallOutcome, Reason

RULE_SNOOZE = "lifecycle.snooze.not_now"
MAX_SNOOZES = 16
"""Snoozes kept per number: the newest of each campaign, then — while room is left — those they
replaced or that ended, newest first, so an answer about the past sees the snooze in force then."""


@dataclass(frozen=True, slots=True)
class Snooze:
    """Calls about ``campaign_id`` wait until ``until``: ``lead_id``'s person said "not now"."""

    campaign_id: str
    lead_id: str
    until: datetime
    evidence: str
    """event_id of the NOT_NOW call outcome."""
    since: datetime | None = None
    """When the person said it (the call outcome's instant); None in rows written before it was
    kept. Answers about the past (``NumberLeads.as_of``) skip a snooze said later."""

    def active_at(self, now: datetime) -> bool:
        return now < self.until

    def reason(self) -> Reason:
        return reason("NOT_NOW_SNOOZE", RULE_SNOOZE, (
            f"lead {self.lead_id} said not now on call {self.evidence}: calls about campaign "
            f"{self.campaign_id} wait until {self.until.isoformat()} (a snooze, not a do-not-call)"))



def snooze_from_outcome(outcome: CallOutcome, *, not_now_default: timedelta) -> Snooze | None:
    """The snooze a NOT_NOW outcome asks for (until ``callback_at``, else ``not_now_default`` after
    the call); None for every other outcome."""
    if outcome["outcome"] != "NOT_NOW":
        return None
    until = outcome["callback_at"] or outcome["occurred_at"] + not_now_default
    return Snooze(outcome["campaign_id"], outcome["lead_id"], until, outcome["event_id"], outcome["occurred_at"])


def with_snooze(snoozes: tuple[Snooze, ...], snooze: Snooze,
                now: datetime) -> tuple[tuple[Snooze, ...], datetime | None]:
    """``snoozes`` with ``snooze`` added as its campaign's newest, and the latest end of any snooze
    dropped to make room (None: none dropped). What it replaces, and snoozes that ended, stay as
    history while there is room (``MAX_SNOOZES``): the oldest history goes first, then the oldest
    campaigns' snoozes."""
    everything = (*snoozes, snooze)
    if len(everything) <= MAX_SNOOZES:
        return everything, None
    newest = {s.campaign_id: i for i, s in enumerate(everything)}
    current = set(newest.values())
    history = [i for i in range(len(everything)) if i not in current and not everything[i].active_at(now)]
    history += [i for i in range(len(everything)) if i not in current and everything[i].active_at(now)]
    history += sorted(current)
    drop = set(history[:len(everything) - MAX_SNOOZES])
    dropped_until = max(everything[i].until for i in drop)
    return tuple(s for i, s in enumerate(everything) if i not in drop), dropped_until


def active_snooze(snoozes: tuple[Snooze, ...], campaign_id: str, now: datetime) -> Snooze | None:
    """The snooze holding calls about ``campaign_id`` at ``now``, if any: the campaign's newest one
    (the one said last replaces those before it), when it has not ended."""
    newest = next((s for s in reversed(snoozes) if s.campaign_id == campaign_id), None)
    return newest if newest is not None and newest.active_at(now) else None
