"""The topic registry: every topic leadpipe reads or writes, in one place.

All topics share one partition count (``Settings.partitions``) because every stream is keyed by
``phone_e164`` after normalization and must be co-partitioned with the tables. Topics are created
explicitly from this registry before any worker starts: Tansu auto-creates unknown topics with 4
partitions and cannot add partitions later, and Faust would crash-loop on a mismatch.

Every topic also says how long it keeps what it holds (``retention.ms``, or compaction for table
changelogs), applied when :func:`pipeline.admin.ensure_topics` creates it. The defaults follow what
each topic is for; README "Personal data: what is kept, where, how long" says it per topic:

- inputs and internal re-keyed copies: :data:`REPLAY_RETENTION_MS` (7 days) — long enough to replay
  after an incident; what must last is in the tables and the audit trail;
- deliveries (``call-ready``, ``qualified-lead``) and ``dead-letter``: :data:`DELIVERY_RETENTION_MS`
  (30 days) — time for a dialer, a CRM or an operator to catch up, and the longest erasure deadline
  honoured (GDPR Art. 12(3): one month; 152-FZ: 30 days);
- the audit trails (``lead-decision``, ``dial-check``): :data:`AUDIT_RETENTION_MS` (5 years) — company do-not-call
  records are kept 5 years (47 CFR 64.1200(d)(3)), past the TCPA's 4-year limitation period; a legal
  obligation erasure does not override (GDPR Art. 17(3)(b));
- table changelogs: compacted (the newest row per key, forever), with old values of a key compacted
  away within :data:`COMPACTION_LAG_MS` (7 days) of a change — so an erased row's last values go —
  and tombstones kept :data:`TOMBSTONE_RETENTION_MS` (1 day) for restoring workers to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["input", "output", "internal", "changelog"]


DAY_MS = 24 * 3600 * 1000
REPLAY_RETENTION_MS = 7 * DAY_MS
DELIVERY_RETENTION_MS = 30 * DAY_MS
AUDIT_RETENTION_MS = (5 * 365 + 2) * DAY_MS  # five years, leap days included
COMPACTION_LAG_MS = 7 * DAY_MS
TOMBSTONE_RETENTION_MS = 1 * DAY_MS

_RETENTION_BY_ROLE: dict[Role, int] = {"input": REPLAY_RETENTION_MS, "internal": REPLAY_RETENTION_MS,
                                        "output": DELIVERY_RETENTION_MS}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    role: Role
    schema: str | None
    """Schema file stem in ``schemas/`` (``internal/...`` for internal topics); None for changelogs."""
    cleanup_policy: Literal["delete", "compact"] = "delete"
    doc: str = ""
    retention_ms: int | None = None
    """How long records are kept (delete policy); None: the role's default (see the module docstring)."""

    @property
    def retention(self) -> int | None:
        """``retention.ms`` of a topic that deletes, None for a compacted one."""
        if self.cleanup_policy == "compact":
            return None
        return self.retention_ms if self.retention_ms is not None else _RETENTION_BY_ROLE.get(self.role,
                                                                                               REPLAY_RETENTION_MS)

    def config(self) -> dict[str, str]:
        """The topic configs set when the topic is created."""
        if self.cleanup_policy == "compact":
            return {"cleanup.policy": "compact", "max.compaction.lag.ms": str(COMPACTION_LAG_MS),
                    "delete.retention.ms": str(TOMBSTONE_RETENTION_MS)}
        return {"cleanup.policy": "delete", "retention.ms": str(self.retention)}


LEAD_CAPTURED = "lead-captured"
CONSENT_CHANGED = "consent-changed"
CALL_OUTCOME = "call-outcome"
OPT_OUT = "opt-out"
CALL_READY = "call-ready"
QUALIFIED_LEAD = "qualified-lead"
LEAD_DECISION = "lead-decision"
DEAD_LETTER = "dead-letter"
DIAL_CHECK = "dial-check"

