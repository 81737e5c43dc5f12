"""tenancy/policy.py is where every authorization rule lives (issue 8): its docstring is an
index from the SPEC's rules to the functions deciding them and the row-level security
policies enforcing them once more. These tests keep that index true, and keep the two
refusals (NOT_PERMITTED, FORBIDDEN) made in that one module.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from tenancy import policy

REPO = Path(__file__).resolve().parent.parent
MIGRATION = REPO / "db" / "migrations" / "versions" / "0003_rls_per_command.py"
# Later migrations that add tenant tables with policies of their own (issue 12).
LATER_MIGRATIONS = (REPO / "db" / "migrations" / "versions" / "0006_webhooks.py",)
NAME = re.compile(r"``(\w+)``")


def index_rows(doc: str) -> list[list[str]]:
    """The cells of each line of the docstring's simple table (columns are cut where the
    ``====`` border puts them; the last one runs to the end of the line)."""
    lines = doc.splitlines()
    borders = [
        i for i, line in enumerate(lines) if line.startswith("==") and set(line) <= {"=", " "}
    ]
    assert len(borders) == 3, "one table: top border, header rule, bottom border"
    top, header, bottom = borders
    starts = [m.start() for m in re.finditer(r"=+", lines[top])]
    ends = [*starts[1:], None]
    return [
        [line[a:b] for a, b in zip(starts, ends, strict=True)]
        for line in lines[header + 1 : bottom]
    ]


def named(column: int, doc: str | None = policy.__doc__) -> set[str]:
    assert doc is not None
    return {name for row in index_rows(doc) for name in NAME.findall(row[column])}


def public_functions(module: ModuleType) -> set[str]:
    return {
        name
        for name, value in inspect.getmembers(module, inspect.isfunction)
        if value.__module__ == module.__name__ and not name.startswith("_")
    }


def _policies_of(path: Path) -> tuple[ModuleType, set[str]]:
    """A migration module and the policy names its upgrade creates, read by running it
    against a recorder standing in for alembic's ``op`` (as on PostgreSQL)."""
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    statements: list[str] = []
    recorder = SimpleNamespace(
        get_bind=lambda: SimpleNamespace(dialect=SimpleNamespace(name="postgresql")),
        execute=statements.append,
        create_table=lambda *args, **kwargs: None,
        create_index=lambda *args, **kwargs: None,
    )
    setattr(migration, "op", recorder)  # noqa: B010 (a module attribute mypy cannot see)
    migration.upgrade()
    return migration, {
        m.group(1) for s in statements if (m := re.match(r"CREATE POLICY (\w+) ", s))
    }


def created_rls_policies() -> set[str]:
    """The policy names migration 0003 (and the later ones adding tenant tables)
    create."""
    migration, created = _policies_of(MIGRATION)
    # The index says "catalog_<command>" for each catalog table.
    for table in migration.CATALOG_TABLES:
        created |= {name.replace(table, "catalog", 1) for name in created if name.startswith(table)}
    for later in LATER_MIGRATIONS:
        created |= _policies_of(later)[1]
    return created


def test_the_index_parser_reads_a_table() -> None:
    doc = (
        "=== ====== ===\n"
        "A   B      C\n"
        "=== ====== ===\n"
        "x   ``f``, ``p_select``\n"
        "    ``g``  ``p_insert``\n"
        "=== ====== ===\n"
    )
    assert named(1, doc) == {"f", "g"}
    assert named(2, doc) == {"p_select", "p_insert"}


def test_every_function_the_index_names_exists() -> None:
    missing = {name for name in named(1) if not hasattr(policy, name)}
    assert missing == set()


def test_every_public_function_of_policy_is_in_the_index() -> None:
    assert public_functions(policy) - named(1) == set()
    assert len(public_functions(policy)) > 20  # the module really was inspected


def test_every_rls_policy_the_index_names_exists_and_every_one_is_named() -> None:
    created = created_rls_policies()
    assert named(2) - created == set()
    catalogs = {name for name in created if name.startswith("catalog_")}
    tenant = {
        name
        for name in created
        if any(name.startswith(t) for t in ("customer", "api_token", "audit_event"))
    }
    assert (tenant | catalogs) - named(2) == set()
    assert "customer_class_update" in created  # the migration really was read


# --------------------------------------------------------------------------- refusals


def refusals_made(path: Path) -> list[str]:
    """Where a module makes NOT_PERMITTED or FORBIDDEN itself: the enum member, the bare
    code string, or a ``Forbidden(...)`` call."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr == "NOT_PERMITTED":
            found.append(f"{path.name}:{node.lineno} .NOT_PERMITTED")
        elif isinstance(node, ast.Constant) and node.value in ("NOT_PERMITTED", "FORBIDDEN"):
            found.append(f"{path.name}:{node.lineno} {node.value!r}")
        elif isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name == "Forbidden":
                found.append(f"{path.name}:{node.lineno} Forbidden()")
    return found


# Where the codes are defined, each exactly once: tenancy's enum member and
# ``Forbidden.code``; and the GraphQL copy of the enum, which carries the descriptions.
DEFINES_THE_CODES = {
    "tenancy/errors.py": ["'FORBIDDEN'", "'NOT_PERMITTED'"],
    "gql/common.py": ["'NOT_PERMITTED'"],
}


@pytest.mark.parametrize("package", ["db", "tenancy", "gql"])
def test_not_permitted_and_forbidden_are_made_only_in_policy(package: str) -> None:
    for path in sorted((REPO / package).rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative == "tenancy/policy.py":
            continue
        made = [m.split(" ", 1)[1] for m in refusals_made(path)]
        assert sorted(made) == DEFINES_THE_CODES.get(relative, []), relative


def test_policy_makes_both_refusals() -> None:
    """The check above finds what it looks for (policy.py is where both are made)."""
    made = refusals_made(REPO / "tenancy" / "policy.py")
    assert any(".NOT_PERMITTED" in m for m in made)
    assert any("Forbidden()" in m for m in made)
