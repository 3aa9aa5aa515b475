"""Each service has the settings it reads and no others, and its ``--help`` lists exactly those.

The reads are found in the source: every ``<...settings>.<name>`` (and ``<Type>.from_env(...).<name>``)
in the modules a command runs — the module of its function and every pipeline/connectors module
imported from there, transitively — plus the settings a method of the settings types reads
(``kafka_client_config()`` reads the SASL fields). Settings objects are always named ``...settings``,
which the last test holds every scanned module to, so nothing reads past the scan.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import pipeline.config as config
from pipeline.cli import build_parser, main
from pipeline.config import SERVICE_SETTINGS, Settings, SettingsBase, env_var, settings_table

ROOT = Path(__file__).resolve().parents[1]
DISPATCHER = "pipeline.cli"
"""Holds several commands' functions: only the command's own function is scanned there."""
WHOLE_PIPELINE = {"demo", "bench", "torture"}
"""Run every service in one process tree and hand each its part: they take every setting."""

ALL_FIELDS = {f.name for f in dataclasses.fields(Settings)}
SETTINGS_TYPES = {name for name, value in vars(config).items()
                  if isinstance(value, type) and issubclass(value, SettingsBase)}


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _functions(parser: argparse.ArgumentParser) -> Iterator[object]:
    """The function a command runs, or those of its subcommands."""
    if (func := parser.get_default("func")) is not None:
        yield func
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _functions(child)


def _path(module: str) -> Path | None:
    for candidate in (ROOT / (module.replace(".", "/") + ".py"), ROOT / module.replace(".", "/") / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _tree(module: str) -> ast.Module:
    path = _path(module)
    assert path is not None, module
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(node: ast.AST) -> set[str]:
    """Our modules imported anywhere under ``node`` (also inside functions: commands import lazily)."""
    found: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            found |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            found |= {n.module} | {f"{n.module}.{a.name}" for a in n.names}
    return {m for m in found if m.split(".")[0] in ("pipeline", "connectors") and _path(m) is not None}


def _owner(node: ast.expr) -> str:
    """The name an attribute is read from: ``settings`` in ``self.settings.app_id``; the type in
    ``WorkerSettings.from_env(env).app_id``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "from_env":
        return _owner(node.func.value)
    return ""


def _method_reads() -> dict[str, set[str]]:
    """The settings each method or property of the settings types reads from ``self``."""
    reads: dict[str, set[str]] = {}
    for cls in _tree("pipeline.config").body:
        if isinstance(cls, ast.ClassDef):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name not in ("validate", "from_env", "describe"):
                    reads[fn.name] = {n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)
                                      and isinstance(n.value, ast.Name) and n.value.id == "self"
                                      and n.attr in ALL_FIELDS}
    return reads


METHOD_READS = _method_reads()


def _reads(node: ast.AST) -> dict[str, int]:
    """Settings read under ``node``, each with a line it is read on."""
    reads: dict[str, int] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and (n.attr in ALL_FIELDS or n.attr in METHOD_READS):
            owner = _owner(n.value)
            if "settings" in owner.lower():
                for name in {n.attr} & ALL_FIELDS | METHOD_READS.get(n.attr, set()):
                    reads.setdefault(name, n.lineno)
    return reads


def _scanned(command: str) -> dict[str, ast.AST]:
    """Every module ``command`` runs (in the dispatcher, only the command's function), by name."""
    scanned: dict[str, ast.AST] = {}
    for func in _functions(_commands()[command]):
        module, name = func.__module__, func.__name__  # type: ignore[attr-defined]
        tree = _tree(module)
        if module == DISPATCHER:
            scanned[f"{module}:{name}"] = next(n for n in tree.body
                                               if isinstance(n, ast.FunctionDef) and n.name == name)
        else:
            scanned[module] = tree
    pending = set().union(*(_imports(node) for node in scanned.values()))
    while pending:
        module = pending.pop()
        if module in scanned or module in (DISPATCHER, "pipeline.config"):
            continue
        scanned[module] = _tree(module)
        pending |= _imports(scanned[module])
    return scanned


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def _listed(help_text: str) -> list[str]:
    section = help_text.split("settings (environment variables):\n", 1)
    return re.findall(r"^  (LEADPIPE_[A-Z0-9_]+)  ", section[1], re.MULTILINE) if len(section) == 2 else []


