"""Email normalization, the pragmatic syntax check, and disposable domains."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.email import check_email, email_key, parse_disposable_domains
from pipeline.packaged import default_disposable_domains


@pytest.mark.parametrize(("raw", "address", "key"), [
    ("  Maria.Garcia@Example.COM ", "Maria.Garcia@example.com", "maria.garcia@example.com"),
    ("ana+quotes@gmail.com", "ana+quotes@gmail.com", "ana+quotes@gmail.com"),
    ("jörg@bücher.de", "jörg@bücher.de", "jörg@bücher.de"),
    ("x@mail.example.org.", "x@mail.example.org", "x@mail.example.org"),
])
def test_normalized_domain_lower_cased_local_part_kept_key_case_folded(raw: str, address: str, key: str) -> None:
    email = check_email(raw, frozenset())
    assert email is not None
    assert (email.address, email.key) == (address, key)


@pytest.mark.parametrize(("raw", "valid", "problem"), [
    ("ana@example.com", True, None),
    ("o'brien@example.ie", True, None),
    ("a.b-c_d@sub.domain.co.uk", True, None),
    ("ana@xn--bcher-kva.de", True, None),
    ("ana", False, "no '@'"),
    ("ana@", False, "no domain after the '@'"),
    ("@example.com", False, "nothing before the '@'"),
    ("ana@@example.com", False, "more than one '@'"),
    ("ana@localhost", False, "has no top-level domain"),
    ("ana@example.c0m", False, "is not a real one"),
    ("ana..b@example.com", False, "misplaced dot"),
    (".ana@example.com", False, "misplaced dot"),
    ("ana b@example.com", False, "contains spaces"),
    ("Ana <ana@example.com>", False, "contains spaces"),
    ("ana@-example.com", False, "is not a valid host name"),
    ("ana@exa_mple.com", False, "is not a valid host name"),
    ("a" * 65 + "@example.com", False, "longer than 64"),
    ("a@" + "b" * 250 + ".com", False, "longer than 254"),
])
def test_syntax_check(raw: str, valid: bool, problem: str | None) -> None:
    email = check_email(raw, frozenset())
    assert email is not None
    assert email.valid is valid
    if problem is None:
        assert email.problem is None
    else:
        assert email.problem is not None and problem in email.problem


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_no_address_is_none(raw: str | None) -> None:
    assert check_email(raw, frozenset()) is None
    assert email_key(raw) is None


@pytest.mark.parametrize(("raw", "disposable"), [
    ("x@mailinator.com", True),
    ("x@MAILINATOR.com", True),
    ("x@eu.mailinator.com", True),  # a subdomain of a listed domain
    ("x@gmail.com", False),
    ("x@notmailinator.com", False),
    ("x@com", False),
])
def test_disposable_domains_from_the_shipped_list(raw: str, disposable: bool) -> None:
    email = check_email(raw, default_disposable_domains())
    assert email is not None and email.disposable is disposable


def test_the_shipped_list_is_loaded_and_says_where_it_comes_from() -> None:
    domains = default_disposable_domains()
    assert {"mailinator.com", "guerrillamail.com", "yopmail.com", "10minutemail.com"} <= domains
    assert len(domains) >= 80
    assert all(d == d.lower() and "." in d and not d.startswith("#") for d in domains)
    assert parse_disposable_domains("# comment\n\nA.com\n") == frozenset({"a.com"})


def test_email_key_is_only_for_valid_addresses() -> None:
    assert email_key(" Ana@Example.com") == email_key("ana@example.COM") == "ana@example.com"
    assert email_key("not an email") is None


@given(st.text(max_size=300))
def test_never_raises_and_the_key_is_stable(raw: str) -> None:
    email = check_email(raw, frozenset())
    if email is None:
        assert not raw.strip()
        return
    again = check_email(email.address, frozenset())
    assert again is not None
    assert (again.key, again.valid, again.domain) == (email.key, email.valid, email.domain)
