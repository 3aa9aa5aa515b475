"""Parsing the registries' files: both FTC line formats, line ends, BOM, zips, bad lines with their
line numbers, change lists, and the imports' refusals."""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_builders import NOW, write_lines, zip_of

from pipeline.bench.registry import generate_us_list
from pipeline.registry.chunks import parse_uk_line, parse_us_line
from pipeline.registry.cli import add_registry_commands
from pipeline.registry.disk import open_registry, read_snapshot, registry_dir
from pipeline.registry.errors import RegistryError, RegistryImportRefused
from pipeline.registry.importer import import_change_list, import_full_list
from pipeline.registry.kinds import UK_TPS, US_DNC, RegistryKind
from pipeline.registry.memory import Numbers, UkRegistry, UsRegistry
from pipeline.registry.parsing import ParseReport, Progress, load_full_list, parse_registry_file

US_NUMBERS = [2125550123, 3055550188, 4155550199, 6175551234, 9999999999, 2002000000]


def parse(path: Path, kind: RegistryKind = US_DNC, **kw: int) -> tuple[list[int], ParseReport]:
    blocks: list[Numbers] = []
    report = parse_registry_file(path, kind, blocks.append, **kw)
    numbers = sorted(int(n) for block in blocks for n in block)
    return numbers, report


# --- line formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "comma"])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_both_ftc_formats_with_either_line_end(tmp_path: Path, fmt: str, line_end: str) -> None:
    lines = [f"{n}" if fmt == "plain" else f"{str(n)[:3]},{str(n)[3:]}" for n in US_NUMBERS]
    numbers, report = parse(write_lines(tmp_path / "list.txt", lines, line_end=line_end))
    assert numbers == sorted(US_NUMBERS)
    assert (report.lines, report.numbers, report.bad_count, report.blank_lines) == (6, 6, 0, 0)


def test_mixed_formats_bom_blank_lines_spaces_and_no_final_newline(tmp_path: Path) -> None:
    lines = ["2125550123", "", "305,5550188", "  4155550199  ", "\t", "617,5551234\r", "9999999999"]
    numbers, report = parse(write_lines(tmp_path / "list.txt", lines, bom=True, final_end=False))
    assert numbers == sorted([2125550123, 3055550188, 4155550199, 6175551234, 9999999999])
    assert report.lines == 7
    assert report.blank_lines == 2
    assert report.bad_count == 0


def test_bom_is_stripped_even_with_tiny_reads(tmp_path: Path) -> None:
    numbers, report = parse(write_lines(tmp_path / "list.txt", ["2125550123"], bom=True), chunk_bytes=1)
    assert numbers == [2125550123] and report.bad_count == 0


def test_bad_lines_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    lines = [
        "2125550123",           # 1
        "212555012",            # 2 too short
        "",                     # 3 blank: not bad, still counted
        "0125550123",           # 4 area code starts with 0
        "2121550123",           # 5 exchange starts with 1
        "212-555-0123",         # 6 dashes
        "212,555,0123",         # 7 two commas
        "21255501234",          # 8 11 digits
        "3055550188",           # 9
        "\ufeff4155550199",     # 10 a stray BOM mid-file is tolerated
        "١٢٣٤٥٦٧٨٩٠",           # 11 non-ASCII digits are not digits here
    ]
    numbers, report = parse(write_lines(tmp_path / "list.txt", lines))
    assert numbers == [2125550123, 3055550188, 4155550199]
    assert report.lines == 11
    assert report.blank_lines == 1
    assert [(bad.line_number, bad.text) for bad in report.bad_lines] == [
        (2, "212555012"), (4, "0125550123"), (5, "2121550123"), (6, "212-555-0123"), (7, "212,555,0123"),
        (8, "21255501234"), (11, "١٢٣٤٥٦٧٨٩٠"),
    ]
    reasons = {bad.line_number: bad.reason for bad in report.bad_lines}
    assert "area code 012" in reasons[4]
    assert "exchange 155" in reasons[5]
    assert "AAANNNNNNN or AAA,NNNNNNN" in reasons[2]
    assert report.bad_count == 7


def test_bad_lines_counted_beyond_those_kept(tmp_path: Path) -> None:
    lines = ["x"] * 30 + ["2125550123"]
    path = write_lines(tmp_path / "list.txt", lines)
    report = parse_registry_file(path, US_DNC, lambda n: None, max_bad_kept=5)
    assert report.bad_count == 30
    assert [bad.line_number for bad in report.bad_lines] == [1, 2, 3, 4, 5]


