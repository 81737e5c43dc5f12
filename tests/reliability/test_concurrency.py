"""No lost updates (SPEC §3, issue 4 "Reliability"): 16 threads update ONE class over HTTP
against a running server with two uvicorn workers, on SQLite and on PostgreSQL.

- with the same expectedVersion, exactly one writer wins and every other one gets
  VERSION_CONFLICT (and nothing else changes);
- without expectedVersion, every update is applied: each thread changes a different field
  and the final class carries all 16 changes, the version counts them all, and there is
  exactly one audit event per successful update;
- the optimistic read-then-write loop a client builds on expectedVersion (read the
  version, write with it, retry on VERSION_CONFLICT) increments a counter exactly 16 times.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from db.settings import Settings
from tests.api_client import Api, World
from tests.conftest import cli_token
from tests.databases import Databases
from tests.reliability.server import Server, free_port, running_server
from tests.support.concurrent import at_once, mutation_payload
from tests.support.errors import errors_of

pytestmark = pytest.mark.slow

THREADS = 16
UPDATE = """
mutation Update($input: UpdateCustomerClassInput!) {
  updateCustomerClass(input: $input) {
    customerClass { id version description }
    userErrors { field message code }
  }
}
"""
EVENTS = """
query Events($id: ID!) {
  auditEvents(objectId: $id, first: 100) { nodes { action objectId changes } }
}
"""
STATE = """
query State($id: ID!) {
  customerClass(id: $id) {
    version name description notificationSender
    generalInfo { sendStatistics roundingMethod roundingPrecision suspendOnInsufficientFunds
                  billingPeriodClosure }
    regularInvoices { pdfGeneration
                      paymentTerms { netDays autoCharge }
                      pastDue { collectionThreshold } }
    outOfTurnInvoices { delivery paymentTerms { netDays autoChargeTiming } pastDue { lateFee } }
    taxation { method taxesIncludedInRates }
    fraudProtection { dailySpendingThreshold }
    measuredServices { parameter }
  }
}
"""

# Sixteen patches, each valid alone and together, each touching a different field, with
# where to read the result and the value expected there.
PATCHES: list[tuple[dict[str, Any], tuple[str, ...], Any]] = [
    ({"name": "Renamed concurrently"}, ("name",), "Renamed concurrently"),
    ({"description": "set by one writer"}, ("description",), "set by one writer"),
    (
        {"notificationSender": "billing@example.com"},
        ("notificationSender",),
        "billing@example.com",
    ),
    (
        {"generalInfo": {"sendStatistics": "FULL_STATISTICS"}},
        ("generalInfo", "sendStatistics"),
        "FULL_STATISTICS",
    ),
    (
        {"generalInfo": {"roundingMethod": "HALF_EVEN"}},
        ("generalInfo", "roundingMethod"),
        "HALF_EVEN",
    ),
    ({"generalInfo": {"roundingPrecision": 4}}, ("generalInfo", "roundingPrecision"), 4),
    (
        {"generalInfo": {"suspendOnInsufficientFunds": True}},
        ("generalInfo", "suspendOnInsufficientFunds"),
        True,
    ),
    (
        {"generalInfo": {"billingPeriodClosure": "UPON_ADMINISTRATOR_APPROVAL"}},
        ("generalInfo", "billingPeriodClosure"),
        "UPON_ADMINISTRATOR_APPROVAL",
    ),
    (
        {"regularInvoices": {"pdfGeneration": "ON_DEMAND"}},
        ("regularInvoices", "pdfGeneration"),
        "ON_DEMAND",
    ),
    (
        {"regularInvoices": {"paymentTerms": {"netDays": 30}}},
        ("regularInvoices", "paymentTerms", "netDays"),
        30,
    ),
    (
        {"regularInvoices": {"paymentTerms": {"autoCharge": True}}},
        ("regularInvoices", "paymentTerms", "autoCharge"),
        True,
    ),
    (
        {"regularInvoices": {"pastDue": {"collectionThreshold": "5"}}},
        ("regularInvoices", "pastDue", "collectionThreshold"),
        "5.00",
    ),
    (
        {"outOfTurnInvoices": {"delivery": "AUTOMATICALLY"}},
        ("outOfTurnInvoices", "delivery"),
        "AUTOMATICALLY",
    ),
    (
        {"outOfTurnInvoices": {"paymentTerms": {"netDays": 15}}},
        ("outOfTurnInvoices", "paymentTerms", "netDays"),
        15,
    ),
    (
        {"outOfTurnInvoices": {"pastDue": {"lateFee": "2.5"}}},
        ("outOfTurnInvoices", "pastDue", "lateFee"),
        "2.50",
    ),
    (
        {"fraudProtection": {"dailySpendingThreshold": "100"}},
        ("fraudProtection", "dailySpendingThreshold"),
        "100.00",
    ),
]
assert len(PATCHES) == THREADS


@pytest.fixture(scope="module")
def live(databases: Databases) -> Iterator[tuple[Server, Api, World]]:
    """One server (two workers) on one fresh database for the module, and a world in it."""
    with databases.fresh() as url:
        admin = cli_token(Settings(database_url=url))
        with (
            running_server(url, workers=2) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            assert len(server.worker_pids()) == 2, server.output()
            api = Api(http, admin)
            yield server, api, api.world()


def _update(client: httpx.Client, token: str, input_: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/graphql",
        json={"query": UPDATE, "variables": {"input": input_}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    found: dict[str, Any] = body["data"]["updateCustomerClass"]
    return found


def _state(api: Api, class_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.data(STATE, {"id": class_id})["customerClass"]
    return found


def _updates(api: Api, class_id: str) -> list[dict[str, Any]]:
    nodes = api.data(EVENTS, {"id": class_id})["auditEvents"]["nodes"]
    assert all(n["objectId"] == class_id for n in nodes)
    return [n for n in nodes if n["action"] == "UPDATE"]


Target = tuple[Api, str, str, str]


@pytest.fixture
def target(live: tuple[Server, Api, World], request: pytest.FixtureRequest) -> Target:
    """A fresh class of reseller A (in USD) to fight over, A's token and the server URL."""
    server, api, world = live
    name = f"Contended {request.node.name}"[:100]
    class_id = api.create_class(world.a.token, name=name, currencyCode="USD")
    return api, world.a.token, class_id, server.url


