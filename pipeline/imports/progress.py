"""A one-line progress bar on stderr for long imports (lead files, registry lists).

On a terminal the line is redrawn in place (``\\r``) at most every ``interval_s``; when stderr is a
file or a pipe a plain line is written at most every ``plain_interval_s`` instead, so logs stay
readable. The text comes from :func:`progress_text`, a pure function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def compact(n: float) -> str:
    """``1234`` → ``1,234``; ``12_345_678`` → ``12.3 M``."""
    if n >= 10_000_000:
        return f"{n / 1e6:,.1f} M"
    return f"{n:,.0f}"


def progress_text(*, done_bytes: int, total_bytes: int | None, count: int, unit: str, elapsed_s: float,
                  bad: int = 0, width: int = 24) -> str:
    """``[#########...............]  37.5%  12,345 rows  4,100 rows/s  3 bad  3.0 s``.

    Without a total (a stream of unknown size) the bar and percentage are left out.
    """
    rate = count / elapsed_s if elapsed_s > 0 else 0.0
    parts = []
    if total_bytes:
        share = min(1.0, max(0.0, done_bytes / total_bytes))
        filled = round(share * width)
        parts.append(f"[{'#' * filled}{'.' * (width - filled)}] {share:6.1%}")
    parts.append(f"{compact(count)} {unit}")
    parts.append(f"{compact(rate)} {unit}/s")
    parts.append(f"{compact(bad)} bad")
    parts.append(f"{elapsed_s:.1f} s")
    return "  ".join(parts)


class ProgressLine:
    """Throttled progress output to ``stream``; call :meth:`update` as often as you like."""

    def __init__(self, stream: TextIO, *, interval_s: float = 0.2, plain_interval_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        try:
            self._tty = stream.isatty()
        except (AttributeError, ValueError):
            self._tty = False
        self._interval = interval_s if self._tty else plain_interval_s
        self._last = clock()
        self._width = 0

    @property
    def tty(self) -> bool:
        """True when the line is redrawn in place (stderr is a terminal)."""
        return self._tty

    def update(self, text: Callable[[], str], *, force: bool = False) -> None:
        """Show ``text()`` if the interval passed (or ``force``); ``text`` is only called then."""
        now = self._clock()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        self._write(text())

    def _write(self, line: str) -> None:
        if self._tty:
            self._stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def finish(self, line: str) -> None:
        """The final state, always shown, ending the line."""
        self._write(line)
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()
