"""Revision 0001 seeds its own frozen currency list, never the live db/currencies.py.

A revision's data must not change when the code does: had 0001 kept importing
db/currencies.py, editing that list would silently change what a fresh database gets
from 0001 (and disagree with every database migrated before the edit). A change of the
currency list is a new migration; tests/integration/test_migrations.py holds the head
revision to db/currencies.py.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
from pathlib import Path

MIGRATION_0001 = importlib.import_module("db.migrations.versions.0001_initial")

# What 0001 has seeded since it was written: 157 ISO 4217 currencies (SIX Group table
# published 2026-01-01), SHA-256 of their JSON. db/currencies.py had this very content
# from the first commit until the list was frozen in the revision.
SEEDED_BY_0001 = (157, "c80b9a9260c8b78ffc053015dde62c17c9a401e1d3c52c70e560d943ab9c8b4a")


def _digest(currencies: tuple[tuple[str, str, int], ...]) -> tuple[int, str]:
    text = json.dumps(currencies, ensure_ascii=False)
    return len(currencies), hashlib.sha256(text.encode()).hexdigest()


def test_0001_currency_list_is_the_one_it_always_seeded() -> None:
    assert _digest(MIGRATION_0001.CURRENCIES) == SEEDED_BY_0001


def test_the_digest_notices_a_changed_currency() -> None:
    changed = tuple(
        (code, name, 3 if code == "USD" else minor)
        for code, name, minor in MIGRATION_0001.CURRENCIES
    )
    assert _digest(changed) != SEEDED_BY_0001


def test_0001_imports_nothing_of_the_live_code() -> None:
    """Only libraries: no module of db/, tenancy/ or gql/, whose content may change."""
    assert MIGRATION_0001.__file__ is not None
    tree = ast.parse(Path(MIGRATION_0001.__file__).read_text())
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported, "the scan found the imports"
    ours = {name for name in imported if name.split(".")[0] in {"db", "tenancy", "gql"}}
    assert ours == set()
