"""The dial-time check: may this number be called right now (or at a given instant), and why.

Dialers ask right before dialing; compliance asks "could we have called this number at 20:30 last
Tuesday?". Both get the same trace the pipeline would produce: do-not-call suppressions, consent,
the state's wireless reading, the number's frequency cap and the legal window of every
jurisdiction and time zone — evaluated at ``at`` against the number's state as it is now. Pure:
the web view reads the tables, parses the request with :func:`parse_request` and calls
:func:`dial_check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from pipeline.core.campaigns import CampaignBook
from pipeline.core.decision import compliance_reasons
from pipeline.core.number import NumberState, migrated, rule_checks
from pipeline.core.phone import PhoneError, normalize_phone
from pipeline.core.rulepack import RulePack, jurisdictions
from pipeline.core.snooze import active_snooze
from pipeline.events import ConsentChannel, PhoneInfo, Reason
from pipeline.registry.store import RegistrySet

CHANNELS: tuple[ConsentChannel, ...] = ("VOICE", "AUTODIALED_VOICE", "SMS", "ANY")


@dataclass(frozen=True, slots=True)
class DialCheckRequest:
    phone: PhoneInfo
    campaign_id: str
    channel: ConsentChannel | None
    """None: the campaign's own channel."""
    purpose: str | None
    """None: the campaign's consent purpose."""
    at: datetime | None
    """None: now."""


@dataclass(frozen=True, slots=True)
class DialCheck:
    allowed: bool
    phone_e164: str
    campaign_id: str
    channel: str
    purpose: str
    at: datetime
    reasons: tuple[Reason, ...]
    rules_fired: tuple[str, ...]
    seconds_left: int
    callable_from: datetime | None
    callable_until: datetime | None
    rule_pack_version: str

    def to_json(self) -> dict[str, object]:
        return {
            "allowed": self.allowed, "phone_e164": self.phone_e164, "campaign_id": self.campaign_id,
            "channel": self.channel, "purpose": self.purpose, "at": self.at.isoformat(),
            "reasons": [dict(r) for r in self.reasons], "rules_fired": list(self.rules_fired),
            "seconds_left": self.seconds_left,
            "callable_from": self.callable_from.isoformat() if self.callable_from else None,
            "callable_until": self.callable_until.isoformat() if self.callable_until else None,
            "rule_pack_version": self.rule_pack_version,
        }


def parse_request(phone: str, query: Mapping[str, str], default_region: str) -> DialCheckRequest | dict[str, str]:
    """A request from the path's phone and the query string, or {field: problem} for a 400."""
    errors: dict[str, str] = {}
    info = normalize_phone(phone, query.get("country"), default_region)
    if isinstance(info, PhoneError):
        errors["phone"] = f"{info.code}: {info.detail}"
    channel = query.get("channel")
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = f"{channel!r} is not one of {', '.join(CHANNELS)}"
    at: datetime | None = None
    if (raw_at := query.get("at")) is not None:
        try:
            at = datetime.fromisoformat(raw_at)
        except ValueError:
            errors["at"] = f"{raw_at!r} is not an ISO-8601 instant"
        else:
            if at.tzinfo is None:
                errors["at"] = f"{raw_at!r} needs a UTC offset, e.g. 2026-11-24T20:30:00-05:00"
    if errors or isinstance(info, PhoneError):
        return errors
    # ``campaign_id`` is the name everywhere else; ``campaign`` is kept for dialers written against 0.1.
    campaign_id = query.get("campaign_id") or query.get("campaign") or "default"
    return DialCheckRequest(info, campaign_id, channel, query.get("purpose"), at)  # type: ignore[arg-type]


def dial_check(request: DialCheckRequest, state: NumberState, *, campaigns: CampaignBook, pack: RulePack,
               now: datetime, registries: RegistrySet | None = None) -> DialCheck:
    """Whether the number may be dialed at ``request.at`` (default ``now``), with every reason."""
    at = request.at or now
    registries = registries or RegistrySet()
    state = migrated(state, now)  # rows written before snoozes: read a NOT_NOW as the snooze it is
    policy = campaigns.policy_for(request.campaign_id)
    policy = replace(policy, channel=request.channel or policy.channel,
                     consent_purpose=request.purpose or policy.consent_purpose)
    phone = request.phone
    checks = rule_checks(state, phone, jurisdictions(phone, None, None), policy, pack, registries, at)
    blockers = list(compliance_reasons(campaign_id=request.campaign_id, suppressions=state.suppressions,
                                       consents=state.consents, policy=policy, now=at))
    if state.erasure is not None:
        blockers.insert(0, state.erasure.reason())
    snooze = active_snooze(state.leads.snoozes, request.campaign_id, at)
    if snooze is not None:
        blockers.append(snooze.reason())
    blockers.extend(checks.restrictions)
    if checks.cap is not None:
        blockers.append(checks.cap[0])
    verdict = checks.verdict
    window = verdict.window
    if not window.open_now:
        code = "NO_LEGAL_WINDOW" if window.opens_at is None else "OUTSIDE_CALL_WINDOW"
        blockers.append({"code": code, "rule_id": verdict.deciding_rule, "detail": verdict.detail})
    reasons: tuple[Reason, ...] = (*(tuple(blockers) or ({
        "code": "CALLABLE", "rule_id": "decision.callable", "detail": verdict.detail,
    },)), *checks.exemptions)
    return DialCheck(
        allowed=not blockers, phone_e164=phone["phone_e164"], campaign_id=request.campaign_id,
        channel=policy.channel, purpose=policy.consent_purpose, at=at, reasons=reasons,
        rules_fired=tuple(dict.fromkeys(r["rule_id"] for r in reasons)),
        seconds_left=window.seconds_left(at) if not blockers else 0,
        callable_from=window.opens_at, callable_until=window.closes_at, rule_pack_version=pack.version,
    )
