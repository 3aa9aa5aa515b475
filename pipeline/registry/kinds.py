"""The national registries leadpipe knows how to load, and the law that bounds each one's age."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from pipeline.registry.errors import RegistryError


@dataclass(frozen=True, slots=True)
class RegistryKind:
    """A national registry leadpipe knows how to load, and the law that bounds its age."""

    name: str
    """``us-dnc``, ``uk-tps`` or ``uk-ctps``: the name on the command line, on disk and in metrics."""
    title: str
    country: str
    """ISO 3166 alpha-2 country whose numbers it covers."""
    calling_code: str
    max_age_days: int
    """A snapshot older than this no longer satisfies the law: every covered number is blocked."""
    freshness_rule_id: str
    layout: Literal["us", "uk"]


US_DNC: Final = RegistryKind(
    name="us-dnc", title="FTC National Do Not Call Registry", country="US", calling_code="1",
    max_age_days=31, freshness_rule_id="us.registry.sync", layout="us",
)
UK_TPS: Final = RegistryKind(
    name="uk-tps", title="UK Telephone Preference Service", country="GB", calling_code="44",
    max_age_days=28, freshness_rule_id="uk.tps.rescreen", layout="uk",
)
UK_CTPS: Final = RegistryKind(
    name="uk-ctps", title="UK Corporate Telephone Preference Service", country="GB", calling_code="44",
    max_age_days=28, freshness_rule_id="uk.tps.rescreen", layout="uk",
)
US_DNC_REGIONS: Final = frozenset({"US", "PR", "GU", "VI", "MP", "AS"})
"""NANP regions the US registry covers: the states and the territories. The other +1 countries
(Canada, the Caribbean nations) have registries of their own or none."""
REGISTRY_KINDS: Final[Mapping[str, RegistryKind]] = {kind.name: kind for kind in (US_DNC, UK_TPS, UK_CTPS)}


def registry_kind(name: str) -> RegistryKind:
    try:
        return REGISTRY_KINDS[name]
    except KeyError:
        raise RegistryError(f"unknown registry {name!r}: expected one of {', '.join(REGISTRY_KINDS)}") from None
