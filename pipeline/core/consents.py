"""Consent ledger of one number: grants and revocations per purpose and channel, with proof.

One ``ConsentLedger`` per ``phone_e164`` lives in the ``consents`` table. Entries are keyed by the
event that made them (a replay changes nothing) and kept in arrival order.

How a question "may we contact this number for *purpose* on *channel* at *now*?" is answered
(``consent_status``):

- The entry that decides is the latest one covering (purpose, channel), by ``effective_at``; ties
  go to the later arrival.
- ``effective_at`` is when the consent was *given* for a grant with proof (``granted_at``), and
  when the event happened otherwise. A vendor re-sending a lead whose form was filled in before the
  person revoked must not bring the consent back.
- Purpose: an entry for "*" covers every purpose; otherwise only its own.
- Channels a **grant** covers: ANY → every channel; AUTODIALED_VOICE → autodialed and plain voice
  (consent to robocalls includes consent to a live call); VOICE → plain voice only (consent to a
  live call is not consent to an autodialer); SMS → SMS.
- Channels a **revocation** covers: every channel (FCC 24-24, COMPLIANCE.md ``us.revocation``:
  revoking calls revokes texts and vice versa), even one sent as ``channel_specific``. Only when
  counsel allows narrower revocations (``narrow_revocations``, from the rule pack's
  ``revocation_scope`` rules) does a channel-specific one cover just its channel, a VOICE one also
  autodialed voice (no calls means no robocalls either); the answer then names the revocation
  the narrower reading set aside (``ConsentStatus.narrowed``).
- Asking about ANY (a campaign that may use every channel) needs every channel: the worst answer
  over voice, autodialed voice and SMS is returned.
- A deciding grant whose ``expires_at`` has passed reads EXPIRED; no covering entry reads MISSING,
  and its detail lists what is on record for the purpose (an SMS-only grant, say).

**History.** Entries carry their effective instants, so ``ConsentLedger.as_of`` gives the ledger as
it was at a past instant (a later revocation does not reach back; a grant given later does not
count). When bounding drops an entry, ``history_from`` records from when answers are complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pipeline.core.frozen import replace
from pipeline.events import ConsentAction, ConsentChanged, ConsentChannel, ConsentProof, LeadCaptured

ConsentState = Literal["GRANTED", "REVOKED", "MISSING", "EXPIRED"]

EVERY_PURPOSE = "*"

MAX_ENTRIES = 50
"""Soft bound on entries per number, so the table value stays small. Over it, entries that can no
longer decide anything (a newer entry covers everything they cover) go first, then the oldest
grants: forgetting a grant can only make the answer stricter. A revocation that still decides
something is never dropped (forgetting it could make a number callable again), so the ledger can
exceed the bound only by one revocation per distinct (purpose, channel). A dropped entry may have
decided an answer about the past: ``ConsentLedger.history_from`` then moves to the newest effective
instant in the ledger."""

_LISTED_ON_RECORD = 3
"""Entries a MISSING answer lists from what is on record for the purpose."""

_CONCRETE: tuple[ConsentChannel, ...] = ("VOICE", "AUTODIALED_VOICE", "SMS")
_ALL = frozenset(_CONCRETE)
_GRANT_CHANNELS: dict[ConsentChannel, frozenset[ConsentChannel]] = {
    "ANY": _ALL,
    "AUTODIALED_VOICE": frozenset({"AUTODIALED_VOICE", "VOICE"}),
    "VOICE": frozenset({"VOICE"}),
    "SMS": frozenset({"SMS"}),
}
_SPECIFIC_REVOKE_CHANNELS: dict[ConsentChannel, frozenset[ConsentChannel]] = {
    "ANY": _ALL,
    "VOICE": frozenset({"VOICE", "AUTODIALED_VOICE"}),
    "AUTODIALED_VOICE": frozenset({"AUTODIALED_VOICE"}),
    "SMS": frozenset({"SMS"}),
}
# When asking about several channels, the worst answer wins.
_SEVERITY: dict[ConsentState, int] = {"GRANTED": 0, "EXPIRED": 1, "MISSING": 2, "REVOKED": 3}


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """One grant or revocation, with its proof."""

    event_id: str
    action: ConsentAction
    purpose: str
    channel: ConsentChannel
    channel_specific: bool
    effective_at: datetime
    """When the grant was given (proof ``granted_at``) or the revocation happened."""
    source: str
    certificate_id: str | None = None
    form_url: str | None = None
    consent_text: str | None = None
    ip: str | None = None
    expires_at: datetime | None = None

    def channels(self, narrow_revocations: bool = False) -> frozenset[ConsentChannel]:
        """The concrete channels (VOICE, AUTODIALED_VOICE, SMS) this entry speaks for; a revocation
        covers every channel unless ``narrow_revocations`` and it is channel-specific."""
        if self.action == "GRANT":
            return _GRANT_CHANNELS[self.channel]
        if narrow_revocations and self.channel_specific:
            return _SPECIFIC_REVOKE_CHANNELS[self.channel]
        return _ALL

    def covers(self, purpose: str, channel: ConsentChannel, narrow_revocations: bool = False) -> bool:
        """Whether this entry speaks for ``purpose`` on the concrete ``channel``."""
        return ((self.purpose == EVERY_PURPOSE or self.purpose == purpose)
                and channel in self.channels(narrow_revocations))

    def covers_all_of(self, other: ConsentEntry) -> bool:
        """Whether this entry speaks for everything ``other`` does under either revocation reading."""
        return (self.purpose == EVERY_PURPOSE or self.purpose == other.purpose) and (
            other.channels(narrow_revocations=False) <= self.channels(narrow_revocations=True)
        )

    def describe(self) -> str:
        proof = f", certificate {self.certificate_id}" if self.certificate_id else ""
        return (
            f"{self.action} {self.purpose}/{self.channel} by {self.source} "
            f"at {self.effective_at.isoformat()} (event {self.event_id}{proof})"
        )



@dataclass(frozen=True, slots=True)
class ConsentLedger:
    """Grants and revocations of one number, in arrival order."""

    entries: tuple[ConsentEntry, ...] = ()
    history_from: datetime | None = None
    """Answers about instants before this may miss an entry bounding dropped; None: complete."""

    def knows(self, event_id: str) -> bool:
        return any(e.event_id == event_id for e in self.entries)

    def as_of(self, at: datetime) -> ConsentLedger:
        """The ledger as it was at ``at``: the entries in effect by then."""
        return ConsentLedger(tuple(e for e in self.entries if e.effective_at <= at), self.history_from)


@dataclass(frozen=True, slots=True)
class ConsentStatus:
    """The answer for one (purpose, channel) at one instant, with the entry that decided it."""

    state: ConsentState
    entry: ConsentEntry | None
    detail: str
    narrowed: ConsentEntry | None = None
    """A channel-specific revocation that would have decided (REVOKED) had revocations covered
    every channel, set aside because counsel allowed narrower revocations."""


def _with_proof(entry: ConsentEntry, proof: ConsentProof | None) -> ConsentEntry:
    if proof is None:
        return entry
    return replace(
        entry,
        certificate_id=proof["certificate_id"],
        form_url=proof["form_url"],
        consent_text=proof["consent_text"],
        ip=proof["ip"],
        expires_at=proof["expires_at"] if entry.action == "GRANT" else None,
    )


def record(ledger: ConsentLedger, entry: ConsentEntry) -> ConsentLedger:
    """Append ``entry`` unless its event is already in the ledger; keep the ledger bounded."""
    if ledger.knows(entry.event_id):
        return ledger
    entries = (*ledger.entries, entry)
    history_from = ledger.history_from
    if len(entries) > MAX_ENTRIES:
        newest = max(e.effective_at for e in entries)
        entries = _bounded(entries)
        history_from = newest if history_from is None else max(history_from, newest)
    return ConsentLedger(entries, history_from)


def _shadowed(entries: tuple[ConsentEntry, ...], index: int) -> bool:
    """Whether a later-deciding entry covers everything ``entries[index]`` covers."""
    entry = entries[index]
    return any(
        other.covers_all_of(entry)
        and (other.effective_at, position) > (entry.effective_at, index)
        for position, other in enumerate(entries)
        if position != index
    )


def _bounded(entries: tuple[ConsentEntry, ...]) -> tuple[ConsentEntry, ...]:
    kept = list(entries)
    by_age = sorted(range(len(entries)), key=lambda i: (entries[i].effective_at, i))
    dropped: set[int] = set()
    for index in by_age:
        if len(kept) - len(dropped) <= MAX_ENTRIES:
            break
        if _shadowed(entries, index):
            dropped.add(index)
    for index in by_age:
        if len(kept) - len(dropped) <= MAX_ENTRIES:
            break
        if entries[index].action == "GRANT":
            dropped.add(index)
    return tuple(e for i, e in enumerate(entries) if i not in dropped)


def apply_consent_change(ledger: ConsentLedger, ev: ConsentChanged) -> ConsentLedger:
    """Record a consent-changed event. A grant's proof supplies its evidence, ``granted_at`` and
    expiry; the event's own purpose and channel say what changed."""
    proof = ev["proof"]
    granted_at = proof["granted_at"] if proof is not None else None
    entry = ConsentEntry(
        event_id=ev["event_id"],
        action=ev["action"],
        purpose=ev["purpose"],
        channel=ev["channel"],
        channel_specific=ev["channel_specific"],
        effective_at=granted_at if ev["action"] == "GRANT" and granted_at is not None else ev["occurred_at"],
        source=ev["source"],
    )
    return record(ledger, _with_proof(entry, proof))


