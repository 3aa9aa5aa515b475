"""Accepted means decided: every body the gateway would answer 202 for, once encoded as the gateway
writes it, decodes with the worker's codec and passes ``intake`` as a routed event — never a dead
letter, never a REJECTED lead (the gateway refuses unusable numbers itself, with a 422).

Bodies are drawn from the schemas, with values near and over every limit, instants across the
whole range the wire can carry (with any UTC offset), 4-byte characters and lone surrogates.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from pipeline import topics
from pipeline.codec import SchemaStore, SingleObjectCodec
from pipeline.core.intake import Routed, intake
from pipeline.core.limits import FIELD_LIMITS, RECORD_BYTES, ListLimit, MapLimit, Text
from pipeline.gateway.request import (
    ArrayOf,
    AvroType,
    Enum,
    EventMapper,
    MapOf,
    Nullable,
    Primitive,
    Record,
    Timestamp,
)

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
STORE = SchemaStore()
CODEC = SingleObjectCodec(STORE)
MAPPERS = {kind: EventMapper(kind, json.loads(STORE.source(kind)), default_region="US")
           for kind in topics.INPUT_TOPICS}

PHONES = st.sampled_from(["+13052094411", "(305) 209-4411", "305.209.4412", "+44 20 7946 0018", "0049 30 12345678",
                          "+61 412 345 678", "12", "+1 900 555 0100", "", " ", "not a phone", "+1305209441" + "1" * 30])
COUNTRIES = st.sampled_from([None, "US", "us", "GB", "DE", "ZZ", "", "USA-LONG-CODE"])
ODD_CHARS = st.lists(st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\udfff", "😀", "é", "\x00"]),
                     max_size=8).map("".join)
"""Any Unicode text, and lone surrogates (st.text would filter them out of an alphabet)."""


def _text(limit: int) -> st.SearchStrategy[str]:
    """Text mostly within ``limit``, sometimes right at it or just past it."""
    return st.one_of(
        st.text(alphabet=string.ascii_letters + string.digits + "-_ ", min_size=1, max_size=12),
        ODD_CHARS,
        st.integers(limit - 1, limit + 1).map(lambda n: "x" * n),
        st.integers(max(0, limit - 2), limit).map(lambda n: "😀" * n),
    )


def _instant() -> st.SearchStrategy[str]:
    """ISO-8601 text with an offset, across years 1-9999 and their edges, sometimes outside in UTC."""
    offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
    near_now = st.integers(-10**7, 10**5).map(lambda s: NOW + timedelta(seconds=s))
    # Wall-clock times in any offset: naive here, the offset is attached below.
    local = st.one_of(st.datetimes(), st.sampled_from([datetime.min, datetime.max,  # noqa: DTZ901
                                                       datetime(9999, 12, 31, 23, 59, 59)]))  # noqa: DTZ001
    return st.one_of(
        near_now.map(lambda d: d.isoformat()),
        st.tuples(local, offsets).map(lambda p: p[0].replace(tzinfo=p[1]).isoformat()),
        st.sampled_from(["9999-12-31T23:59:59-23:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999Z",
                         "2026-11-24T16:00:00", "yesterday"]),
    )


BASES: dict[str, dict[str, Any]] = {
    topics.LEAD_CAPTURED: {"phone": "+13052094411", "campaign_id": "solar-q4", "country": "US",
                           "consent": {"purpose": "marketing", "channel": "ANY", "granted_at": "2026-11-24T16:58:00Z"},
                           "address": {"region": "FL"}, "attributes": {"timeline": "this_month"}},
    topics.OPT_OUT: {"phone": "+13052094411"},
    topics.CONSENT_CHANGED: {"phone": "+13052094411", "action": "GRANT", "purpose": "marketing",
                             "proof": {"purpose": "marketing", "channel": "ANY", "granted_at": "2026-11-24T16:58:00Z"}},
    topics.CALL_OUTCOME: {"phone": "+13052094411", "lead_id": "L-1", "campaign_id": "solar-q4", "outcome": "NO_ANSWER",
                          "answers": {"interest": "high"}, "tags": ["warm"]},
}
"""A body the gateway accepts, per input topic; the drawn bodies change one to three of its fields."""


def _value(t: AvroType, path: str, limits: dict[str, Any], base: Any) -> st.SearchStrategy[Any]:
    if isinstance(t, Nullable):
        return st.none() | _value(t.inner, path, limits, base)
    if isinstance(t, Timestamp):
        return _instant()
    if isinstance(t, Enum):
        return st.sampled_from([*t.symbols, "NOT_A_SYMBOL"])
    if isinstance(t, Record):
        return _record(t, path + ".", limits, base if isinstance(base, dict) else {})
    limit = limits.get(path)
    if isinstance(t, MapOf):
        assert isinstance(limit, MapLimit)
        keys = st.one_of(_text(limit.key_chars), st.sampled_from(["contact_name", "role", "budget", "timeline"]))
        return st.dictionaries(keys, _text(limit.value_chars), max_size=limit.entries + 1)
    if isinstance(t, ArrayOf):
        assert isinstance(limit, ListLimit)
        return st.lists(_text(limit.item_chars), max_size=limit.items + 1)
    assert isinstance(t, Primitive)
    if t.name == "string":
        if path.endswith("phone"):
            return PHONES
        if path.endswith("country"):
            return COUNTRIES
        assert isinstance(limit, Text), path
        return _text(limit.chars)
    if t.name == "boolean":
        return st.booleans()
    return st.integers(-5, 5)


def _record(t: Record, prefix: str, limits: dict[str, Any], base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with one to three of its fields (present or not) drawn anew."""
    fields = {f.name: _value(f.type, prefix + f.name, limits, base.get(f.name)) for f in t.fields}
    changed = st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3, unique=True)
    return changed.flatmap(lambda names: st.fixed_dictionaries({n: fields[n] for n in names})).map(
        lambda drawn: {**base, **drawn})


