"""Schema evolution: every current schema reads data written with every released version.

Checked with the reference ``avro`` package (the codec itself uses fastavro), so the rule does not
depend on the implementation it protects. Releases live in ``schemas/released/<version>/``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from pipeline.codec import default_schemas_dir

SCHEMAS = default_schemas_dir()
RELEASED = SCHEMAS / "released"
WRAPPERS = {"internal/number-event"}  # wraps input events; carries no event_id of its own


def _stems(root: Path, *, skip_released: bool) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.avsc")):
        relative = path.relative_to(root)
        if skip_released and relative.parts[0] == "released":
            continue
        found[relative.with_suffix("").as_posix()] = path
    return found


CURRENT = _stems(SCHEMAS, skip_released=True)
RELEASES = {version.name: _stems(version, skip_released=False) for version in sorted(RELEASED.iterdir())
            if version.is_dir()}
PAIRS = [(version, stem) for version, stems in RELEASES.items() for stem in stems]


def _parse(source: str | dict[str, Any]) -> avro.schema.Schema:
    return avro.schema.parse(source if isinstance(source, str) else json.dumps(source))


def _problems(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[str] | None:
    """None when ``reader`` can read ``writer``'s data, else the checker's messages."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader=reader, writer=writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return None
    return [*sorted(result.messages), *(f"at {location}" for location in sorted(result.locations))]


def test_there_is_a_release_to_be_compatible_with() -> None:
    assert RELEASES, "schemas/released/ holds no version: the compatibility check would be vacuous"
    for version, stems in RELEASES.items():
        assert stems, f"released/{version} holds no schemas"


@pytest.mark.parametrize(("version", "stem"), PAIRS, ids=[f"{v}:{s}" for v, s in PAIRS])
def test_current_schema_reads_data_of_released_version(version: str, stem: str) -> None:
    assert stem in CURRENT, f"{stem} was released in {version} but is gone: removing a schema breaks readers"
    reader = _parse(CURRENT[stem].read_text(encoding="utf-8"))
    writer = _parse(RELEASES[version][stem].read_text(encoding="utf-8"))
    assert _problems(reader, writer) is None, (
        f"{stem} cannot read data written with release {version}: {_problems(reader, writer)}"
    )


@pytest.mark.parametrize("stem", sorted(set(CURRENT) - WRAPPERS))
def test_every_event_carries_event_id_and_occurred_at(stem: str) -> None:
    fields = {f["name"]: f["type"] for f in json.loads(CURRENT[stem].read_text(encoding="utf-8"))["fields"]}
    assert fields.get("event_id") == "string"
    assert fields.get("occurred_at") == {"type": "long", "logicalType": "timestamp-millis"}


def test_number_event_wraps_events_that_carry_event_id() -> None:
    wrapper = json.loads(CURRENT["internal/number-event"].read_text(encoding="utf-8"))
    event = next(f for f in wrapper["fields"] if f["name"] == "event")
    assert [branch["name"] for branch in event["type"]] == ["LeadCaptured", "OptOut", "ConsentChanged",
                                                            "CallOutcome", "ReleaseDue"]
    for branch in event["type"]:
        assert {"event_id", "occurred_at"} <= {f["name"] for f in branch["fields"]}


# The checker must reject what a real reader would choke on; otherwise the tests above prove nothing.

def _lead_captured() -> dict[str, Any]:
    return dict(json.loads(CURRENT["lead-captured"].read_text(encoding="utf-8")))


def test_checker_rejects_a_new_field_without_default() -> None:
    old = _lead_captured()
    new = copy.deepcopy(old)
    new["fields"].append({"name": "brand_id", "type": "string"})
    problems = _problems(_parse(new), _parse(old))
    assert problems is not None
    assert any("brand_id" in p for p in problems)


def test_checker_accepts_a_new_field_with_default() -> None:
    old = _lead_captured()
    new = copy.deepcopy(old)
    new["fields"].append({"name": "brand_id", "type": ["null", "string"], "default": None})
    assert _problems(_parse(new), _parse(old)) is None


