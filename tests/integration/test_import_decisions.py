"""``leadpipe import leads FILE --decisions OUT.csv`` against the real worker: every row comes back
with the decision the worker made for it, read from lead-decision, next to its cells."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import NOW, Pipeline, opt_out

from pipeline.topics import LEAD_DECISION, OPT_OUT

pytestmark = pytest.mark.integration


def test_every_imported_row_gets_its_decision_written_next_to_it(pipeline: Pipeline, us_number: Callable[[], str],
                                                                tmp_path: Path) -> None:
    phones = [us_number() for _ in range(40)]
    stopped = phones[3]
    pipeline.send(OPT_OUT, opt_out(stopped), key=stopped)
    pipeline.wait_blocked(stopped)
    source = tmp_path / "list.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Phone", "First Name", "Email", "occurred_at"])
        at = (NOW - timedelta(minutes=2)).isoformat()  # the worker's clock is frozen at NOW
        for n, phone in enumerate(phones):
            writer.writerow([phone, f"Row{n}", f"row{n}.{phone[-7:]}@example.com", at])
        writer.writerow(["555 12", "Bad", "bad@example.com", at])  # refused by the importer itself
        writer.writerow([phones[0], "Again", f"again.{phones[0][-7:]}@example.com", at])  # same campaign and number
    out = tmp_path / "decided.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env["LEADPIPE_BOOTSTRAP_SERVERS"] = pipeline.settings.bootstrap_servers or ""
    # insurance-renewals needs no consent, which a plain list does not carry.
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "import", "leads", str(source), "--campaign",
                           "insurance-renewals", "--country", "US", "--decisions", str(out)],
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "decided    41" in done.stdout, done.stdout

    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 42
    by_line = {int(r["line"]): r for r in rows}
    decisions = {d["decision_id"]: d for d in pipeline.outputs(LEAD_DECISION)}
    for row in rows:
        if row["Phone"] == "555 12":
            assert row["decision"] == "NOT_SENT" and row["reasons"].startswith("phone:")
            continue
        decision = decisions[row["decision_id"]]  # the very record on lead-decision
        assert (row["decision"], row["lead_id"]) == (decision["outcome"], decision["lead_id"])
        assert decision["reasons"][0]["code"] in row["reasons"]
    assert by_line[2]["decision"] == "CALL_READY" and by_line[2]["callable_until"]
    assert by_line[5]["decision"] == "SUPPRESSED" and "DNC_OPT_OUT" in by_line[5]["reasons"]
    assert by_line[43]["decision"] == "DUPLICATE"
