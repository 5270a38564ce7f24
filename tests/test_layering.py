"""The import rules import-linter cannot check (`make imports` runs the contracts in
pyproject.toml): dags/ and plugins/ are folders of scripts, not packages; every timecard module
belongs to exactly one layer; and no module uses another module's private names."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("timecard", "transforms", "schemas")
PLUGIN_MODULES = frozenset(path.stem for path in (ROOT / "plugins").glob("*.py"))
# The Airflow layer: may import Airflow (pyproject.toml's contracts hold every other module).
AIRFLOW_LAYER = frozenset(
    {
        "timecard.airflow_env",
        "timecard.airflow_timetable",
        "timecard.backfill",
        "timecard.dag_tasks",
        "timecard.local_airflow",
        "timecard.main_job",
        "timecard.notify",
        "timecard.republish",
        "timecard.ui",
        "timecard.warehouse",
    }
)
# The one module through which the engine layer may reach an optional heavy dependency.
GATEWAY = frozenset({"timecard.dependencies"})


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def _source_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_members(package: str) -> set[str]:
    """The package's modules and subpackages, one level down (a subpackage is one member)."""
    folder = ROOT / package
    members = {f"{package}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__"}
    members |= {f"{package}.{path.parent.name}" for path in folder.glob("*/__init__.py")}
    return members


def imported_modules(tree: ast.AST, module: str) -> set[str]:
    """Every module an AST imports, function-local and TYPE_CHECKING imports included."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def private_uses(tree: ast.AST, module: str) -> list[str]:
    """`from other import _name`, and `other._name` where `other` names an imported
    first-party module: private names used across modules."""
    problems = []
    module_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _first_party(alias.name):
                    module_aliases.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            if not _first_party(base):
                continue
            for alias in node.names:
                if _private(alias.name):
                    problems.append(f"line {node.lineno}: from {base} import {alias.name}")
                elif (ROOT / Path(*base.split("."), f"{alias.name}.py")).exists() or (
                    ROOT / Path(*base.split("."), alias.name, "__init__.py")
                ).exists():
                    module_aliases.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and _private(node.attr)
        ):
            problems.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return problems


def _absolute(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level] if node.level else []
    return ".".join([*package, *([node.module] if node.module else [])])


def _first_party(name: str) -> bool:
    return name.split(".")[0] in (*FIRST_PARTY, *PLUGIN_MODULES)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


# -- every timecard module has a layer --------------------------------------------------------


def test_every_timecard_module_belongs_to_exactly_one_layer():
    contracts = _contracts()
    engine = set(contracts["engine-no-airflow"]["source_modules"])
    cli = set(contracts["cli-no-airflow"]["source_modules"])
    layers = {"engine": engine, "cli": cli, "airflow": set(AIRFLOW_LAYER), "gateway": set(GATEWAY)}
    members = _top_level_members("timecard")
    unplaced = sorted(m for m in members if not any(m in layer for layer in layers.values()))
    twice = sorted(m for m in members if sum(m in layer for layer in layers.values()) > 1)
    assert not unplaced, (
        f"{unplaced} belong to no layer: add each to the engine-no-airflow contract's "
        "source_modules in pyproject.toml (no Airflow), or, if it is Airflow glue, to "
        "AIRFLOW_LAYER in tests/test_layering.py."
    )
    assert not twice, f"{twice} are listed in more than one layer"
    stale = sorted(set().union(*layers.values()) - members)
    assert not stale, f"{stale} are listed in a layer but do not exist"


# -- nothing imports plugins/ -----------------------------------------------------------------


def _plugin_importers(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        imported = imported_modules(_parsed(path), _module_name(path))
        plugins = sorted({name.split(".")[0] for name in imported} & PLUGIN_MODULES)
        if plugins:
            found.append(f"{path.relative_to(ROOT)} imports {', '.join(plugins)}")
    return found


def test_no_module_outside_plugins_imports_a_plugin():
    outside = _source_files(*FIRST_PARTY, "dags", "bench")
    tests = [p for p in _source_files("tests") if "plugins" not in p.relative_to(ROOT).parts]
    assert _plugin_importers([*outside, *tests]) == []


def test_plugins_do_not_import_each_other():
    for path in _source_files("plugins"):
        others = PLUGIN_MODULES - {path.stem}
        imported = {name.split(".")[0] for name in imported_modules(_parsed(path), path.stem)}
        assert not imported & others, f"{path.name} imports {sorted(imported & others)}"


def test_the_checks_see_function_local_and_relative_imports():
    source = (
        "def f():\n    from timecard_timetable import X\n"
        "from . import _hidden\nimport timecard.storage as st\nst._fs('x')\n"
    )
    tree = ast.parse(source)
    assert "timecard_timetable.X" in imported_modules(tree, "timecard.x")
    assert private_uses(tree, "timecard.ui.x") == [
        "line 3: from timecard.ui import _hidden",
        "line 5: st._fs",
    ]


# -- no module uses another's private names ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    _source_files(*FIRST_PARTY, "dags", "plugins", "bench"),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_no_module_uses_another_modules_private_names(path):
    assert private_uses(_parsed(path), _module_name(path)) == []
