"""The qualification framework: does what the person said on a call make the lead qualified?

Criteria come from configuration (``pipeline/data/qualification.json``, or
``LEADPIPE_QUALIFICATION_PATH``): each reads a key of the call outcome's ``answers`` (the first
present of the keys it names) and lists either the accepted values or, for free-text answers like
a next step or a budget figure, the rejected ones (case and surrounding spaces ignored). A
criterion is a FIT criterion (firmographic fit, role relevance, budget: does this lead fit at
all?) or a READINESS one (interest, timeline, next-step readiness: is now the time?). Each answer
is PASS, FAIL or UNKNOWN (not asked or not recorded).

Verdict, in this order:

1. a FIT criterion FAILs → NO_FIT (the lead is closed: no point calling again);
2. a READINESS criterion FAILs → NOT_READY (interested but not now: called back later — never
   confused with no fit);
3. on INTERESTED, a required criterion is UNKNOWN → NOT_READY (not enough is known to hand over);
4. otherwise QUALIFIED. On QUALIFIED / APPOINTMENT_SET the agent's claim covers what was not
   recorded; the qualified-lead lists every criterion with its result so sales sees the gaps.

SALE is not evaluated (a sale is decided); INTERESTED only when answers were recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast, get_args

from pipeline.core.outcomes import QUALIFYING
from pipeline.errors import ConfigError
from pipeline.events import CallOutcomeCode

CriterionKind = Literal["FIT", "READINESS"]
CheckResult = Literal["PASS", "FAIL", "UNKNOWN"]
Verdict = Literal["QUALIFIED", "NOT_READY", "NO_FIT"]

_KINDS: tuple[CriterionKind, ...] = get_args(CriterionKind)


@dataclass(frozen=True, slots=True)
class Criterion:
    criterion_id: str
    answer_keys: tuple[str, ...]
    """The answers keys read, first present wins."""
    kind: CriterionKind
    required: bool = True
    accepted: frozenset[str] | None = None
    """Accepted answers, lower-cased; None when the criterion lists rejected answers instead."""
    rejected: frozenset[str] = frozenset()
    """Rejected answers, lower-cased (used when ``accepted`` is None: anything else passes)."""

    def judge(self, answer: str) -> CheckResult:
        value = answer.strip().lower()
        if self.accepted is not None:
            return "PASS" if value in self.accepted else "FAIL"
        return "FAIL" if value in self.rejected else "PASS"


@dataclass(frozen=True, slots=True)
class Framework:
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Check:
    criterion_id: str
    answer_key: str
    answer: str | None
    result: CheckResult


@dataclass(frozen=True, slots=True)
class Qualification:
    verdict: Verdict
    checks: tuple[Check, ...]
    detail: str
    """One sentence naming the criteria that decided."""


def applies(code: CallOutcomeCode, answers: Mapping[str, str]) -> bool:
    """Whether an outcome is judged by the framework: QUALIFIED, APPOINTMENT_SET, or INTERESTED with answers."""
    return (code in QUALIFYING and code != "SALE") or (code == "INTERESTED" and bool(answers))


def evaluate(framework: Framework, code: CallOutcomeCode, answers: Mapping[str, str]) -> Qualification:
    """Judge ``answers`` given with outcome ``code`` (see the module doc for the order)."""
    checks = tuple(_check(c, answers) for c in framework.criteria)
    kinds = {c.criterion_id: c for c in framework.criteria}

    def named(found: list[Check]) -> str:
        return ", ".join(f"{c.criterion_id}={c.answer!r}" if c.answer is not None else c.criterion_id for c in found)

    failed_fit = [c for c in checks if c.result == "FAIL" and kinds[c.criterion_id].kind == "FIT"]
    if failed_fit:
        return Qualification("NO_FIT", checks, f"no fit: {named(failed_fit)} not accepted")
    failed_ready = [c for c in checks if c.result == "FAIL" and kinds[c.criterion_id].kind == "READINESS"]
    if failed_ready:
        return Qualification("NOT_READY", checks, f"not ready: {named(failed_ready)} not accepted")
    unknown = [c for c in checks if c.result == "UNKNOWN" and kinds[c.criterion_id].required]
    if code == "INTERESTED" and unknown:
        return Qualification("NOT_READY", checks, f"not ready: {named(unknown)} not known yet")
    passed = [c.criterion_id for c in checks if c.result == "PASS"]
    gaps = f"; not recorded: {named(unknown)}" if unknown else ""
    return Qualification("QUALIFIED", checks, f"qualified: {', '.join(passed) or 'agent claim'} met{gaps}")


def _check(criterion: Criterion, answers: Mapping[str, str]) -> Check:
    for key in criterion.answer_keys:
        raw = answers.get(key)
        if raw is not None and raw.strip():
            return Check(criterion.criterion_id, key, raw, criterion.judge(raw))
    return Check(criterion.criterion_id, criterion.answer_keys[0], None, "UNKNOWN")


# --- configuration -------------------------------------------------------------------------------

_CRITERION_KEYS = {"id", "answer", "accepted", "rejected", "kind", "required"}


def _values(where: str, value: object) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(a, str) and a.strip() for a in value):
        raise ConfigError(f"{where}: expected a non-empty list of strings, got {value!r}")
    return frozenset(a.strip().lower() for a in value)


def load_framework(data: object) -> Framework:
    """Validate parsed JSON into a ``Framework``; ``ConfigError`` names the criterion and key."""
    if not isinstance(data, Mapping) or set(data) != {"criteria"} or not isinstance(data["criteria"], list):
        raise ConfigError('qualification: expected {"criteria": [...]}')
    criteria: list[Criterion] = []
    for index, raw in enumerate(data["criteria"]):
        where = f"qualification: criteria[{index}]"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: expected an object, got {raw!r}")
        unknown = set(raw) - _CRITERION_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_CRITERION_KEYS)}")
        criterion_id, answer = raw.get("id"), raw.get("answer")
        kind, required = raw.get("kind"), raw.get("required", True)
        if not isinstance(criterion_id, str) or not criterion_id:
            raise ConfigError(f"{where}.id: expected a non-empty string, got {criterion_id!r}")
        where = f"qualification: criterion {criterion_id}"
        keys = [answer] if isinstance(answer, str) else answer
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise ConfigError(f"{where}.answer: expected the answers key (or a list of keys) to read, got {answer!r}")
        if ("accepted" in raw) == ("rejected" in raw):
            raise ConfigError(f"{where}: give exactly one of accepted (values that pass) "
                              "or rejected (values that fail)")
        accepted = _values(f"{where}.accepted", raw["accepted"]) if "accepted" in raw else None
        rejected = _values(f"{where}.rejected", raw["rejected"]) if "rejected" in raw else frozenset()
        if kind not in _KINDS:
            raise ConfigError(f"{where}.kind: expected one of {', '.join(_KINDS)}, got {kind!r}")
        if not isinstance(required, bool):
            raise ConfigError(f"{where}.required: expected true or false, got {required!r}")
        if any(c.criterion_id == criterion_id for c in criteria):
            raise ConfigError(f"{where}.id: defined twice")
        criteria.append(Criterion(criterion_id, tuple(keys), cast(CriterionKind, kind), required,
                                  accepted, rejected))
    return Framework(tuple(criteria))