def test_an_overlong_line_is_one_bad_line_and_parsing_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"2125550123\n" + b"9" * (3 << 20) + b"\n3055550188\n")
    numbers, report = parse(path, chunk_bytes=1 << 20)
    assert numbers == [2125550123, 3055550188]
    assert [(bad.line_number, bad.reason) for bad in report.bad_lines] == [(2, "line longer than 1048576 bytes")]
    assert report.lines == 3


_GOOD = st.integers(200, 999).flatmap(
    lambda area: st.integers(2_000_000, 9_999_999).map(lambda sub: area * 10_000_000 + sub)
)


@st.composite
def _files(draw: st.DrawFn) -> tuple[list[str], list[int], list[int], str]:
    """Lines of a file with their expected numbers and bad line numbers."""
    lines: list[str] = []
    good: list[int] = []
    bad: list[int] = []
    for i in range(draw(st.integers(0, 60))):
        kind = draw(st.sampled_from(["plain", "comma", "plain", "comma", "blank", "bad", "short"]))
        if kind in ("plain", "comma"):
            number = draw(_GOOD)
            good.append(number)
            lines.append(str(number) if kind == "plain" else f"{str(number)[:3]},{str(number)[3:]}")
        elif kind == "blank":
            lines.append("")
        else:
            lines.append(draw(st.sampled_from(["21255501X3", "1125550123", "abc", "212,555"]))
                         if kind == "bad" else "55")
            bad.append(i + 1)
    return lines, good, bad, draw(st.sampled_from(["\n", "\r\n"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files(), st.integers(1, 64))
def test_any_chunking_finds_every_number_and_every_bad_line_number(
    tmp_path: Path, case: tuple[list[str], list[int], list[int], str], chunk: int
) -> None:
    lines, good, bad, line_end = case
    numbers, report = parse(write_lines(tmp_path / "prop.txt", lines, line_end=line_end), chunk_bytes=chunk)
    assert numbers == sorted(good)
    assert [b.line_number for b in report.bad_lines] == bad
    assert report.lines == len(lines)


# --- zips ---------------------------------------------------------------------------------------


def test_zipped_list_is_read_streaming_and_hashed_as_the_zip(tmp_path: Path) -> None:
    text = "\r\n".join(f"{str(n)[:3]},{str(n)[3:]}" for n in US_NUMBERS).encode()
    path = zip_of(tmp_path / "list.zip", ("dnc/2025-06-01.txt", b"\xef\xbb\xbf" + text + b"\r\n"))
    numbers, report = parse(path, chunk_bytes=16)
    assert numbers == sorted(US_NUMBERS)
    assert report.bad_count == 0
    import hashlib

    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_zip_must_hold_exactly_one_file(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "two.zip", ("a.txt", b"2125550123\n"), ("b.txt", b"3055550188\n"))
    with pytest.raises(RegistryError, match="exactly one file"):
        parse(path)


def test_damaged_zip_is_an_error_not_a_short_list(tmp_path: Path) -> None:
    data = ("\n".join(str(2125550000 + i) for i in range(5000)) + "\n").encode()
    path = zip_of(tmp_path / "list.zip", ("list.txt", data))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0xFF  # flip bits inside the compressed member
    path.write_bytes(bytes(raw))
    with pytest.raises(RegistryError):
        parse(path)


# --- UK -----------------------------------------------------------------------------------------


def test_uk_lines_in_national_and_international_form(tmp_path: Path) -> None:
    lines = ["02079460018", "+442079460018", "+44 7700 900123", "0044 161 496 0000", "01632960001", "",
             "2079460018", "+4402079460018", "12345", "07700900999\r"]
    numbers, report = parse(write_lines(tmp_path / "tps.txt", lines), UK_TPS)
    assert numbers == sorted([2079460018, 2079460018, 7700900123, 1614960000, 1632960001, 7700900999])
    assert [bad.line_number for bad in report.bad_lines] == [7, 8, 9]


@pytest.mark.parametrize(("text", "expected"), [
    ("02079460018", 2079460018), ("+442079460018", 2079460018), ("0044 20 7946 0018", 2079460018),
    ("016977 3456", 169773456), ("+44", None), ("0", None), ("020794600181234", None), ("442079460018", None),
])
def test_parse_uk_line(text: str, expected: int | None) -> None:
    result = parse_uk_line(text)
    assert (result if isinstance(result, int) else None) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2125550123", 2125550123), ("212,5550123", 2125550123), ("1125550123", None), ("2120550123", None),
    ("212 5550123", None), ("+12125550123", None),
])
def test_parse_us_line(text: str, expected: int | None) -> None:
    result = parse_us_line(text)
    assert (result if isinstance(result, int) else None) == expected


