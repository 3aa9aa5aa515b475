"""Campaign policies: what each campaign needs before a lead may be called, and when.

Policies are data (``pipeline/data/campaigns.json`` by default, read by ``pipeline.packaged``),
validated when loaded::

    {"campaigns": {"<campaign_id>": {"requires_consent": true, "consent_purpose": "marketing",
                                     "channel": "AUTODIALED_VOICE", "call_start": "08:00",
                                     "call_end": "21:00", "hours_rule_id": "campaign.hours",
                                     "duplicate_window_days": 30, "seller": "Sunrise Solar LLC"}, ...}}

Every key of a campaign is optional (the ``CampaignPolicy`` defaults apply); unknown keys are
errors, so a typo cannot silently weaken a policy. The campaign named ``default`` (built from the
defaults when absent) also answers for every campaign the book does not list: unknown campaigns
get the cautious defaults (consent required, 08:00-21:00), never a free pass.

The shipped book: ``solar-q4`` dials with an autodialer, so it needs consent covering
AUTODIALED_VOICE; ``insurance-renewals`` calls existing customers by hand (an established business
relationship, not consent, makes those calls lawful) so it does not require a consent grant — a
revocation still stops it (see ``pipeline.core.decision``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from types import MappingProxyType
from typing import get_args

from pipeline.errors import ConfigError
from pipeline.events import ConsentChannel

DEFAULT_CAMPAIGN = "default"

_CHANNELS: tuple[ConsentChannel, ...] = get_args(ConsentChannel)


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    campaign_id: str
    requires_consent: bool = True
    consent_purpose: str = "marketing"
    channel: ConsentChannel = "VOICE"
    """Channel the campaign contacts people on; ANY means it may use every channel."""
    call_start: time = time(8, 0)
    """Start of the calling hours, callee-local."""
    call_end: time = time(21, 0)
    """End of the calling hours (exclusive), callee-local."""
    hours_rule_id: str = "hours.default"
    duplicate_window_days: int = 30
    """Another lead of this campaign for the same number (or the same email) captured this many days
    apart or closer is a duplicate; 0 turns that off (the same lead id is still a duplicate)."""
    seller: str | None = None
    """The seller's name as written consent must state it (rule ``us.pewc``); None: only a consent
    text naming the campaign id counts as naming the seller."""

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(days=self.duplicate_window_days)


@dataclass(frozen=True, slots=True)
class CampaignBook:
    policies: Mapping[str, CampaignPolicy]
    default: CampaignPolicy

    def __post_init__(self) -> None:
        # A read-only copy: the book is shared by every event the worker processes.
        object.__setattr__(self, "policies", MappingProxyType(dict(self.policies)))

    def policy_for(self, campaign_id: str) -> CampaignPolicy:
        """The campaign's policy, or the default one for a campaign the book does not list."""
        return self.policies.get(campaign_id, self.default)


_KEYS = frozenset(
    {"requires_consent", "consent_purpose", "channel", "call_start", "call_end", "hours_rule_id",
     "duplicate_window_days", "seller"}
)


def _fail(campaign_id: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"campaign {campaign_id!r}: key {key!r}: {problem}")


def _hours(campaign_id: str, key: str, raw: object, fallback: time) -> time:
    if raw is None:
        return fallback
    if not isinstance(raw, str):
        raise _fail(campaign_id, key, f"expected a time like \"08:00\", got {raw!r}")
    try:
        value = time.fromisoformat(raw)
    except ValueError:
        raise _fail(campaign_id, key, f"expected a time like \"08:00\", got {raw!r}") from None
    if value.tzinfo is not None:
        raise _fail(campaign_id, key, f"calling hours are callee-local: drop the offset from {raw!r}")
    return value


def _text(campaign_id: str, key: str, raw: object, fallback: str) -> str:
    if raw is None:
        return fallback
    if not isinstance(raw, str) or not raw.strip():
        raise _fail(campaign_id, key, f"expected a non-empty string, got {raw!r}")
    return raw


def _policy(campaign_id: str, raw: object) -> CampaignPolicy:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"campaign {campaign_id!r}: expected an object of settings, got {raw!r}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise _fail(campaign_id, unknown[0], f"unknown setting (known: {', '.join(sorted(_KEYS))})")
    base = CampaignPolicy(campaign_id)
    requires_consent = raw.get("requires_consent", base.requires_consent)
    if not isinstance(requires_consent, bool):
        raise _fail(campaign_id, "requires_consent", f"expected true or false, got {requires_consent!r}")
    window_days = raw.get("duplicate_window_days", base.duplicate_window_days)
    if not isinstance(window_days, int) or isinstance(window_days, bool) or not 0 <= window_days <= 3660:
        raise _fail(campaign_id, "duplicate_window_days", f"expected whole days from 0 to 3660, got {window_days!r}")
    channel = raw.get("channel", base.channel)
    if channel not in _CHANNELS:
        raise _fail(campaign_id, "channel", f"expected one of {', '.join(_CHANNELS)}, got {channel!r}")
    policy = CampaignPolicy(
        campaign_id=campaign_id,
        requires_consent=requires_consent,
        consent_purpose=_text(
            campaign_id, "consent_purpose", raw.get("consent_purpose"), base.consent_purpose
        ),
        channel=next(c for c in _CHANNELS if c == channel),
        call_start=_hours(campaign_id, "call_start", raw.get("call_start"), base.call_start),
        call_end=_hours(campaign_id, "call_end", raw.get("call_end"), base.call_end),
        hours_rule_id=_text(campaign_id, "hours_rule_id", raw.get("hours_rule_id"), base.hours_rule_id),
        duplicate_window_days=window_days,
        seller=_text(campaign_id, "seller", raw.get("seller"), "") or None,
    )
    if policy.call_start >= policy.call_end:
        raise _fail(
            campaign_id, "call_end",
            f"calling hours must end after they start ({policy.call_start:%H:%M}-{policy.call_end:%H:%M})",
        )
    return policy


def load_campaigns(data: object) -> CampaignBook:
    """Validate parsed JSON into a ``CampaignBook``; ``ConfigError`` names the campaign and key."""
    if not isinstance(data, Mapping) or set(data) != {"campaigns"}:
        raise ConfigError('campaigns: expected an object with exactly one key, "campaigns"')
    campaigns = data["campaigns"]
    if not isinstance(campaigns, Mapping):
        raise ConfigError(f'campaigns: "campaigns" must map campaign ids to settings, got {campaigns!r}')
    policies: dict[str, CampaignPolicy] = {}
    for campaign_id, raw in campaigns.items():
        if not isinstance(campaign_id, str) or not campaign_id.strip():
            raise ConfigError(f"campaigns: campaign id must be a non-empty string, got {campaign_id!r}")
        policies[campaign_id] = _policy(campaign_id, raw)
    default = policies.get(DEFAULT_CAMPAIGN, CampaignPolicy(DEFAULT_CAMPAIGN))
    return CampaignBook(policies=policies, default=default)
