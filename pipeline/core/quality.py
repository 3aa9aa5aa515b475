"""Data-quality flags: signs that a lead is junk, a test, or typed carelessly.

A flag is a signal, not a verdict: a flagged lead is decided like any other (compliance first),
its flags travel on its ``lead-decision`` (``quality_flags``) and are scoring facts
(``quality.flags`` contains ``NAME_TEST``...), so a rule file decides how much each one costs.
Nothing is dropped because of a flag.

======================  =======================================================================
flag                    raised when
======================  =======================================================================
EMAIL_INVALID           an email was given and fails the syntax check (``pipeline.core.email``)
EMAIL_DISPOSABLE        the email's domain is a throwaway-inbox service (the disposable domains handed in)
EMAIL_TEST              the email is an obvious placeholder: ``test@``, ``asdf@``, ``noemail@``...,
                        or a domain reserved for examples (``example.com``, ``*.test``...)
NAME_MISSING            neither a first nor a last name
NAME_TEST               the name is a placeholder: test, asdf, qwerty, John/Jane Doe, Mickey Mouse...
NAME_INVALID            the name has digits, or no letter at all
PHONE_REPEATED_DIGITS   the subscriber number is one digit repeated (555-5555, 222-2222), or the
                        whole national number uses at most two different digits
PHONE_SEQUENTIAL        the subscriber number is a run: 123-4567, 765-4321, 234-5678
PHONE_FICTIONAL         a NANP number in 555-0100..555-0199, reserved for fiction
======================  =======================================================================

"Subscriber number" is the last seven digits of the national number.
"""

from __future__ import annotations

import functools
import re

from pipeline.core.email import Email
from pipeline.events import PhoneInfo

QUALITY_FLAGS = (
    "EMAIL_INVALID", "EMAIL_DISPOSABLE", "EMAIL_TEST", "NAME_MISSING", "NAME_TEST", "NAME_INVALID",
    "PHONE_REPEATED_DIGITS", "PHONE_SEQUENTIAL", "PHONE_FICTIONAL",
)

_TEST_WORDS = frozenset({
    "test", "testing", "tester", "testtest", "test test", "asdf", "asdfasdf", "asdf asdf", "qwerty", "qwer",
    "sdfsdf", "xxx", "xxxx", "aaa", "aaaa", "abc", "abcd", "foo", "bar", "foo bar", "foobar", "fake", "dummy",
    "none", "na", "n/a", "null", "no name", "noname", "anonymous", "sample", "example", "blah", "nobody",
})
_TEST_FULL_NAMES = frozenset({
    "john doe", "jane doe", "john smith test", "mickey mouse", "minnie mouse", "donald duck", "bugs bunny",
    "homer simpson", "john q public", "john q. public", "joe bloggs", "fred bloggs", "test user",
    "first last", "firstname lastname", "first name last name", "santa claus",
})
_TEST_EMAIL_LOCALS = frozenset({
    "test", "testing", "tester", "asdf", "qwerty", "noemail", "no-email", "none", "nobody", "fake",
    "null", "na", "noreply", "no-reply", "donotreply", "do-not-reply", "example", "sample", "abc", "xxx",
})
_EXAMPLE_DOMAINS = frozenset({"example.com", "example.org", "example.net", "test.com", "email.com"})
_RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost", "local"})
_ASCENDING = "01234567890"
_DESCENDING = "9876543210"
_HAS_LETTER = re.compile(r"[^\W\d_]")


def quality_flags(first_name: str | None, last_name: str | None, email: Email | None,
                  phone: PhoneInfo) -> tuple[str, ...]:
    """The flags of the module's table a lead with these details raises, in table order. Never raises."""
    found: set[str] = set()
    if email is not None:
        if not email.valid:
            found.add("EMAIL_INVALID")
        if email.disposable:
            found.add("EMAIL_DISPOSABLE")
        local = email.key.rpartition("@")[0]
        if (local in _TEST_EMAIL_LOCALS or email.domain in _EXAMPLE_DOMAINS
                or email.domain.rpartition(".")[2] in _RESERVED_TLDS):
            found.add("EMAIL_TEST")
    found.update(_name_flags(first_name, last_name))
    found.update(_phone_flags(phone))
    return tuple(flag for flag in QUALITY_FLAGS if flag in found)


@functools.lru_cache(maxsize=4096)
def _name_flags(first: str | None, last: str | None) -> frozenset[str]:
    """The name flags of (first, last); remembered, as the same names come again and again."""
    parts = [" ".join(p.split()).casefold() for p in (first, last) if p is not None and p.strip()]
    if not parts:
        return frozenset({"NAME_MISSING"})
    flags: set[str] = set()
    full = " ".join(parts)
    if full in _TEST_FULL_NAMES or any(p in _TEST_WORDS for p in parts) or full in _TEST_WORDS:
        flags.add("NAME_TEST")
    if any(ch.isdigit() for ch in full) or not _HAS_LETTER.search(full):
        flags.add("NAME_INVALID")
    return frozenset(flags)


def _phone_flags(phone: PhoneInfo) -> set[str]:
    e164 = phone["phone_e164"]
    national = e164[2:] if e164.startswith("+1") else e164.lstrip("+")
    subscriber = national[-7:]
    flags: set[str] = set()
    if len(subscriber) == 7:
        if len(set(subscriber)) == 1 or (e164.startswith("+1") and len(set(national)) <= 2):
            flags.add("PHONE_REPEATED_DIGITS")
        if subscriber in _ASCENDING or subscriber in _DESCENDING:
            flags.add("PHONE_SEQUENTIAL")
        if e164.startswith("+1") and subscriber.startswith("55501"):
            flags.add("PHONE_FICTIONAL")
    return flags