INPUT_TOPICS = (LEAD_CAPTURED, CONSENT_CHANGED, CALL_OUTCOME, OPT_OUT)

# input_topic of internal events the release scheduler sends (no Kafka topic of that name exists).
RELEASE_SCHEDULER = "release-scheduler"

# Table names; the changelog topic of table T is "<app_id>-T-changelog" (Faust's naming).
TABLE_SUPPRESSIONS = "suppressions"
TABLE_CONSENTS = "consents"
TABLE_LEADS = "leads"
TABLE_ERASURES = "erasures"  # keyed by a keyed hash of the number, written on the number's partition
TABLES = (TABLE_SUPPRESSIONS, TABLE_CONSENTS, TABLE_LEADS, TABLE_ERASURES)


# --- enrichment: the email stage (pipeline.core.email_stage) ---------------------------------------
NUMBER_EVENTS = "number-events"
"""Logical name of ``number_events_topic(app_id)`` in a core ``Emit`` (the core knows no app id)."""
EMAIL_EVENTS = "email-events"
"""Logical name of ``email_events_topic(app_id)`` in a core ``Emit``; its key is the email identity,
which the app turns into the keyed hash the topic is keyed by."""
NUMBER_EVENT_SCHEMA = "internal/number-event"
TABLE_EMAILS = "emails"  # keyed by a keyed hash of the email; its own topic, not a number's row


def email_events_topic(app_id: str) -> str:
    """Internal topic carrying leads with an email, keyed by a keyed hash of the email."""
    return f"{app_id}-email-events"
# --- end email stage -------------------------------------------------------------------------------


def number_events_topic(app_id: str) -> str:
    """Internal topic carrying every input event re-keyed by phone_e164."""
    return f"{app_id}-number-events"


def changelog_topic(app_id: str, table: str) -> str:
    return f"{app_id}-{table}-changelog"


def registry(app_id: str) -> tuple[TopicSpec, ...]:
    """Every topic the app needs, public contract first, then app-named internal ones."""
    return (
        TopicSpec(LEAD_CAPTURED, "input", "lead-captured", doc="Leads from web forms and vendors."),
        TopicSpec(CONSENT_CHANGED, "input", "consent-changed", doc="Consent grants and revocations."),
        TopicSpec(CALL_OUTCOME, "input", "call-outcome", doc="What happened on each call (dialers)."),
        TopicSpec(OPT_OUT, "input", "opt-out", doc="Do-not-call requests and their removals."),
        TopicSpec(CALL_READY, "output", "call-ready", doc="Work for dialers, keyed by phone_e164; READY or WITHDRAW."),
        TopicSpec(QUALIFIED_LEAD, "output", "qualified-lead", doc="Qualified leads for CRMs."),
        TopicSpec(LEAD_DECISION, "output", "lead-decision", doc="Audit trail: one record per decision.",
                  retention_ms=AUDIT_RETENTION_MS),
        TopicSpec(DEAD_LETTER, "output", "dead-letter", doc="Undecodable or invalid input with original bytes."),
        TopicSpec(DIAL_CHECK, "output", "dial-check",
                  doc="Audit: every dial-time check answer (request id, call id, allowed, reasons, worker).",
                  retention_ms=AUDIT_RETENTION_MS),
        TopicSpec(number_events_topic(app_id), "internal", "internal/number-event",
                  doc="Every input event normalized and re-keyed by phone_e164."),
        *(TopicSpec(changelog_topic(app_id, t), "changelog", None, "compact", doc=f"Changelog of the {t} table.")
          for t in TABLES),
        TopicSpec(email_events_topic(app_id), "internal", NUMBER_EVENT_SCHEMA,
                  doc="Legacy: leads waiting for the email agent of earlier releases (read until drained)."),
        TopicSpec(changelog_topic(app_id, TABLE_EMAILS), "changelog", None, "compact",
                  doc="Changelog of the emails table: recent leads per email."),
    )