def grant_from_lead(ledger: ConsentLedger, lead: LeadCaptured) -> ConsentLedger:
    """Record the consent captured with a lead (if any) as a grant keyed by the lead's event_id."""
    proof = lead["consent"]
    if proof is None:
        return ledger
    # The entry _with_proof would make, built at once (a new lead's every decision pays for it).
    entry = ConsentEntry(
        event_id=lead["event_id"],
        action="GRANT",
        purpose=proof["purpose"],
        channel=proof["channel"],
        channel_specific=False,
        effective_at=proof["granted_at"],
        source=lead["source"],
        certificate_id=proof["certificate_id"],
        form_url=proof["form_url"],
        consent_text=proof["consent_text"],
        ip=proof["ip"],
        expires_at=proof["expires_at"],
    )
    return record(ledger, entry)


def consent_status(
    ledger: ConsentLedger, *, purpose: str, channel: ConsentChannel, now: datetime,
    narrow_revocations: bool = False,
) -> ConsentStatus:
    """May the number be contacted for ``purpose`` on ``channel`` at ``now``? See the module doc."""
    status = _worst(ledger, purpose, channel, now, narrow_revocations)
    if narrow_revocations and status.state != "REVOKED":
        broad = _worst(ledger, purpose, channel, now, False)
        if broad.state == "REVOKED":
            return replace(status, narrowed=broad.entry)
    return status


