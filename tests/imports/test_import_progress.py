"""The progress line: its text, and how often it is drawn on a terminal and in a log."""

from __future__ import annotations

import io

from pipeline.imports.progress import ProgressLine, compact, progress_text


def test_progress_text_with_and_without_a_total() -> None:
    assert progress_text(done_bytes=250, total_bytes=1000, count=1234, unit="rows", elapsed_s=2.0, bad=3,
                         width=8) == "[##......]  25.0%  1,234 rows  617 rows/s  3 bad  2.0 s"
    assert progress_text(done_bytes=5, total_bytes=None, count=12_345_678, unit="lines", elapsed_s=1.0) == (
        "12.3 M lines  12.3 M lines/s  0 bad  1.0 s")
    assert compact(999) == "999"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_redrawn_line_and_a_log_gets_sparse_lines() -> None:
    now = [0.0]
    tty = Tty()
    line = ProgressLine(tty, interval_s=1.0, clock=lambda: now[0])
    for step in range(5):
        now[0] = step * 0.5
        line.update(lambda step=step: f"step {step}")
    line.finish("done")
    assert tty.getvalue() == "\rstep 2\rstep 4\rdone  \n"

    log = io.StringIO()
    plain = ProgressLine(log, plain_interval_s=10.0, clock=lambda: now[0])
    now[0] = 5.0
    plain.update(lambda: "too soon")
    now[0] = 20.0
    plain.update(lambda: "later")
    plain.finish("done")
    assert log.getvalue() == "later\ndone\n"
