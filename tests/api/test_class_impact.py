"""CustomerClassPayload.impact (issue 11): the leaves a class mutation changes and the
customers whose effective settings change, counted and listed only among the customers
the caller may see; per reseller for administrators only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_client import Api, World
from tests.support.errors import errors_of

IMPACT = (
    "impact { changes { path before after } affectedCustomerCount"
    " affectedCustomers { totalCount nodes { id } }"
    " affectedByReseller { reseller { id } customerCount } }"
)
NET_30 = {"regularInvoices": {"paymentTerms": {"netDays": 30}}}


def update(api: Api, token: str | None, class_id: str, patch: dict[str, Any]) -> Any:
    return api.mutate(
        "updateCustomerClass", {"id": class_id, "dryRun": True, **patch}, token, IMPACT
    )


def assign(api: Api, token: str | None, customer_id: str, class_id: str) -> None:
    api.ok("assignCustomerClass", {"customerId": customer_id, "customerClassId": class_id}, token)


@pytest.fixture
def shared_in_use(world: World, api: Api) -> dict[str, str]:
    """The shared class used by A's customer, two of B's customers and a direct customer."""
    assign(api, world.a.token, world.a.customer_id, world.shared_class_id)
    assign(api, world.b.token, world.b.customer_id, world.shared_class_id)
    b_second = api.create_customer(
        world.b.token, name="B second", customerClassId=world.shared_class_id
    )
    direct = api.create_customer(None, name="Direct", customerClassId=world.shared_class_id)
    return {"b_second": b_second, "direct": direct}


def test_administrator_sees_every_affected_customer_per_reseller(
    world: World, api: Api, shared_in_use: dict[str, str]
) -> None:
    payload = update(api, None, world.shared_class_id, NET_30)
    impact = payload["impact"]
    assert impact["affectedCustomerCount"] == 4
    assert impact["affectedCustomers"]["totalCount"] == 4
    assert {n["id"] for n in impact["affectedCustomers"]["nodes"]} == {
        world.a.customer_id,
        world.b.customer_id,
        shared_in_use["b_second"],
        shared_in_use["direct"],
    }
    # The most affected reseller first, then direct customers (null) before resellers.
    assert impact["affectedByReseller"] == [
        {"reseller": {"id": world.b.id}, "customerCount": 2},
        {"reseller": None, "customerCount": 1},
        {"reseller": {"id": world.a.id}, "customerCount": 1},
    ]


def test_resellers_learn_nothing_about_a_shared_class(
    world: World, api: Api, shared_in_use: dict[str, str]
) -> None:
    """A reseller cannot change a shared class (NOT_PERMITTED, no impact); another
    reseller's class is NOT_FOUND."""
    for token, class_id, code in (
        (world.a.token, world.shared_class_id, "NOT_PERMITTED"),
        (world.a.token, world.b.class_id, "NOT_FOUND"),
        (world.b.token, world.a.class_id, "NOT_FOUND"),
    ):
        payload = update(api, token, class_id, NET_30)
        assert errors_of(payload) == [(code, ["input", "id"])]
        assert payload["impact"] is None


def test_owning_reseller_counts_its_customers_without_breakdown(world: World, api: Api) -> None:
    second = api.create_customer(world.a.token, name="A second", customerClassId=world.a.class_id)
    as_owner = update(api, world.a.token, world.a.class_id, NET_30)["impact"]
    as_admin = update(api, None, world.a.class_id, NET_30)["impact"]
    assert as_owner["affectedCustomerCount"] == as_admin["affectedCustomerCount"] == 2
    assert {n["id"] for n in as_owner["affectedCustomers"]["nodes"]} == {
        world.a.customer_id,
        second,
    }
    assert as_owner["affectedByReseller"] is None
    assert as_admin["affectedByReseller"] == [{"reseller": {"id": world.a.id}, "customerCount": 2}]


