"""Where an input event is decided: here, at once, or by another number's writer.

Every event about a number must be decided by that number's single writer, on the partition its
table rows live on. Producers that key an input by its E.164 number with Kafka's murmur2
partitioner (the gateway, the importer, the connectors) put it there already: the writer decides it
at once, with no hop. Anything else — a vendor keying by lead id, a number written in national
format, another partitioner — is re-keyed onto ``<app>-number-events`` first.

Leads with an email also meet the email index (:mod:`pipeline.core.email_stage`) at this point. A
lead whose email was not seen in its campaign on another number stays where it is; only a probable
duplicate — its email seen on another number within the campaign's window — is diverted to that
number's writer, which knows whether the earlier lead is still live. Pure: the worker looks up the
index row and the partitions and carries the answer out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pipeline.core.email_stage import EmailLeads, email_stage
from pipeline.events import NumberEvent


@dataclass(frozen=True, slots=True)
class EmailCheck:
    """The email index row of a lead's email and its campaign's duplicate window."""

    row: EmailLeads
    window: timedelta


@dataclass(frozen=True, slots=True)
class Hop:
    key: str
    """The number (E.164) whose writer decides the event."""
    event: NumberEvent
    """The event as that writer must see it (``duplicate_of`` set when the email index diverted it)."""
    here: bool
    """True when this writer is that writer and the record sits on its partition: decide it now."""
    email_row: EmailLeads | None
    """The email index row after this lead when it changed (the worker writes it back), else None."""


def first_hop(event: NumberEvent, *, arrived_key: bytes | None, arrived_partition: int, home_partition: int,
              email: EmailCheck | None) -> Hop:
    """Where the routed input ``event`` goes from the record it arrived in.

    ``home_partition`` is the partition of the number's own key; ``email`` is given for a lead that
    passes the email index (``email_stage.email_route``) while email dedupe is on.
    """
    own = event["phone"]["phone_e164"]
    key, onward, row = own, event, None
    if email is not None:
        new_row, key, onward = email_stage(email.row, event, email.window)
        row = new_row if new_row is not email.row else None
    here = key == own and arrived_partition == home_partition and arrived_key == own.encode()
    return Hop(key, onward, here, row)