def _worst(ledger: ConsentLedger, purpose: str, channel: ConsentChannel, now: datetime,
           narrow: bool) -> ConsentStatus:
    needed = _CONCRETE if channel == "ANY" else (channel,)
    statuses = [_status_on(ledger, purpose, concrete, now, narrow) for concrete in needed]
    return max(statuses, key=lambda status: _SEVERITY[status.state])


def _status_on(ledger: ConsentLedger, purpose: str, channel: ConsentChannel, now: datetime,
               narrow: bool) -> ConsentStatus:
    deciding: ConsentEntry | None = None
    for entry in ledger.entries:
        if not entry.covers(purpose, channel, narrow):
            continue
        # ">=": among equal instants the later arrival decides.
        if deciding is None or entry.effective_at >= deciding.effective_at:
            deciding = entry
    if deciding is None:
        return ConsentStatus("MISSING", None, f"no consent on record for {purpose}/{channel}"
                             + _on_record(ledger, purpose))
    if deciding.action == "REVOKE":
        return ConsentStatus("REVOKED", deciding, f"{purpose}/{channel} revoked: {deciding.describe()}")
    if deciding.expires_at is not None and now >= deciding.expires_at:
        return ConsentStatus(
            "EXPIRED", deciding,
            f"{purpose}/{channel} consent expired {deciding.expires_at.isoformat()}: {deciding.describe()}",
        )
    return ConsentStatus("GRANTED", deciding, f"{purpose}/{channel} granted: {deciding.describe()}")


def _on_record(ledger: ConsentLedger, purpose: str) -> str:
    """What the ledger does hold for ``purpose`` (newest first), so a MISSING answer matches the record."""
    held = [e for e in reversed(ledger.entries) if e.purpose in (purpose, EVERY_PURPOSE)]
    if not held:
        return ""
    listed = "; ".join(e.describe() for e in held[:_LISTED_ON_RECORD])
    more = f" and {len(held) - _LISTED_ON_RECORD} more" if len(held) > _LISTED_ON_RECORD else ""
    return f"; on record for {purpose}: {listed}{more}"
