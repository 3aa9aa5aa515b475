"""How long an established business relationship (EBR) lasts under the pack: the shortest limit of
every applicable ``ebr`` rule, and the rule that decides it.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pipeline.core.rulepack.model import EbrKind, EbrLimit, EbrParams, require_aware
from pipeline.core.rulepack.pack import RulePack

RULE_NO_EBR = "rulepack.ebr"
"""Deciding rule of ``ebr_window`` when no EBR rule of the pack applies: no EBR exemption at all."""

_ONE_DAY = timedelta(days=1)


def ebr_window(
    pack: RulePack, jurisdictions: Sequence[str], kind: EbrKind, started_at: datetime
) -> tuple[datetime | None, str]:
    """When an established business relationship of ``kind`` begun at ``started_at`` ends (UTC), and
    the rule that decides it; the EBR is in force on [started_at, end).

    Every enabled ``ebr`` rule of ``jurisdictions`` (a state implies its country) that limits
    ``kind`` applies and the shortest wins; ties go to the state rule, then to pack order. Returns
    (None, rule id) when the deciding rule allows no EBR of this kind (an inquiry in MI, anything in
    IN), and (None, ``RULE_NO_EBR``) when no rule limits ``kind`` at all: the pack knows no EBR
    exemption there (say ``GB``).

    Months are calendar months on ``started_at``'s own clock (31 January + 1 month = end of
    February), days calendar days; business days are Monday to Friday on that clock, and holidays
    count as business days (the pack has no holiday table for this, and the EBR then ends no later
    than the law's). Rule dates: a rule counts from its first instant anywhere on earth; one taking
    effect after ``started_at`` cuts the EBR at its limit or at its effective date, whichever is
    later, and one whose ``ends`` comes first cuts nothing. Raises ValueError for a naive
    ``started_at``.
    """
    require_aware(started_at, "started_at")
    best: tuple[datetime, bool, int, str] | None = None  # (end, country rule?, pack position, id): least wins
    for rule in pack._index.rules_of(jurisdictions):
        limit = rule.params.limit(kind) if isinstance(rule.params, EbrParams) else None
        if limit is None:
            continue
        end = max(_ebr_end(started_at, limit), rule._from)
        if rule._until is not None and end >= rule._until:
            continue
        candidate = (end, "-" not in rule.jurisdiction, pack._index.position[rule.id], rule.id)
        if best is None or candidate < best:
            best = candidate
    if best is None:
        return None, RULE_NO_EBR
    end, _, _, rule_id = best
    return (None if end <= started_at else end.astimezone(UTC)), rule_id


def _ebr_end(start: datetime, limit: EbrLimit) -> datetime:
    if limit.unit == "months":
        months = start.month - 1 + limit.count
        year, month = start.year + months // 12, months % 12 + 1
        return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
    if limit.unit == "days":
        return start + timedelta(days=limit.count)
    end, left = start, limit.count
    while left:
        end += _ONE_DAY
        if end.weekday() < 5:  # Monday to Friday
            left -= 1
    return end
