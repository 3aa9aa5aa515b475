"""National do-not-call registries: the FTC National DNC Registry and the UK TPS / CTPS.

- :mod:`pipeline.registry.kinds`    the registries leadpipe knows and the law that bounds each one's age;
- :mod:`pipeline.registry.memory`   the registries in memory (US bitmaps, UK sorted arrays);
- :mod:`pipeline.registry.snapshot` what a saved registry holds and as of when (stale or not);
- :mod:`pipeline.registry.disk`     how registries are saved atomically and memory-mapped;
- :mod:`pipeline.registry.parsing`  the registries' own files (full and change lists, plain or zipped)
                                    read into numbers, every bad line reported
                                    (:mod:`pipeline.registry.chunks`: the vectorized line parse);
- :mod:`pipeline.registry.importer` the imports that save snapshots, and when they refuse to;
- :mod:`pipeline.registry.errors`   what goes wrong: :class:`RegistryError`, :class:`RegistryImportRefused`;
- :mod:`pipeline.registry.check`    the pure check: is a number blocked by a registry now, and is a
                                    registry too old (fail closed);
- :mod:`pipeline.registry.cli`      ``leadpipe registry import | status | generate | bench``;
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
from pipeline.registry.errors import RegistryError, RegistryImportRefused
from pipeline.registry.kinds import REGISTRY_KINDS
from pipeline.registry.memory import UkRegistry, UsRegistry
from pipeline.registry.snapshot import RegistrySnapshot

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
