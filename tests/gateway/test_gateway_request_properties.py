"""Properties of the request mapping over arbitrary bodies: it never raises (bad input is data),
and whatever it accepts encodes with the topic's schema (so a 202 never becomes a 500)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import topics
from pipeline.codec import SchemaStore, SingleObjectCodec
from pipeline.gateway.request import EventMapper

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
STORE = SchemaStore()
CODEC = SingleObjectCodec(STORE)
MAPPERS = {kind: EventMapper(kind, json.loads(STORE.source(kind)), default_region="US")
           for kind in topics.INPUT_TOPICS}

# Values a client might plausibly send: JSON scalars, times, enum symbols, phones, nested objects.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from(["2026-11-24T16:00:00Z", "2026-11-24T16:00:00", "+13052094411", "(305) 209-4411", "ANY",
                     "GRANT", "REVOKE", "ADD", "TEMPORARY", "CAMPAIGN", "CALLBACK_REQUESTED", "SALE", "US", ""]),
)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["purpose", "channel", "granted_at", "region", "street", "x"]), inner, max_size=4), max_leaves=10)
FIELD_NAMES = sorted({f.name for m in MAPPERS.values() for f in m.schema.fields} | {"unknown"})


def bodies(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(topics.INPUT_TOPICS), data=st.data())
def test_any_json_body_maps_to_errors_or_to_an_encodable_record(kind: str, data: st.DataObject) -> None:
    body = data.draw(bodies(kind))
    mapped = MAPPERS[kind].from_json(body, source="webform-main", now=NOW, new_id=lambda: "id-1")
    assert (mapped.record is None) == bool(mapped.errors)
    if mapped.record is not None:
        assert CODEC.decode(CODEC.encode(kind, mapped.record)).record == mapped.record


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from([*FIELD_NAMES, "address.region", "consent.channel",
                                                  "consent.granted_at", "consent.purpose", "phone.x", "a.b.c"]),
                                 st.text(max_size=20)), max_size=12))
def test_any_form_maps_to_errors_or_to_an_encodable_record(pairs: list[tuple[str, str]]) -> None:
    mapped = MAPPERS[topics.LEAD_CAPTURED].from_form(pairs, source="webform-main", now=NOW, new_id=lambda: "id-1")
    assert (mapped.record is None) == bool(mapped.errors)
    if mapped.record is not None:
        CODEC.encode(topics.LEAD_CAPTURED, mapped.record)
