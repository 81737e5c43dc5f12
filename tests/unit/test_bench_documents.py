"""The benchmark's documents stay valid against the served schema: a bench run stops at
its first answer with errors, so a contract change would otherwise be found only by the
next person who runs it (the write, ``bench.run.UPDATE_QUERY``, runs nowhere else)."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from bench.run import COUNT_QUERY, DEEP_CURSOR_QUERY, PAGE_QUERY, POINT_QUERY, UPDATE_QUERY
from gql.schema import graphql_schema


@pytest.mark.parametrize(
    "document",
    [POINT_QUERY, PAGE_QUERY, UPDATE_QUERY, COUNT_QUERY, DEEP_CURSOR_QUERY],
    ids=["point", "page", "update", "count", "deep-cursor"],
)
def test_bench_document_validates(document: str) -> None:
    assert validate(graphql_schema, parse(document)) == []


def test_a_broken_document_is_reported() -> None:
    broken = UPDATE_QUERY.replace("userErrors { code field message }", "userErrors { path }")
    assert broken != UPDATE_QUERY
    assert validate(graphql_schema, parse(broken))
