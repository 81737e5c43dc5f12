"""Layering, checked on the source with ast: db/ is the bottom layer, tenancy/ holds the
rules and knows nothing of GraphQL or HTTP, gql/ is the only boundary layer.

Every import counts: top-level, inside functions, under ``TYPE_CHECKING``, relative
imports (resolved to absolute names) and ``importlib.import_module("...")`` /
``__import__("...")`` with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("db", "tenancy", "gql")
WEB = ("strawberry", "starlette")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    return imports_of(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )


def imports_of(source: str, this: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the module ``this``."""
    tree = ast.parse(source)
    package = this.split(".") if is_package else this.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(part for part in (*base, node.module or "") if part)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                # "from gql import schema" may import the module gql.schema.
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name
        elif isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if name in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    yield node.lineno, first.value


def top(module: str) -> str:
    return module.split(".")[0]


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in python_files(package):
        for line, module in imported_modules(path):
            if top(module) in forbidden:
                found.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return sorted(set(found))


def test_packages_exist() -> None:
    for package in PACKAGES:
        assert (REPO / package / "__init__.py").is_file()
        assert python_files(package)


def test_db_imports_neither_tenancy_nor_gql() -> None:
    assert violations("db", ("tenancy", "gql", *WEB)) == []


def test_tenancy_imports_no_graphql_or_http_layer() -> None:
    assert violations("tenancy", ("gql", *WEB)) == []


@pytest.mark.parametrize("package", ["db", "tenancy"])
def test_only_gql_imports_strawberry_and_starlette(package: str) -> None:
    assert violations(package, WEB) == []


def test_strawberry_and_starlette_are_used_in_gql() -> None:
    """The boundary layer really is where they live (so the checks above are not vacuous)."""
    used = {top(m) for path in python_files("gql") for _line, m in imported_modules(path)}
    assert {"strawberry", "starlette"} <= used


def test_no_other_production_package_imports_web_libraries() -> None:
    """Any other top-level production package (besides tests and benchmarks) stays out
    of strawberry and starlette as well."""
    others = [
        path.name
        for path in REPO.iterdir()
        if path.is_dir()
        and (path / "__init__.py").is_file()
        and path.name not in (*PACKAGES, "tests", "bench")
    ]
    for package in others:
        assert violations(package, WEB) == [], package


def test_import_resolution_of_this_checker() -> None:
    """Relative, nested, TYPE_CHECKING and dynamic imports are all seen."""
    assert "db.models" in {m for _line, m in imported_modules(REPO / "tenancy" / "policy.py")}
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "if TYPE_CHECKING:\n"
        "    from gql.context import Info\n"
        "def f():\n"
        "    import starlette.requests\n"
        "    importlib.import_module('strawberry.types')\n"
        "    __import__('gql.app')\n"
        "from . import fields\n"
        "from .. import gql\n"
        "from ..gql.schema import schema\n"
    )
    modules = {m for _line, m in imports_of(source, "tenancy.sample", is_package=False)}
    assert {
        "gql.context",
        "starlette.requests",
        "strawberry.types",
        "gql.app",
        "tenancy.fields",
        "gql",
        "gql.schema",
    } <= modules
    # In a package's __init__, "." is the package itself.
    init = {m for _line, m in imports_of("from . import x\n", "tenancy", is_package=True)}
    assert "tenancy.x" in init
