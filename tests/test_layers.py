"""The layers of the tree, proven from its imports.

Every ``import`` in ``pipeline/`` and ``connectors/`` is read with :mod:`ast` (those inside functions
too, relative ones resolved), and the graph they make must keep four rules:

- no import cycle between modules;
- ``pipeline`` never imports ``connectors`` (the clients of the outside world depend on the
  pipeline, not the reverse);
- ``pipeline.core`` imports only itself, the standard library and ``phonenumbers`` (and the few
  modules listed in ``CORE_EXCEPTIONS``, each with its reason);
- ``pipeline.core`` reads no files and does no I/O: none of the standard library's file, network,
  process or clock modules (``CORE_NO_IO``), and no call of the builtin ``open`` — packaged data is
  read at the edge (``pipeline.packaged``) and handed in;
- product modules never import the demo, the benchmarks or the torture run.

The command-line dispatchers (``pipeline/cli.py`` and ``leadpipe registry``) may reach connectors and
scaffolding, only from inside functions.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "connectors")

# What pipeline.core may import besides itself and the standard library.
CORE_MAY_IMPORT = frozenset({"phonenumbers"})

# Modules outside pipeline.core that the core still imports, each with its reason. Each must itself
# import nothing but the standard library (checked below), so the core stays free of I/O through them.
CORE_EXCEPTIONS: dict[str, str] = {
    "pipeline.events": "the wire contract's typed records (TypedDicts mirroring schemas/*.avsc) are the "
                       "data the core computes over",
    "pipeline.errors": "the project's one exception tree (ConfigError for packaged data that does not load)",
    "pipeline.topics": "the core still names its outputs by topic and uses the input topic as the event kind "
                       "(issue 13: topics known by core, not yet undone)",
}

# Standard-library modules pipeline.core (and what it may import from outside it) must never import:
# they read files or packaged data, reach the network, start processes or read the clock. zoneinfo stays
# allowed: the time-zone database is the runtime's reference data, like phonenumbers' metadata.
CORE_NO_IO = frozenset({
    # files and packaged data (importlib.resources): pipeline.packaged reads them at the edge
    "importlib", "pathlib", "os", "io", "builtins", "shutil", "tempfile", "glob", "fileinput", "mmap", "fcntl",
    "sqlite3", "dbm", "shelve",
    # network, processes, the event loop
    "socket", "ssl", "select", "selectors", "urllib", "http", "asyncio", "subprocess", "multiprocessing",
    "threading",
    # the clock ("now" is handed in) and output
    "time", "logging",
})

# Modules that are scaffolding, not product: the demo (with its simulators), the benchmarks, the
# torture run.
SCAFFOLDING_PREFIXES = ("connectors.demo", "pipeline.bench", "pipeline.torture")

# Command-line modules that may import scaffolding, and connectors, but only inside functions (never
# when the module itself is imported), each with its reason.
CLI_DISPATCHERS: dict[str, str] = {
    "pipeline.cli": "the leadpipe console script: dispatches to every command, demo, bench, torture, "
                    "dialer and CRM included",
    "pipeline.registry.cli": "leadpipe registry generate | bench run the registry benchmark and its test data "
                             "(pipeline.bench.registry)",
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # the dotted name as written, resolved to an absolute one
    line: int
    lazy: bool  # inside a function: runs when the function is called, not when the module loads


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(module: str, source: str, *, is_package: bool, known: Collection[str]) -> Iterator[Import]:
    """Every import in ``source`` (the module ``module``), wherever it sits: module level,
    ``TYPE_CHECKING`` blocks, functions. ``from pkg import name`` names the module ``pkg.name``
    when ``known`` holds it."""
    tree = ast.parse(source)
    in_functions = {
        id(inner)
        for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        lazy = id(node) in in_functions
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, lazy)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative to the module's package: pkg/mod.py and pkg/__init__.py both sit in pkg.
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                assert base, f"{module}:{node.lineno}: relative import above the top package"
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                assert node.module is not None
                stem = node.module
            for alias in node.names:
                sub = f"{stem}.{alias.name}"
                yield Import(module, sub if sub in known else stem, node.lineno, lazy)


IMPORTS = [
    imp
    for module, path in MODULES.items()
    for imp in _imports(module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py",
                        known=MODULES)
]


def _internal(name: str) -> str | None:
    """The module of ours that importing ``name`` names (the longest known prefix), if any."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        target = _internal(imp.imported)
        if target is not None and target != imp.importer:
            graph[imp.importer].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _where(imp: Import) -> str:
    return f"{MODULES[imp.importer].relative_to(ROOT)}:{imp.line} imports {imp.imported}"


