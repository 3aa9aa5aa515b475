"""`leadpipe import leads --dry-run` in-process: mapping options, the summary, the errors file, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipeline.cli import main

ROWS = """Mobile Phone,Name,Campaign,Promo,Notes
+13052094411,Ana,solar-q4,SPRING,call after 5
+13052094412,Bea,,SPRING,
555,Cy,solar-q4,,
"""


@pytest.fixture
def leads_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("LEADPIPE_BOOTSTRAP_SERVERS", "LEADPIPE_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "leads.csv"
    path.write_text("\ufeff" + ROWS, encoding="utf-8")
    return path


def test_dry_run_checks_the_file_and_writes_every_bad_row(leads_csv: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    errors = tmp_path / "bad.csv"
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Name": "first_name", "Notes": "-"}))
    code = main(["import", "leads", str(leads_csv), "--dry-run", "--map", "Mobile Phone=phone", "--mapping",
                 str(mapping), "--map", "Promo=attributes.promo", "--errors", str(errors), "--show-mapping"])
    out = capsys.readouterr().out
    assert code == 0
    assert "'Mobile Phone' → phone" in out and "'Promo' → attributes.promo" in out
    assert "'Notes'" not in out  # ignored
    assert "rows       3 read" in out and "valid      1" in out and "rejected   2" in out
    assert "line 3: campaign_id: missing" in out
    assert "line 4: phone: PHONE_INVALID" in out
    with errors.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["line", "reason", "Mobile Phone", "Name", "Campaign", "Promo", "Notes"]
    assert [r[0] for r in rows[1:]] == ["3", "4"]
    assert rows[2][2:] == ["555", "Cy", "solar-q4", "", ""]


def test_campaign_default_fills_empty_cells(leads_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "leads", str(leads_csv), "--dry-run", "--campaign", "fallback"]) == 0
    out = capsys.readouterr().out
    assert "valid      2" in out and "rejected   1" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--map", "no-equals-sign"], "expected CSV_COLUMN=FIELD"),
    (["--map", "Name=shoe_size"], "'shoe_size' is not a lead field"),
    (["--country", "USA"], "--country 'USA'"),
])
def test_bad_options_are_refused_with_a_message(leads_csv: Path, capsys: pytest.CaptureFixture[str],
                                                 args: list[str], message: str) -> None:
    assert main(["import", "leads", str(leads_csv), "--dry-run", *args]) in (1, 2)
    assert message in capsys.readouterr().err


def test_sending_needs_a_cluster(leads_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "leads", str(leads_csv)]) == 2
    assert "LEADPIPE_BOOTSTRAP_SERVERS" in capsys.readouterr().err
