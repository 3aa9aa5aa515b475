from typing import get_args

import pytest

from pipeline.core.outcomes import CONTACT, NO_CONTACT, NON_WORKING, QUALIFYING, WRONG_PARTY, contact_kind
from pipeline.events import CallOutcomeCode


@pytest.mark.parametrize("code", get_args(CallOutcomeCode))
def test_every_outcome_code_has_exactly_one_kind(code: CallOutcomeCode) -> None:
    groups = [CONTACT, NO_CONTACT, WRONG_PARTY, NON_WORKING]
    assert sum(code in group for group in groups) == 1
    assert contact_kind(code) in ("CONTACT", "NO_CONTACT", "WRONG_PARTY", "NON_WORKING")


def test_the_practice_distinctions_hold() -> None:
    assert contact_kind("GATEKEEPER") == "NO_CONTACT"  # gatekeeper is not a wrong contact
    assert contact_kind("WRONG_NUMBER") == "WRONG_PARTY"
    assert contact_kind("CALLBACK_REQUESTED") == "CONTACT"  # callback requested is not unreachable
    assert contact_kind("DISCONNECTED") == "NON_WORKING"
    assert QUALIFYING <= CONTACT


def test_unknown_code_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown call outcome"):
        contact_kind("HUNG_UP")  # type: ignore[arg-type]