def test_the_walk_sees_the_tree() -> None:
    # Guards the walk itself: a broken walk would pass every rule below.
    assert {"pipeline.core.number", "pipeline.worker.app", "connectors.dialer.client", "pipeline.cli"} <= set(MODULES)
    graph = _graph()
    assert "pipeline.core.number" in graph["pipeline.worker.decide"]
    assert any(_within(target, "pipeline") for target in graph["connectors.dialer.client"])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_lazy_imports_are_resolved() -> None:
    source = (
        "from . import sibling\n"
        "from .sibling import name\n"
        "from ..core import number\n"
        "def f():\n"
        "    import json\n"
    )
    known = {"pkg.sub.sibling", "pkg.core.number"}
    found = {(imp.imported, imp.lazy) for imp in _imports("pkg.sub.mod", source, is_package=False, known=known)}
    assert found == {("pkg.sub.sibling", False), ("pkg.core.number", False), ("json", True)}
    in_package = {imp.imported for imp in _imports("pkg.sub", "from . import sibling\n", is_package=True,
                                                    known=known)}
    assert in_package == {"pkg.sub.sibling"}


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_pipeline_never_imports_connectors() -> None:
    upward = [
        _where(imp)
        for imp in IMPORTS
        if _within(imp.importer, "pipeline") and _within(imp.imported, "connectors")
        and not (imp.importer in CLI_DISPATCHERS and imp.lazy)
    ]
    assert upward == []


def _standard_library(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names


def test_core_imports_only_core_stdlib_and_phonenumbers() -> None:
    offending = []
    used = set()
    for imp in IMPORTS:
        if not _within(imp.importer, "pipeline.core") or _within(imp.imported, "pipeline.core"):
            continue
        if _standard_library(imp.imported) or imp.imported.split(".")[0] in CORE_MAY_IMPORT:
            continue
        target = _internal(imp.imported)
        if target in CORE_EXCEPTIONS:
            used.add(target)
            continue
        offending.append(_where(imp))
    assert offending == []
    assert used == set(CORE_EXCEPTIONS), "an exception no longer needed: remove it"


@pytest.mark.parametrize("module", sorted(CORE_EXCEPTIONS))
def test_what_the_core_may_still_import_does_no_io(module: str) -> None:
    assert [_where(imp) for imp in IMPORTS if imp.importer == module and not _standard_library(imp.imported)] == []


def _does_io(imp: Import) -> bool:
    return imp.imported.split(".")[0] in CORE_NO_IO


def _open_calls(source: str) -> list[int]:
    """Lines of ``source`` that call the builtin ``open``."""
    return [
        node.lineno for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
    ]


def _is_core(module: str) -> bool:
    return _within(module, "pipeline.core") or module in CORE_EXCEPTIONS


def test_the_io_checks_catch_a_file_read() -> None:
    # Guards the checks themselves, as test_the_walk_sees_the_tree does the walk.
    source = (
        "import os.path\n"
        "from importlib import resources\n"
        "from datetime import datetime\n"
        "def read():\n"
        "    from pathlib import Path\n"
        "    return open(Path('x'))\n"
    )
    found = {imp.imported for imp in _imports("pkg.mod", source, is_package=False, known=()) if _does_io(imp)}
    assert found == {"os.path", "importlib", "pathlib"}
    assert _open_calls(source) == [6]
    assert any(_is_core(module) for module in MODULES) and _is_core("pipeline.core.rulepack.loading")


def test_core_imports_nothing_that_reads_files_or_does_io() -> None:
    assert [_where(imp) for imp in IMPORTS if _is_core(imp.importer) and _does_io(imp)] == []


def test_core_never_calls_open() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line} calls open"
        for module, path in MODULES.items() if _is_core(module)
        for line in _open_calls(path.read_text(encoding="utf-8"))
    ]
    assert offending == []


def _is_scaffolding(module: str) -> bool:
    return any(_within(module, prefix) for prefix in SCAFFOLDING_PREFIXES)


def test_product_never_imports_scaffolding() -> None:
    offending = [
        _where(imp)
        for imp in IMPORTS
        if not _is_scaffolding(imp.importer)
        and _is_scaffolding(_internal(imp.imported) or imp.imported)
        and not (imp.importer in CLI_DISPATCHERS and imp.lazy)
    ]
    assert offending == []


@pytest.mark.parametrize("prefix", SCAFFOLDING_PREFIXES)
def test_every_scaffolding_prefix_names_modules(prefix: str) -> None:
    assert any(_within(module, prefix) for module in MODULES)


@pytest.mark.parametrize("module", sorted(CLI_DISPATCHERS))
def test_every_dispatcher_exists(module: str) -> None:
    assert module in MODULES
