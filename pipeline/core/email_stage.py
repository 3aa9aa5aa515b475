"""The email stage: one writer per email address, so a lead whose email was already seen in its
campaign is a duplicate even when it comes with another phone number.

Per email (a keyed hash of it, ``email_table_key``) the recent leads of each campaign are kept as
:class:`EmailLeads`. The worker keeps them in a replicated email index (``<app>-emails-changelog``,
pipeline/worker/email_index.py) and checks a lead against it inside its batch, without a hop;
:func:`email_stage` is the same decision as the email agent of earlier releases made for the leads
still waiting on ``<app>-email-events`` after an upgrade, and what the reference runner of the
differential test (tests/streams) plays. It says where the lead goes next:

- the email is new for the campaign (or its last lead was captured longer ago than the campaign's
  ``duplicate_window_days``): the lead is remembered and goes to its own number, unmarked;
- an earlier lead with the same email is on the *same* number: it goes to that number unmarked (the
  number's writer finds the duplicate itself, and the lead's consent joins that number's ledger);
- an earlier lead is on *another* number: it goes to that number, keyed by it, with
  ``duplicate_of`` = the earlier lead's id; the writer there records a DUPLICATE decision naming it
  (``pipeline.core.number``), or sends it back to its own number when that earlier lead turned out
  not to be live (suppressed) — the writer of the original number is the one that knows.

Replays are harmless: a lead id already remembered goes where it went the first time. Leads without
an email, or with one that fails the syntax check, and every other event skip the stage.

Erasure: when a number's personal data is erased, the number's writer forwards the erasure to the
email stage under every email its leads had (``erasure_emails``), and :func:`forget_number` drops that
number's entries there, so no email row keeps the erased number or its lead ids.

Ordering (the hop of earlier releases): it could only make a lead reach its number *later* than
events sent after it (an opt-out, a consent change), so it was decided on newer state — the
conservative direction. An opt-out is never overtaken by a lead sent after it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import cast

from pipeline import topics
from pipeline.core.email import email_key
from pipeline.core.leads import NumberLeads
from pipeline.events import LeadCaptured, NumberEvent

MAX_ENTRIES = 32
"""Leads remembered per email, most recent last: more than any real person submits in a window."""


@dataclass(frozen=True, slots=True)
class EmailLead:
    lead_id: str
    campaign_id: str
    phone_e164: str
    captured_at: datetime



@dataclass(frozen=True, slots=True)
class EmailLeads:
    """The leads seen with one email address (a row of the ``emails`` table)."""

    leads: tuple[EmailLead, ...] = ()



def email_table_key(email: str, secret: bytes) -> bytes:
    """The topic and table key of an email identity: HMAC-SHA256 hex, so no address is a key."""
    return b"email:" + hmac.new(secret, email.encode(), hashlib.sha256).hexdigest().encode()


def email_route(event: NumberEvent) -> str | None:
    """The email identity a routed event must pass the email stage under, or None to skip it."""
    if event["input_topic"] != topics.LEAD_CAPTURED or event["duplicate_of"] is not None:
        return None
    return email_key(cast(LeadCaptured, event["event"])["email"])


def email_stage(state: EmailLeads, event: NumberEvent,
                window: timedelta) -> tuple[EmailLeads, str, NumberEvent]:
    """(new state, key, event to send on number-events) for a lead that passed ``email_route``.

    ``window`` is the lead's campaign's duplicate window (zero: no email dedupe for it).
    """
    lead = cast(LeadCaptured, event["event"])
    own = event["phone"]["phone_e164"]
    for known in state.leads:
        if known.lead_id == lead["lead_id"]:  # a replay, or the same lead resent: same way as before
            if known.phone_e164 == own:
                return state, own, event
            return state, known.phone_e164, {**event, "duplicate_of": known.lead_id}
    earlier = next(
        (known for known in reversed(state.leads)
         if known.campaign_id == lead["campaign_id"] and abs(lead["occurred_at"] - known.captured_at) < window),
        None,
    )
    if earlier is not None and earlier.phone_e164 == own:
        return state, own, event
    if earlier is not None:
        return state, earlier.phone_e164, {**event, "duplicate_of": earlier.lead_id}
    entry = EmailLead(lead["lead_id"], lead["campaign_id"], own, lead["occurred_at"])
    return replace(state, leads=(*state.leads, entry)[-MAX_ENTRIES:]), own, event


def erasure_emails(leads: NumberLeads) -> tuple[str, ...]:
    """The email identities (``email_key``) of a number's leads, each once: where its erasure must go."""
    keys = (email_key(lead.email) for lead in leads.leads)
    return tuple(dict.fromkeys(key for key in keys if key is not None))


def forget_number(state: EmailLeads, phone_e164: str) -> EmailLeads:
    """``state`` without the entries of ``phone_e164`` (its personal data was erased); the same object
    when it had none, so a replayed erasure writes nothing."""
    kept = tuple(lead for lead in state.leads if lead.phone_e164 != phone_e164)
    return state if len(kept) == len(state.leads) else replace(state, leads=kept)
