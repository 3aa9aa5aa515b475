"""Data-quality flags: junk is named, never dropped."""

from __future__ import annotations

import pytest
from core_builders import phone_info

from pipeline.core.email import check_email
from pipeline.core.quality import QUALITY_FLAGS, quality_flags
from pipeline.packaged import default_disposable_domains


def flags(first: str | None = "Maria", last: str | None = "Garcia", email: str | None = "maria@gmail.com",
          phone: str = "+13052094411") -> tuple[str, ...]:
    return quality_flags(first, last, check_email(email, default_disposable_domains()), phone_info(phone))


def test_a_clean_lead_has_no_flags() -> None:
    assert flags() == ()


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"email": "maria@"}, ("EMAIL_INVALID",)),
    ({"email": "maria@mailinator.com"}, ("EMAIL_DISPOSABLE",)),
    ({"email": "test@gmail.com"}, ("EMAIL_TEST",)),
    ({"email": "maria@example.com"}, ("EMAIL_TEST",)),
    ({"email": "maria@shop.test"}, ("EMAIL_TEST",)),
    ({"email": None}, ()),
    ({"first": None, "last": " "}, ("NAME_MISSING",)),
    ({"first": "Test", "last": "Test"}, ("NAME_TEST",)),
    ({"first": "asdf", "last": "Garcia"}, ("NAME_TEST",)),
    ({"first": "John", "last": "Doe"}, ("NAME_TEST",)),
    ({"first": "Mickey", "last": "MOUSE"}, ("NAME_TEST",)),
    ({"first": "Maria2", "last": "Garcia"}, ("NAME_INVALID",)),
    ({"first": "...", "last": None}, ("NAME_INVALID",)),
    ({"phone": "+13055555555"}, ("PHONE_REPEATED_DIGITS",)),
    ({"phone": "+13052222222"}, ("PHONE_REPEATED_DIGITS",)),
    ({"phone": "+13033030303"}, ("PHONE_REPEATED_DIGITS",)),  # two digits in all
    ({"phone": "+13051234567"}, ("PHONE_SEQUENTIAL",)),
    ({"phone": "+13057654321"}, ("PHONE_SEQUENTIAL",)),
    ({"phone": "+13055550123"}, ("PHONE_FICTIONAL",)),
    ({"first": "Test", "last": None, "email": "test@mailinator.com", "phone": "+13055555555"},
     ("EMAIL_DISPOSABLE", "EMAIL_TEST", "NAME_TEST", "PHONE_REPEATED_DIGITS")),
])
def test_flags(kwargs: dict[str, str | None], expected: tuple[str, ...]) -> None:
    assert flags(**kwargs) == expected  # type: ignore[arg-type]


def test_flags_come_in_table_order_and_are_known() -> None:
    found = flags(first="test", last=None, email="asdf@x", phone="+13051234567")
    assert list(found) == sorted(found, key=QUALITY_FLAGS.index)
    assert set(found) <= set(QUALITY_FLAGS)


def test_a_long_uk_number_is_judged_on_its_last_seven_digits() -> None:
    assert flags(phone="+442071111111") == ("PHONE_REPEATED_DIGITS",)
    assert flags(phone="+442079460000") == ()
