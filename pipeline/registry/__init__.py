"""National do-not-call registries: the FTC National DNC Registry and the UK TPS / CTPS.

- :mod:`pipeline.registry.store`   the registries in memory (US bitmaps, UK sorted arrays), their
                                   snapshot metadata, and how both are saved and memory-mapped;
- :mod:`pipeline.registry.loaders` parsers for the registries' own files (full and change lists,
                                   plain or zipped) and the imports that save snapshots;
- :mod:`pipeline.registry.check`   the pure check: is a number blocked by a registry now, and is a
                                   registry too old (fail closed);
- :mod:`pipeline.registry.cli`     ``leadpipe registry import | status | generate | bench``;
- :mod:`pipeline.bench.registry`    test data and the benchmark sized for the full US registry.

A worker opens the saved snapshots once at start (:func:`open_registries`, memory-mapped) and asks
:func:`registry_verdict` per number.
"""

from pipeline.registry.check import (
    RegistrySet,
    RegistryVerdict,
    open_registries,
    registry_health,
    registry_metrics,
    registry_verdict,
)
from pipeline.registry.store import (
    REGISTRY_KINDS,
    RegistryError,
    RegistryImportRefused,
    RegistrySnapshot,
    UkRegistry,
    UsRegistry,
)

__all__ = [
    "REGISTRY_KINDS",
    "RegistryError",
    "RegistryImportRefused",
    "RegistrySet",
    "RegistrySnapshot",
    "RegistryVerdict",
    "UkRegistry",
    "UsRegistry",
    "open_registries",
    "registry_health",
    "registry_metrics",
    "registry_verdict",
]
