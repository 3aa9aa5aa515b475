"""One vocabulary: every reason code the core can give is in ``pipeline.core.reasons``, and the
report and the dashboard know each one.

Which codes the core can give is read from its source, not from the vocabulary: every reason is
built by ``reasons.reason`` (no dict with a "code" key anywhere else in the core), whose code is a
``ReasonCode`` (mypy checks each call; the literals are collected here), plus the codes computed
elsewhere and passed through ``reason_code`` (phone errors) or typed in another module (registry
verdicts).
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from pipeline.core import lifecycle
from pipeline.core.reasons import OUTCOME_REASONS, REASON_CODES, VOCABULARY, reason_code
from pipeline.registry.check import RegistryReasonCode
from pipeline.reporting.aggregate import Aggregator
from pipeline.reporting.prometheus import render_report
from pipeline.topics import CALL_OUTCOME, LEAD_DECISION

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted((ROOT / "pipeline" / "core").glob("*.py"))
DASHBOARD = ROOT / "pipeline" / "console" / "dashboard.html"
T0 = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
_CODE = re.compile(r"[A-Z][A-Z0-9_]+")


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and ((isinstance(node.func, ast.Name) and node.func.id == name)
                 or (isinstance(node.func, ast.Attribute) and node.func.attr == name))]


def _strings(node: ast.AST | None) -> set[str]:
    """The code-like strings an expression can evaluate to (a conditional's branches, a table's values)."""
    if isinstance(node, ast.Constant):
        return {node.value} if isinstance(node.value, str) and _CODE.fullmatch(node.value) else set()
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.Dict):
        return set().union(*(_strings(v) for v in node.values))
    if isinstance(node, ast.Tuple):
        return set().union(*(_strings(e) for e in node.elts))
    return set()


# The lifecycle's helpers take their ReasonCode as closed(status, code, ...) and again(next, at, code, ...).
_HELPER_CODE_ARG = {"closed": 1, "again": 2}


def _helper_codes(tree: ast.AST) -> set[str]:
    return {code for helper, index in _HELPER_CODE_ARG.items() for call in _calls(tree, helper)
            if len(call.args) > index for code in _strings(call.args[index])}


def codes_the_core_gives() -> set[str]:
    """Every reason code literal the core's source can put in a reason."""
    found: set[str] = set()
    for path in CORE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree, "reason") + _calls(tree, "_reason"):
            found |= _strings(call.args[0]) if call.args else set()
        # Codes chosen before the call: conditional expressions and tables typed ReasonCode.
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and "ReasonCode" in ast.unparse(node.annotation) and node.value:
                found |= _strings(node.value)
        found |= _helper_codes(tree)
        if path.name == "phone.py":  # rejected_phone passes a PhoneError's code through reason_code
            found |= {c.args[0].value for c in _calls(tree, "PhoneError") if isinstance(c.args[0], ast.Constant)}
    return found | set(get_args(RegistryReasonCode))


def test_the_core_builds_every_reason_through_the_vocabulary() -> None:
    for path in CORE:
        if path.name == "reasons.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                assert "code" not in keys, f"{path.name}:{node.lineno} builds a reason without reasons.reason"


def test_every_code_the_core_gives_is_in_the_vocabulary_and_every_vocabulary_code_is_given() -> None:
    given = codes_the_core_gives()
    assert given - set(REASON_CODES) == set(), "codes the core gives that the vocabulary lacks"
    assert set(REASON_CODES) - given == set(), "vocabulary codes nothing in the core gives"
    assert set(VOCABULARY) == set(REASON_CODES)
    assert all(m.label and m.meaning for m in VOCABULARY.values())
    with pytest.raises(ValueError, match="not in the vocabulary"):
        reason_code("DNC_REQUESTED")  # the old second name of DNC_CALL_OUTCOME


def _decision(code: str, n: int) -> dict[str, Any]:
    return {"event_id": f"d{n}", "input_event_id": f"in{n}", "input_topic": "lead-captured", "lead_id": f"L{n}",
            "outcome": "CLOSED" if code in lifecycle_codes() else "SUPPRESSED",
            "reasons": [{"code": code, "rule_id": "r", "detail": "d"}], "campaign_id": "c", "source": "s",
            "region": "US", "phone_e164": "+13052094411", "quality_flags": []}


def lifecycle_codes() -> set[str]:
    return _helper_codes(ast.parse(Path(lifecycle.__file__).read_text(encoding="utf-8")))


@pytest.mark.parametrize("code", sorted(codes_the_core_gives()))
def test_the_report_counts_and_names_every_code(code: str) -> None:
    aggregator = Aggregator()
    aggregator.add(LEAD_DECISION, _decision(code, 1))
    report = aggregator.report(T0).to_json()
    outcome = "CLOSED" if code in lifecycle_codes() else "SUPPRESSED"
    assert report["totals"]["reasons"][outcome] == {code: 1}
    assert report["reason_codes"][code]["label"] == VOCABULARY[reason_code(code)].label
    assert f'code="{code}"' in render_report(aggregator.report(T0))  # and /metrics


@pytest.mark.parametrize(("outcome", "code"), sorted(OUTCOME_REASONS.items()))
def test_a_closing_call_outcome_is_counted_under_the_code_its_decision_gives(outcome: str, code: str) -> None:
    aggregator = Aggregator()
    aggregator.add(CALL_OUTCOME, {"event_id": "o1", "lead_id": "L1", "outcome": outcome, "phone": "+13052094411",
                                  "campaign_id": "c", "occurred_at": T0, "tags": []})
    assert aggregator.report(T0).to_json()["totals"]["reasons"] == {"DISQUALIFIED": {code: 1}}
    assert code in lifecycle_codes()


def test_the_dashboard_names_reasons_from_the_reports_vocabulary() -> None:
    page = DASHBOARD.read_text(encoding="utf-8")
    # The reason rows look each code up in the report's vocabulary and show its label (the code and
    # its meaning on hover); only a dialer's free-text tag is shown as sent.
    assert "const vocabulary = r.reason_codes" in page
    assert "known ? known.label : code" in page and "known.meaning" in page
