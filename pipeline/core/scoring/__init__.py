"""Rules-based lead scoring: (field, operator, value, weight) rules summed, with a breakdown.

A lead is flattened into *facts* (``facts``: the table of every fact a rule may name); rules
(``rules``: the operators, matching, the score and its breakdown) give its *capture score*; each
decision re-scores it for the instant (``decision_time``: temperature, speed-to-lead decay,
contactability). ``rule_file`` reads the rule file, a list of rules or an object with the
decision-time model too. The packaged file, ``pipeline/data/scoring-rules.json``, is read by
``pipeline.packaged``: the core reads no files.

Import the names below from ``pipeline.core.scoring`` itself.
"""

from __future__ import annotations

from pipeline.core.scoring.decision_time import (
    TEMPERATURES,
    ScoringModel,
    TemperatureRule,
    at_decision,
    capture_score,
    load_model,
    temperature_of,
)
from pipeline.core.scoring.facts import ATTRIBUTE_PREFIX, FACT_FIELDS, lead_facts, quality_flags_of
from pipeline.core.scoring.rule_file import load_scoring, load_scoring_rules
from pipeline.core.scoring.rules import OPERATORS, RESERVED_PREFIXES, Matcher, Score, ScoringRule, score, total_of

__all__ = [
    "ATTRIBUTE_PREFIX",
    "FACT_FIELDS",
    "OPERATORS",
    "RESERVED_PREFIXES",
    "TEMPERATURES",
    "Matcher",
    "Score",
    "ScoringModel",
    "ScoringRule",
    "TemperatureRule",
    "at_decision",
    "capture_score",
    "lead_facts",
    "load_model",
    "load_scoring",
    "load_scoring_rules",
    "quality_flags_of",
    "score",
    "temperature_of",
    "total_of",
]
