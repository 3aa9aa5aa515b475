"""NOT_NOW answers stored before snoozes existed, turned into snoozes.

Before :mod:`pipeline.core.snooze`, a NOT_NOW call outcome was stored as a TEMPORARY suppression
(scope ALL_CHANNELS unless the dialer sent one) and blocked every campaign of the number, even for
leads captured while it lasted. :func:`migrate_not_now` rewrites such rows the first time the number
is touched. It reads both the suppressions and the leads, so it sits above both modules (and above
the snooze module the leads store).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from pipeline.core.leads import NumberLeads
from pipeline.core.snooze import Snooze
from pipeline.core.suppressions import Suppression, SuppressionState

_LEAD_IN_EVIDENCE = re.compile(r"for lead (?P<lead_id>\S+)$")


def is_stored_not_now(suppression: Suppression) -> bool:
    """A suppression written for a NOT_NOW outcome before snoozes existed: the only TEMPORARY
    suppression a call outcome ever made (a DO_NOT_CALL is PERMANENT or CHANNEL_LIMITED)."""
    return suppression.source == "CALL_OUTCOME" and suppression.category == "TEMPORARY"


def migrate_not_now(suppressions: SuppressionState, leads: NumberLeads,
                    now: datetime) -> tuple[SuppressionState, NumberLeads]:
    """Turn stored NOT_NOW suppressions into snoozes of their campaign, and give back the leads they
    wrongly blocked: a lead captured while one was in force and SUPPRESSED is re-decided (it waits
    for an immediate release, through every compliance check; a real do-not-call still stops it).

    Returns the very same objects when there is nothing to migrate.
    """
    stored = tuple(s for s in suppressions.active if is_stored_not_now(s))
    if not stored:
        return suppressions, leads
    freed = list(leads.leads)
    for old in stored:
        if old.expires_at is not None and old.active_at(now):
            match = _LEAD_IN_EVIDENCE.search(old.evidence or "")
            snooze = Snooze(old.campaign_id or "", match["lead_id"] if match else "", old.expires_at,
                            old.suppression_id, old.created_at)
            leads = leads.snoozed(snooze, now)
        for i, lead in enumerate(freed):
            if (lead.status == "SUPPRESSED" and not lead.offered and lead.captured_at is not None
                    and old.created_at <= lead.captured_at
                    and (old.expires_at is None or lead.captured_at < old.expires_at)):
                freed[i] = replace(lead, status="NEW", deferred_until=now)
    kept = tuple(s for s in suppressions.active if not is_stored_not_now(s))
    return replace(suppressions, active=kept), replace(leads, leads=tuple(freed))
