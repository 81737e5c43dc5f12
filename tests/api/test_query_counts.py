"""No N+1: the SQL statements of a page do not grow with its rows (SPEC §3 "Filtering,
sorting, counting and paging happen in SQL"; gql/loaders.py batches nested objects)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.listing_support import create_catalogs, referenced_class_input
from tests.api_client import Api, World

CLASS_FIELDS = """
  id name description managedBy isDefault sharedWithResellers version createdAt updatedAt
  notificationSender archiveXdrs invoicing taxationMethod
  managingReseller { id name customerType currency { code } }
  businessModel { id code name }
  currency { code name minorUnits }
  customerCount
  customers(first: 3) { totalCount nodes { id name parent { id } } }
  generalInfo { generateStatistics sendStatistics billingPeriodClosure closeDelayHours
                roundingMethod roundingPrecision suspendOnInsufficientFunds billedExternally
                resetBalanceEveryPeriod hideBalanceResetXdr }
  measuredServices { parameter chargeBasedOn pricePerItem itemsFreeOfCharge rateCode service }
  notifications { notificationSet { id name }
                  settings { type email { send template } sms { send template } } }
  regularInvoices { enabled invoiceTemplate { id name } pdfGeneration delivery holdForReviewDays
                    paymentTerms { netDays dueDateReminderDays autoCharge autoChargeTiming }
                    pastDue { collectionThreshold resendInvoiceDays lateFee limitServiceAfterDays
                              suspendAfterDays reactivationFee terminateAfterDays } }
  outOfTurnInvoices { enabled invoiceTemplate { id name } delivery separateInvoiceForRecurringFees
                      paymentTerms { netDays } pastDue { collectionThreshold } }
  taxation { method assessTaxes taxesIncludedInRates assessment vatRatePercent taxName
             customTaxes { id name ratePercent appliedTo } }
  customFields { id name type listValues }
  fraudProtection { dailySpendingThreshold checkRemainingFunds sendWarning warningThresholdPercent }
"""

LIST_QUERY = (
    "{ customerClasses(first: 50) { totalCount pageInfo { hasNextPage endCursor }"
    " edges { cursor } nodes { " + CLASS_FIELDS + " } } }"
)
POINT_QUERY = "query($id: ID!) { customerClass(id: $id) { " + CLASS_FIELDS + " } }"
NODES_QUERY = (
    "query($ids: [ID!]!) { nodes(ids: $ids) { ... on CustomerClass { " + CLASS_FIELDS + " } } }"
)
CUSTOMERS_QUERY = """{ customers(first: 50) { totalCount nodes {
  id name parent { id name } customerClass { id name businessModel { id } }
  overrides { regularInvoiceTemplate { template { id } } }
  effectiveSettings { generalInfo { generateStatistics } regularInvoices { invoiceTemplate { id } }
                      taxation { customTaxes { id } } customFields { id } overriddenFields }
} } }"""


def statements(
    api: Api,
    recorded: list[str],
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Statements of one request in steady state: the fewest of three runs, so that a
    token-cache refresh (at most once per 5 s) is not counted."""
    counts = []
    data: dict[str, Any] = {}
    for _ in range(3):
        recorded.clear()
        data = api.data(query, variables, token)
        counts.append(len(recorded))
    return min(counts), data


class Population:
    def __init__(self, api: Api, world: World) -> None:
        self.api = api
        self.world = world
        self.refs = [create_catalogs(api), create_catalogs(api)]
        self.created: list[str] = []
        self.customers: list[str] = []

    def grow(self, count: int) -> None:
        """Classes with every reference set, in a cycle of five: two managed by A (one
        with a customer), one shared administrator class with a customer of B, one
        private administrator class with a direct customer, one managed by B with a
        customer of B. Every page therefore holds every kind of row, whatever its size."""
        api, world = self.api, self.world
        for index in range(len(self.created), len(self.created) + count):
            refs = self.refs[index % 2]
            kind = index % 5
            token = {0: world.a.token, 1: world.a.token, 4: world.b.token}.get(kind)
            extra = {"sharedWithResellers": True} if kind == 2 else {}
            class_id = api.create_class(
                token, **referenced_class_input(refs, f"Class {index:03d}", **extra)
            )
            self.created.append(class_id)
            owner = {0: world.a.token, 2: world.b.token, 3: None, 4: world.b.token}
            if kind in owner:
                self.customers.append(
                    api.create_customer(
                        owner[kind], name=f"Customer {index}", customerClassId=class_id
                    )
                )

    def visible_to_a(self) -> list[str]:
        return [key for index, key in enumerate(self.created) if index % 5 in (0, 1, 2)]


@pytest.fixture
def population(api: Api, world: World) -> Population:
    return Population(api, world)


def check_page(data: dict[str, Any], at_least: int) -> None:
    nodes = data["customerClasses"]["nodes"]
    assert len(nodes) >= at_least
    referenced = [n for n in nodes if n["name"].startswith("Class ")]
    assert referenced
    for node in referenced:
        assert node["businessModel"] is not None
        assert node["currency"]["code"] == "USD"
        assert node["notifications"]["notificationSet"] is not None
        assert node["regularInvoices"]["invoiceTemplate"] is not None
        assert node["outOfTurnInvoices"]["invoiceTemplate"] is not None
        assert len(node["taxation"]["customTaxes"]) == 1
        assert len(node["customFields"]) == 1
        if node["managedBy"] == "RESELLER":
            assert node["managingReseller"] is not None


