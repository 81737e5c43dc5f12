"""Every top-level ``extensions.code`` the service answers with is a ``TopLevelCode``."""

from __future__ import annotations

import ast
from pathlib import Path

from tenancy.errors import TopLevelCode, UserErrorCode

ROOT = Path(__file__).resolve().parents[2]
DEFINED_IN = ROOT / "tenancy" / "errors.py"


def bare_codes(path: Path) -> list[tuple[int, str]]:
    """String literals of a module that spell a top-level code (docstrings are whole
    sentences, never equal to a code)."""
    codes = {code.value for code in TopLevelCode}
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in codes
    ]


def test_no_layer_spells_a_top_level_code_as_a_string() -> None:
    found = {
        str(path.relative_to(ROOT)): bare_codes(path)
        for layer in ("gql", "tenancy", "db")
        for path in sorted((ROOT / layer).rglob("*.py"))
        if path != DEFINED_IN and "migrations" not in path.parts
    }
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_the_scan_finds_a_bare_code(tmp_path: Path) -> None:
    module = tmp_path / "refusal.py"
    module.write_text('"""Doc."""\n\nCODE = "THROTTLED"\n')
    assert bare_codes(module) == [(3, "THROTTLED")]


def test_codes_are_their_wire_values() -> None:
    assert all(code == code.value == code.name for code in TopLevelCode)
    # A userError code and a top-level code never share a name (SPEC §2 "Refusal tiers").
    assert {code.value for code in TopLevelCode}.isdisjoint(c.value for c in UserErrorCode)
