"""The test tree mirrors the source tree, and test modules share helpers only through helper
modules.

Every source module `PKG/.../NAME.py` has its test module `tests/PKG/.../test_NAME.py`. The few
that do not are listed below, each with the reason; a new module lands with its test module (or
an entry here that says why not). Test modules (`test_*.py`) and conftests never import one
another: pytest imports them itself, and a second import under another name runs their set-up
twice. Shared helpers live in tests/builders.py or a helper module beside the tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SOURCE_PACKAGES = ("timecard", "transforms", "schemas", "plugins", "dags")

# Modules other helpers add in issue 20/21 need no entry: each lands with its test module at the
# mirrored path, and the check below holds them to it (timecard/limits.py, schedule.py,
# airflow_timetable.py, dependencies.py, spec.py, adhoc.py, report_cache.py, and the
# timecard/generate/ subpackage, tested in tests/timecard/generate/).

# Source module → the test module that tests it under another name. Keep it short.
TESTED_ELSEWHERE = {
    # The app's routes, on Airflow's real API app over real DAG outputs (test_browser.py drives
    # the same pages in Chromium): the routes are the app's public surface.
    "timecard/ui/app.py": "tests/timecard/ui/test_routes.py",
    # The DAG file's test is named for the DAG's job rather than its file.
    "dags/timecard_late_data.py": "tests/dags/test_late_data.py",
    # This DAG file only turns broken definitions into an import error, which the report DAGs'
    # parsing test checks with a broken definition beside good ones.
    "dags/timecard_definition_check.py": "tests/dags/test_timecard_reports.py",
}


def exempt(module: Path) -> str | None:
    """Why a source module needs no test module of its own, or None."""
    if module.name == "__init__.py":
        # Package markers and re-exports: what they hold is tested through the modules that
        # use it (readers/__init__.py's reader choice by every reader test, for instance).
        return "package __init__"
    return None


def source_modules() -> list[Path]:
    return sorted(
        path.relative_to(REPO)
        for package in SOURCE_PACKAGES
        for path in (REPO / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def mirrored(module: Path) -> Path:
    return Path("tests") / module.parent / f"test_{module.name}"


def test_every_source_module_has_its_test_module():
    missing = [
        f"{module} -> {mirrored(module)}"
        for module in source_modules()
        if exempt(module) is None
        and str(module) not in TESTED_ELSEWHERE
        and not (REPO / mirrored(module)).is_file()
    ]
    assert missing == [], (
        "source modules without a test module at the mirrored path (write it, or add an entry "
        "with its reason to TESTED_ELSEWHERE in tests/test_tree.py):\n" + "\n".join(missing)
    )


def test_the_list_of_exceptions_is_not_stale():
    modules = {str(module) for module in source_modules()}
    stale = [
        f"{source} -> {test}"
        for source, test in TESTED_ELSEWHERE.items()
        if source not in modules
        or not (REPO / test).is_file()
        or (REPO / mirrored(Path(source))).is_file()  # it has its own test module now
    ]
    assert stale == [], "entries of TESTED_ELSEWHERE to update or remove:\n" + "\n".join(stale)


def test_packages_of_the_test_tree_mirror_the_source_packages():
    # A test folder for a source package is a Python package too (tests import by package name).
    folders = {mirrored(module).parent for module in source_modules() if exempt(module) is None}
    without_init = [
        str(folder)
        for folder in sorted(folders)
        if (REPO / folder).is_dir() and not (REPO / folder / "__init__.py").is_file()
    ]
    assert without_init == []


def _is_test_or_conftest(module_name: str) -> bool:
    last = module_name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def imported_test_modules(path: Path) -> list[str]:
    """The test modules and conftests that the file at `path` imports, by dotted name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found += [n for n in names if n.startswith("tests.") and _is_test_or_conftest(n)]
    return found


def test_no_test_module_or_conftest_is_imported_by_another_file():
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in sorted(TESTS.rglob("*.py"))
        if "__pycache__" not in path.parts
        for name in imported_test_modules(path)
    ]
    assert offenders == [], (
        "move what is shared to tests/builders.py (or a helper module, or a fixture):\n"
        + "\n".join(offenders)
    )


def test_the_import_check_sees_each_form_of_import(tmp_path):
    # The check above must be able to fail: each spelling of a test-module import is caught.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import tests.dags.test_backfill\n"
        "from tests.dags.conftest import DAILY_SEOUL\n"
        "from tests.timecard import test_cli\n"
        "from tests.builders import event\n"
        "from tests.timecard.ui.pages import Page\n"
        "def later():\n"
        "    from tests.timecard.test_cli import run\n"
    )
    assert sorted(imported_test_modules(sample)) == [
        "tests.dags.conftest",
        "tests.dags.test_backfill",
        "tests.timecard.test_cli",  # from the package
        "tests.timecard.test_cli",  # inside a function
    ]
