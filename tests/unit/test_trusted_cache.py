"""The per-worker cache of registered documents (gql/trusted.py): made-up IDs are
remembered apart, so that a flood of them never evicts a registered document (which
would then be parsed and validated again)."""

from __future__ import annotations

import asyncio
import hashlib
from types import SimpleNamespace
from typing import Any

from gql import trusted
from gql.schema import schema

TEXT = "query Names { customerClasses(first: 2) { nodes { name } } }"
ID = "sha256:" + hashlib.sha256(TEXT.encode()).hexdigest()


def made_up(i: int) -> str:
    return "sha256:" + hashlib.sha256(f"nothing {i}".encode()).hexdigest()


def test_unknown_ids_never_evict_a_registered_document() -> None:
    loads: list[str] = []

    async def load(document_id: str) -> Any:
        loads.append(document_id)
        if document_id != ID:
            return None
        return SimpleNamespace(
            id=ID, document=TEXT, operation_names=["Names"], requested_costs={"Names": None}
        )

    async def scenario() -> None:
        # Room for about one document: a shared budget would lose it to the first misses.
        cache = trusted.TrustedDocuments(
            schema._schema, load, recheck_seconds=3600, max_bytes=64 * 1024
        )
        first = await cache.get(ID)
        assert first is not None and cache.parses == 1
        for i in range(trusted.MAX_MISSING + 50):
            assert await cache.get(made_up(i)) is None
        again = await cache.get(ID)
        assert again is first and cache.parses == 1
        # A miss is remembered (until the recheck), the oldest dropped beyond the bound.
        loads.clear()
        assert await cache.get(made_up(trusted.MAX_MISSING + 49)) is None
        assert loads == []
        assert await cache.get(made_up(0)) is None
        assert loads == [made_up(0)]

    asyncio.run(scenario())
