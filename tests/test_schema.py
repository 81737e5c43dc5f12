"""The served schema: the committed SDL is what the code exports, the contract holds
without a breaking change, and ``billclass export-schema`` prints the same SDL."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import (
    BreakingChangeType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    print_schema,
)

from gql.schema import graphql_schema, sdl

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "gql" / "schema.graphql"
# The contract lives beside the repository (../shared); a copy is committed so that a clone
# alone can check against it, and a test keeps the copy identical when both are present.
SHARED_CONTRACT = REPO.parent / "shared" / "contract" / "schema.graphql"
CONTRACT_COPY = REPO / "tests" / "contract" / "schema.graphql"
CONTRACT = SHARED_CONTRACT if SHARED_CONTRACT.is_file() else CONTRACT_COPY


@pytest.fixture(scope="module")
def contract_schema() -> GraphQLSchema:
    return build_schema(CONTRACT.read_text(encoding="utf-8"))


def test_committed_contract_copy_is_current() -> None:
    if SHARED_CONTRACT.is_file():
        assert CONTRACT_COPY.read_text(encoding="utf-8") == SHARED_CONTRACT.read_text(
            encoding="utf-8"
        ), "tests/contract/schema.graphql differs from ../shared/contract: copy it again"


def test_exported_sdl_equals_committed_file() -> None:
    assert sdl() == COMMITTED.read_text(encoding="utf-8"), (
        "gql/schema.graphql is stale: run `billclass export-schema > gql/schema.graphql`"
    )


def test_committed_sdl_builds_the_served_schema() -> None:
    rebuilt = build_schema(COMMITTED.read_text(encoding="utf-8"))
    assert find_breaking_changes(rebuilt, graphql_schema) == []
    assert find_breaking_changes(graphql_schema, rebuilt) == []
    assert print_schema(rebuilt) == print_schema(build_schema(sdl()))


def test_contract_has_no_breaking_change(contract_schema: GraphQLSchema) -> None:
    changes = find_breaking_changes(contract_schema, graphql_schema)
    assert changes == [], "\n".join(f"{c.type.name}: {c.description}" for c in changes)


def test_committed_file_has_no_breaking_change_against_contract(
    contract_schema: GraphQLSchema,
) -> None:
    committed = build_schema(COMMITTED.read_text(encoding="utf-8"))
    assert find_breaking_changes(contract_schema, committed) == []


def test_contract_types_and_fields_are_all_served(contract_schema: GraphQLSchema) -> None:
    """A belt to find_breaking_changes' braces: every contract type, field and argument
    is served with the same printed type."""
    served = graphql_schema.type_map
    for name, contract_type in contract_schema.type_map.items():
        if name.startswith("__"):
            continue
        assert name in served, name
        fields = getattr(contract_type, "fields", None)
        if fields is None:
            continue
        served_type = served[name]
        assert isinstance(
            served_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ), name
        served_fields = served_type.fields
        for field_name, field in fields.items():
            assert field_name in served_fields, f"{name}.{field_name}"
            served_field = served_fields[field_name]
            assert str(served_field.type) == str(field.type), f"{name}.{field_name}"
            for arg_name, arg in getattr(field, "args", {}).items():
                assert isinstance(served_field, GraphQLField), f"{name}.{field_name}"
                served_arg = served_field.args[arg_name]
                assert str(served_arg.type) == str(arg.type), f"{name}.{field_name}({arg_name})"


def test_breaking_change_detection_works(contract_schema: GraphQLSchema) -> None:
    """The check above would notice a removed field (so an empty list means something)."""
    broken_sdl = CONTRACT.read_text(encoding="utf-8").replace("  minorUnits: Int!\n", "", 1)
    broken = build_schema(broken_sdl)
    changes = find_breaking_changes(contract_schema, broken)
    assert [c.type for c in changes] == [BreakingChangeType.FIELD_REMOVED]


def _export_command() -> list[str]:
    """The installed ``billclass`` script of this interpreter when there is one, or the
    same entry point (gql.cli:main) run by this interpreter."""
    script = Path(sys.executable).parent / "billclass"
    if script.is_file():
        return [str(script), "export-schema"]
    on_path = shutil.which("billclass")
    if on_path and Path(on_path).resolve().parent == Path(sys.executable).resolve().parent:
        return [on_path, "export-schema"]
    return [sys.executable, "-c", "from gql.cli import main; main()", "export-schema"]


def test_export_schema_cli_prints_the_committed_file(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603
        _export_command(),
        cwd=tmp_path,  # no database, no configuration needed
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == COMMITTED.read_text(encoding="utf-8")
