"""The tests' own layout: shared helpers come from tests/support, fixtures from conftest.py.

No module under tests/ imports a test module (`test_*`), a conftest module or
the benchmarks: a test module is only ever run, a conftest only ever loaded by
pytest, and the benchmarks measure the product without the tests leaning on them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def imported_modules(source: str, package: str) -> Iterator[tuple[int, str]]:
    """Every module that `source`, a module of `package`, imports: (line, dotted name).

    `from p import name` counts as importing `p.name` too (it may be a module), and
    `importlib.import_module("…")` with a written-out name counts like an import.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            if module.split(".")[0] == "tests":
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def forbidden(module: str) -> bool:
    parts = module.split(".")
    if parts[0] == "benchmarks":
        return True
    return parts[0] == "tests" and any(p == "conftest" or p.startswith("test_") for p in parts)


def forbidden_imports(source: str, package: str) -> list[tuple[int, str]]:
    return [
        (line, module) for line, module in imported_modules(source, package) if forbidden(module)
    ]


def forbidden_imports_of_the_tests() -> dict[str, list[tuple[int, str]]]:
    """Each module under tests/ that imports what it should not: what, and on which line."""
    found = {}
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(ROOT)
        # Folders starting with a dot hold files that other tests write for a moment.
        if any(part.startswith(".") for part in relative.parts):
            continue
        package = ".".join(relative.parent.parts)
        imports = forbidden_imports(path.read_text(encoding="utf-8"), package)
        if imports:
            found[relative.as_posix()] = imports
    return found


def test_no_module_of_the_tests_imports_a_test_module_a_conftest_or_the_benchmarks() -> None:
    offences = [
        f"{name}:{line} imports {module}"
        for name, imports in forbidden_imports_of_the_tests().items()
        for line, module in imports
    ]

    assert not offences, "import shared helpers from tests/support:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "source",
    [
        "from tests.api.test_ws import connect",
        "import tests.integration.test_cli",
        "from tests.api import test_ws",
        "from tests.api.conftest import sign_up",
        "from tests import conftest",
        "from .test_ws import connect",
        "from . import conftest",
        "from benchmarks.harness import Context",
        "import benchmarks",
        "def later():\n    from tests.unit.test_offline_model import user_turn",
        "importlib.import_module('tests.e2e.test_server_process')",
    ],
)
def test_the_check_sees_every_way_of_importing_what_it_forbids(source: str) -> None:
    assert forbidden_imports(source, "tests.api")


@pytest.mark.parametrize(
    "source",
    [
        "from tests.support.ws import connect",
        "from tests.support import ws",
        "from . import routes",
        "import pytest",
        "from companion.app.settings import Settings",
        "from projections.runner import ProjectionRunner",
    ],
)
def test_the_check_lets_helpers_and_the_product_be_imported(source: str) -> None:
    assert forbidden_imports(source, "tests.api") == []
