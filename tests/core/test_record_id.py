"""Output record ids: uuid5 of the input event, the record kind and the lead, whatever computes them."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.number import record_id

NAMESPACE = uuid.UUID("6f1d7c0e-3b1a-5c47-9a8e-2f4b6d1e0c55")


@given(st.text(), st.sampled_from(["decision", "lead-decision", "call-ready", "qualified-lead", "release"]), st.text())
def test_a_record_id_is_the_uuid5_of_its_event_kind_and_lead(event_id: str, kind: str, lead_id: str) -> None:
    expected = str(uuid.uuid5(NAMESPACE, f"{event_id}/{kind}/{lead_id}"))
    assert record_id(event_id, kind, lead_id) == expected


def test_a_known_id_never_changes() -> None:
    assert record_id("lead-ev-1", "decision", "L1") == str(uuid.uuid5(NAMESPACE, "lead-ev-1/decision/L1"))
