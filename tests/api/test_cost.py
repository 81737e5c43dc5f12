"""Requested and actual cost (SPEC §7 "Cost"): the node budget of §6 where every list of
objects costs its maximum length, computed before execution; objects counted by the
executor as it goes, never more than 10,000 in a response."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import extend_schema, parse

from db.currencies import CURRENCIES
from db.models import class_table
from db.settings import Settings
from gql.limits import check_list_maxima, list_maxima, lists_of_objects
from gql.schema import graphql_schema
from tenancy import catalogs, maxima
from tenancy.principal import CLI
from tests.api.protection_support import app_with, top_error
from tests.api_client import Api, World
from tests.support.cli import run_as_cli


def cost_of(api: Api, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    response = api.post(query, variables or None, token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    found: dict[str, Any] = body["extensions"]["cost"]
    return found


# --------------------------------------------------------------------------- maxima


def test_every_list_of_objects_has_a_maximum() -> None:
    check_list_maxima(graphql_schema)  # the service refuses to start otherwise
    known = list_maxima(graphql_schema)
    lists = set(lists_of_objects(graphql_schema))
    assert ("CustomerClass", "customFields") in lists
    assert lists - set(known) == {("Query", "nodes")}  # its length is its argument
    assert set(known) - lists == set()  # nothing stale


def test_a_list_of_objects_without_a_maximum_is_refused() -> None:
    grown = extend_schema(
        graphql_schema,
        parse("extend type CustomerClass { contracts: [MeasuredService!]! }"),
    )
    with pytest.raises(RuntimeError, match=r"CustomerClass\.contracts"):
        check_list_maxima(grown)


def test_maxima_come_from_the_write_side_and_the_enums() -> None:
    known = list_maxima(graphql_schema)
    assert known[("CustomerClass", "customFields")] == maxima.CUSTOM_FIELDS_PER_CLASS == 50
    assert known[("Taxation", "customTaxes")] == maxima.CUSTOM_TAXES_PER_CLASS == 10
    assert known[("CustomerClass", "measuredServices")] == 3
    assert known[("NotificationSettings", "settings")] == 15
    assert known[("Query", "currencies")] == len(CURRENCIES)
    assert known[("Query", "customTaxes")] == maxima.CATALOG_ENTRIES == 500
    assert known[("Query", "apiTokens")] == maxima.API_TOKENS_PER_OWNER == 100


# --------------------------------------------------------------------------- requested


@pytest.mark.parametrize(
    ("query", "requested"),
    [
        ("{ viewer { role } }", 1),  # any request at least 1
        ("{ currencies { code } }", len(CURRENCIES)),
        ("{ businessModels { id } invoiceTemplates { id } }", 1000),
        ("{ customFieldDefinitions { id listValues } }", 500),  # listValues: scalars, free
        ("{ apiTokens(includeRevoked: true) { id } }", 100),
        ("{ customerClasses(first: 10) { nodes { customFields { name } } } }", 10 + 10 * 50),
        (
            "{ customerClasses(first: 10) { totalCount nodes { measuredServices { parameter }"
            " notifications { settings { type email { send } } }"
            " taxation { customTaxes { id } } } } }",
            10 + 10 * (3 + 15 + 10),
        ),
        (
            "{ customerClasses(first: 2) { nodes { regularInvoices { paymentTerms {"
            " dueDateReminderDays } pastDue { resendInvoiceDays } } } } }",
            2,  # lists of scalars cost nothing
        ),
        (
            "{ customers(first: 4) { nodes { effectiveSettings { customFields { id }"
            " measuredServices { parameter } overriddenFields } } } }",
            4 + 4 * (50 + 3),
        ),
        ('{ nodes(ids: ["a", "b", "c"]) { id } }', 3),
        (
            'mutation { a: revokeApiToken(input: {id: "x"}) { userErrors { code } }'
            ' b: revokeApiToken(input: {id: "y"}) { apiToken { id } } }',
            20,  # 10 per root mutation field; userErrors are part of it
        ),
        (
            'mutation { createCustomerClass(input: {name: "n"}) {'
            " customerClass { customFields { id } } } }",
            10 + 50,
        ),
    ],
)
def test_requested_cost(api: Api, query: str, requested: int) -> None:
    assert cost_of(api, query)["requestedQueryCost"] == requested


def test_fragments_and_aliases_are_costed_each_time(api: Api) -> None:
    query = (
        "{ a: customerClasses(first: 3) { ...F } b: customerClasses(first: 2) { ...F } }"
        " fragment F on CustomerClassConnection { nodes { customFields { id } } }"
    )
    assert cost_of(api, query)["requestedQueryCost"] == (3 + 3 * 50) + (2 + 2 * 50)


def test_the_noisy_reseller_query_is_too_complex(
    api: Api, world: World, sql_statements: list[str]
) -> None:
    """Issue 7 item 4: 20 aliases of 100 classes with their custom fields and measured
    services were budgeted at 6,000 nodes (lists cost 1) and returned 600,000 objects
    with 300 custom field definitions. Their requested cost is 108,000."""
    aliases = " ".join(
        f"c{i}: customerClasses(first: 100) {{ nodes {{ customFields {{ id name listValues }}"
        " measuredServices { parameter } } }"
        for i in range(20)
    )
    api.data("{ viewer { role } }", token=world.a.token)  # the token is cached from here on
    sql_statements.clear()
    response = api.post("{ " + aliases + " }", token=world.a.token)
    error = top_error(response)
    assert sql_statements == []
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "108000" in error["message"].replace(",", "")
    assert "10000" in error["message"].replace(",", "")
    cost = response.json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 20 * (100 + 100 * (50 + 3)) == 108_000
    assert cost["actualQueryCost"] == 0


# --------------------------------------------------------------------------- actual


def test_actual_cost_counts_the_objects_returned(api: Api, world: World) -> None:
    body = api.run(
        "{ customerClasses(first: 10) { edges { node { id } } nodes { id customFields { id } }"
        " } currencies { code } }"
    )
    classes = body["data"]["customerClasses"]["nodes"]
    assert len(classes) == 5  # Default, the admin's two, A's and B's
    # The page counts once although edges and nodes are both selected.
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 10 + 10 * 50 + len(CURRENCIES),
        "actualQueryCost": 5 + len(CURRENCIES),
        "throttleStatus": body["extensions"]["cost"]["throttleStatus"],
    }


def test_actual_cost_of_nodes_counts_what_resolved(api: Api, world: World) -> None:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    ids = [world.a.class_id, "nope", world.b.customer_id, world.admin_class_id]
    cost = cost_of(api, query, token=world.a.token, ids=ids)
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (4, 1)  # B's are hidden
    cost = cost_of(api, query, ids=ids)  # the administrator sees three
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (4, 3)


def test_actual_cost_of_mutations_is_10_per_field(api: Api, world: World) -> None:
    query = (
        'mutation { a: revokeApiToken(input: {id: "x"}) { userErrors { code } }'
        ' b: updateCustomerClass(input: {id: $id, description: "d"}) {'
        " customerClass { customFields { id } } userErrors { code } } }"
    )
    query = "mutation($id: ID!) " + query[len("mutation ") :]
    response = api.post(query, {"id": world.a.class_id}, world.a.token)
    body = response.json()
    assert body["data"]["a"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert body["data"]["b"]["customerClass"] == {"customFields": []}
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 + 10 + 50
    assert body["extensions"]["cost"]["actualQueryCost"] == 20


def test_every_request_costs_at_least_1(api: Api) -> None:
    cost = cost_of(
        api, '{ customerClasses(first: 5, filter: {nameContains: "zz"}) { nodes { id } } }'
    )
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (5, 1)


# --------------------------------------------------------------------------- execution count


def legacy_custom_fields(settings: Settings, class_names: list[str], count: int) -> None:
    """Rows written before the list maxima existed: ``count`` custom field definitions,
    all enabled on the named classes (the API now refuses more than 50 per class)."""

    async def work(conn: Any) -> None:
        keys = []
        for i in range(count):
            row = await catalogs.create_custom_field_definition(
                conn,
                principal=CLI,
                data={"object": "CUSTOMER", "name": f"Field {i}", "type": "TEXT"},
            )
            keys.append(row.id)
        statement = (
            class_table.update()
            .where(class_table.c.name.in_(class_names))
            .values(custom_field_ids=keys)
        )
        assert (await conn.execute(statement)).rowcount == len(class_names)

    run_as_cli(settings, work)


def aliased_custom_fields(aliases: int) -> str:
    return (
        "{ "
        + " ".join(
            f"c{i}: customerClasses(first: 3) {{ nodes {{ customFields {{ id }} }} }}"
            for i in range(aliases)
        )
        + " }"
    )


def test_a_response_never_holds_more_than_10000_objects(
    api: Api, world: World, settings: Settings
) -> None:
    legacy_custom_fields(settings, ["Reseller A class", "Admin shared"], 300)
    # Reseller A sees 3 classes: 2 of them with 300 custom fields. 10 aliases return
    # 10 * (3 + 600) objects: more than requested (the maxima do not hold for these
    # rows), charged as returned.
    body = api.run(aliased_custom_fields(10), token=world.a.token)
    assert "errors" not in body
    assert len(body["data"]["c9"]["nodes"]) == 3
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 * (3 + 3 * 50)
    assert body["extensions"]["cost"]["actualQueryCost"] == 10 * (3 + 600)
    # 20 aliases would return 12,060: refused during execution, without partial data.
    response = api.post(aliased_custom_fields(20), token=world.a.token)
    error = top_error(response)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "10000" in error["message"].replace(",", "")
    assert "path" not in error
    body = response.json()
    assert "data" not in body and len(body["errors"]) == 1, body
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 20 * (3 + 3 * 50)
    assert 10_000 < cost["actualQueryCost"] <= 10_000 + 300


def test_an_overrun_mutation_changes_nothing(api: Api, world: World, settings: Settings) -> None:
    legacy_custom_fields(settings, ["Reseller A class", "Admin shared"], 300)
    # Each update returns A's class with its 300 custom fields, and its one customer's
    # class with them again: 601 objects. 17 of them pass 10,000; the clone after them
    # runs, then everything is rolled back.
    selection = (
        "customerClass { customFields { id } customers(first: 1) { nodes {"
        " customerClass { customFields { id } } } } }"
    )
    fields = " ".join(
        f'u{i}: updateCustomerClass(input: {{id: $id, description: "changed {i}"}})'
        f" {{ {selection} }}"
        for i in range(17)
    )
    fields += ' cloneCustomerClass(input: {id: $shared, name: "Copy"}) { userErrors { code } }'
    query = "mutation($id: ID!, $shared: ID!) { " + fields + " }"
    variables = {"id": world.a.class_id, "shared": world.shared_class_id}
    response = api.post(query, variables, world.a.token)
    error = top_error(response)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    cost = response.json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 17 * (10 + 50 + 1 + 1 * 50) + 10
    # The refused request was charged what it counted (more than the token's bucket holds):
    # what it left behind is read, and the fitting request run, on an app without rate
    # limits, so that the bucket's refill time cannot decide the outcome.
    fitting = query.replace("u16: ", "").replace(
        f'updateCustomerClass(input: {{id: $id, description: "changed 16"}}) {{ {selection} }}', ""
    )
    with app_with(settings, api.admin_token, rate_token_bucket=0, rate_tenant_bucket=0) as own:
        state = own.run(
            "query($id: ID!) { customerClass(id: $id) { description version } }",
            {"id": world.a.class_id},
            world.a.token,
        )
        assert state["data"] == {"customerClass": {"description": None, "version": 1}}
        copies = own.run(
            '{ customerClasses(filter: {nameContains: "copy"}) { totalCount } }',
            {},
            world.a.token,
        )
        assert copies["data"] == {"customerClasses": {"totalCount": 0}}
        # 16 of them fit: the same request commits.
        body = own.run(fitting, variables, world.a.token)
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["actualQueryCost"] == 17 * 10 + 16 * 601
