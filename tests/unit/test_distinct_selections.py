"""Validation reads the document without identical repeated selections (gql.documents.
distinct_selections): graphql-core compares every pair of same-named fields, so repeats
made validation quadratic in the document's length (SPEC §7 "CPU and memory")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse, print_ast, validate
from graphql.validation.rules import overlapping_fields_can_be_merged as overlapping

from gql.documents import RULES, distinct_selections, prepare
from gql.schema import graphql_schema


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many pairs of fields graphql-core's overlapping-fields rule compares."""
    counted = [0]
    compare = overlapping.find_conflict

    def counting(*args: Any) -> Any:
        counted[0] += 1
        return compare(*args)

    monkeypatch.setattr(overlapping, "find_conflict", counting)
    yield counted


def test_identical_repeats_are_left_out_at_every_level() -> None:
    document = parse(
        "{ viewer { role role } viewer { role role }"
        " customerClasses { nodes { name name } } customerClasses { nodes { name } } }"
    )
    assert print_ast(distinct_selections(document)) == print_ast(
        parse(
            "{ viewer { role } customerClasses { nodes { name } }"
            " customerClasses { nodes { name } } }"
        )
    )


def test_a_document_without_repeats_is_returned_as_it_is() -> None:
    document = parse("query Q($id: ID!) { node(id: $id) { id } viewer { role } }")
    assert distinct_selections(document) is document


def test_repeats_differing_in_arguments_alias_or_directives_are_all_kept() -> None:
    text = (
        "query($on: Boolean!) { a: viewer { role } viewer { role } viewer @include(if: $on)"
        " { role } customerClasses(first: 1) { totalCount }"
        " customerClasses(first: 2) { totalCount } }"
    )
    document = parse(text)
    assert distinct_selections(document) is document


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("{ viewer { role } viewer { role } }", True),
        ("{ viewer { nope } viewer { nope } }", False),
        ("{ viewer { role } viewer: customerClasses { totalCount } }", False),
        (
            "{ customerClasses(first: 1) { totalCount } customerClasses(first: 2) { totalCount } }",
            False,
        ),
        ("{ ...F ...F } fragment F on Query { viewer { role } }", True),
        (
            "{ ...F } fragment F on Query { viewer { role } }"
            " fragment G on Query { viewer { role } }",
            False,
        ),
    ],
)
def test_the_verdict_is_that_of_the_document_as_sent(text: str, valid: bool) -> None:
    document = parse(text)
    as_sent = validate(graphql_schema, document, RULES)
    read = validate(graphql_schema, distinct_selections(document), RULES)
    assert (not as_sent) is valid
    assert (not read) is valid
    assert {error.message for error in read} == {error.message for error in as_sent}


def test_repeated_fields_cost_validation_no_comparisons(comparisons: list[int]) -> None:
    query = "{" + "viewer { role } " * 249 + "}"  # just under the 1,000-token limit
    validate(graphql_schema, parse(query), RULES)
    assert comparisons[0] > 30_000  # what graphql-core does with the document as sent
    comparisons[0] = 0
    prepared = prepare(graphql_schema, query)
    assert prepared.document is not None and prepared.errors == ()
    assert comparisons[0] == 0