def bodies(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return _record(MAPPERS[kind].schema, "", dict(FIELD_LIMITS[kind]), BASES[kind])


def assert_routed_if_accepted(kind: str, record: dict[str, Any] | None) -> None:
    if record is None:
        return  # a 422
    value = CODEC.encode(kind, record)  # never a 500
    if len(value) > RECORD_BYTES:
        return  # a 413
    schema, decoded = CODEC.decode(value)
    result = intake(kind, schema, decoded, partition=0, offset=0, default_region="US", now=NOW,
                    rule_pack_version="test", encoded_size=len(value))
    assert isinstance(result, Routed), (record, result)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(kind=st.sampled_from(topics.INPUT_TOPICS), data=st.data())
def test_every_json_body_the_gateway_accepts_is_routed_by_intake(kind: str, data: st.DataObject) -> None:
    body = data.draw(bodies(kind))
    mapped = MAPPERS[kind].from_json(body, source="webform-main", now=NOW, new_id=lambda: "id-1")
    assert_routed_if_accepted(kind, mapped.record)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(
    st.sampled_from(["phone", "country", "campaign_id", "first_name", "email", "address.region", "address.street",
                     "consent.purpose", "consent.channel", "consent.granted_at", "consent.text", "timeline", "budget"]),
    st.one_of(_text(100), _instant(), PHONES.filter(bool), st.sampled_from(["ANY", "VOICE", "marketing"]))),
    min_size=2, max_size=10).map(lambda pairs: [("phone", "3052094411"), ("campaign_id", "solar-q4"), *pairs]))
def test_every_form_the_gateway_accepts_is_routed_by_intake(pairs: list[tuple[str, str]]) -> None:
    mapped = MAPPERS[topics.LEAD_CAPTURED].from_form(pairs, source="webform-main", now=NOW, new_id=lambda: "id-1")
    assert_routed_if_accepted(topics.LEAD_CAPTURED, mapped.record)


@pytest.mark.parametrize("kind", topics.INPUT_TOPICS)
def test_the_bodies_drawn_include_accepted_ones_with_long_fields(kind: str) -> None:
    # The properties above prove something only if the strategy reaches bodies the gateway accepts,
    # with fields at their limits.
    def accepted_and_long(body: dict[str, Any]) -> bool:
        mapped = MAPPERS[kind].from_json(body, source="webform-main", now=NOW, new_id=lambda: "id-1")
        return mapped.record is not None and any(isinstance(v, str) and len(v) >= 64 for v in mapped.record.values())

    found = find(bodies(kind), accepted_and_long, settings=settings(max_examples=5000, database=None))
    assert MAPPERS[kind].from_json(found, source="webform-main", now=NOW, new_id=lambda: "id-1").record is not None
