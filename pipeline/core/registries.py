"""What the core needs from the national do-not-call registries: a verdict per number and instant.

The registries themselves (memory-mapped bitmaps and sorted arrays, snapshots on disk, their
staleness rules) live in :mod:`pipeline.registry`; its ``RegistrySet`` is a :class:`Registries`
and the worker hands it in (``ProcessContext.registries``), so the core imports no numpy and reads
no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol

RegistryReasonCode = Literal["DNC_REGISTRY", "REGISTRY_STALE"]


@dataclass(frozen=True, slots=True)
class RegistryVerdict:
    blocked: bool
    registry: str | None
    """The registry that decided (None when no registry blocks the number)."""
    reason_code: RegistryReasonCode | None
    detail: str
    rule_id: str | None = None


class Registries(Protocol):
    """The national registries a decision is checked against."""

    def verdict(self, phone_e164: str, at: datetime) -> RegistryVerdict:
        """Whether the registries forbid calling ``phone_e164`` (E.164) at ``at`` (timezone-aware):
        listed, or a covering registry stale or required but missing (fail closed)."""
        ...


@dataclass(frozen=True, slots=True)
class NoRegistries:
    """No registry loaded and none required: no number is blocked by a national registry."""

    def verdict(self, phone_e164: str, at: datetime) -> RegistryVerdict:
        return RegistryVerdict(False, None, None, f"no national registry loaded covers {phone_e164}")


NO_REGISTRIES: Final = NoRegistries()
