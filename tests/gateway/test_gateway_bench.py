"""``leadpipe bench --gateway`` says how to get wrk when it is missing (the run itself is the benchmark)."""

from __future__ import annotations

import pytest

from pipeline.bench.gateway import INSTALL_HINT, run_gateway_bench
from pipeline.config import Settings


def test_without_wrk_the_bench_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert run_gateway_bench(Settings()) == 2
    out = capsys.readouterr().out
    assert INSTALL_HINT in out and "apt-get install -y wrk" in out