@pytest.mark.parametrize("command", sorted(_commands()))
def test_a_commands_help_lists_exactly_the_settings_of_its_type(command: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    kind = SERVICE_SETTINGS.get(command)
    expected = sorted(env_var(f.name) for f in dataclasses.fields(kind)) if kind is not None else []
    assert sorted(_listed(_help([command], capsys))) == expected
    for action in _commands()[command]._actions:  # and each subcommand's help (registry import, import leads)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices:
                assert sorted(_listed(_help([command, sub], capsys))) == expected


def test_the_help_gives_each_settings_default_and_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["gateway"], capsys)
    assert "  LEADPIPE_GATEWAY_PORT  [8080]\n      port the gateway listens on\n" in text
    assert "  LEADPIPE_BOOTSTRAP_SERVERS  [unset: embedded broker]\n" in text
    assert "LEADPIPE_CRM_URL" not in text and "LEADPIPE_ERASURE_KEY" not in text


@pytest.mark.parametrize("command", sorted(set(SERVICE_SETTINGS) - WHOLE_PIPELINE))
def test_a_service_reads_every_setting_of_its_type_and_no_other(command: str) -> None:
    listed = {f.name for f in dataclasses.fields(SERVICE_SETTINGS[command])}
    read: dict[str, str] = {}
    for module, node in _scanned(command).items():
        for name, line in _reads(node).items():
            read.setdefault(name, f"{module}:{line}")
    outside = {env_var(name): where for name, where in read.items() if name not in listed}
    assert not outside, f"leadpipe {command} reads settings its type does not list: {outside}"
    unread = sorted(env_var(name) for name in listed - set(read))
    assert not unread, f"leadpipe {command}'s settings list what none of its modules reads: {unread}"


@pytest.mark.parametrize("command", sorted(set(SERVICE_SETTINGS) - WHOLE_PIPELINE))
def test_a_service_builds_the_settings_type_its_help_lists(command: str) -> None:
    built = {_owner(n.func.value) for node in _scanned(command).values() for n in ast.walk(node)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "from_env"}
    assert built & SETTINGS_TYPES == {SERVICE_SETTINGS[command].__name__}


def test_settings_objects_are_named_so_the_scan_sees_their_reads() -> None:
    modules = {p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
               for top in ("pipeline", "connectors") for p in (ROOT / top).rglob("*.py")}
    misnamed = []
    for module in sorted(modules - {"pipeline.config"}):
        for node in ast.walk(_tree(module.removesuffix(".__init__"))):
            if isinstance(node, ast.arg) and node.annotation is not None:
                annotation = ast.unparse(node.annotation)
                if any(re.search(rf"\b{t}\b", annotation) for t in SETTINGS_TYPES) and "settings" not in node.arg:
                    misnamed.append(f"{module}:{node.lineno} {node.arg}: {annotation}")
    assert not misnamed


def test_the_readme_configuration_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- settings table: python -m pipeline.config -->\n", "<!-- end of settings table -->"
    assert begin in readme and end in readme
    table = readme.split(begin, 1)[1].split(end, 1)[0].strip()
    assert table == settings_table(), "README's settings table is stale: regenerate it with python -m pipeline.config"


def test_every_setting_is_read_by_some_service() -> None:
    served = set().union(*({f.name for f in dataclasses.fields(kind)} for kind in SERVICE_SETTINGS.values()
                           if kind is not Settings))
    assert served == ALL_FIELDS
