"""Decision-time scoring (:class:`ScoringModel`): what each decision adds to a lead's capture score.

- *temperature*: the first temperature rule (same field/op/value as a scoring rule) that matches
  the lead's facts classifies it ``hot`` (asked for a call back, a live transfer), ``warm`` (engaged
  with content) or ``cold`` (a purchased or compiled list); none matching gives ``default``. It is
  classified at capture and adds ``points[temperature]`` as the contribution ``temperature.<t>``.
- *speed-to-lead decay*: ``points[t] * 0.5 ** (age / half_life[t])``, where age is the time from
  capture to the decision: a hot lead cools within minutes, a cold one over days (``decay.<t>``).
- *contactability*: the legal window closing soon (``contactability.window``: call it before it closes)
  or too soon for a call (a penalty), attempts left of a maximum (``contactability.attempts``), the line
  type (``contactability.line_type``) and the age of the consent on record (``contactability.consent_age``).

Every contribution has a detail sentence. An offer's priority is ``round(score)`` at its decision; a
dialer orders its hopper by priority, equal priorities in arrival order (``connectors/dialer/hopper.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pipeline.core.scoring.rules import Score, ScoringRule, is_number, load_rule, score, total_of
from pipeline.errors import ConfigError
from pipeline.events import ScoreContribution

TEMPERATURES = ("hot", "warm", "cold")


@dataclass(frozen=True)
class TemperatureRule:
    """Classify a lead ``temperature`` when ``condition`` matches its facts."""

    rule_id: str
    temperature: str
    condition: ScoringRule


@dataclass(frozen=True)
class ScoringModel:
    """The decision-time parts of scoring (module docstring); the empty model adds nothing."""

    temperature_rules: tuple[TemperatureRule, ...] = ()
    default_temperature: str | None = None
    temperature_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    decay_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    half_life_minutes: Mapping[str, float] = dataclasses.field(default_factory=dict)
    window_closing_s: int | None = None
    """A window closing within this many seconds earns ``window_closing_points`` (call it now)..."""
    window_closing_points: float = 0.0
    window_too_short_s: int | None = None
    """...unless it closes within this many: too little time for a call, ``window_too_short_points``."""
    window_too_short_points: float = 0.0
    max_attempts: int | None = None
    points_per_attempt_left: float = 0.0
    line_type_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    consent_fresh_days: float | None = None
    consent_fresh_points: float = 0.0
    consent_stale_days: float | None = None
    consent_stale_points: float = 0.0

    def temperature(self, facts: Mapping[str, object]) -> tuple[str, str] | None:
        """(temperature, why) of a lead with ``facts``: the first matching rule, else the default."""
        for rule in self.temperature_rules:
            if rule.condition.matches(facts):
                return rule.temperature, f"rule {rule.rule_id}"
        if self.default_temperature is None:
            return None
        return self.default_temperature, "no temperature rule matched (default)"


def capture_score(facts: Mapping[str, object], rules: Sequence[ScoringRule], model: ScoringModel) -> Score:
    """The score of a lead at capture: the rules, then its temperature's points (``temperature.<t>``)."""
    static = score(facts, rules)
    found = model.temperature(facts)
    if found is None:
        return static
    temperature, why = found
    item: ScoreContribution = {"rule_id": f"temperature.{temperature}",
                               "points": model.temperature_points.get(temperature, 0.0),
                               "detail": f"{temperature} lead: {why}"}
    breakdown = (*static.breakdown, item)
    return Score(total_of(breakdown), breakdown)


def temperature_of(breakdown: Sequence[ScoreContribution]) -> str | None:
    """The temperature recorded in a capture score's breakdown, or None."""
    for item in breakdown:
        if item["rule_id"].startswith("temperature."):
            return item["rule_id"].removeprefix("temperature.")
    return None


