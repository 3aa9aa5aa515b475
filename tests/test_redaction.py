"""Log lines get a fingerprint of text that may hold personal data, never the text."""

from __future__ import annotations

import hashlib

from pipeline.redaction import exception_summary, fingerprint


def test_a_fingerprint_is_length_and_hash_and_the_same_for_the_same_text() -> None:
    text = "phone: PHONE_INVALID: '+1 305 209 4411' is not a number"
    assert fingerprint(text) == f"{len(text)} bytes, sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]}"
    assert fingerprint(text) == fingerprint(text.encode()) != fingerprint(text + " ")
    assert "4411" not in fingerprint(text)
    assert fingerprint("\ud800").startswith("6 bytes")  # a lone surrogate does not break a log line


def test_an_exception_summary_says_what_and_where_not_the_message() -> None:
    def fail() -> None:
        raise ValueError("no lead for Ana Silva at +13052094411")

    try:
        fail()
    except ValueError as exc:
        summary = exception_summary(exc)
    assert summary.startswith("ValueError (message ")
    assert "test_redaction.py:" in summary and " fail" in summary
    assert "Ana" not in summary and "4411" not in summary
