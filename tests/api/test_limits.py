"""The limits of SPEC §6, each refused before any resolver runs (no SQL at all once the
token is cached), with a top-level error naming the limit and the value found."""

from __future__ import annotations

import time
from typing import Any

from graphql import get_introspection_query

from tests.api.protection_support import top_error
from tests.api_client import Api

VIEWER = "{ viewer { role } }"


def refused(
    api: Api,
    statements: list[str],
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """The top-level error of a request that must run no resolver (and no SQL)."""
    api.data(VIEWER, token=token)  # authenticate once: the token is cached afterwards
    statements.clear()
    error = top_error(api.post(query, variables, token))
    assert statements == [], statements
    return error


def expect_limit(
    api: Api,
    statements: list[str],
    query: str,
    code: str,
    *numbers: int,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    error = refused(api, statements, query, variables)
    assert error["extensions"]["code"] == code, error
    for number in numbers:
        assert str(number) in error["message"].replace(",", ""), (number, error["message"])
    return error


def chain(depth: int, leaf: str = "id") -> str:
    """A query whose longest chain has ``depth`` fields with selection sets."""
    fields = ["viewer", "reseller"] + ["parent"] * (depth - 2)
    return "{ " + " { ".join(fields) + " { " + leaf + " }" * depth + " }"


# --------------------------------------------------------------------------- depth


def test_depth_10_is_accepted(api: Api) -> None:
    assert api.data(chain(10)) == {"viewer": {"reseller": None}}


def test_depth_11_is_refused(api: Api, sql_statements: list[str]) -> None:
    expect_limit(api, sql_statements, chain(11), "QUERY_TOO_DEEP", 11, 10)


def test_depth_is_counted_by_the_reseller_too(api: Api, sql_statements: list[str]) -> None:
    token = api.reseller_token(api.create_reseller("Reseller A"), "portal")
    data = api.data(chain(10), token=token)
    assert data == {"viewer": {"reseller": {"parent": None}}}  # its parent is hidden
    error = refused(api, sql_statements, chain(11), token=token)
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"


def test_depth_inlines_fragments(api: Api, sql_statements: list[str]) -> None:
    def document(parents: int) -> str:
        return (
            "query { ...Q }"
            " fragment Q on Query { viewer { ...V } }"
            " fragment V on Viewer { reseller { ...C } }"
            " fragment C on Customer { "
            + " { ".join(["parent"] * parents)
            + " { id }"
            + " }" * (parents - 1)
            + " }"
        )

    assert api.data(document(8)) == {"viewer": {"reseller": None}}
    expect_limit(api, sql_statements, document(9), "QUERY_TOO_DEEP", 11, 10)


def test_depth_through_inline_fragments_and_connections(
    api: Api, sql_statements: list[str]
) -> None:
    # customerClasses(1) nodes(2) customers(3) nodes(4) customerClass(5) customers(6)
    # edges(7) node(8) parent(9) parent(10)
    ten = (
        "{ customerClasses(first: 1) { nodes { ... on CustomerClass { customers(first: 1) {"
        " nodes { customerClass { customers(first: 1) { edges { node { ... @include(if: true)"
        " { parent { parent { id } } } } } } } } } } } } }"
    )
    assert api.data(ten)["customerClasses"]["nodes"][0]["customers"]["nodes"] == []
    eleven = ten.replace("parent { parent { id } }", "parent { parent { parent { id } } }")
    expect_limit(api, sql_statements, eleven, "QUERY_TOO_DEEP", 11, 10)


def test_introspection_is_not_counted(api: Api) -> None:
    # The standard introspection query of GraphiQL and co. is far deeper than 10.
    data = api.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"
    # Depth 10 of ordinary fields next to a deep introspection selection.
    assert chain(10).endswith(" } }")
    mixed = chain(10)[:-2] + (
        ' __type(name: "Customer") { fields { type { ofType { ofType { ofType { name } } } } } } }'
    )
    assert api.data(mixed)["viewer"] == {"reseller": None}


def test_introspection_depth_is_bounded_by_graphql_core(
    api: Api, sql_statements: list[str]
) -> None:
    query = (
        "{ __schema { types { fields { type { fields { type { fields { type { fields"
        " { name } } } } } } } } } }"
    )
    error = refused(api, sql_statements, query)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_introspection_names_do_not_bypass_depth(api: Api, sql_statements: list[str]) -> None:
    eleven = chain(11)
    body = eleven[1:-1]  # the selection set's content
    documents = [
        # An operation named like an introspection field.
        "query __schema {" + body + "}",
        "query __type {" + body + "}",
        # A fragment so named.
        "query { ...__schema } fragment __schema on Query {" + body + "}",
        # An alias so named, at the top and inside the chain.
        "{ __schema: " + body.strip() + " }",
        "{ viewer { __type: reseller { "
        + " { ".join(["parent"] * 9)
        + " { id }"
        + " }" * 8
        + " } } }",
    ]
    for document in documents:
        error = refused(api, sql_statements, document)
        assert error["extensions"]["code"] == "QUERY_TOO_DEEP", (document, error)


def test_nesting_too_deep_for_the_parser(api: Api, sql_statements: list[str]) -> None:
    deep = "{ viewer { reseller {" + " parent {" * 300 + " id" + " }" * 302 + " }"
    error = refused(api, sql_statements, deep)
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert "10" in error["message"]


# --------------------------------------------------------------------------- aliases


def aliases(count: int, start: int = 0) -> str:
    return " ".join(f"a{i}: viewer {{ role }}" for i in range(start, start + count))


def test_20_aliases_are_accepted(api: Api) -> None:
    data = api.data("{ " + aliases(20) + " }")
    assert len(data) == 20
    assert data["a19"] == {"role": "ADMINISTRATOR"}


def test_21_aliases_are_refused(api: Api, sql_statements: list[str]) -> None:
    expect_limit(api, sql_statements, "{ " + aliases(21) + " }", "TOO_MANY_ALIASES", 21, 20)


def test_aliases_are_counted_at_every_level(api: Api, sql_statements: list[str]) -> None:
    query = (
        "{ " + aliases(10) + " v: viewer { " + " ".join(f"r{i}: role" for i in range(10)) + " } }"
    )
    expect_limit(api, sql_statements, query, "TOO_MANY_ALIASES", 21, 20)


def test_aliases_in_fragments_count_each_spread(api: Api, sql_statements: list[str]) -> None:
    def fragment(count: int) -> str:
        fields = " ".join(f"f{i}: __typename" for i in range(count))
        return f" fragment F on Query {{ {fields} }}"

    assert api.data("{ ...F ...F }" + fragment(10)) == {f"f{i}": "Query" for i in range(10)}
    expect_limit(api, sql_statements, "{ ...F ...F ...F }" + fragment(7), "TOO_MANY_ALIASES", 21)
    # Spread inside another fragment, itself spread twice: 2 * 2 * 6 = 24.
    nested = "{ ...G ...G } fragment G on Query { ...F ...F }" + fragment(6)
    expect_limit(api, sql_statements, nested, "TOO_MANY_ALIASES", 24, 20)
    # Inline fragments count too.
    inline = "{ ... on Query { " + aliases(11) + " } ... { " + aliases(10, 11) + " } }"
    expect_limit(api, sql_statements, inline, "TOO_MANY_ALIASES", 21, 20)


def test_exponential_fragments_are_refused_quickly(api: Api, sql_statements: list[str]) -> None:
    levels = 40
    parts = ["fragment F0 on Query { a: __typename }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)]
    query = f"{{ ...F{levels - 1} }} " + " ".join(parts)
    started = time.perf_counter()
    error = refused(api, sql_statements, query)
    assert time.perf_counter() - started < 5
    assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert str(2 ** (levels - 1)) in error["message"]


def test_aliased_mutations_beyond_the_limit_write_nothing(
    api: Api, sql_statements: list[str]
) -> None:
    fields = " ".join(
        f'm{i}: createBusinessModel(input: {{code: "BM{i}", name: "Model {i}"}})'
        " { userErrors { code } }"
        for i in range(21)
    )
    expect_limit(api, sql_statements, "mutation { " + fields + " }", "TOO_MANY_ALIASES", 21)
    assert api.data("{ businessModels { code } }") == {"businessModels": []}


# --------------------------------------------------------------------------- directives


def directives(count: int) -> str:
    return " ".join("role @include(if: true)" for _ in range(count))


def test_10_directives_are_accepted(api: Api) -> None:
    assert api.data("{ viewer { " + directives(10) + " } }") == {
        "viewer": {"role": "ADMINISTRATOR"}
    }


def test_11_directives_are_refused(api: Api, sql_statements: list[str]) -> None:
    query = "{ viewer { " + directives(11) + " } }"
    expect_limit(api, sql_statements, query, "TOO_MANY_DIRECTIVES", 11, 10)


def test_directives_in_fragments_and_on_spreads(api: Api, sql_statements: list[str]) -> None:
    fragment = " fragment F on Viewer { role @skip(if: false) role @include(if: true) }"
    # 4 spreads of 2, plus 2 on spreads: 10.
    ok = "{ viewer { ...F ...F @include(if: true) ...F ...F @skip(if: false) } }" + fragment
    assert api.data(ok) == {"viewer": {"role": "ADMINISTRATOR"}}
    over = "{ viewer { ...F ...F @include(if: true) ...F ...F @skip(if: false) ...F } }"
    expect_limit(api, sql_statements, over + fragment, "TOO_MANY_DIRECTIVES", 12, 10)


# --------------------------------------------------------------------------- tokens


def test_more_than_1000_tokens_are_refused(api: Api, sql_statements: list[str]) -> None:
    for query in (
        "{" + " __typename" * 1100 + " }",
        "{" + " a: __typename" * 600 + " }",
        "{" + " nope" * 1100 + " }",  # refused before validation
        "query($x: [ID!] = [" + ' "x"' * 1000 + "]) { __typename }",
    ):
        error = expect_limit(api, sql_statements, query, "QUERY_TOO_LARGE", 1000)
        assert "token" in error["message"]


def test_1000_tokens_pass_the_parser(api: Api, sql_statements: list[str]) -> None:
    def nodes(count: int) -> str:  # 12 tokens plus one per ID
        return "{ nodes(ids: [" + ' "x"' * count + "]) { id } }"

    # Exactly 1000 tokens: parsed and validated; then refused by the nodes(ids:) limit.
    error = refused(api, sql_statements, nodes(988))
    assert error["extensions"]["code"] == "PAGE_TOO_LARGE"
    error = refused(api, sql_statements, nodes(989))
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"


def test_too_many_comments_are_refused(api: Api, sql_statements: list[str]) -> None:
    query = "{ viewer { role } }" + "\n# padding" * 1001
    error = refused(api, sql_statements, query)
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert "1000" in error["message"]


# --------------------------------------------------------------------------- page sizes


def test_page_size_limits(api: Api, sql_statements: list[str]) -> None:
    cases = [
        ("{ customerClasses(first: 101) { totalCount } }", "PAGE_TOO_LARGE", (101, 100)),
        ("{ customerClasses(first: 1000000) { totalCount } }", "PAGE_TOO_LARGE", (1000000,)),
        ("{ customerClasses(first: 0) { totalCount } }", "BAD_USER_INPUT", ()),
        ("{ customerClasses(first: -1) { totalCount } }", "BAD_USER_INPUT", ()),
        ("{ customerClasses(last: 101) { totalCount } }", "PAGE_TOO_LARGE", (101, 100)),
        ("{ customerClasses(last: 0) { totalCount } }", "BAD_USER_INPUT", ()),
        ("{ customers(first: 101) { totalCount } }", "PAGE_TOO_LARGE", (101, 100)),
        ("{ customers(first: 0) { totalCount } }", "BAD_USER_INPUT", ()),
        ("{ auditEvents(first: 101) { totalCount } }", "PAGE_TOO_LARGE", (101, 100)),
        ("{ auditEvents(first: 0) { totalCount } }", "BAD_USER_INPUT", ()),
        (
            "{ customerClasses(first: 1) { nodes { customers(first: 101) { totalCount } } } }",
            "PAGE_TOO_LARGE",
            (101, 100),
        ),
        (
            "{ viewer { reseller { customerClass { customers(first: 0) { totalCount } } } } }",
            "BAD_USER_INPUT",
            (),
        ),
    ]
    for query, code, numbers in cases:
        error = expect_limit(api, sql_statements, query, code, *numbers)
        assert "first" in error["message"] or "last" in error["message"], error


def test_page_size_limits_through_variables(api: Api, sql_statements: list[str]) -> None:
    query = "query($n: Int!) { customerClasses(first: $n) { totalCount } }"
    expect_limit(api, sql_statements, query, "PAGE_TOO_LARGE", 101, 100, variables={"n": 101})
    error = expect_limit(api, sql_statements, query, "BAD_USER_INPUT", variables={"n": 0})
    assert "1" in error["message"]
    nested = (
        "query($n: Int!) { customerClasses(first: 1) { nodes { ...C } } }"
        " fragment C on CustomerClass { customers(first: $n) { totalCount } }"
    )
    expect_limit(api, sql_statements, nested, "PAGE_TOO_LARGE", 101, variables={"n": 101})
    expect_limit(api, sql_statements, nested, "BAD_USER_INPUT", variables={"n": -3})
    last = "query($n: Int) { customerClasses(last: $n) { totalCount } }"
    expect_limit(api, sql_statements, last, "PAGE_TOO_LARGE", 101, variables={"n": 101})


def test_page_sizes_at_the_bounds_are_accepted(api: Api) -> None:
    query = "query($n: Int!) { customerClasses(first: $n) { totalCount } }"
    for size in (1, 100):
        assert api.data(query, {"n": size}) == {"customerClasses": {"totalCount": 1}}
    assert api.data(
        "{ customers(first: 100) { totalCount } auditEvents(first: 100) { totalCount } }"
    )


def test_nodes_ids_limit(api: Api, sql_statements: list[str]) -> None:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert api.data(query, {"ids": [f"x{i}" for i in range(100)]}) == {"nodes": [None] * 100}
    expect_limit(
        api,
        sql_statements,
        query,
        "PAGE_TOO_LARGE",
        101,
        100,
        variables={"ids": [f"x{i}" for i in range(101)]},
    )
    expect_limit(api, sql_statements, query, "BAD_USER_INPUT", variables={"ids": []})
    inline = "{ nodes(ids: [" + ", ".join(f'"x{i}"' for i in range(101)) + "]) { id } }"
    expect_limit(api, sql_statements, inline, "PAGE_TOO_LARGE", 101, 100)
    expect_limit(api, sql_statements, "{ nodes(ids: []) { id } }", "BAD_USER_INPUT")


# --------------------------------------------------------------------------- node budget


NESTED = (
    "query($n: Int!, $m: Int!) { customerClasses(first: $n) { nodes { id customers(first: $m)"
    " { nodes { id } } } } }"
)


def test_node_budget_refuses(api: Api, sql_statements: list[str]) -> None:
    query = "{ customerClasses(first: 100) { nodes { customers(first: 100) { nodes { id } } } } }"
    expect_limit(api, sql_statements, query, "QUERY_TOO_COMPLEX", 10100, 10000)
    expect_limit(
        api, sql_statements, NESTED, "QUERY_TOO_COMPLEX", 10100, variables={"n": 100, "m": 100}
    )


def test_node_budget_accepts_within(api: Api) -> None:
    world = api.world()
    data = api.data(NESTED, {"n": 99, "m": 100})  # 99 + 99 * 100 = 9999
    classes = data["customerClasses"]["nodes"]
    assert {c["id"] for c in classes} >= {world.a.class_id, world.shared_class_id}
    used = next(c for c in classes if c["id"] == world.a.class_id)
    assert used["customers"]["nodes"] == [{"id": world.a.customer_id}]


def test_node_budget_counts_edges_and_nodes_once(api: Api, sql_statements: list[str]) -> None:
    both = (
        "{ customerClasses(first: 99) { totalCount edges { cursor node { id"
        " customers(first: 100) { nodes { id } } } } nodes { id name } } }"
    )
    assert api.data(both)["customerClasses"]["totalCount"] == 1
    over = both.replace("first: 99", "first: 100")
    expect_limit(api, sql_statements, over, "QUERY_TOO_COMPLEX", 10100, 10000)


def test_node_budget_with_default_page_sizes(api: Api, sql_statements: list[str]) -> None:
    # 50 + 50 * (50 + 50 * 50) = 127550: every default page is 50.
    query = (
        "{ customerClasses { nodes { customers { nodes { customerClass { customers"
        " { nodes { id } } } } } } } }"
    )
    expect_limit(api, sql_statements, query, "QUERY_TOO_COMPLEX", 127550, 10000)


def test_node_budget_counts_fragments_each_time(api: Api, sql_statements: list[str]) -> None:
    fragment = (
        " fragment F on CustomerClassConnection"
        " { nodes { customers(first: 100) { nodes { id } } } }"
    )
    ok = "{ a: customerClasses(first: 49) { ...F } b: customerClasses(first: 50) { ...F } }"
    assert api.data(ok + fragment)["a"]["nodes"][0]["customers"] == {"nodes": []}
    over = "{ a: customerClasses(first: 50) { ...F } b: customerClasses(first: 50) { ...F } }"
    expect_limit(api, sql_statements, over + fragment, "QUERY_TOO_COMPLEX", 10100, 10000)


def test_node_budget_counts_nodes_ids(api: Api, sql_statements: list[str]) -> None:
    query = (
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on CustomerClass {"
        " customers(first: 100) { nodes { id } } } } }"
    )
    ids = [f"x{i}" for i in range(100)]
    assert api.data(query, {"ids": ids[:99]}) == {"nodes": [None] * 99}
    expect_limit(api, sql_statements, query, "QUERY_TOO_COMPLEX", 10100, variables={"ids": ids})


def test_node_budget_with_other_lists(api: Api) -> None:
    query = (
        "{ customerClasses(first: 100) { nodes { measuredServices { parameter }"
        " customFields { name } customers(first: 10) { nodes { id } } } } }"
    )
    assert api.data(query)["customerClasses"]["nodes"][0]["measuredServices"] == []


# --------------------------------------------------------------------------- fragments


def test_circular_fragments_are_a_client_error(api: Api, sql_statements: list[str]) -> None:
    documents = [
        "{ ...A } fragment A on Query { ...A }",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { viewer { role } ...A }",
        "{ viewer { ...V } } fragment V on Viewer { reseller { ...C } }"
        " fragment C on Customer { parent { ...C } }",
        "{ viewer { ...V } } fragment V on Viewer { reseller { ...C } }"
        " fragment C on Customer { parent { ...D } } fragment D on Customer { id ...C }",
        "{ ...Unknown }",
    ]
    for document in documents:
        response = api.post(document)
        assert response.status_code == 200
        error = refused(api, sql_statements, document)
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", (document, error)
        assert "Internal" not in error["message"]