# --- full lists, change lists, imports ----------------------------------------------------------


def test_generated_list_loads_back_exactly(tmp_path: Path) -> None:
    blocks: list[np.ndarray] = []
    generated = generate_us_list(
        20_000, tmp_path / "gen.txt", fmt="comma", bad_every=1000, seed=7, crlf=True,
        on_block=lambda area, subs: blocks.append(area * 10_000_000 + subs),
    )
    expected = np.concatenate(blocks)
    assert generated.numbers == 20_000 == expected.size == np.unique(expected).size
    assert generated.bad_lines == 20_000 // 999
    store, report = load_full_list(tmp_path / "gen.txt", US_DNC)
    assert isinstance(store, UsRegistry)
    assert store.count() == 20_000
    assert store.contains_many(expected).all()
    assert [bad.line_number for bad in report.bad_lines] == [1000 * k for k in range(1, 21)]
    again = generate_us_list(20_000, tmp_path / "again.txt", fmt="comma", bad_every=1000, seed=7, crlf=True)
    assert again.path.read_bytes() == (tmp_path / "gen.txt").read_bytes()


def test_progress_is_reported_every_n_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "list.txt", [str(2125550000 + i) for i in range(1000)])
    seen: list[Progress] = []
    parse_registry_file(path, US_DNC, lambda n: None, progress=seen.append, progress_every=300, chunk_bytes=1100)
    assert [p.lines for p in seen][-1] == 1000
    assert len(seen) >= 3
    assert all(p.registry == "us-dnc" and p.role == "full" for p in seen)


def test_full_import_then_change_list_additions_then_deletions(tmp_path: Path) -> None:
    full = write_lines(tmp_path / "full.txt", ["2125550123", "3055550188", "4155550199"])
    first = import_full_list(tmp_path, US_DNC, full, snapshot_date=date(2025, 6, 1), now=NOW)
    assert (first.snapshot.numbers, first.snapshot.added, first.previous) == (3, 3, None)

    additions = write_lines(tmp_path / "add.txt", ["617,5551234", "212,5550123", "718,5550100"])
    deletions = write_lines(tmp_path / "del.txt", ["3055550188", "7185550100", "9095550100"])
    result = import_change_list(tmp_path, US_DNC, additions=additions, deletions=deletions,
                                snapshot_date=date(2025, 6, 8), now=NOW)
    snap = result.snapshot
    # added: 617 and 718 are new (212 was already there); removed: 305 and 718 (909 never was)
    assert (snap.numbers, snap.added, snap.removed) == (3, 2, 2)
    assert snap.previous_snapshot_date == date(2025, 6, 1)
    assert [source.role for source in snap.sources] == ["additions", "deletions"]

    reopened = open_registry(registry_dir(tmp_path), "us-dnc")
    assert reopened is not None
    assert reopened.snapshot.snapshot_date == date(2025, 6, 8)
    present = [2125550123, 4155550199, 6175551234]
    assert reopened.store.contains_many([*present, 3055550188, 7185550100]).tolist() == [True] * 3 + [False] * 2


def test_uk_change_list(tmp_path: Path) -> None:
    full = write_lines(tmp_path / "tps.txt", ["02079460018", "07700900123"])
    import_full_list(tmp_path, UK_TPS, full, snapshot_date=date(2025, 6, 1), now=NOW)
    additions = write_lines(tmp_path / "add.txt", ["+441614960000"])
    deletions = write_lines(tmp_path / "del.txt", ["07700 900123"])
    result = import_change_list(tmp_path, UK_TPS, additions=additions, deletions=deletions,
                                snapshot_date=date(2025, 6, 5), now=NOW)
    assert (result.snapshot.numbers, result.snapshot.added, result.snapshot.removed) == (2, 1, 1)
    entry = open_registry(registry_dir(tmp_path), "uk-tps")
    assert entry is not None and isinstance(entry.store, UkRegistry)
    assert entry.store.numbers().tolist() == [1614960000, 2079460018]


