"""Consent ledger of one number: which grant or revocation decides, on which channels and purposes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import get_args

import pytest
from core_builders import INSTANTS, T0, consent_change, lead, proof
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.consents import (
    MAX_ENTRIES,
    ConsentEntry,
    ConsentLedger,
    apply_consent_change,
    consent_status,
    grant_from_lead,
    record,
)
from pipeline.events import ConsentAction, ConsentChannel
from pipeline.state_codec import decode, encode

LATER = T0 + timedelta(hours=1)


def grant(channel: ConsentChannel, *, purpose: str = "marketing", event_id: str = "g") -> ConsentLedger:
    return apply_consent_change(
        ConsentLedger(),
        consent_change(
            event_id,
            action="GRANT",
            purpose=purpose,
            channel=channel,
            with_proof=proof(channel=channel, purpose=purpose, granted_at=T0),
        ),
    )


def state_of(ledger: ConsentLedger, channel: ConsentChannel, purpose: str = "marketing", *,
             narrow: bool = False) -> str:
    return consent_status(ledger, purpose=purpose, channel=channel, now=LATER, narrow_revocations=narrow).state


def test_a_lead_without_consent_leaves_the_ledger_alone() -> None:
    ledger = ConsentLedger()
    assert grant_from_lead(ledger, lead(consent=None)) is ledger
    assert state_of(ledger, "VOICE") == "MISSING"


def test_a_lead_consent_is_a_grant_with_its_proof() -> None:
    ledger = grant_from_lead(ConsentLedger(), lead("lead-ev-9", consent=proof(certificate_id="tf-123")))
    status = consent_status(ledger, purpose="marketing", channel="AUTODIALED_VOICE", now=LATER)

    assert status.state == "GRANTED"
    assert status.entry is not None
    assert (status.entry.event_id, status.entry.certificate_id, status.entry.ip) == (
        "lead-ev-9",
        "tf-123",
        "203.0.113.7",
    )
    assert "tf-123" in status.detail


def test_applying_the_same_event_twice_changes_nothing() -> None:
    once = grant_from_lead(ConsentLedger(), lead())
    assert grant_from_lead(once, lead()) is once
    revoked = apply_consent_change(once, consent_change("rev"))
    assert apply_consent_change(revoked, consent_change("rev")) is revoked


@pytest.mark.parametrize(
    ("granted", "asked", "state"),
    [
        ("ANY", "VOICE", "GRANTED"),
        ("ANY", "AUTODIALED_VOICE", "GRANTED"),
        ("ANY", "SMS", "GRANTED"),
        ("ANY", "ANY", "GRANTED"),
        ("AUTODIALED_VOICE", "AUTODIALED_VOICE", "GRANTED"),
        ("AUTODIALED_VOICE", "VOICE", "GRANTED"),
        ("AUTODIALED_VOICE", "SMS", "MISSING"),
        ("VOICE", "VOICE", "GRANTED"),
        ("VOICE", "AUTODIALED_VOICE", "MISSING"),
        ("VOICE", "ANY", "MISSING"),
        ("SMS", "SMS", "GRANTED"),
        ("SMS", "VOICE", "MISSING"),
    ],
)
def test_which_channels_a_grant_covers(granted: ConsentChannel, asked: ConsentChannel, state: str) -> None:
    assert state_of(grant(granted), asked) == state


@pytest.mark.parametrize(
    ("revoked", "specific", "asked", "state"),
    [
        ("SMS", False, "VOICE", "REVOKED"),  # FCC 24-24: revoking texts revokes calls
        ("VOICE", False, "SMS", "REVOKED"),
        ("SMS", True, "VOICE", "GRANTED"),
        ("SMS", True, "SMS", "REVOKED"),
        ("VOICE", True, "AUTODIALED_VOICE", "REVOKED"),
        ("VOICE", True, "SMS", "GRANTED"),
        ("AUTODIALED_VOICE", True, "VOICE", "GRANTED"),
        ("AUTODIALED_VOICE", True, "AUTODIALED_VOICE", "REVOKED"),
        ("AUTODIALED_VOICE", True, "ANY", "REVOKED"),
        ("ANY", True, "SMS", "REVOKED"),
    ],
)
def test_which_channels_a_revocation_covers_when_counsel_allows_narrow_revocations(
    revoked: ConsentChannel, specific: bool, asked: ConsentChannel, state: str
) -> None:
    ledger = apply_consent_change(
        grant("ANY"),
        consent_change(
            "rev",
            purpose="marketing",
            channel=revoked,
            channel_specific=specific,
            occurred_at=T0 + timedelta(minutes=1),
        ),
    )
    assert state_of(ledger, asked, narrow=True) == state
    narrowed = consent_status(ledger, purpose="marketing", channel=asked, now=LATER, narrow_revocations=True).narrowed
    assert (narrowed is not None) == (state == "GRANTED")  # the set-aside revocation is named


@pytest.mark.parametrize("revoked", get_args(ConsentChannel))
@pytest.mark.parametrize("asked", get_args(ConsentChannel))
def test_by_default_every_revocation_covers_calls_and_texts_even_a_channel_specific_one(
    revoked: ConsentChannel, asked: ConsentChannel
) -> None:
    ledger = apply_consent_change(grant("ANY"), consent_change(
        "rev", purpose="marketing", channel=revoked, channel_specific=True, occurred_at=T0 + timedelta(minutes=1)))
    status = consent_status(ledger, purpose="marketing", channel=asked, now=LATER)
    assert (status.state, status.narrowed) == ("REVOKED", None)


def test_missing_consent_lists_what_is_on_record_for_the_purpose() -> None:
    status = consent_status(grant("SMS"), purpose="marketing", channel="VOICE", now=LATER)
    assert status.state == "MISSING"
    assert status.detail.startswith("no consent on record for marketing/VOICE; on record for marketing: GRANT "
                                    "marketing/SMS")
    bare = consent_status(ConsentLedger(), purpose="marketing", channel="VOICE", now=LATER)
    assert bare.detail == "no consent on record for marketing/VOICE"


def test_as_of_a_past_instant_a_later_revocation_does_not_reach_back_nor_a_later_grant() -> None:
    ledger = apply_consent_change(grant("ANY"), consent_change("rev", occurred_at=T0 + timedelta(days=30)))
    ledger = apply_consent_change(ledger, consent_change(
        "g2", action="GRANT", with_proof=proof(channel="ANY", granted_at=T0 + timedelta(days=60))))

    def at(days: int) -> str:
        instant = T0 + timedelta(days=days)
        return consent_status(ledger.as_of(instant), purpose="marketing", channel="VOICE", now=instant).state

    assert [at(-1), at(1), at(31), at(61)] == ["MISSING", "GRANTED", "REVOKED", "GRANTED"]


@pytest.mark.parametrize(
    ("granted_purpose", "revoked_purpose", "asked", "state"),
    [
        ("marketing", "*", "marketing", "REVOKED"),
        ("marketing", "sales", "marketing", "GRANTED"),
        ("*", "sales", "marketing", "GRANTED"),
        ("*", "sales", "sales", "REVOKED"),
        ("*", None, "appointment", "GRANTED"),
        ("sales", None, "marketing", "MISSING"),
    ],
)
def test_purposes(granted_purpose: str, revoked_purpose: str | None, asked: str, state: str) -> None:
    ledger = grant("ANY", purpose=granted_purpose)
    if revoked_purpose is not None:
        ledger = apply_consent_change(
            ledger, consent_change("rev", purpose=revoked_purpose, occurred_at=T0 + timedelta(minutes=1))
        )
    assert state_of(ledger, "VOICE", asked) == state


def test_the_latest_entry_decides_whatever_the_arrival_order() -> None:
    revoke_then_grant = apply_consent_change(
        apply_consent_change(ConsentLedger(), consent_change("rev", occurred_at=T0)),
        consent_change("g", action="GRANT", with_proof=proof(granted_at=T0 + timedelta(minutes=1))),
    )
    grant_arrives_late = apply_consent_change(
        apply_consent_change(ConsentLedger(), consent_change("rev", occurred_at=T0 + timedelta(minutes=1))),
        consent_change("g", action="GRANT", with_proof=proof(granted_at=T0)),
    )
    assert state_of(revoke_then_grant, "VOICE") == "GRANTED"
    assert state_of(grant_arrives_late, "VOICE") == "REVOKED"


def test_a_vendor_resending_a_lead_captured_before_a_revocation_does_not_restore_consent() -> None:
    ledger = apply_consent_change(ConsentLedger(), consent_change("rev", occurred_at=T0))
    resent = lead(
        "lead-ev-resent",
        occurred_at=T0 + timedelta(days=3),
        consent=proof(granted_at=T0 - timedelta(days=10)),
    )
    assert state_of(grant_from_lead(ledger, resent), "VOICE") == "REVOKED"


def test_on_a_tie_the_later_arrival_decides() -> None:
    grant_first = apply_consent_change(grant("ANY"), consent_change("rev", occurred_at=T0))
    revoke_first = apply_consent_change(
        apply_consent_change(ConsentLedger(), consent_change("rev", occurred_at=T0)),
        consent_change("g", action="GRANT", channel="ANY", with_proof=proof(channel="ANY", granted_at=T0)),
    )
    assert state_of(grant_first, "VOICE") == "REVOKED"
    assert state_of(revoke_first, "VOICE") == "GRANTED"


def test_a_grant_expires() -> None:
    until = T0 + timedelta(days=90)
    ledger = grant_from_lead(ConsentLedger(), lead(consent=proof(expires_at=until)))

    before = consent_status(ledger, purpose="marketing", channel="VOICE", now=until - timedelta(seconds=1))
    after = consent_status(ledger, purpose="marketing", channel="VOICE", now=until)
    assert (before.state, after.state) == ("GRANTED", "EXPIRED")
    assert after.entry is not None and after.entry.expires_at == until


def test_a_grant_without_proof_counts_from_when_it_was_recorded() -> None:
    ledger = apply_consent_change(ConsentLedger(), consent_change("g", action="GRANT", channel="VOICE"))
    status = consent_status(ledger, purpose="marketing", channel="VOICE", now=LATER)
    assert status.state == "GRANTED"
    assert status.entry is not None and status.entry.effective_at == T0


def test_the_ledger_stays_bounded_and_keeps_the_revocation_that_decides() -> None:
    ledger = apply_consent_change(
        ConsentLedger(),
        consent_change(
            "rev-sms",
            channel="SMS",
            channel_specific=True,
            purpose="marketing",
            occurred_at=T0 + timedelta(days=1000),
        ),
    )
    for n in range(MAX_ENTRIES * 3):
        ledger = grant_from_lead(
            ledger,
            lead(
                f"lead-{n}",
                occurred_at=T0 + timedelta(days=n),
                consent=proof(channel="VOICE", granted_at=T0 + timedelta(days=n)),
            ),
        )
    assert len(ledger.entries) == MAX_ENTRIES
    assert state_of(ledger, "SMS", narrow=True) == "REVOKED"
    assert state_of(ledger, "VOICE", narrow=True) == "GRANTED"
    # Entries were dropped: answers about instants before the newest one may be incomplete.
    assert ledger.history_from == T0 + timedelta(days=1000)


def test_a_ledger_written_before_history_was_kept_still_loads() -> None:
    row = {"entries": [{"event_id": "lead-ev-1", "action": "GRANT", "purpose": "marketing", "channel": "ANY",
                        "effective_at": "2025-06-02T14:55:00+00:00", "source": "solar-form",
                        "certificate_id": "cert-1"}]}
    ledger = decode(ConsentLedger, json.dumps(row).encode())
    assert ledger.history_from is None  # far from full: nothing can have been dropped
    assert state_of(ledger, "VOICE") == "GRANTED"


optional_text = st.none() | st.text(max_size=20)
purposes = st.sampled_from(["*", "marketing", "sales"])
channels = st.sampled_from(get_args(ConsentChannel))
entries = st.builds(
    ConsentEntry,
    event_id=st.text(min_size=1, max_size=12),
    action=st.sampled_from(get_args(ConsentAction)),
    purpose=purposes,
    channel=channels,
    channel_specific=st.booleans(),
    effective_at=INSTANTS,
    source=st.text(max_size=10),
    certificate_id=optional_text,
    form_url=optional_text,
    consent_text=optional_text,
    ip=optional_text,
    expires_at=st.none() | INSTANTS,
)


@given(st.lists(entries, max_size=6).map(tuple))
def test_ledger_round_trips_through_its_table_row(items: tuple[ConsentEntry, ...]) -> None:
    ledger = ConsentLedger(items)
    assert decode(ConsentLedger, encode(ledger)) == ledger


@settings(max_examples=40, deadline=None)
@given(
    st.lists(entries, min_size=MAX_ENTRIES, max_size=MAX_ENTRIES + 40, unique_by=lambda e: e.event_id),
    purposes.filter(lambda p: p != "*"),
    channels,
)
def test_bounding_never_forgets_a_deciding_revocation(
    items: list[ConsentEntry], purpose: str, channel: ConsentChannel
) -> None:
    everything = ConsentLedger(tuple(items))
    bounded = ConsentLedger()
    for entry in items:
        bounded = record(bounded, entry)

    for narrow in (False, True):
        full = consent_status(everything, purpose=purpose, channel=channel, now=T0, narrow_revocations=narrow)
        kept = consent_status(bounded, purpose=purpose, channel=channel, now=T0, narrow_revocations=narrow)
        if full.state == "REVOKED":
            assert kept.state == "REVOKED"