def test_same_expected_version_exactly_one_wins(target: Target) -> None:
    api, token, class_id, url = target
    before = _state(api, class_id)
    assert before["version"] == 1

    def work(i: int, client: httpx.Client) -> dict[str, Any]:
        return _update(
            client,
            token,
            {"id": class_id, "expectedVersion": 1, "description": f"writer {i}"},
        )

    results = at_once(url, THREADS, work)
    winners = [i for i, r in enumerate(results) if not r["userErrors"]]
    assert len(winners) == 1, results
    for i, result in enumerate(results):
        if i in winners:
            assert result["customerClass"]["version"] == 2
            assert result["customerClass"]["description"] == f"writer {i}"
        else:
            assert result["customerClass"] is None, result
            assert errors_of(result) == [("VERSION_CONFLICT", ["input", "expectedVersion"])], result

    after = _state(api, class_id)
    assert after["version"] == 2
    assert after["description"] == f"writer {winners[0]}"
    assert {k: v for k, v in after.items() if k not in ("version", "description")} == {
        k: v for k, v in before.items() if k not in ("version", "description")
    }
    events = _updates(api, class_id)
    assert len(events) == 1
    assert events[0]["changes"]["description"] == {"before": None, "after": f"writer {winners[0]}"}


def test_without_expected_version_every_update_is_applied(target: Target) -> None:
    api, token, class_id, url = target
    before = _state(api, class_id)
    for _patch, path, expected in PATCHES:  # the test is meaningless if a value is unchanged
        value: Any = before
        for key in path:
            value = value[key]
        assert value != expected, path

    def work(i: int, client: httpx.Client) -> dict[str, Any]:
        return _update(client, token, {"id": class_id, **PATCHES[i][0]})

    results = at_once(url, THREADS, work)
    assert [r["userErrors"] for r in results] == [[]] * THREADS, results
    # Each writer saw its own, distinct version: the writes were serialised.
    versions = sorted(r["customerClass"]["version"] for r in results)
    assert versions == list(range(2, 2 + THREADS))

    after = _state(api, class_id)
    assert after["version"] == 1 + THREADS
    for _patch, path, expected in PATCHES:
        value = after
        for key in path:
            value = value[key]
        assert value == expected, (path, value, expected)
    events = _updates(api, class_id)
    assert len(events) == THREADS
    # Each event records exactly its own writer's change.
    changed = sorted(tuple(sorted(e["changes"])) for e in events)
    assert len(set(changed)) == THREADS, changed


