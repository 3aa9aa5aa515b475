"""Erasure: remove everything personal about a number while its objection survives.

GDPR Art. 17 erasure must not erase the suppression itself, or the next import of the same number
would bring the calls back. An erasure request (an opt-out with action ERASE) therefore empties the
number's suppression, consent and lead rows — the worker deletes them, which writes tombstones to
the compacted changelogs — and leaves one marker keyed by an HMAC of the number: no number, no
name, only when and on whose request. Every later event for the number finds the marker and is
suppressed without storing anything about it again.

The HMAC key (``LEADPIPE_ERASURE_KEY``) must stay the same for the life of the data: a new key
cannot find the old markers.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from pipeline.core.reasons import reason
from pipeline.events import Reason

RULE_ERASURE = "privacy.erasure"


def erasure_key(phone_e164: str, secret: bytes) -> bytes:
    """The table key of a number's erasure marker: HMAC-SHA256 of the number, hex, prefixed."""
    return b"erased:" + hmac.new(secret, phone_e164.encode(), hashlib.sha256).hexdigest().encode()


@dataclass(frozen=True, slots=True)
class Erasure:
    """The marker left after an erasure: the objection, without the person."""

    erased_at: datetime
    request_event_id: str
    requested_by: str

    def reason(self) -> Reason:
        return reason("DNC_ERASED", RULE_ERASURE, (f"personal data erased on request {self.request_event_id} by "
                                                   f"{self.requested_by} at {self.erased_at.isoformat()}; "
                                                   f"the objection stands"))
