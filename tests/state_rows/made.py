"""Rows the mixed stream does not make, written by today's code from states built here.

The stream never fills a row to its bounds (so ``history`` never records a dropped entry), never
uses some enum values (lead status REJECTED and NURTURE, suppression sources CONSENT_REVOCATION,
REGISTRY and IMPORT), never sends non-ASCII text and keeps every instant in UTC. The states below
are built directly and written with the worker's own row encoding (``pipeline.worker.state.dump``
until d5198ea, ``pipeline.state_codec.encode`` since), so their bytes are what that worker writes
for them. :data:`PREVIOUS_RELEASE` adds rows in the
shape of release 0.1 (before ``history`` was kept), as its worker wrote them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

from pipeline import topics
from pipeline.core.consents import MAX_ENTRIES, ConsentEntry, ConsentLedger
from pipeline.core.email_stage import MAX_ENTRIES as MAX_EMAIL_ENTRIES
from pipeline.core.email_stage import EmailLead, EmailLeads
from pipeline.core.erasure import Erasure
from pipeline.core.leads import MAX_LEADS, MAX_SEEN_EVENT_IDS, LeadRecord, LeadStatus, NumberLeads
from pipeline.core.snooze import Snooze
from pipeline.core.suppressions import (
    MAX_ACTIVE,
    MAX_ENDED,
    MAX_REMOVALS,
    Removal,
    Suppression,
    SuppressionSource,
    SuppressionState,
)
from pipeline.events import CallOutcomeCode

T0 = datetime(2025, 6, 2, 15, 0, 0, 123456, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
KEY = b"+13052094411"


def _suppression(i: int, source: SuppressionSource, **changes: object) -> Suppression:
    base = Suppression(f"sup-{i}", "ALL_CHANNELS", "PERMANENT", None, source, f"agent-{i}", None, None,
                       T0 + timedelta(minutes=i), None)
    fields = {name: getattr(base, name) for name in Suppression.__dataclass_fields__}
    return Suppression(**{**fields, **changes})


def suppression_states() -> list[SuppressionState]:
    sources: tuple[SuppressionSource, ...] = get_args(SuppressionSource)
    every_source = tuple(_suppression(i, source) for i, source in enumerate(sources))
    full = SuppressionState(
        active=tuple(_suppression(i, "IMPORT", scope="CAMPAIGN", campaign_id=f"camp-{i}", category="TEMPORARY",
                                  expires_at=T0 + timedelta(days=30 + i), evidence="import file ✓ row " + str(i),
                                  reason="Müller asked: «nicht anrufen»")
                     for i in range(MAX_ACTIVE)),
        removals=tuple(Removal(f"rm-{i}", (f"sup-x{i}", f"sup-y{i}"), T0 + timedelta(hours=i), "crm")
                       for i in range(MAX_REMOVALS)),
        ended=tuple(_suppression(100 + i, "CONSENT_REVOCATION", scope="SMS", category="CHANNEL_LIMITED",
                                 lifted_at=T0 + timedelta(days=1, minutes=i))
                    for i in range(MAX_ENDED)),
        history_from=T0 - timedelta(days=3),
    )
    zoned = SuppressionState(active=(_suppression(7, "REGISTRY", scope="VOICE", category="TEMPORARY",
                                                  created_at=T0.astimezone(NEW_YORK),
                                                  expires_at=datetime(2025, 12, 24, 9, 30, tzinfo=NEW_YORK)),),
                             history_from=datetime(2025, 1, 1, tzinfo=NEW_YORK))
    return [SuppressionState(), SuppressionState(active=every_source), full, zoned]


def consent_ledgers() -> list[ConsentLedger]:
    entries = tuple(
        ConsentEntry(f"ev-{i}", "GRANT" if i % 3 else "REVOKE", "*" if i % 5 == 0 else "marketing",
                     ("ANY", "VOICE", "AUTODIALED_VOICE", "SMS")[i % 4], i % 2 == 0, T0 + timedelta(hours=i),
                     "formulaire-é", certificate_id=f"cert-{i}" if i % 2 else None,
                     form_url="https://exemple.fr/offre?x=1&y=ü", consent_text="J\u2019accepte d\u2019être appelé 📞",
                     ip="2001:db8::1", expires_at=(T0 + timedelta(days=365)).astimezone(NEW_YORK) if i % 4 else None)
        for i in range(MAX_ENTRIES))
    return [ConsentLedger(), ConsentLedger(entries, history_from=T0 + timedelta(hours=3))]


def number_leads() -> list[NumberLeads]:
    statuses: tuple[LeadStatus, ...] = get_args(LeadStatus)
    outcomes: tuple[CallOutcomeCode, ...] = get_args(CallOutcomeCode)
    records = tuple(
        LeadRecord(f"L{i}", f"camp-{i % 3}", "vendor-ñ", statuses[i % len(statuses)],
                   None if i % 7 == 0 else T0 + timedelta(minutes=i), first_name="Zoë" if i % 2 else None,
                   last_name="O\u2019Brien-Łukasz", email=f"zoe{i}@exämple.com", consent_certificate_id=f"c{i}",
                   score=[None, 0.0, 12.5, 1e-7, 73.0][i % 5],
                   score_breakdown=({"rule_id": "score.base", "points": 10.0, "detail": None},
                                    {"rule_id": "score.age", "points": -2.25, "detail": "captured 3 days ago"}),
                   offered=i % 4 == 1, last_decision_id=f"d{i}", attempts=i, last_outcome=outcomes[i % len(outcomes)],
                   qualified_by=f"oc-{i}" if i % 6 == 0 else None,
                   deferred_until=(T0 + timedelta(days=i)).astimezone(NEW_YORK) if i % 3 == 0 else None,
                   address_region="FL" if i % 2 else None, address_country="US" if i % 4 == 0 else None,
                   failed_days=("2025-06-02", "2025-06-03"),
                   score_history=({"decided_at": T0, "score": None, "decision_id": f"d{i}-0", "outcome": "DEFERRED"},
                                  {"decided_at": T0 + timedelta(hours=1), "score": 55.5, "decision_id": f"d{i}-1",
                                   "outcome": "CALL_READY"}),
                   expired_offers=i % 3,
                   callback={"requested_at": T0, "promised_by_agent": "agent-7" if i % 2 else None,
                             "notes": "après 18h" if i % 3 else None} if i % 5 == 2 else None,
                   callbacks=i % 4, merged=tuple(f"M{i}-{j}" for j in range(i % 4)))
        for i in range(MAX_LEADS))
    full = NumberLeads(
        leads=records, seen_event_ids=tuple(f"event-{i}" for i in range(MAX_SEEN_EVENT_IDS)),
        call_attempts=tuple(T0 + timedelta(hours=i) for i in range(40)),
        non_working_until=T0 + timedelta(days=30), non_working_evidence="oc-disc",
        non_working_since=T0.astimezone(NEW_YORK), attempts_dropped_until=T0 - timedelta(days=40),
        snoozes=(Snooze("camp-1", "L1", T0 + timedelta(days=9), "oc-nn", T0),
                 Snooze("camp-2", "L2", T0 + timedelta(days=9), "oc-nn2", None)))
    non_working_only = NumberLeads(non_working_until=T0, non_working_evidence=None)
    return [NumberLeads(), full, non_working_only]


def made_states() -> list[tuple[str, bytes, object]]:
    """(table, key, state) for each state above."""
    rows: list[tuple[str, bytes, object]] = []
    rows += [(topics.TABLE_SUPPRESSIONS, KEY, s) for s in suppression_states()]
    rows += [(topics.TABLE_CONSENTS, KEY, c) for c in consent_ledgers()]
    rows += [(topics.TABLE_LEADS, KEY, n) for n in number_leads()]
    rows += [(topics.TABLE_ERASURES, b"erased:made", Erasure(T0.astimezone(NEW_YORK), "opt-ç", "privacy desk ✉"))]
    emails = EmailLeads(tuple(EmailLead(f"L{i}", f"camp-{i % 2}", f"+1305209{i:04d}", T0 + timedelta(seconds=i))
                              for i in range(MAX_EMAIL_ENTRIES)))
    rows += [(topics.TABLE_EMAILS, b"email:made", EmailLeads()), (topics.TABLE_EMAILS, b"email:made", emails)]
    return rows


PREVIOUS_RELEASE: list[tuple[str, bytes, bytes]] = [
    # Release 0.1 (pipeline.app: to_json, compact, ASCII-escaped): no "history", no "ended", no snoozes;
    # the same rows as tests/core/test_dialcheck.py and tests/core/data/not-now-rows-main-59d2828.json.
    (topics.TABLE_SUPPRESSIONS, KEY,
     b'{"active":[{"id":"stop","scope":"ALL_CHANNELS","category":"PERMANENT","source":"OPT_OUT","added_by":"sms",'
     b'"created_at":"2025-12-02T17:00:00+00:00"}],"removals":[{"event_id":"rm-1","removed_ids":["old"],'
     b'"removed_at":"2025-12-03T17:00:00+00:00","removed_by":"crm"}]}'),
    (topics.TABLE_SUPPRESSIONS, KEY, b'{"active":[],"removals":[]}'),
    (topics.TABLE_SUPPRESSIONS, KEY,
     b'{"active":[{"id":"oc-not-now","scope":"ALL_CHANNELS","category":"TEMPORARY","campaign_id":"solar-q4",'
     b'"source":"CALL_OUTCOME","added_by":"agent-7","evidence":"call-outcome oc-not-now for lead L1",'
     b'"reason":"wants a quote for 8 kW","created_at":"2025-06-02T15:00:00+00:00",'
     b'"expires_at":"2025-07-02T15:00:00+00:00"}],"removals":[]}'),
    (topics.TABLE_CONSENTS, KEY,
     b'{"entries":[{"event_id":"lead-ev-1","action":"GRANT","purpose":"marketing","channel":"ANY",'
     b'"effective_at":"2025-06-02T14:55:00+00:00","source":"solar-form","certificate_id":"cert-1",'
     b'"consent_text":"J\\u2019accepte"}]}'),
    (topics.TABLE_CONSENTS, KEY,
     b'{"entries":[' + b",".join(
         b'{"event_id":"e%d","action":"GRANT","purpose":"marketing","channel":"VOICE",'
         b'"effective_at":"2025-06-%02dT14:55:00+00:00","source":"f"}' % (i, 1 + i % 28)
         for i in range(MAX_ENTRIES)) + b']}'),
    (topics.TABLE_LEADS, KEY,
     b'{"leads":[{"lead_id":"L1","campaign_id":"solar-q4","source":"solar-form","status":"NEW",'
     b'"captured_at":"2025-06-02T15:00:00+00:00"}],"seen":["lead-ev-1","stop"],'
     b'"calls":["2025-12-01T17:00:00+00:00","2025-11-20T17:00:00+00:00"]}'),
    (topics.TABLE_LEADS, KEY,
     b'{"leads":[{"lead_id":"L1","campaign_id":"c","source":"s","status":"CALLBACK","captured_at":null,'
     b'"score":40,"score_breakdown":[{"rule_id":"r","points":40,"detail":null}],"offered":true,"attempts":2,'
     b'"last_outcome":"CALLBACK_REQUESTED","deferred_until":"2025-06-03T15:00:00+00:00"}],"seen":[]}'),
    (topics.TABLE_ERASURES, b"erased:old",
     b'{"erased_at":"2025-06-02T15:00:00+00:00","request_event_id":"opt-1","requested_by":"privacy"}'),
]
"""(table, key, row bytes) as release 0.1 wrote them."""