@pytest.mark.parametrize("who", ["administrator", "reseller"])
def test_class_page_costs_the_same_for_5_and_50_classes(
    api: Api, population: Population, sql_statements: list[str], who: str
) -> None:
    token = population.world.a.token if who == "reseller" else None
    population.grow(5)
    small, data = statements(api, sql_statements, LIST_QUERY, token=token)
    check_page(data, 3)
    small_rows = len(data["customerClasses"]["nodes"])
    population.grow(45)
    large, data = statements(api, sql_statements, LIST_QUERY, token=token)
    check_page(data, 25)
    assert len(data["customerClasses"]["nodes"]) >= small_rows + 20
    assert large == small, (small, large)
    # One statement per kind of data, whatever the page size.
    assert small <= 15, sql_statements


def test_customer_counts_in_a_page_are_per_caller(api: Api, population: Population) -> None:
    population.grow(8)
    query = "{ customerClasses(first: 50) { nodes { name customerCount } } }"
    admin = {n["name"]: n["customerCount"] for n in api.data(query)["customerClasses"]["nodes"]}
    as_a = {
        n["name"]: n["customerCount"]
        for n in api.data(query, token=population.world.a.token)["customerClasses"]["nodes"]
    }
    # Class 002 and 007 are shared administrator classes with one customer of B each.
    assert admin["Class 002"] == admin["Class 007"] == 1
    assert as_a["Class 002"] == as_a["Class 007"] == 0
    assert admin["Class 000"] == as_a["Class 000"] == 1
    assert admin["Class 001"] == as_a["Class 001"] == 0
    assert admin["Class 003"] == admin["Class 004"] == 1
    assert "Class 003" not in as_a and "Class 004" not in as_a


@pytest.mark.parametrize("who", ["administrator", "reseller"])
def test_point_lookup_costs_a_fixed_number_of_statements(
    api: Api, population: Population, sql_statements: list[str], who: str
) -> None:
    token = population.world.a.token if who == "reseller" else None
    population.grow(5)
    target = population.created[0]  # managed by A, with a customer
    small, data = statements(api, sql_statements, POINT_QUERY, {"id": target}, token)
    assert data["customerClass"]["managingReseller"]["id"] == population.world.a.id
    assert data["customerClass"]["customers"]["totalCount"] == 1
    population.grow(45)
    large, data = statements(api, sql_statements, POINT_QUERY, {"id": target}, token)
    assert large == small <= 15
    # The same class through node(id:) costs no more.
    via_node, _ = statements(api, sql_statements, NODES_QUERY, {"ids": [target]}, token)
    assert via_node == small


@pytest.mark.parametrize("who", ["administrator", "reseller"])
def test_nodes_batch_costs_the_same_for_5_and_50_ids(
    api: Api, population: Population, sql_statements: list[str], who: str
) -> None:
    token = population.world.a.token if who == "reseller" else None
    population.grow(50)
    visible = population.created if who == "administrator" else population.visible_to_a()
    small, data = statements(api, sql_statements, NODES_QUERY, {"ids": visible[:5]}, token)
    assert all(n is not None for n in data["nodes"])
    large, data = statements(api, sql_statements, NODES_QUERY, {"ids": visible[:30]}, token)
    assert all(n is not None for n in data["nodes"]) and len(data["nodes"]) == 30
    assert large == small


@pytest.mark.parametrize("who", ["administrator", "reseller"])
def test_customer_page_costs_the_same_for_few_and_many_customers(
    api: Api, population: Population, sql_statements: list[str], who: str
) -> None:
    token = population.world.a.token if who == "reseller" else None
    population.grow(5)
    small, data = statements(api, sql_statements, CUSTOMERS_QUERY, token=token)
    few = len(data["customers"]["nodes"])
    population.grow(40)
    large, data = statements(api, sql_statements, CUSTOMERS_QUERY, token=token)
    assert len(data["customers"]["nodes"]) >= few + 8
    assert large == small


@pytest.mark.parametrize("who", ["administrator", "reseller"])
@pytest.mark.parametrize(
    "arguments",
    [
        "last: 50",
        "first: 50, orderBy: {field: CREATED_AT, direction: DESC}",
        "last: 50, orderBy: {field: NAME, direction: DESC}",
    ],
)
def test_customer_pages_cost_the_same_in_every_order_and_direction(
    api: Api, population: Population, sql_statements: list[str], who: str, arguments: str
) -> None:
    token = population.world.a.token if who == "reseller" else None
    population.grow(10)
    default, data = statements(api, sql_statements, CUSTOMERS_QUERY, token=token)
    other = CUSTOMERS_QUERY.replace("first: 50", arguments)
    count, other_data = statements(api, sql_statements, other, token=token)
    assert count == default
    assert len(other_data["customers"]["nodes"]) == len(data["customers"]["nodes"])


@pytest.mark.parametrize("who", ["administrator", "reseller"])
@pytest.mark.parametrize(
    "arguments", ["last: 50", "first: 50, orderBy: {field: AT, direction: ASC}", "last: 5"]
)
def test_audit_pages_cost_the_same_in_every_direction(
    api: Api, population: Population, sql_statements: list[str], who: str, arguments: str
) -> None:
    token = population.world.a.token if who == "reseller" else None
    population.grow(10)
    query = "{ auditEvents(first: 50) { totalCount nodes { id at actorReseller { id name } } } }"
    default, _data = statements(api, sql_statements, query, token=token)
    other = query.replace("first: 50", arguments)
    count, _other = statements(api, sql_statements, other, token=token)
    assert count == default