def at_decision(captured: Score, model: ScoringModel, *, now: datetime, captured_at: datetime | None,
                seconds_left: int, attempts: int, line_type: str,
                consent_granted_at: datetime | None) -> Score:
    """``captured`` (a capture score, or an earlier decision's score) re-scored for a decision at ``now``.

    Earlier decision-time contributions (``decay.``, ``contactability.``) are replaced, never stacked, so
    re-deciding a deferred lead gives the same score a first decision at that instant would. The
    breakdown keeps the capture contributions in order, then decay, window, attempts, line type and
    consent age. Pure; ``seconds_left`` is 0 when the legal window is not open at ``now``.
    """
    kept = [c for c in captured.breakdown if not c["rule_id"].startswith(("decay.", "contactability."))]
    added: list[ScoreContribution] = []
    temperature = temperature_of(kept)
    if temperature is not None and model.decay_points.get(temperature) and captured_at is not None:
        full = model.decay_points[temperature]
        half_life = model.half_life_minutes.get(temperature, 0.0)
        age_min = max(0.0, (now - captured_at).total_seconds() / 60)
        points = full * 0.5 ** (age_min / half_life) if half_life > 0 else 0.0
        added.append({
            "rule_id": f"decay.{temperature}", "points": round(points, 2),
            "detail": (f"speed to lead: {_minutes(age_min)} old, {temperature} leads lose half their "
                       f"{full:g} points every {_minutes(half_life)}")})
    if seconds_left > 0 and model.window_too_short_s is not None and seconds_left < model.window_too_short_s:
        added.append({
            "rule_id": "contactability.window", "points": model.window_too_short_points,
            "detail": f"the legal window closes in {seconds_left} s: too little time for a call"})
    elif seconds_left > 0 and model.window_closing_s is not None and seconds_left < model.window_closing_s:
        added.append({
            "rule_id": "contactability.window", "points": model.window_closing_points,
            "detail": f"the legal window closes in {_minutes(seconds_left / 60)}: call before it closes"})
    if model.max_attempts is not None:
        left = max(0, model.max_attempts - attempts)
        added.append({
            "rule_id": "contactability.attempts", "points": left * model.points_per_attempt_left,
            "detail": f"attempts made so far: {attempts}; {left} of {model.max_attempts} left"})
    if line_type in model.line_type_points:
        added.append({
            "rule_id": "contactability.line_type", "points": model.line_type_points[line_type],
            "detail": f"line type {line_type}"})
    consent = _consent_age(model, now, consent_granted_at)
    if consent is not None:
        added.append(consent)
    breakdown = (*kept, *added)
    return Score(total_of(breakdown), tuple(breakdown))


def _consent_age(model: ScoringModel, now: datetime, granted_at: datetime | None) -> ScoreContribution | None:
    if granted_at is None:
        return None
    days = max(0.0, (now - granted_at).total_seconds() / 86_400)
    if model.consent_fresh_days is not None and days <= model.consent_fresh_days:
        return {"rule_id": "contactability.consent_age", "points": model.consent_fresh_points,
                "detail": f"consent given {days:.1f} days ago (fresh: {model.consent_fresh_days:g} days)"}
    if model.consent_stale_days is not None and days > model.consent_stale_days:
        return {"rule_id": "contactability.consent_age", "points": model.consent_stale_points,
                "detail": f"consent given {days:.0f} days ago (stale after {model.consent_stale_days:g})"}
    return None


