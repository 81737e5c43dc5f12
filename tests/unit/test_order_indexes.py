"""Every order a list offers (``orderBy``) can be read from an index: keyset pagination
seeks on ``(sort column, id)``, and without a matching index each page sorts every visible
row first. Lists scoped to one tenant (a reseller's customers and audit events) also need
the tenant-first index. The migrations create what ``db.models`` declares
(tests/integration/test_migrations.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tenancy import audit, class_listing, customers

LISTS: list[tuple[str, dict[str, tuple[Any, type]], bool]] = [
    ("customerClasses", class_listing.SORTS, False),  # a reseller's page includes shared rows
    ("customers", customers.SORTS, True),
    ("auditEvents", audit.SORTS, True),
]


def _leading(table: sa.Table) -> set[tuple[str, ...]]:
    return {tuple(column.name for column in index.columns) for index in table.indexes}


@pytest.mark.parametrize(("name", "sorts", "tenant_scoped"), LISTS, ids=[n for n, *_ in LISTS])
def test_every_order_has_its_index(
    name: str, sorts: dict[str, tuple[Any, type]], tenant_scoped: bool
) -> None:
    for field, (column, _type) in sorts.items():
        indexes = _leading(column.table)
        assert (column.name, "id") in indexes, f"{name} by {field}"
        if tenant_scoped:
            assert ("tenant_id", column.name, "id") in indexes, f"{name} by {field}, one tenant"
