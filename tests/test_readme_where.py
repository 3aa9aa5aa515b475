"""The README's "where" table names only paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEADER = "| where | what |"


def _where_column() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER) + 2  # the header and its |---| line
    cells = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells.append(line.split("|")[1])
    return cells


PATHS = [path for cell in _where_column() for path in re.findall(r"`([^`]+)`", cell)]


def test_the_table_is_found() -> None:
    assert len(_where_column()) >= 10
    assert "pipeline/core/" in PATHS


@pytest.mark.parametrize("path", PATHS)
def test_every_path_named_exists(path: str) -> None:
    target = ROOT / path
    assert target.is_dir() if path.endswith("/") else target.is_file(), f"README names {path}: not in the tree"