def test_checker_rejects_a_changed_field_type() -> None:
    old = _lead_captured()
    new = copy.deepcopy(old)
    next(f for f in new["fields"] if f["name"] == "phone")["type"] = "long"
    assert _problems(_parse(new), _parse(old)) is not None


def test_checker_rejects_a_removed_enum_symbol() -> None:
    old = json.loads(CURRENT["call-ready"].read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    next(f for f in new["fields"] if f["name"] == "action")["type"]["symbols"].remove("WITHDRAW")
    assert _problems(_parse(new), _parse(old)) is not None


# What consumers still reading with an old release's schema see in data written now. New fields with
# defaults are invisible to them (ignored). A new enum symbol is not: Avro resolves enums by name, and
# a reader whose enum has no default fails on a symbol it lacks — 0.1.0 declares no enum defaults, and
# one added now would only help readers of later releases. So every symbol added since a release is
# listed here, with the records it appears on: consumers upgrade their reader schema before a writer
# emits them (docs/lifecycle.md). Internal topics are read only by leadpipe's own workers.

FORWARD_BREAKS: dict[tuple[str, str], frozenset[str]] = {
    # lead-decision outcome: CLOSED (the lifecycle ended a lead), IGNORED_CLOSED (an outcome after close)
    ("0.1.0", "lead-decision"): frozenset({"CLOSED", "IGNORED_CLOSED"}),
    # opt-out action: ERASE (GDPR erasure)
    ("0.1.0", "opt-out"): frozenset({"ERASE"}),
}
PUBLIC_PAIRS = [(version, stem) for version, stem in PAIRS if stem not in WRAPPERS]


def _without_symbols(schema: Any, symbols: frozenset[str]) -> Any:
    """``schema`` (parsed JSON) with ``symbols`` removed from every enum in it."""
    if isinstance(schema, list):
        return [_without_symbols(item, symbols) for item in schema]
    if not isinstance(schema, dict):
        return schema
    stripped = {key: _without_symbols(value, symbols) for key, value in schema.items()}
    if schema.get("type") == "enum":
        stripped["symbols"] = [s for s in schema["symbols"] if s not in symbols]
    return stripped


@pytest.mark.parametrize(("version", "stem"), PUBLIC_PAIRS, ids=[f"{v}:{s}" for v, s in PUBLIC_PAIRS])
def test_a_reader_of_a_release_reads_current_data_but_for_the_listed_new_symbols(version: str, stem: str) -> None:
    old_reader = _parse(RELEASES[version][stem].read_text(encoding="utf-8"))
    current = json.loads(CURRENT[stem].read_text(encoding="utf-8"))
    new_symbols = FORWARD_BREAKS.get((version, stem), frozenset())
    assert _problems(old_reader, _parse(_without_symbols(current, new_symbols))) is None, (
        f"a {version} reader of {stem} cannot read current data even without {sorted(new_symbols)}")
    if new_symbols:  # the list is exact: each listed symbol does break an old reader
        for symbol in new_symbols:
            assert _problems(old_reader, _parse(_without_symbols(current, new_symbols - {symbol}))) is not None


def test_new_enum_symbols_are_appended_so_each_release_keeps_its_symbol_order() -> None:
    # Order is not what resolution uses (names are), but an appended symbol keeps every old symbol's
    # index: writers and readers on either version encode old symbols to the same bytes.
    def enums(schema: Any, found: dict[str, list[str]]) -> dict[str, list[str]]:
        if isinstance(schema, list):
            for item in schema:
                enums(item, found)
        elif isinstance(schema, dict):
            if schema.get("type") == "enum":
                found[schema["name"]] = schema["symbols"]
            for value in schema.values():
                enums(value, found)
        return found

    for version, stems in RELEASES.items():
        for stem, path in stems.items():
            old = enums(json.loads(path.read_text(encoding="utf-8")), {})
            new = enums(json.loads(CURRENT[stem].read_text(encoding="utf-8")), {})
            for name, symbols in old.items():
                assert new[name][:len(symbols)] == symbols, f"{version}:{stem} enum {name} reordered"
