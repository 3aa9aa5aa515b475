"""What goes wrong with a registry: a file that cannot be imported, a snapshot that cannot be opened."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.errors import LeadpipeError


class RegistryError(LeadpipeError):
    """A registry file cannot be imported, or a persisted snapshot cannot be opened."""


class RegistryImportRefused(RegistryError):
    """An import was parsed but not saved (too many bad lines, an empty full list, a date going back).

    ``reports`` holds what the parse found, so the caller can still show the bad lines.
    """

    def __init__(self, message: str, reports: Sequence[Any]) -> None:
        super().__init__(message)
        self.reports = tuple(reports)
