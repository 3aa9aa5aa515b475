"""The state of one phone number: its three table rows (and the erasure marker that replaces them).

``pipeline.core.number.process`` reads and returns it; ``pipeline.core.evaluation`` judges a call
from it; ``NumberState.as_of`` gives it as it was at a past instant, for the dial-time check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipeline.core.consents import ConsentLedger
from pipeline.core.erasure import Erasure
from pipeline.core.leads import NumberLeads
from pipeline.core.suppressions import SuppressionState


@dataclass(frozen=True, slots=True)
class NumberState:
    """The three table values of one number, one per table (``topics.TABLES``), each stored as one
    row (``pipeline.state_codec``). ``process`` returns a part it did not change as the very same object, so the
    agent writes back exactly the parts that are not ``is``-identical (``leads`` always changes:
    it remembers the event id). Each value is idempotent on its own should a crash split the writes."""

    suppressions: SuppressionState = field(default_factory=SuppressionState)
    consents: ConsentLedger = field(default_factory=ConsentLedger)
    leads: NumberLeads = field(default_factory=NumberLeads)
    erasure: Erasure | None = None
    """Set once the number's personal data was erased: the three parts are then empty and the
    agent deletes their rows (tombstones) instead of writing them."""

    @classmethod
    def empty(cls) -> NumberState:
        return cls()

    def as_of(self, at: datetime) -> NumberState:
        """The state as it was at ``at``, from the history each part keeps: suppressions in force
        then, consent entries in effect by then, call attempts made by then. Lead records (and the
        addresses they give) are taken as they are now. An erasure made after ``at`` is kept: the
        state before it is gone, and the caller must say so (``erased_before``)."""
        if self.erasure is not None:
            return self
        return NumberState(self.suppressions.as_of(at), self.consents.as_of(at), self.leads.as_of(at))

    def erased_before(self, at: datetime) -> bool:
        """Whether an erasure happened after ``at``: the state at ``at`` can no longer be told."""
        return self.erasure is not None and at < self.erasure.erased_at
