"""Email addresses: normalized, checked for syntax, compared case-insensitively, disposable ones known.

:func:`check_email` trims the address and lower-cases its domain (domains are case-insensitive, DNS
says so). The local part keeps its case as given — RFC 5321 lets a server treat ``Ann`` and ``ann``
as two mailboxes — but :attr:`Email.key`, the identity used to find the same person twice, compares
it case-folded, because in practice no mailbox provider tells them apart.

The syntax check is pragmatic, not RFC 5322 (which allows quoted local parts, comments and IP
literals no lead form should accept). An address is valid when:

- it has exactly one ``@``, at most 254 characters, nothing else but the address (no spaces, no
  ``Name <addr>`` display form);
- the local part has 1-64 characters of letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` (any Unicode
  letter or digit, for internationalized addresses), without a leading, trailing or doubled dot;
- the domain has at least two labels of 1-63 letters, digits or hyphens (not at either end of a
  label), 253 characters at most, and its last label (the TLD) is 2+ letters or an ``xn--`` label.

No DNS lookup is made: the core does no I/O. An address failing the check is flagged
(``EMAIL_INVALID``, see ``pipeline.core.quality``), never dropped.

Disposable domains (throwaway inboxes) are the set handed to :func:`check_email`: a domain is
disposable when it, or a domain it belongs to, is in it (``x.mailinator.com`` counts). The shipped
list, ``pipeline/data/disposable-domains.txt`` (read by ``pipeline.packaged``, parsed by
:func:`parse_disposable_domains`), holds well-known throwaway-inbox services, written down from common
knowledge of them; its header says so.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

MAX_LENGTH = 254
_LOCAL = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_SPACE = re.compile(r"\s")  # matches exactly the characters str.isspace() accepts


@dataclass(frozen=True, slots=True)
class Email:
    """An email address as normalized, and what the checks found."""

    address: str
    """Trimmed, domain lower-cased, local part as given."""
    key: str
    """The identity to compare: local part case-folded, then ``@`` and the domain."""
    domain: str
    valid: bool
    problem: str | None
    """Why the address is not valid (None when it is)."""
    disposable: bool


def check_email(raw: str | None, disposable_domains: frozenset[str]) -> Email | None:
    """Normalize and check ``raw``; None when no address was given (None or blank). Its domain is
    disposable when it or a domain it belongs to is in ``disposable_domains``. Never raises on any input.
    """
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    domain = domain.lower().rstrip(".")
    address = f"{local}@{domain}" if at else text
    key = f"{local.casefold()}@{domain}" if at else text.casefold()
    problem = _problem(text, local, domain) if at else "no '@'"
    disposable = bool(at) and _disposable(domain, disposable_domains)
    return Email(address, key, domain, problem is None, problem, disposable)


def email_key(raw: str | None) -> str | None:
    """The identity of ``raw`` for finding the same person twice, or None when it is blank or invalid."""
    email = check_email(raw, frozenset())
    return email.key if email is not None and email.valid else None


def _problem(text: str, local: str, domain: str) -> str | None:
    if len(text) > MAX_LENGTH:
        return f"longer than {MAX_LENGTH} characters"
    if _SPACE.search(text) is not None or "<" in text or ">" in text:
        return "contains spaces or angle brackets: give the address alone"
    if "@" in local:
        return "more than one '@'"
    if not local:
        return "nothing before the '@'"
    if len(local) > 64:
        return "the part before the '@' is longer than 64 characters"
    if _LOCAL.fullmatch(local) is None:
        return "the part before the '@' has a character not allowed there, or a misplaced dot"
    return _domain_problem(domain)


@functools.lru_cache(maxsize=4096)
def _domain_problem(domain: str) -> str | None:
    """Why ``domain`` cannot be an address's domain, or None; the same few domains come again and again."""
    if not domain:
        return "no domain after the '@'"
    if len(domain) > 253:
        return "the domain is longer than 253 characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"the domain {domain!r} has no top-level domain"
    if not all(_LABEL.fullmatch(label) for label in labels):
        return f"the domain {domain!r} is not a valid host name"
    if _TLD.fullmatch(labels[-1]) is None:
        return f"the top-level domain {labels[-1]!r} is not a real one (letters only)"
    return None


@functools.lru_cache(maxsize=4096)
def _disposable(domain: str, domains: frozenset[str]) -> bool:
    """Whether ``domain`` or a domain it belongs to is in ``domains``. Cached: the same few domains
    come again and again, and a frozenset keeps its hash, so the key costs little."""
    return any(parent in domains for parent in _parents(domain))


def _parents(domain: str) -> tuple[str, ...]:
    """``a.b.example.com`` → itself, ``b.example.com``, ``example.com`` (not the bare TLD)."""
    labels = domain.split(".")
    return tuple(".".join(labels[i:]) for i in range(max(len(labels) - 1, 1)))


def parse_disposable_domains(text: str) -> frozenset[str]:
    """One domain per line, lower-cased; blank lines and ``#`` comments ignored."""
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")
    )

