"""CSV rows to lead-captured records: column plans, defaults, and every reason a row is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.codec import SchemaStore, SingleObjectCodec
from pipeline.core.intake import Routed, intake
from pipeline.imports.leads import (
    ColumnPlan,
    ImportDefaults,
    ImportedLead,
    ImportTally,
    PlanError,
    RowError,
    plan_columns,
    row_to_lead,
)

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
DEFAULTS = ImportDefaults(source="import:test.csv", campaign_id="solar-q4", country="US")
HEADER = ["Phone Number", "First Name", "Last Name", "E-mail", "State", "Timeline"]


def lead(plan: ColumnPlan, cells: list[str], defaults: ImportDefaults = DEFAULTS, line: int = 2) -> ImportedLead:
    result = row_to_lead(plan, cells, line, defaults, NOW)
    assert isinstance(result, ImportedLead), result
    return result


def error(plan: ColumnPlan, cells: list[str], defaults: ImportDefaults = DEFAULTS, line: int = 2) -> RowError:
    result = row_to_lead(plan, cells, line, defaults, NOW)
    assert isinstance(result, RowError), result
    return result


def test_header_names_and_aliases_map_without_being_told() -> None:
    plan = plan_columns(HEADER)
    assert plan.fields == {"phone": 0, "first_name": 1, "last_name": 2, "email": 3, "address.region": 4}
    assert plan.attributes == {"Timeline": 5}


def test_overrides_win_and_can_ignore_a_column() -> None:
    plan = plan_columns(["Mobile Phone", "Promo", "State", "Notes"],
                        {"Mobile Phone": "phone", "Promo": "attributes.promo", "Notes": "-"})
    assert plan.fields == {"phone": 0, "address.region": 2}
    assert plan.attributes == {"promo": 1}


def test_unmapped_columns_can_be_dropped() -> None:
    assert plan_columns(HEADER, unmapped_as_attributes=False).attributes == {}


@pytest.mark.parametrize(("header", "overrides", "message"), [
    (["phone", "x"], {"nope": "phone"}, "no column 'nope'"),
    (["phone", "x"], {"x": "favourite_colour"}, "'favourite_colour' is not a lead field"),
    (["phone", "Phone Number"], None, "field phone would be filled by two columns"),
    (["phone", "Phone"], None, "columns with the same name"),
])
def test_plans_that_cannot_work_are_refused(header: list[str], overrides: dict[str, str] | None,
                                            message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_columns(header, overrides)


def test_a_good_row_becomes_a_record_that_fits_the_schema_and_passes_intake() -> None:
    plan = plan_columns(HEADER)
    imported = lead(plan, ["(305) 209-4411", "Ana", "Silva", "ana@example.com", "FL", "this_month"])
    record = imported.record
    assert imported.key == "+13052094411"
    assert record["phone"] == "(305) 209-4411"  # as entered: the worker normalizes
    assert record["campaign_id"] == "solar-q4" and record["country"] == "US" and record["source"] == "import:test.csv"
    assert record["address"] == {"street": None, "city": None, "region": "FL", "postal_code": None, "country": None}
    assert record["attributes"] == {"Timeline": "this_month"}
    assert record["occurred_at"] == NOW
    codec = SingleObjectCodec(SchemaStore())
    schema, decoded = codec.decode(codec.encode("lead-captured", record))
    routed = intake("lead-captured", schema, decoded, partition=0, offset=0, default_region="US", now=NOW,
                    rule_pack_version="test")
    assert isinstance(routed, Routed) and routed.key == "+13052094411"


def test_ids_are_derived_so_a_second_import_sends_the_same_ids() -> None:
    plan = plan_columns(HEADER)
    cells = ["+13052094411", "Ana", "Silva", "", "FL", ""]
    first, second = lead(plan, cells), lead(plan, cells, line=99)
    assert first.record["lead_id"] == second.record["lead_id"]
    assert first.record["event_id"] == second.record["event_id"]
    other = lead(plan, ["+13052094412", "Ana", "Silva", "", "FL", ""])
    assert other.record["lead_id"] != first.record["lead_id"]


def test_columns_override_defaults_and_ids_given_are_kept() -> None:
    plan = plan_columns(["phone", "campaign_id", "country", "lead_id", "event_id", "source", "occurred_at"])
    record = lead(plan, ["02079460018", "uk-energy", "gb", "L-9", "E-9", "vendor:acme", "2026-11-24T09:30:00Z"]).record
    assert (record["campaign_id"], record["country"], record["lead_id"], record["event_id"], record["source"]) == (
        "uk-energy", "GB", "L-9", "E-9", "vendor:acme")
    assert record["occurred_at"] == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_consent_columns_become_a_consent_proof() -> None:
    plan = plan_columns(["phone", "consent.purpose", "consent.channel", "consent.granted_at", "consent.certificate_id"])
    record = lead(plan, ["+13052094411", "marketing", "voice", "2026-11-20T10:00:00-05:00", "cert-1"]).record
    assert record["consent"] == {
        "purpose": "marketing", "channel": "VOICE", "granted_at": datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
        "form_url": None, "consent_text": None, "certificate_id": "cert-1", "ip": None, "expires_at": None}


def test_a_doubtful_email_is_not_a_rejection() -> None:
    plan = plan_columns(HEADER)
    assert lead(plan, ["+13052094411", "Ana", "Silva", "not-an-email", "FL", ""]).record["email"] == "not-an-email"


@pytest.mark.parametrize(("header", "cells", "defaults", "reason"), [
    (HEADER, ["305 209 44", "", "", "", "", ""], DEFAULTS, "phone: PHONE_INVALID"),
    (HEADER, ["call me maybe", "", "", "", "", ""], DEFAULTS, "phone: PHONE_UNPARSEABLE"),
    (HEADER, ["+19005551234", "", "", "", "", ""], DEFAULTS, "phone: PHONE_NOT_DIALABLE"),
    (HEADER, ["   ", "Ana", "", "", "", ""], DEFAULTS, "phone: missing"),
    (HEADER, ["+13052094411", "", "", "", "", ""], ImportDefaults(source="s"), "campaign_id: missing"),
    (HEADER, ["+13052094411", "", "", ""], DEFAULTS, "row: wrong number of cells (4, the header has 6)"),
    (["phone", "occurred_at"], ["+13052094411", "2026-11-24 09:30"], DEFAULTS,
     "occurred_at: no UTC offset ('2026-11-24 09:30'; write e.g. 2026-11-24T09:30:00-05:00)"),
    (["phone", "occurred_at"], ["+13052094411", "yesterday"], DEFAULTS, "occurred_at: not an ISO-8601 time"),
    (["phone", "occurred_at"], ["+13052094411", (NOW + timedelta(days=3)).isoformat()], DEFAULTS,
     "occurred_at: in the future"),
    (["phone", "country"], ["+13052094411", "USA"], DEFAULTS, "country: not an ISO 3166-1 alpha-2 code ('USA')"),
    (["phone", "consent.purpose"], ["+13052094411", "marketing"], DEFAULTS, "consent.channel: missing"),
    (["phone", "consent.purpose", "consent.channel", "consent.granted_at"],
     ["+13052094411", "marketing", "fax", "2026-11-20T10:00:00Z"], DEFAULTS, "consent.channel: not one of"),
    (HEADER, ["+13052094411", "An\ufffda", "", "", "", ""], DEFAULTS, "row: not valid text"),
])
def test_rows_the_pipeline_would_not_accept_are_rejected_with_the_reason(
        header: list[str], cells: list[str], defaults: ImportDefaults, reason: str) -> None:
    bad = error(plan_columns(header), cells, defaults, line=17)
    assert bad.line_number == 17
    assert reason in bad.reason
    assert bad.cells == tuple(cells)


def test_a_row_with_several_problems_names_them_all_and_counts_each() -> None:
    plan = plan_columns(["phone", "country", "campaign_id"])
    bad = error(plan, ["123", "XYZ", ""], ImportDefaults(source="s"))
    assert bad.reason_kinds == ["country: not an ISO 3166-1 alpha-2 code", "campaign_id: missing",
                                "phone: PHONE_INVALID"]
    tally = ImportTally(keep=1)
    tally.add(bad)
    tally.add(error(plan, ["", "US", ""], ImportDefaults(source="s")))
    tally.add(lead(plan, ["+13052094411", "US", "c"], ImportDefaults(source="s")))
    assert (tally.rows, tally.accepted, tally.rejected) == (3, 1, 2)
    assert tally.reasons["campaign_id: missing"] == 2
    assert len(tally.errors) == 1  # keeps the first; counts all