def test_overrides_that_cover_every_changed_leaf_keep_a_customer_out(
    world: World, api: Api
) -> None:
    covered = api.create_customer(world.a.token, name="Covered", customerClassId=world.a.class_id)
    api.ok(
        "updateCustomerOverrides",
        {
            "customerId": covered,
            "regularInvoicesEnabled": False,
            "suspendOnInsufficientFunds": True,
        },
        world.a.token,
    )
    # Only overridden leaves change: the covered customer is not affected.
    both = {
        "regularInvoices": {"enabled": True},
        "generalInfo": {"suspendOnInsufficientFunds": True},
    }
    impact = update(api, world.a.token, world.a.class_id, both)["impact"]
    assert [c["path"] for c in impact["changes"]] == [
        "generalInfo.suspendOnInsufficientFunds",
        "regularInvoices.enabled",
    ]
    assert impact["affectedCustomerCount"] == 1
    assert [n["id"] for n in impact["affectedCustomers"]["nodes"]] == [world.a.customer_id]
    # One of the two leaves is not overridden by it: affected.
    api.ok(
        "updateCustomerOverrides",
        {"customerId": covered, "suspendOnInsufficientFunds": None},
        world.a.token,
    )
    impact = update(api, world.a.token, world.a.class_id, both)["impact"]
    assert impact["affectedCustomerCount"] == 2
    # A leaf no override replaces reaches every customer of the class.
    impact = update(api, world.a.token, world.a.class_id, NET_30)["impact"]
    assert impact["affectedCustomerCount"] == 2


def test_template_overrides_cover_the_template(world: World, api: Api) -> None:
    templates = [
        api.ok(
            "createInvoiceTemplate",
            {"name": name},
            None,
            "invoiceTemplate { id }",
            "CreateNamedCatalogEntryInput",
        )["invoiceTemplate"]["id"]
        for name in ("T1", "T2")
    ]
    api.ok(
        "updateCustomerOverrides",
        {"customerId": world.a.customer_id, "regularInvoiceTemplate": {"templateId": templates[0]}},
        world.a.token,
    )
    impact = update(
        api,
        world.a.token,
        world.a.class_id,
        {"regularInvoices": {"invoiceTemplateId": templates[1]}},
    )["impact"]
    assert [c["path"] for c in impact["changes"]] == ["regularInvoices.invoiceTemplate"]
    assert impact["changes"][0]["after"] == templates[1]
    assert impact["affectedCustomerCount"] == 0
    assert impact["affectedCustomers"] == {"totalCount": 0, "nodes": []}


def test_header_changes_affect_no_customer(world: World, api: Api) -> None:
    impact = update(api, world.a.token, world.a.class_id, {"description": "New words"})["impact"]
    assert impact["changes"] == [{"path": "description", "before": None, "after": "New words"}]
    assert impact["affectedCustomerCount"] == 0
    assert impact["affectedCustomers"]["nodes"] == []


def test_a_patch_that_changes_nothing_has_an_empty_impact(world: World, api: Api) -> None:
    payload = api.ok(
        "updateCustomerClass",
        {"id": world.a.class_id, "regularInvoices": {"paymentTerms": {"netDays": 0}}},
        world.a.token,
        f"customerClass {{ version }} {IMPACT}",
    )
    assert payload["customerClass"]["version"] == 1
    assert payload["impact"]["changes"] == []
    assert payload["impact"]["affectedCustomerCount"] == 0


def test_new_classes_list_every_leaf_and_affect_nobody(world: World, api: Api) -> None:
    created = api.ok(
        "createCustomerClass",
        {"name": "Fresh", "currencyCode": "USD"},
        world.a.token,
        f"customerClass {{ id }} {IMPACT}",
    )["impact"]
    paths = {c["path"]: c for c in created["changes"]}
    assert paths["name"] == {"path": "name", "before": None, "after": "Fresh"}
    assert paths["regularInvoices.paymentTerms.netDays"]["after"] == 0
    assert all(c["before"] is None for c in created["changes"])
    assert created["affectedCustomerCount"] == 0
    assert created["affectedByReseller"] is None
    cloned = api.ok(
        "cloneCustomerClass",
        {"id": world.shared_class_id, "name": "Copy"},
        None,
        f"customerClass {{ id }} {IMPACT}",
    )["impact"]
    assert {c["path"] for c in cloned["changes"]} == set(paths)
    assert cloned["affectedByReseller"] == []


def test_copying_invoice_settings_reports_its_impact(world: World, api: Api) -> None:
    api.ok("updateCustomerClass", {"id": world.a.class_id, **NET_30}, world.a.token)
    payload = api.ok(
        "copyRegularInvoiceSettingsToOutOfTurn",
        {"id": world.a.class_id},
        world.a.token,
        IMPACT,
        "CopyRegularInvoiceSettingsInput",
    )
    changes = payload["impact"]["changes"]
    assert {"path": "outOfTurnInvoices.paymentTerms.netDays", "before": 0, "after": 30} in changes
    assert payload["impact"]["affectedCustomerCount"] == 1


