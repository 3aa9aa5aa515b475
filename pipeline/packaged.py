"""The packaged defaults, read from ``pipeline/data``: the rule pack, the scoring rules and model, the
campaign book, the lifecycle policy, the qualification framework and the disposable email domains.

The core reads no files: this module reads each one and parses it with the core's own pure parser
(``load_rule_pack``, ``load_scoring``...), and the worker, the services and the tools hand the parsed
values in. Each is read and validated once per process; the values are immutable, so one copy is
shared. A packaged file that does not load raises ``ConfigError`` naming the file.
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files

from pipeline.core.campaigns import CampaignBook, load_campaigns
from pipeline.core.email import parse_disposable_domains
from pipeline.core.lifecycle import LifecyclePolicy, load_lifecycle
from pipeline.core.qualification import Framework, load_framework
from pipeline.core.rulepack import RulePack, load_rule_pack
from pipeline.core.scoring import ScoringModel, ScoringRule, load_scoring
from pipeline.errors import ConfigError

RULE_PACK = "data/rulepack/pack.json"
SCORING_RULES = "data/scoring-rules.json"
CAMPAIGNS = "data/campaigns.json"
LIFECYCLE = "data/lifecycle.json"
QUALIFICATION = "data/qualification.json"
DISPOSABLE_DOMAINS = "data/disposable-domains.txt"
"""Each file's path inside the ``pipeline`` package."""


@functools.cache
def default_rule_pack() -> RulePack:
    """The compliance rule pack shipped in ``pipeline/data/rulepack/pack.json``."""
    return load_rule_pack(_json(RULE_PACK))


@functools.cache
def default_scoring() -> tuple[tuple[ScoringRule, ...], ScoringModel]:
    """The scoring rules and decision-time model shipped in ``pipeline/data/scoring-rules.json``."""
    return load_scoring(_json(SCORING_RULES))


def default_scoring_rules() -> tuple[ScoringRule, ...]:
    """The rules of :func:`default_scoring`."""
    return default_scoring()[0]


@functools.cache
def default_campaigns() -> CampaignBook:
    """The campaign book shipped in ``pipeline/data/campaigns.json``."""
    return load_campaigns(_json(CAMPAIGNS))


@functools.cache
def default_lifecycle() -> LifecyclePolicy:
    """The lifecycle policy (retries, attempt limits) shipped in ``pipeline/data/lifecycle.json``."""
    return load_lifecycle(_json(LIFECYCLE))


@functools.cache
def default_framework() -> Framework:
    """The qualification framework shipped in ``pipeline/data/qualification.json``."""
    return load_framework(_json(QUALIFICATION))


@functools.cache
def default_disposable_domains() -> frozenset[str]:
    """The throwaway-inbox domains listed in ``pipeline/data/disposable-domains.txt``."""
    return parse_disposable_domains(_text(DISPOSABLE_DOMAINS))


def _text(name: str) -> str:
    return files("pipeline").joinpath(name).read_text(encoding="utf-8")


def _json(name: str) -> object:
    try:
        return json.loads(_text(name))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"pipeline/{name}: not valid JSON: {exc}") from exc
