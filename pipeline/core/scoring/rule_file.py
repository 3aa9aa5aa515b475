"""The scoring rule file: either a list of rules (``pipeline.core.scoring.rules``; decision-time
scoring is then off) or an object ``{"rules": [...], "temperature": {...}, "decay": {...},
"contactability": {...}}`` where every key but ``rules`` is optional (see
``pipeline/data/scoring-rules.json`` and ``docs/enrichment-and-scoring.md``). Rule ids starting
``temperature.``, ``decay.`` or ``contactability.`` are reserved for decision-time scoring
(``pipeline.core.scoring.decision_time``).
"""

from __future__ import annotations

from pipeline.core.scoring.decision_time import ScoringModel, load_model
from pipeline.core.scoring.rules import ScoringRule, load_rules
from pipeline.errors import ConfigError

_FILE_KEYS = ("rules", "temperature", "decay", "contactability")


def load_scoring_rules(data: object) -> tuple[ScoringRule, ...]:
    """Validate JSON-shaped rules: a list of ``{"id", "field", "op", "value", "weight", "detail"?}``,
    or the object form of the module docstring (its ``rules``; the rest is :func:`load_scoring`'s).

    ``value`` may be left out for ``present``/``absent``. Raises ConfigError naming the rule (index
    and id) and the key at fault; unknown keys and duplicate ids are errors too.
    """
    return load_scoring(data)[0]


def load_scoring(data: object) -> tuple[tuple[ScoringRule, ...], ScoringModel]:
    """The rules and the decision-time model of a rule file (a list: rules only, model off)."""
    if isinstance(data, dict):
        unknown = sorted(str(key) for key in data if key not in _FILE_KEYS)
        if unknown:
            raise ConfigError(f"scoring: unknown key(s) {', '.join(map(repr, unknown))}; expected {_FILE_KEYS}")
        return load_rules(data.get("rules", [])), load_model(data)
    return load_rules(data), ScoringModel()
