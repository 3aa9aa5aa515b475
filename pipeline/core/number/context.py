"""What ``process`` is given besides the state and the event: the instant and the policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipeline.core import qualification as qual
from pipeline.core import scoring
from pipeline.core.campaigns import CampaignBook
from pipeline.core.lifecycle import LifecyclePolicy
from pipeline.core.registries import NO_REGISTRIES, Registries
from pipeline.core.rulepack import RulePack


@dataclass(frozen=True, slots=True)
class ProcessContext:
    now: datetime
    rule_pack_version: str
    campaigns: CampaignBook
    scoring_rules: tuple[scoring.ScoringRule, ...]
    rule_pack: RulePack
    """The compliance rules; ``rule_pack_version`` is stamped on decisions (the app sets it to
    ``rule_pack.version``)."""
    lifecycle: LifecyclePolicy
    """Retry delays and attempt limits per outcome (``pipeline.core.lifecycle``)."""
    qualification: qual.Framework
    """The qualification framework judging a call's answers."""
    disposable_domains: frozenset[str]
    """Throwaway-inbox email domains (``pipeline.core.email``): a data-quality flag and a scoring fact."""
    registries: Registries = NO_REGISTRIES
    """National do-not-call registries (read-only reference data; the worker hands in its
    ``pipeline.registry.check.RegistrySet``)."""
    scoring_model: scoring.ScoringModel = field(default_factory=scoring.ScoringModel)
    """Decision-time scoring (temperature, speed-to-lead decay, contactability); empty: off."""