def _minutes(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 120:
        return f"{minutes:.1f} min"
    if minutes < 2880:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def load_model(data: Mapping[str, object]) -> ScoringModel:
    """The decision-time model of a rule file's object form; ConfigError names the key at fault."""
    temperature = _section(data, "temperature", ("rules", "default", "points"))
    decay = _section(data, "decay", ("points", "half_life_minutes"))
    contact = _section(data, "contactability", ("window", "attempts", "line_type", "consent_age"))
    window = _section(contact, "window", ("closing_within_s", "closing_points", "too_short_s", "too_short_points"),
                      "contactability.")
    attempts = _section(contact, "attempts", ("max", "points_per_attempt_left"), "contactability.")
    consent = _section(contact, "consent_age", ("fresh_days", "fresh_points", "stale_days", "stale_points"),
                       "contactability.")
    default = temperature.get("default")
    if default is not None and default not in TEMPERATURES:
        raise ConfigError(f"scoring: temperature.default must be one of {', '.join(TEMPERATURES)}, got {default!r}")
    line_points = _points(contact, "line_type", ("MOBILE", "LANDLINE", "VOIP", "UNKNOWN"), "contactability.")
    max_attempts = _number(attempts, "max", "contactability.attempts.")
    if max_attempts is not None and (max_attempts < 0 or max_attempts != int(max_attempts)):
        raise ConfigError(f"scoring: contactability.attempts.max must be a whole number >= 0, got {max_attempts!r}")
    half_lives = _points(decay, "half_life_minutes", TEMPERATURES, "decay.")
    if any(v <= 0 for v in half_lives.values()):
        raise ConfigError("scoring: decay.half_life_minutes must be positive")
    closing = _number(window, "closing_within_s", "contactability.window.")
    too_short = _number(window, "too_short_s", "contactability.window.")
    return ScoringModel(
        temperature_rules=_temperature_rules(temperature.get("rules", [])),
        default_temperature=default if isinstance(default, str) else None,
        temperature_points=_points(temperature, "points", TEMPERATURES, "temperature."),
        decay_points=_points(decay, "points", TEMPERATURES, "decay."),
        half_life_minutes=half_lives,
        window_closing_s=int(closing) if closing is not None else None,
        window_closing_points=_number(window, "closing_points", "contactability.window.") or 0.0,
        window_too_short_s=int(too_short) if too_short is not None else None,
        window_too_short_points=_number(window, "too_short_points", "contactability.window.") or 0.0,
        max_attempts=int(max_attempts) if max_attempts is not None else None,
        points_per_attempt_left=_number(attempts, "points_per_attempt_left", "contactability.attempts.") or 0.0,
        line_type_points=line_points,
        consent_fresh_days=_number(consent, "fresh_days", "contactability.consent_age."),
        consent_fresh_points=_number(consent, "fresh_points", "contactability.consent_age.") or 0.0,
        consent_stale_days=_number(consent, "stale_days", "contactability.consent_age."),
        consent_stale_points=_number(consent, "stale_points", "contactability.consent_age.") or 0.0,
    )


def _section(data: Mapping[str, object], key: str, keys: tuple[str, ...], where: str = "") -> Mapping[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"scoring: {where}{key} must be an object, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise ConfigError(f"scoring: {where}{key}: unknown key(s) {', '.join(map(repr, unknown))}; expected {keys}")
    return value


def _number(data: Mapping[str, object], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not is_number(value) or not math.isfinite(value):
        raise ConfigError(f"scoring: {where}{key} must be a finite number, got {value!r}")
    return float(value)


def _points(data: Mapping[str, object], key: str, names: tuple[str, ...], where: str) -> dict[str, float]:
    section = _section(data, key, names, where)
    return {name: number for name in section if (number := _number(section, name, f"{where}{key}.")) is not None}


def _temperature_rules(data: object) -> tuple[TemperatureRule, ...]:
    if not isinstance(data, list):
        raise ConfigError(f"scoring: temperature.rules must be a list, got {type(data).__name__}")
    rules: list[TemperatureRule] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ConfigError(f"scoring: temperature rule #{index}: expected an object, got {type(item).__name__}")
        temperature = item.get("temperature")
        if temperature not in TEMPERATURES:
            raise ConfigError(f"scoring: temperature rule #{index}: 'temperature' must be one of "
                              f"{', '.join(TEMPERATURES)}, got {temperature!r}")
        condition = {k: v for k, v in item.items() if k != "temperature"}
        try:
            rule = load_rule(index, {**condition, "weight": 0})
        except ConfigError as exc:
            raise ConfigError(f"scoring: temperature {exc}") from exc
        rules.append(TemperatureRule(rule.rule_id, str(temperature), rule))
    return tuple(rules)
