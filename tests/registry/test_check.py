"""The registry check: listed numbers blocked, stale registries fail closed on the numbers they cover."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from registry_builders import FRESH, NOW, STALE, loaded, registry_set

from pipeline.core.registries import NO_REGISTRIES, Registries
from pipeline.registry.check import registry_country, registry_health, registry_metrics, registry_verdict

LISTED_US = "+12125550123"
OTHER_US = "+13055550188"
TORONTO = "+14165550123"
LONDON = "+442079460018"
MANCHESTER = "+441614960000"
BERLIN = "+4930123456"


def test_us_number_on_the_list_is_blocked() -> None:
    verdict = registry_verdict(LISTED_US, registry_set(loaded("us-dnc", [2125550123], FRESH)), NOW)
    assert (verdict.blocked, verdict.registry, verdict.reason_code, verdict.rule_id) == (
        True, "us-dnc", "DNC_REGISTRY", "dnc.registry",
    )
    assert "2025-06-01" in verdict.detail


def test_fresh_registry_lets_unlisted_numbers_through() -> None:
    verdict = registry_verdict(OTHER_US, registry_set(loaded("us-dnc", [2125550123], FRESH)), NOW)
    assert (verdict.blocked, verdict.registry, verdict.reason_code) == (False, None, None)
    assert "not on us-dnc of 2025-06-01" in verdict.detail


def test_stale_registry_blocks_every_number_it_covers() -> None:
    registries = registry_set(loaded("us-dnc", [2125550123], STALE))
    verdict = registry_verdict(OTHER_US, registries, NOW)
    assert (verdict.blocked, verdict.registry, verdict.reason_code, verdict.rule_id) == (
        True, "us-dnc", "REGISTRY_STALE", "us.registry.sync",
    )
    assert "31-day limit" in verdict.detail
    # A listed number still says why it is really blocked.
    assert registry_verdict(LISTED_US, registries, NOW).reason_code == "DNC_REGISTRY"


def test_staleness_starts_exactly_at_the_limit() -> None:
    registries = registry_set(loaded("us-dnc", [2125550123], date(2025, 6, 1)))
    assert not registry_verdict(OTHER_US, registries, datetime(2025, 7, 1, 23, 59, tzinfo=UTC)).blocked
    assert registry_verdict(OTHER_US, registries, datetime(2025, 7, 2, tzinfo=UTC)).reason_code == "REGISTRY_STALE"
    uk = registry_set(loaded("uk-tps", [], date(2025, 6, 1)))
    assert not registry_verdict(LONDON, uk, datetime(2025, 6, 28, 23, 59, tzinfo=UTC)).blocked
    assert registry_verdict(LONDON, uk, datetime(2025, 6, 29, tzinfo=UTC)).reason_code == "REGISTRY_STALE"


def test_a_stale_registry_does_not_block_numbers_it_does_not_cover() -> None:
    registries = registry_set(loaded("us-dnc", [2125550123], STALE), loaded("uk-tps", [], FRESH))
    assert not registry_verdict(TORONTO, registries, NOW).blocked  # +1 but Canada: not the FTC's
    assert not registry_verdict(LONDON, registries, NOW).blocked
    assert not registry_verdict(BERLIN, registries, NOW).blocked


def test_uk_number_on_tps_or_ctps_is_blocked() -> None:
    registries = registry_set(loaded("uk-tps", [2079460018], FRESH), loaded("uk-ctps", [1614960000], FRESH))
    tps = registry_verdict(LONDON, registries, NOW)
    assert (tps.blocked, tps.registry, tps.reason_code) == (True, "uk-tps", "DNC_REGISTRY")
    ctps = registry_verdict(MANCHESTER, registries, NOW)
    assert (ctps.blocked, ctps.registry, ctps.reason_code) == (True, "uk-ctps", "DNC_REGISTRY")
    assert not registry_verdict("+447700900123", registries, NOW).blocked


def test_uk_stale_tps_blocks_uk_numbers_even_with_a_fresh_ctps() -> None:
    registries = registry_set(loaded("uk-tps", [], STALE), loaded("uk-ctps", [1614960000], FRESH))
    verdict = registry_verdict("+447700900123", registries, NOW)
    assert (verdict.blocked, verdict.registry, verdict.reason_code, verdict.rule_id) == (
        True, "uk-tps", "REGISTRY_STALE", "uk.tps.rescreen",
    )
    assert registry_verdict(MANCHESTER, registries, NOW).reason_code == "DNC_REGISTRY"
    assert not registry_verdict(OTHER_US, registries, NOW).blocked  # no US registry loaded


def test_no_registry_loaded_blocks_nothing_unless_required() -> None:
    assert not registry_verdict(OTHER_US, registry_set(), NOW).blocked
    required = registry_set(required=("us-dnc",))
    verdict = registry_verdict(OTHER_US, required, NOW)
    assert (verdict.blocked, verdict.registry, verdict.reason_code) == (True, "us-dnc", "REGISTRY_STALE")
    assert "required but not loaded" in verdict.detail
    assert not registry_verdict(TORONTO, required, NOW).blocked


@pytest.mark.parametrize(("phone", "country"), [
    ("+12125550123", "US"), ("+17875550123", "US"), ("+14165550123", None), ("+18765550123", None),
    ("+19995550123", "US"), ("+442079460018", "GB"), ("+4930123456", None),
])
def test_registry_country(phone: str, country: str | None) -> None:
    # Puerto Rico (787) is covered; Jamaica (876) is not; an unknown area code (999) fails closed to US.
    assert registry_country(phone) == country


def test_bad_input_is_a_bug_not_a_verdict() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        registry_verdict("2125550123", registry_set(), NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        registry_verdict(LISTED_US, registry_set(), datetime(2025, 6, 1))  # noqa: DTZ001  # the point


def test_health_and_metrics_say_which_registry_is_stale() -> None:
    registries = registry_set(loaded("us-dnc", [2125550123], STALE), loaded("uk-tps", [2079460018], FRESH),
                              required=("us-dnc", "uk-ctps"))
    health = {h.registry: h for h in registry_health(registries, NOW)}
    assert set(health) == {"us-dnc", "uk-tps", "uk-ctps"}
    assert health["us-dnc"].stale and not health["uk-tps"].stale
    assert health["uk-ctps"].stale and not health["uk-ctps"].loaded
    assert health["uk-tps"].age_s == timedelta(days=9, hours=15).total_seconds()
    text = registry_metrics(registries, NOW)
    assert 'leadpipe_registry_stale{registry="us-dnc"} 1.0' in text
    assert 'leadpipe_registry_stale{registry="uk-tps"} 0.0' in text
    assert 'leadpipe_registry_stale{registry="uk-ctps"} 1.0' in text
    assert 'leadpipe_registry_numbers{registry="uk-tps"} 1.0' in text
    snapshot_at = datetime(2025, 6, 1, tzinfo=UTC).timestamp()
    assert f'leadpipe_registry_snapshot_timestamp_seconds{{registry="uk-tps"}} {snapshot_at!r}' in text
    assert "# TYPE leadpipe_registry_stale gauge" in text


def test_a_registry_set_is_what_the_core_asks() -> None:
    held = registry_set(loaded("us-dnc", [2125550123], FRESH))
    registries: Registries = held
    assert registries.verdict(LISTED_US, NOW) == registry_verdict(LISTED_US, held, NOW)
    assert registries.verdict(LISTED_US, NOW).blocked


def test_an_empty_registry_set_answers_as_no_registries() -> None:
    assert registry_set().verdict(OTHER_US, NOW) == NO_REGISTRIES.verdict(OTHER_US, NOW)
