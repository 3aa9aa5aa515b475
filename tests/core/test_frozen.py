"""frozen.replace gives what dataclasses.replace gives, for the core's state values and for anything else."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.consents import ConsentEntry, ConsentLedger
from pipeline.core.frozen import _plain_fields, replace
from pipeline.core.leads import LeadRecord, NumberLeads
from pipeline.core.number import NumberState
from pipeline.core.suppressions import SuppressionState

AT = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
RECORD = LeadRecord(lead_id="L1", campaign_id="solar-q4", source="web", status="NEW", captured_at=AT)


@given(status=st.sampled_from(["NEW", "IN_PROGRESS", "QUALIFIED"]), offered=st.booleans(),
       score=st.none() | st.floats(allow_nan=False), attempts=st.integers(0, 9))
def test_a_lead_record_copy_equals_dataclasses_replace(status: str, offered: bool, score: float | None,
                                                        attempts: int) -> None:
    changes = {"status": status, "offered": offered, "score": score, "attempts": attempts}
    copy = replace(RECORD, **changes)
    assert copy == dataclasses.replace(RECORD, **changes)
    assert type(copy) is LeadRecord and copy is not RECORD
    assert [getattr(copy, f.name) for f in dataclasses.fields(copy)] == [
        getattr(dataclasses.replace(RECORD, **changes), f.name) for f in dataclasses.fields(copy)]


@pytest.mark.parametrize("value", [
    NumberState(), NumberLeads(leads=(RECORD,)), ConsentLedger(), SuppressionState(),
    ConsentEntry("e", "GRANT", "marketing", "ANY", False, AT, "web"),
])
def test_the_state_values_are_copied_slot_by_slot_and_equal(value: object) -> None:
    assert _plain_fields(type(value)) is not None
    assert replace(value) == value and replace(value) is not value


def test_a_field_the_class_lacks_is_refused_as_dataclasses_refuses_it() -> None:
    with pytest.raises(TypeError):
        replace(RECORD, colour="blue")


def test_a_class_with_post_init_goes_through_dataclasses_replace() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert _plain_fields(Checked) is None
    with pytest.raises(ValueError, match="negative"):
        replace(Checked(1), value=-1)


def test_a_dataclass_without_slots_goes_through_dataclasses_replace() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        value: int
        label: str = "x"

    assert _plain_fields(Plain) is None
    assert replace(Plain(1), value=2) == Plain(2)
