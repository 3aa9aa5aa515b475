"""`leadpipe registry import`: the progress bar, and every bad line in the --errors file."""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from pathlib import Path

import pytest
from registry_builders import NOW, write_lines, zip_of

from pipeline.registry.cli import _ProgressBar, add_registry_commands
from pipeline.registry.errors import RegistryImportRefused
from pipeline.registry.importer import import_full_list
from pipeline.registry.kinds import REGISTRY_KINDS
from pipeline.registry.parsing import MAX_BAD_LINES_KEPT, Progress, source_size

US_DNC = REGISTRY_KINDS["us-dnc"]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="leadpipe")
    add_registry_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def _read_errors(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_errors_file_holds_every_bad_line_with_number_and_reason(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    lines = [f"212555{n:04d}" if n % 40 else "not-a-number" for n in range(1, 2001)]
    source = write_lines(tmp_path / "list.txt", lines)
    errors = tmp_path / "bad.csv"
    assert _run(["registry", "import", "--registry", "us-dnc", "--full", str(source), "--snapshot-date",
                 NOW.date().isoformat(), "--data-dir", str(tmp_path), "--errors", str(errors)]) == 0
    out = capsys.readouterr().out
    assert "bad lines (first 20 of 50):" in out
    assert "--errors FILE writes every one of them" in out
    assert f"every bad line, with its line number and reason: {errors}" in out
    rows = _read_errors(errors)
    assert [int(r["line"]) for r in rows] == list(range(40, 2001, 40))
    assert all(r["text"] == "not-a-number" and "expected 10 digits" in r["reason"] for r in rows)


def test_a_refused_import_still_writes_its_bad_lines(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "bad.txt", ["2125550123", "oops", "nope"])
    errors = tmp_path / "bad.csv"
    with pytest.raises(RegistryImportRefused):
        _run(["registry", "import", "--registry", "us-dnc", "--full", str(source), "--snapshot-date", "2025-06-01",
              "--data-dir", str(tmp_path), "--max-bad-lines", "1", "--errors", str(errors)])
    assert [(r["line"], r["text"]) for r in _read_errors(errors)] == [("2", "oops"), ("3", "nope")]


def test_an_accepted_import_keeps_every_bad_line_even_beyond_the_default_kept(tmp_path: Path) -> None:
    bad = MAX_BAD_LINES_KEPT + 5
    source = write_lines(tmp_path / "list.txt", ["x"] * bad + ["2125550123"])
    result = import_full_list(tmp_path, US_DNC, source, snapshot_date=NOW.date(), now=NOW, max_bad_lines=bad)
    [report] = result.reports
    assert report.bad_count == bad
    assert len(report.bad_lines) == bad


def test_source_size_is_what_the_parser_reads(tmp_path: Path) -> None:
    plain = write_lines(tmp_path / "list.txt", ["2125550123"] * 10)
    assert source_size(plain) == 110
    zipped = zip_of(tmp_path / "list.zip", ("list.txt", b"2125550123\n" * 10))
    assert zipfile.is_zipfile(zipped)
    assert source_size(zipped) == 110
    assert source_size(tmp_path / "missing.txt") is None


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _progress(path: Path, done: int) -> Progress:
    return Progress(registry="us-dnc", path=str(path), role="full", lines=done // 11, numbers=done // 11,
                    bad_lines=0, bytes_read=done, elapsed_s=1.0)


def test_on_a_terminal_the_bar_shows_the_share_of_the_file_and_ends_once(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "list.txt", ["2125550123"] * 100)  # 1,100 bytes
    stream = Tty()
    bar = _ProgressBar([path, None], every_lines=10_000_000, stream=stream)
    assert bar.loader_every == 1  # every chunk; the bar throttles itself
    bar(_progress(path, 1100))
    bar(_progress(path, 1100))  # the parser's last report of the same file: not drawn twice
    text = stream.getvalue()
    assert text.count("100.0%") == 1 and text.endswith("\n")
    assert text.startswith("\rus-dnc full: [########################] 100.0%  100 lines")


def test_in_a_log_progress_lines_say_how_much_of_the_file_was_read(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lines(tmp_path / "list.txt", ["2125550123"] * 100)
    bar = _ProgressBar([path], every_lines=5_000_000, stream=io.StringIO())
    assert bar.loader_every == 5_000_000
    bar(_progress(path, 550))
    assert "(50.0% of the file)" in capsys.readouterr().err
