"""What a log line may say about text that can hold personal data: its length and a hash, never the text.

Error messages about input quote the input (a validation problem names the bad value, a CRM's
refusal echoes the lead it refused, an exception message may hold a number). Logs are kept and
shipped more widely than the topics, and outlive an erasure, so such text reaches them only as a
:func:`fingerprint`: the same text always gives the same fingerprint, so an operator can still
match a log line to the dead-letter record (which keeps the full message next to the original
bytes) or tell two failures apart.
"""

from __future__ import annotations

import hashlib
import traceback

FINGERPRINT_HEX = 12


def fingerprint(text: str | bytes) -> str:
    """``"<n> bytes, sha256 <first 12 hex>"`` of ``text`` (UTF-8 for str)."""
    raw = text.encode("utf-8", "backslashreplace") if isinstance(text, str) else text
    return f"{len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:FINGERPRINT_HEX]}"


def exception_summary(exc: BaseException) -> str:
    """The exception's type, its message as a :func:`fingerprint` and where it was raised (files,
    lines and functions: code, not data) — a traceback fit for a log line."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " < ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                       for frame in reversed(frames[-6:]))
    return f"{type(exc).__name__} (message {fingerprint(str(exc))})" + (f" at {where}" if where else "")
