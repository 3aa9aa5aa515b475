"""The core's side of the national registries: the protocol and the set that holds none."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.core.registries import NO_REGISTRIES, Registries

AT = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def test_no_registries_block_no_number() -> None:
    registries: Registries = NO_REGISTRIES
    verdict = registries.verdict("+12125550123", AT)
    assert (verdict.blocked, verdict.registry, verdict.reason_code) == (False, None, None)
    assert verdict.detail == "no national registry loaded covers +12125550123"