def test_optimistic_read_then_write_counts_every_increment(target: Target) -> None:
    """Read-then-write of a counter in the description: with expectedVersion and a retry on
    VERSION_CONFLICT, 16 concurrent increments give exactly 16."""
    api, token, class_id, url = target
    read = "query($id: ID!) { customerClass(id: $id) { version description } }"

    def work(_i: int, client: httpx.Client) -> dict[str, Any]:
        for attempt in range(200):
            response = client.post(
                "/graphql",
                json={"query": read, "variables": {"id": class_id}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            current = response.json()["data"]["customerClass"]
            counter = int(current["description"] or "0")
            result = _update(
                client,
                token,
                {
                    "id": class_id,
                    "expectedVersion": current["version"],
                    "description": str(counter + 1),
                },
            )
            if not result["userErrors"]:
                return {"attempts": attempt + 1, "version": result["customerClass"]["version"]}
            assert [e["code"] for e in result["userErrors"]] == ["VERSION_CONFLICT"], result
        raise AssertionError("no progress after 200 attempts")

    results = at_once(url, THREADS, work)
    assert sorted(r["version"] for r in results) == list(range(2, 2 + THREADS))
    after = _state(api, class_id)
    assert after["description"] == str(THREADS)
    assert after["version"] == 1 + THREADS
    assert len(_updates(api, class_id)) == THREADS


def _probe_count(scrape: str) -> float:
    line = next(
        line
        for line in scrape.splitlines()
        if line.startswith("billclass_requests_total{")
        and 'type="query"' in line
        and 'outcome="ok"' in line
    )
    assert 'operation="other"' in line, line  # never the client's name ("Probe")
    return float(line.rsplit(" ", 1)[1])


def _probe(http: httpx.Client, admin: str, times: int) -> None:
    for _ in range(times):
        response = http.post(
            "/graphql",
            json={"query": "query Probe { viewer { role } }"},
            headers={"Authorization": f"Bearer {admin}", "Connection": "close"},
        )
        assert response.status_code == 200


ASSIGN = """
mutation Assign($input: AssignCustomerClassInput!) {
  assignCustomerClass(input: $input) { customer { id } userErrors { field code } }
}
"""
SHARING = """
mutation Sharing($input: SetCustomerClassSharingInput!) {
  setCustomerClassSharing(input: $input) {
    customerClass { sharedWithResellers } userErrors { field code }
  }
}
"""
CLASS_USE = """
query($id: ID!) { customerClass(id: $id) { sharedWithResellers customers { nodes { id } } } }
"""


def test_assign_against_unshare_never_leaves_a_reseller_customer_on_an_unshared_class(
    live: tuple[Server, Api, World],
) -> None:
    """SPEC §3: a shared class a reseller's customer uses cannot be unshared. Reseller A
    assigns 15 of its customers to a shared class while the administrator unshares it,
    in several rounds: in the end the class is either unshared with no reseller customer
    on it (the assignments after the unshare were NOT_FOUND), or still shared because
    an assignment came first (IN_USE)."""
    server, api, world = live
    customers = [
        api.create_customer(world.a.token, name=f"Contender {i}") for i in range(THREADS - 1)
    ]
    outcomes = set()
    for round_ in range(6):
        shared_class = api.create_class(
            name=f"Contended shared {round_}", currencyCode="USD", sharedWithResellers=True
        )

        def work(i: int, client: httpx.Client, class_id: str = shared_class) -> dict[str, Any]:
            if i == THREADS - 1:
                return mutation_payload(
                    client, api.admin_token, SHARING, {"id": class_id, "shared": False}
                )
            return mutation_payload(
                client,
                world.a.token,
                ASSIGN,
                {"customerId": customers[i], "customerClassId": class_id},
            )

        results = at_once(server.url, THREADS, work)
        unshare, assignments = results[-1], results[:-1]
        state = api.data(CLASS_USE, {"id": shared_class})["customerClass"]
        on_class = {node["id"] for node in state["customers"]["nodes"]}
        assigned = {customers[i] for i, r in enumerate(assignments) if not r["userErrors"]}
        assert on_class == assigned, round_
        if unshare["userErrors"]:
            assert [e["code"] for e in unshare["userErrors"]] == ["IN_USE"], unshare
            assert state["sharedWithResellers"] is True
            assert on_class, "IN_USE, yet no customer uses the class"
            outcomes.add("in use")
        else:
            assert state["sharedWithResellers"] is False
            assert on_class == set(), f"round {round_}: {len(on_class)} customers left behind"
            for result in assignments:
                assert [e["code"] for e in result["userErrors"]] == ["NOT_FOUND"], result
            outcomes.add("unshared")
        # Put the customers back on the Default class for the next round.
        for customer in on_class:
            api.ok("assignCustomerClass", {"customerId": customer}, world.a.token)
    assert outcomes, outcomes


DELETE = """
mutation Delete($input: DeleteCustomerClassesInput!) {
  deleteCustomerClasses(input: $input) { deletedIds userErrors { field code } }
}
"""
CUSTOMER_CLASS = "query($id: ID!) { customer(id: $id) { customerClass { id } } }"


def test_assign_against_delete_never_leaves_a_customer_on_a_missing_class(
    live: tuple[Server, Api, World],
) -> None:
    """What the application guarantees where the database cannot (issue 13: Citus holds
    no foreign key from a customer to its class, which may live in another shard):
    reseller A assigns 15 customers to one of its classes while deleting that class, in
    several rounds. In the end the class is either deleted with no customer on it (the
    assignments after the deletion were NOT_FOUND) or kept because an assignment came
    first (IN_USE); every customer's class exists."""
    server, api, world = live
    customers = [
        api.create_customer(world.a.token, name=f"Assignee {i}") for i in range(THREADS - 1)
    ]
    outcomes = set()
    for round_ in range(6):
        class_id = api.create_class(world.a.token, name=f"Contended own {round_}")

        def work(i: int, client: httpx.Client, class_id: str = class_id) -> dict[str, Any]:
            if i == THREADS - 1:
                return mutation_payload(client, world.a.token, DELETE, {"ids": [class_id]})
            return mutation_payload(
                client,
                world.a.token,
                ASSIGN,
                {"customerId": customers[i], "customerClassId": class_id},
            )

        results = at_once(server.url, THREADS, work)
        deletion, assignments = results[-1], results[:-1]
        classes = {
            customer: api.data(CUSTOMER_CLASS, {"id": customer}, world.a.token)["customer"][
                "customerClass"
            ]
            for customer in customers
        }
        assert None not in classes.values(), f"round {round_}: a customer lost its class"
        on_class = {c for c, found in classes.items() if found["id"] == class_id}
        assigned = {customers[i] for i, r in enumerate(assignments) if not r["userErrors"]}
        assert on_class == assigned, round_
        if deletion["userErrors"]:
            assert [e["code"] for e in deletion["userErrors"]] == ["IN_USE"], deletion
            assert on_class, "IN_USE, yet no customer uses the class"
            outcomes.add("in use")
        else:
            assert deletion["deletedIds"] == [class_id]
            assert on_class == set()
            for result in assignments:
                assert [e["code"] for e in result["userErrors"]] == ["NOT_FOUND"], result
            outcomes.add("deleted")
        for customer in on_class:
            api.ok("assignCustomerClass", {"customerId": customer}, world.a.token)
    assert outcomes, outcomes


def test_metrics_count_requests_of_every_worker(databases: Databases, tmp_path: Any) -> None:
    """With several workers (billclass serve sets PROMETHEUS_MULTIPROC_DIR for them), a
    scrape answered by any worker counts the requests that every worker served."""
    with databases.fresh() as url:
        admin = cli_token(Settings(database_url=url))
        env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
        with (
            running_server(url, workers=2, env=env) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            _probe(http, admin, 40)
            scrape = http.get("/metrics", headers={"Authorization": f"Bearer {admin}"}).text
    assert _probe_count(scrape) == 40.0


def test_metrics_port_serves_every_worker_on_localhost_only(databases: Databases) -> None:
    """``billclass serve --workers 2 --metrics-port N``: 127.0.0.1:N serves the metrics of
    both workers without a token, and nothing else can reach it; the service's own port
    still wants an administrator token."""
    with databases.fresh() as url:
        admin = cli_token(Settings(database_url=url))
        port, metrics_port = free_port(), free_port()
        command = [
            sys.executable,
            "-m",
            "gql.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--metrics-port",
            str(metrics_port),
        ]
        with (
            running_server(url, command=command, port=port) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            assert len(server.worker_pids()) == 2, server.output()
            _probe(http, admin, 40)
            scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
            assert http.get("/metrics").status_code == 401
            # Bound to 127.0.0.1 itself: another loopback address is refused.
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.2:{metrics_port}/metrics", timeout=5)
    assert _probe_count(scrape) == 40.0