def test_too_many_bad_lines_refuses_and_keeps_the_previous_snapshot(tmp_path: Path) -> None:
    good = write_lines(tmp_path / "good.txt", ["2125550123"])
    import_full_list(tmp_path, US_DNC, good, snapshot_date=date(2025, 6, 1), now=NOW)
    html = write_lines(tmp_path / "error.html", ["<html>", "<body>Service unavailable</body>", "</html>"])
    with pytest.raises(RegistryImportRefused) as refused:
        import_full_list(tmp_path, US_DNC, html, snapshot_date=date(2025, 6, 9), now=NOW, max_bad_lines=2)
    assert refused.value.reports[0].bad_count == 3
    with pytest.raises(RegistryImportRefused, match="holds no number"):
        import_full_list(tmp_path, US_DNC, html, snapshot_date=date(2025, 6, 9), now=NOW)
    kept = read_snapshot(registry_dir(tmp_path), "us-dnc")
    assert kept is not None and kept.snapshot_date == date(2025, 6, 1) and kept.numbers == 1


def test_reading_stops_once_the_import_is_bound_to_be_refused(tmp_path: Path) -> None:
    uk_list = write_lines(tmp_path / "tps.txt", ["02079460018"] * 2000)  # a UK list given as the US one
    report = parse_registry_file(uk_list, US_DNC, lambda n: None, chunk_bytes=1200, stop_after_bad=10)
    assert report.stopped_early and report.bad_count > 10 and report.lines < 2000
    with pytest.raises(RegistryImportRefused, match="stopped reading") as refused:
        import_full_list(tmp_path, US_DNC, uk_list, snapshot_date=date(2025, 6, 1), now=NOW, max_bad_lines=10)
    assert refused.value.reports[0].stopped_early
    additions = write_lines(tmp_path / "add.txt", ["2125550123"])
    import_full_list(tmp_path, US_DNC, additions, snapshot_date=date(2025, 6, 1), now=NOW)
    with pytest.raises(RegistryImportRefused, match="stopped reading"):
        import_change_list(tmp_path, US_DNC, additions=uk_list, deletions=additions, snapshot_date=date(2025, 6, 2),
                           now=NOW, max_bad_lines=10)
    kept = read_snapshot(registry_dir(tmp_path), "us-dnc")
    assert kept is not None and kept.snapshot_date == date(2025, 6, 1)


def test_dates_that_cannot_be_right_are_refused(tmp_path: Path) -> None:
    full = write_lines(tmp_path / "full.txt", ["2125550123"])
    with pytest.raises(RegistryError, match="future"):
        import_full_list(tmp_path, US_DNC, full, snapshot_date=NOW.date() + timedelta(days=2), now=NOW)
    with pytest.raises(RegistryError, match="import a full list first"):
        import_change_list(tmp_path, US_DNC, additions=full, deletions=None, snapshot_date=date(2025, 6, 1), now=NOW)
    import_full_list(tmp_path, US_DNC, full, snapshot_date=date(2025, 6, 5), now=NOW)
    with pytest.raises(RegistryError, match="older than the snapshot"):
        import_change_list(tmp_path, US_DNC, additions=full, deletions=None, snapshot_date=date(2025, 6, 1), now=NOW)


# --- the command line ---------------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="leadpipe")
    add_registry_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_generate_import_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "list.txt"
    assert _run(["registry", "generate", "--count", "5000", "--out", str(source), "--bad-every", "1000"]) == 0
    assert _run(["registry", "import", "--registry", "us-dnc", "--full", str(source), "--snapshot-date",
                 NOW.date().isoformat(), "--data-dir", str(tmp_path), "--progress-every", "0.002"]) == 0
    out, err = capsys.readouterr()
    assert "5,000 on the list" in out
    assert "bad lines (first 5 of 5):" in out
    assert "list.txt:1000: " in out
    assert "us-dnc full:" in err  # progress
    assert _run(["registry", "status", "--json", "--data-dir", str(tmp_path)]) == 0
    rows = {row["registry"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["us-dnc"]["numbers"] == 5000
    assert rows["uk-tps"]["imported"] is False


def test_cli_refused_import_prints_the_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_lines(tmp_path / "bad.txt", ["2125550123", "oops", "nope"])
    with pytest.raises(RegistryImportRefused):
        _run(["registry", "import", "--registry", "us-dnc", "--full", str(source), "--snapshot-date", "2025-06-01",
              "--data-dir", str(tmp_path), "--max-bad-lines", "1"])
    err = capsys.readouterr().err
    assert "bad.txt:2: " in err and "bad.txt:3: " in err
