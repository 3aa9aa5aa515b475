"""The rule pack inside ``process``: state hours, frequency caps, wireless readings, coverage.

T0 is a Tuesday 15:00 in New York (see core_builders): inside every US window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from core_builders import (
    PHONE,
    T0,
    assert_fits_schema,
    consent_change,
    context,
    lead,
    number_event,
    opt_out,
    outcome,
    phone_info,
    proof,
)

from pipeline.core.erasure import erasure_key
from pipeline.core.number import NumberState, due_releases, process
from pipeline.events import InputEvent, PhoneInfo
from pipeline.packaged import default_rule_pack
from pipeline.registry.check import RegistrySet
from pipeline.registry.disk import LoadedRegistry
from pipeline.registry.kinds import REGISTRY_KINDS
from pipeline.registry.memory import UsRegistry
from pipeline.registry.snapshot import RegistrySnapshot


def step(state: NumberState, ev: InputEvent, *, phone: PhoneInfo | None = None,
         at: timedelta = timedelta()) -> tuple[NumberState, list[dict[str, object]]]:
    new, emits = process(state, number_event(ev, phone=phone), context(T0 + at))
    for emit in emits:
        assert_fits_schema(emit)
    return new, [dict(e.record) | {"_topic": e.topic} for e in emits]


def decisions(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in records if r["_topic"] == "lead-decision"]


def first_code(record: dict[str, object]) -> tuple[object, object]:
    reasons = record["reasons"]
    assert isinstance(reasons, list) and reasons
    return reasons[0]["code"], reasons[0]["rule_id"]


def test_florida_cap_defers_a_fourth_call_within_24_hours_until_the_first_call_ages_out() -> None:
    state = NumberState.empty()
    calls = [T0 - timedelta(hours=h) for h in (20, 10, 2)]
    for i, at in enumerate(calls):
        state, _ = step(state, outcome(f"call-{i}", "L0", "NO_ANSWER", occurred_at=at))
    assert state.leads.call_attempts == tuple(sorted(calls))

    state, records = step(state, lead("lead-1", "L1"))
    [decision] = decisions(records)
    assert decision["outcome"] == "DEFERRED"
    assert first_code(decision) == ("FREQUENCY_CAP", "us.fl.cap")
    assert decision["callable_from"] == calls[0] + timedelta(hours=24)  # the oldest call leaves the 24 h


def test_under_the_cap_the_lead_is_offered_and_the_third_call_withdraws_other_offers() -> None:
    state = NumberState.empty()
    state, _ = step(state, outcome("call-0", "L0", "NO_ANSWER", occurred_at=T0 - timedelta(hours=5)))
    state, records = step(state, lead("lead-1", "L1"))
    assert decisions(records)[0]["outcome"] == "CALL_READY"
    state, records = step(state, lead("lead-2", "L2", campaign_id="insurance-renewals"))
    assert decisions(records)[0]["outcome"] == "CALL_READY"

    # L1 is called (second call); L2 is still offered. A third call reaches FL's 3-in-24h cap.
    state, _ = step(state, outcome("call-1", "L1", "NO_ANSWER", occurred_at=T0))
    state, records = step(state, outcome("call-2", "L9", "BUSY", occurred_at=T0 + timedelta(minutes=5)),
                          at=timedelta(minutes=5))
    withdrawn = [r for r in records if r["_topic"] == "call-ready"]
    assert [(r["action"], r["lead_id"]) for r in withdrawn] == [("WITHDRAW", "L2")]
    [ignored, withdrawal] = decisions(records)  # L9 was never captured here: its outcome is only counted
    assert (ignored["outcome"], first_code(ignored)) == ("IGNORED_CLOSED", ("LEAD_UNKNOWN", "lifecycle.unknown_lead"))
    assert first_code(withdrawal) == ("FREQUENCY_CAP", "us.fl.cap")


def test_a_texas_number_that_may_be_mobile_is_suppressed_by_the_wireless_reading() -> None:
    texas = phone_info("+12142094411", ("America/Chicago",)) | {"area_code_region": "TX"}
    _, records = step(NumberState.empty(), lead(), phone=texas)
    [decision] = decisions(records)
    assert decision["outcome"] == "SUPPRESSED"
    assert first_code(decision) == ("WIRELESS_RESTRICTED", "us.tx.wireless")


def test_a_country_the_rule_pack_does_not_cover_is_never_callable() -> None:
    german: PhoneInfo = {"phone_e164": "+4930123456", "region": "DE", "number_type": "FIXED_LINE",
                         "time_zones": ["Europe/Berlin"], "area_code_region": None, "carrier": None,
                         "line_type": "LANDLINE", "area_code_location": "Berlin"}
    _, records = step(NumberState.empty(), lead(), phone=german)
    [decision] = decisions(records)
    assert decision["outcome"] == "SUPPRESSED"
    assert first_code(decision)[0] == "NO_LEGAL_WINDOW"


def test_every_decision_is_stamped_with_the_rule_pack_version_of_the_context() -> None:
    _, records = step(NumberState.empty(), lead())
    assert {r["rule_pack_version"] for r in records} == {"test-1"}
    assert default_rule_pack().version.startswith("2026.")
    assert PHONE.startswith("+1305")


def test_a_deferred_lead_is_released_once_when_its_window_opens() -> None:
    night = T0.replace(hour=3)  # 23:00 in New York: outside every window
    state, records = step(NumberState.empty(), lead(), at=night - T0)
    [decision] = decisions(records)
    assert decision["outcome"] == "DEFERRED"
    opens = decision["callable_from"]
    assert isinstance(opens, datetime)
    assert due_releases(state.leads, opens - timedelta(seconds=1)) == ()

    [release] = due_releases(state.leads, opens)
    assert release["lead_id"] == "L1" and release["due_at"] == opens
    event = number_event(release, input_topic="release-scheduler")  # type: ignore[arg-type]
    state, emits = process(state, event, context(opens + timedelta(minutes=1)))
    assert [(e.topic, e.record.get("outcome") or e.record.get("action")) for e in emits] == [
        ("lead-decision", "CALL_READY"), ("call-ready", "READY")]
    for emit in emits:
        assert_fits_schema(emit)
    assert due_releases(state.leads, opens + timedelta(hours=1)) == ()
    again, emits = process(state, event, context(opens + timedelta(minutes=2)))
    assert emits == () and again.leads.offered()[0].lead_id == "L1"


def test_erasure_withdraws_offers_keeps_only_the_marker_and_suppresses_later_leads() -> None:
    state, _ = step(NumberState.empty(), lead())
    assert [r.lead_id for r in state.leads.offered()] == ["L1"]
    erase = opt_out("erase-1") | {"action": "ERASE", "source": "privacy-portal"}
    state, records = step(state, erase)
    assert [(r["action"], r["lead_id"]) for r in records if r["_topic"] == "call-ready"] == [("WITHDRAW", "L1")]
    assert state.erasure is not None and state.erasure.request_event_id == "erase-1"
    assert state.leads == NumberState.empty().leads  # no names, no lead ids, no event ids kept
    assert state.consents == NumberState.empty().consents
    assert state.suppressions == NumberState.empty().suppressions
    # The email stage keeps the number under the lead's email: the erasure goes there too.
    [forget] = [r for r in records if r["_topic"] == "email-events"]
    assert forget["event"]["event_id"] == "erase-1"  # type: ignore[index]

    later, records = step(state, lead("lead-2", "L2"))
    [decision] = decisions(records)
    assert decision["outcome"] == "SUPPRESSED"
    assert first_code(decision) == ("DNC_ERASED", "privacy.erasure")
    assert later is state  # nothing about the new lead is stored


def test_erasure_markers_are_keyed_hashes_that_depend_on_the_secret() -> None:
    a = erasure_key("+13052094411", b"secret-1")
    assert a == erasure_key("+13052094411", b"secret-1")
    assert a != erasure_key("+13052094411", b"secret-2")
    assert b"3052094411" not in a


def _us_registry_with(*numbers: int) -> RegistrySet:
    store = UsRegistry.empty()
    store.add_many(list(numbers))
    snap = RegistrySnapshot(registry="us-dnc", snapshot_date=(T0 - timedelta(days=3)).date(), max_age_days=31,
                            imported_at=T0, numbers=len(numbers), added=len(numbers), removed=0, sources=(),
                            data_file="", data_sha256="")
    return RegistrySet(loaded={"us-dnc": LoadedRegistry(REGISTRY_KINDS["us-dnc"], snap, store)})


def test_a_number_on_the_national_registry_is_suppressed_unless_an_ebr_is_in_force() -> None:
    ctx = replace(context(T0), registries=_us_registry_with(3052094411))
    _, emits = process(NumberState.empty(), number_event(lead()), ctx)
    [decision] = [e.record for e in emits if e.topic == "lead-decision"]
    assert decision["outcome"] == "SUPPRESSED"
    assert decision["reasons"][0]["code"] == "DNC_REGISTRY"  # type: ignore[index]

    purchase = consent_change("purchase-1", action="GRANT", purpose="ebr.purchase",
                              occurred_at=T0 - timedelta(days=90),
                              with_proof=proof(purpose="ebr.purchase", channel="ANY",
                                               granted_at=T0 - timedelta(days=90)))
    state, _ = process(NumberState.empty(), number_event(purchase), ctx)
    _, emits = process(state, number_event(lead()), ctx)
    [decision] = [e.record for e in emits if e.topic == "lead-decision"]
    assert decision["outcome"] == "CALL_READY"
    codes = [r["code"] for r in decision["reasons"]]  # type: ignore[attr-defined]
    assert codes == ["CALLABLE", "EBR_EXEMPTION"]
    assert "us.ebr" in decision["rules_fired"]  # type: ignore[operator]


def test_a_company_dnc_request_ends_the_ebr_and_the_registry_blocks_again() -> None:
    ctx = replace(context(T0), registries=_us_registry_with(3052094411))
    purchase = consent_change("purchase-1", action="GRANT", purpose="ebr.purchase",
                              occurred_at=T0 - timedelta(days=90),
                              with_proof=proof(purpose="ebr.purchase", channel="ANY",
                                               granted_at=T0 - timedelta(days=90)))
    state, _ = process(NumberState.empty(), number_event(purchase), ctx)
    stop = opt_out("stop-1") | {"occurred_at": T0 - timedelta(days=10)}
    state, _ = process(state, number_event(stop), ctx)
    lift = opt_out("lift-1") | {"action": "REMOVE", "occurred_at": T0 - timedelta(days=5)}
    state, _ = process(state, number_event(lift), ctx)  # contactable again by us, but the EBR is over
    _, emits = process(state, number_event(lead()), ctx)
    [decision] = [e.record for e in emits if e.topic == "lead-decision"]
    assert decision["outcome"] == "SUPPRESSED"
    assert [r["code"] for r in decision["reasons"]] == ["DNC_REGISTRY"]  # type: ignore[attr-defined]
