"""Configuration the worker decides with, loaded once at start-up from the configured files or the
packaged defaults (``pipeline.packaged``), and validated there (a bad file stops the worker with the
setting named).

:class:`Policies` holds everything :func:`pipeline.core.number.process` needs besides the state and
the clock; :meth:`Policies.context` gives the core's ``ProcessContext`` for an instant without
rebuilding anything else.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.config import PolicyFiles
from pipeline.core.campaigns import CampaignBook, load_campaigns
from pipeline.core.lifecycle import LifecyclePolicy, load_lifecycle
from pipeline.core.linetype import PrefixLineTypes, parse_line_types
from pipeline.core.number import ProcessContext
from pipeline.core.qualification import Framework, load_framework
from pipeline.core.rulepack import RulePack, merge_overrides
from pipeline.core.scoring import ScoringModel, ScoringRule, load_scoring
from pipeline.errors import ConfigError
from pipeline.packaged import (
    default_campaigns,
    default_disposable_domains,
    default_framework,
    default_lifecycle,
    default_rule_pack,
    default_scoring,
)
from pipeline.registry.check import RegistrySet, open_registries

_UNSET = datetime.fromtimestamp(0, UTC)
"""``now`` of the base context: every use goes through :meth:`Policies.context`."""


@dataclass(frozen=True)
class Policies:
    campaigns: CampaignBook
    scoring_rules: tuple[ScoringRule, ...]
    scoring_model: ScoringModel
    lifecycle: LifecyclePolicy
    qualification: Framework
    rule_pack: RulePack
    disposable_domains: frozenset[str]
    line_types: PrefixLineTypes | None
    registries: RegistrySet
    base_context: ProcessContext

    def context(self, now: datetime) -> ProcessContext:
        """The core's context at ``now``: one small copy, the policies themselves are shared."""
        return dataclasses.replace(self.base_context, now=now)


def load_policies(settings: PolicyFiles, *, with_registries: bool = True) -> Policies:
    """Every policy the worker decides with. ``with_registries=False`` skips opening the national
    registries (benchmarks and tools that decide without them)."""
    campaigns = (load_campaigns(read_json(settings.campaigns_path, "LEADPIPE_CAMPAIGNS_PATH"))
                 if settings.campaigns_path else default_campaigns())
    scoring_rules, scoring_model = load_scoring_config(settings)
    lifecycle = (load_lifecycle(read_json(settings.lifecycle_path, "LEADPIPE_LIFECYCLE_PATH"))
                 if settings.lifecycle_path else default_lifecycle())
    qualification = (load_framework(read_json(settings.qualification_path, "LEADPIPE_QUALIFICATION_PATH"))
                     if settings.qualification_path else default_framework())
    rule_pack = load_rule_pack(settings)
    disposable_domains = default_disposable_domains()
    registries = (open_registries(settings.data_dir, required=settings.required_registries)
                  if with_registries else RegistrySet())
    base = ProcessContext(now=_UNSET, rule_pack_version=rule_pack.version, campaigns=campaigns,
                          scoring_rules=scoring_rules, registries=registries, rule_pack=rule_pack,
                          lifecycle=lifecycle, qualification=qualification, disposable_domains=disposable_domains,
                          scoring_model=scoring_model)
    return Policies(campaigns, scoring_rules, scoring_model, lifecycle, qualification, rule_pack, disposable_domains,
                    load_line_types(settings), registries, base)


def load_rule_pack(settings: PolicyFiles) -> RulePack:
    """The packaged rule pack, with counsel's overrides file applied when one is configured."""
    pack = default_rule_pack()
    if settings.rule_pack_overrides_path is not None:
        pack = merge_overrides(pack, read_json(settings.rule_pack_overrides_path,
                                               "LEADPIPE_RULE_PACK_OVERRIDES_PATH"))
    return pack


def load_scoring_config(settings: PolicyFiles) -> tuple[tuple[ScoringRule, ...], ScoringModel]:
    """Scoring rules and the decision-time scoring model (a rule file in list form has none)."""
    if settings.scoring_rules_path is None:
        return default_scoring()
    return load_scoring(read_json(settings.scoring_rules_path, "LEADPIPE_SCORING_RULES_PATH"))


def load_line_types(settings: PolicyFiles) -> PrefixLineTypes | None:
    """The line-type file (``LEADPIPE_LINE_TYPES_PATH``), or None when none is configured."""
    path = settings.line_types_path
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"LEADPIPE_LINE_TYPES_PATH={path}: {exc}") from exc
    return parse_line_types(text, f"LEADPIPE_LINE_TYPES_PATH={path}")


def read_json(path: Path, setting: str) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{setting}={path}: {exc}") from exc