def test_affected_customers_are_paged(world: World, api: Api) -> None:
    names = ["Alpha", "Bravo", "Charlie"]
    made = [
        api.create_customer(world.a.token, name=n, customerClassId=world.a.class_id) for n in names
    ]
    page = (
        "impact { affectedCustomers(first: 2, after: $after) {"
        " totalCount pageInfo { hasNextPage endCursor } nodes { id name } } }"
    )
    query = (
        "mutation($id: ID!, $after: String) { updateCustomerClass(input: {id: $id, dryRun: true,"
        f" regularInvoices: {{paymentTerms: {{netDays: 9}}}}}}) {{ {page} }} }}"
    )
    seen: list[str] = []
    after = None
    for _ in range(3):
        connection = api.data(query, {"id": world.a.class_id, "after": after}, world.a.token)[
            "updateCustomerClass"
        ]["impact"]["affectedCustomers"]
        assert connection["totalCount"] == 4
        seen += [n["name"] for n in connection["nodes"]]
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
    assert seen == [*names, "Reseller A customer"]
    assert len(made) == 3
    # A cursor of another listing is refused.
    customers_cursor = api.data("{ customers(first: 1) { pageInfo { endCursor } } }")["customers"][
        "pageInfo"
    ]["endCursor"]
    body = api.run(query, {"id": world.a.class_id, "after": customers_cursor}, world.a.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # ... also where nothing is affected.
    header = query.replace("regularInvoices: {paymentTerms: {netDays: 9}}", 'description: "x"')
    body = api.run(header, {"id": world.a.class_id, "after": customers_cursor}, world.a.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_affected_customers_is_costed_like_any_connection(world: World, api: Api) -> None:
    def cost(selection: str) -> int:
        query = (
            "mutation($id: ID!) { updateCustomerClass(input: {id: $id, dryRun: true}) {"
            f" {selection} }} }}"
        )
        body = api.run(query, {"id": world.a.class_id}, world.a.token)
        assert "errors" not in body, body
        requested: int = body["extensions"]["cost"]["requestedQueryCost"]
        return requested

    base = cost("userErrors { code }")
    assert cost("impact { affectedCustomers { nodes { id } } }") == base + 50
    assert cost("impact { affectedCustomers(first: 7) { edges { node { id } } } }") == base + 7
    assert cost("impact { affectedByReseller { customerCount } }") == base + 100
    assert cost("impact { changes { path } }") == base + 132
    query = (
        "mutation($id: ID!) { updateCustomerClass(input: {id: $id, dryRun: true}) {"
        " impact { affectedCustomers(first: 101) { nodes { id } } } } }"
    )
    assert api.error_code(query, {"id": world.a.class_id}) == "PAGE_TOO_LARGE"


def test_impact_statements_do_not_grow_with_the_customers(
    world: World, api: Api, sql_statements: list[str]
) -> None:
    query = (
        "mutation($id: ID!, $dry: Boolean, $days: Int) { updateCustomerClass(input: {id: $id,"
        " dryRun: $dry, regularInvoices: {paymentTerms: {netDays: $days}}}) {"
        " customerClass { id version } impact { changes { path } affectedCustomerCount"
        " affectedCustomers { totalCount nodes { id parent { id } customerClass { id }"
        " effectiveSettings { regularInvoices { paymentTerms { netDays } } } } }"
        " affectedByReseller { reseller { id name } customerCount } } userErrors { code } } }"
    )
    days = iter(range(1, 100))

    def count(dry: bool) -> int:
        """The fewest statements of three runs (a token-cache refresh is not counted),
        each changing netDays, so that real runs write."""
        counts = []
        for _ in range(3):
            sql_statements.clear()
            variables = {"id": world.shared_class_id, "dry": dry, "days": next(days)}
            payload = api.data(query, variables)["updateCustomerClass"]
            assert payload["userErrors"] == [] and payload["impact"]["changes"]
            counts.append(len(sql_statements))
        return min(counts)

    for tenant in (world.a, world.b):
        assign(api, tenant.token, tenant.customer_id, world.shared_class_id)
    small = {dry: count(dry) for dry in (True, False)}
    for index in range(12):
        tenant = world.a if index % 2 else world.b
        api.create_customer(tenant.token, name=f"C{index}", customerClassId=world.shared_class_id)
    large = {dry: count(dry) for dry in (True, False)}
    assert large == small
    # The same statements either way: the savepoint's end differs, not the work.
    assert small[True] == small[False]
    # savepoint, class locked and read twice, written, read again, audited, the impact's
    # three statements (count, page, per reseller), the loaders of the nested fields
    assert small[True] <= 16, sql_statements
