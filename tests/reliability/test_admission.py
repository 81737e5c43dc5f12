"""Admission under load against a real uvicorn worker (SPEC §7 "Concurrency", issue 7
item 2): nothing blocks the event loop waiting for a database connection.

- many cheap concurrent reads beyond the connection pool queue up and are all answered,
  while /healthz stays responsive (before: SQLite reads checked a connection out of a
  blocking pool on the event loop, froze the worker for the 5 s pool timeout and gave 503);
- a worker whose connections are all held answers 503 SERVICE_UNAVAILABLE with
  ``Retry-After: 1`` within about 1 s, and serves again as soon as they return;
- at most 8 requests of one tenant run at once in one worker; the 9th waits at most 1 s,
  then gets 429 THROTTLED with ``Retry-After: 1`` and is never executed, while other
  tenants (and each administrator token on its own) go on.

Connections are held by mutations waiting for a class lock that the test holds from a
side connection (tests.reliability.faults.holding_class_lock), with a lock timeout long
enough for the test to look around meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpx2 as httpx
import pytest

from db.engine import pool_capacity
from db.settings import Settings
from tenancy.ids import decode
from tests.api_client import Api, World, without_cost
from tests.conftest import cli_token
from tests.databases import POSTGRES, Databases
from tests.reliability.faults import holding_class_lock
from tests.reliability.server import Server, running_server
from tests.support.concurrent import at_once

pytestmark = pytest.mark.slow

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) { ... on Customer { name customerClass { name } parent { name } } }
}
"""
UPDATE = """
mutation Update($input: UpdateCustomerClassInput!) {
  updateCustomerClass(input: $input) { customerClass { version } userErrors { code } }
}
"""
# The issue allows 503 "within 1 s"; the bound below is generous for a loaded machine
# and still far below the 5 s pool and lock timeouts of the defect.
ANSWER_BOUND = 2.5
# Any worker answers /healthz in microseconds; a stalled event loop answers in seconds.
HEALTHZ_BOUND = 1.0


def _class_key(class_id: str) -> int:
    key = decode(class_id, "CustomerClass")
    assert key is not None
    return key


@contextmanager
def _live(databases: Databases, env: dict[str, str]) -> Iterator[tuple[Server, Api, World, str]]:
    """One uvicorn worker with ``env`` on a fresh database, a world in it, and the URL."""
    with databases.fresh() as url:
        admin = cli_token(Settings(database_url=url))
        with (
            running_server(url, workers=1, env=env) as server,
            httpx.Client(base_url=server.url, timeout=60) as http,
        ):
            api = Api(http, admin)
            yield server, api, api.world(), url


class HealthWatch:
    """Polls /healthz every 20 ms in a thread; ``slowest`` is the longest answer seen."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get("/healthz").status_code
                except httpx.TransportError as error:
                    self.failures.append(repr(error))
                    status = 200
                self.slowest = max(self.slowest, time.monotonic() - started)
                if status != 200:
                    self.failures.append(f"HTTP {status}")
                time.sleep(0.02)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


def _timed_post(
    client: httpx.Client, token: str, query: str, variables: dict[str, Any] | None = None
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response, time.monotonic() - started


def _on_own_socket(
    base_url: str, token: str, query: str, variables: dict[str, Any]
) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        return _timed_post(client, token, query, variables)[0]


def _in_background(work: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``work`` in a thread; returns a function that joins it and gives its result."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(_capture(work)), daemon=True)
    thread.start()

    def result() -> Any:
        thread.join(60)
        assert box, "background request did not finish"
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    return result


def _capture(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except BaseException as error:
        return error


def _poll_until(probe: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """Repeat ``probe`` until it answers ``status`` (the holders may still be on their way
    to the lock); fail after 20 attempts."""
    seen = []
    for _ in range(20):
        response = probe()
        if response.status_code == status:
            return response
        seen.append(response.status_code)
        time.sleep(0.1)
    raise AssertionError(f"never got HTTP {status}: {seen}")


# --------------------------------------------------------------------------- the pool


def test_concurrent_reads_beyond_the_pool_queue_without_freezing_the_worker(
    databases: Databases,
) -> None:
    """Issue 7 item 2: 33 sockets, three rounds, of a cheap read whose resolvers await
    DataLoaders while the request holds its connection, on a pool of 2 connections."""
    env = {"BILLCLASS_POOL_SIZE": "2", "BILLCLASS_TENANT_CONCURRENCY": "0"}
    with _live(databases, env) as (server, api, world, _url):
        token = world.a.token
        ids = [
            world.a.customer_id,
            api.create_customer(token, name="A second", customerClassId=world.a.class_id),
            api.create_customer(token, name="A third"),
        ]
        # Also puts the token in the worker's cache.
        expected = api.run(NODES, {"ids": ids}, token)
        assert [node["name"] for node in expected["data"]["nodes"]] == [
            "Reseller A customer",
            "A second",
            "A third",
        ]

        def read(_i: int, client: httpx.Client) -> list[tuple[int, float, Any]]:
            answers = []
            for _round in range(3):
                response, elapsed = _timed_post(client, token, NODES, {"ids": ids})
                answers.append((response.status_code, elapsed, response.json()))
            return answers

        with HealthWatch(server.url) as health:
            results = at_once(server.url, 33, read)
        for result in results:
            assert not isinstance(result, BaseException), result
        answers = [answer for result in results for answer in result]
        statuses = [status for status, _, _ in answers]
        assert statuses == [200] * 99, statuses
        wrong = [body for _, _, body in answers if without_cost(body) != without_cost(expected)]
        assert not wrong, wrong[:3]
        slowest = max(elapsed for _, elapsed, _ in answers)
        assert slowest < ANSWER_BOUND, f"a read took {slowest:.2f} s"
        assert not health.failures, health.failures
        assert health.slowest < HEALTHZ_BOUND, f"/healthz took {health.slowest:.2f} s"


def test_a_worker_out_of_connections_answers_503_at_once_and_recovers(
    databases: Databases,
) -> None:
    """Every connection held (by mutations waiting for a class lock): the next request
    that needs one gets 503 SERVICE_UNAVAILABLE with Retry-After: 1 after the 1 s wait,
    nothing of it is executed, /healthz answers throughout, and the worker serves again
    as soon as the connections return."""
    env = {
        "BILLCLASS_POOL_SIZE": "2",
        "BILLCLASS_TENANT_CONCURRENCY": "0",
        "BILLCLASS_LOCK_TIMEOUT_SECONDS": "20",
    }
    with _live(databases, env) as (server, api, world, url):
        capacity = pool_capacity(Settings(database_url=url, pool_size=2))
        token, class_id = world.a.token, world.a.class_id
        unknown = "bc_" + "Z" * 43  # never cached: authenticating it needs a connection

        def update(client: httpx.Client, description: str) -> tuple[httpx.Response, float]:
            variables = {"input": {"id": class_id, "description": description}}
            return _timed_post(client, token, UPDATE, variables)

        with (
            HealthWatch(server.url) as health,
            holding_class_lock(url, _class_key(class_id)) as release,
            httpx.Client(base_url=server.url, timeout=60) as probe,
        ):
            holders = [
                _in_background(
                    partial(
                        _on_own_socket,
                        server.url,
                        token,
                        UPDATE,
                        {"input": {"id": class_id, "description": f"held {i}"}},
                    )
                )
                for i in range(capacity)
            ]
            refused = _poll_until(
                lambda: _timed_post(probe, unknown, "{ viewer { role } }")[0], 503
            )
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

            response, elapsed = update(probe, "never applied")
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            assert [e["extensions"]["code"] for e in response.json()["errors"]] == [
                "SERVICE_UNAVAILABLE"
            ]
            assert "data" not in response.json()
            assert elapsed < ANSWER_BOUND, f"503 after {elapsed:.2f} s"
            if not POSTGRES:
                # SQLite reads have their own pool (the inline read engine).
                response, _ = _timed_post(probe, token, "{ viewer { role } }")
                assert response.status_code == 200, response.text
            release()
            for holder in holders:
                response = holder()
                assert response.status_code == 200, response.text
                assert response.json()["data"]["updateCustomerClass"]["userErrors"] == []

            # Recovered at once: the next request that needs a connection gets one.
            response, elapsed = update(probe, "after")
            assert response.status_code == 200, response.text
            assert elapsed < ANSWER_BOUND
        assert not health.failures, health.failures
        assert health.slowest < HEALTHZ_BOUND, f"/healthz took {health.slowest:.2f} s"
        state = api.data(
            "query($id: ID!) { customerClass(id: $id) { version description } }",
            {"id": class_id},
        )["customerClass"]
        # Created at 1, each holder and the last update once; the refused one never.
        assert state == {"version": 1 + capacity + 1, "description": "after"}


# --------------------------------------------------------------------------- tenants


def test_a_tenant_runs_at_most_8_requests_at_once_and_the_9th_is_throttled(
    databases: Databases,
) -> None:
    """Default cap of 8 per tenant: reseller A's 8 requests in flight (two tokens of A
    count together) make A's 9th wait 1 s and get 429 THROTTLED unexecuted; reseller B,
    and a second administrator token while the first one is at its cap, go on."""
    env = {"BILLCLASS_LOCK_TIMEOUT_SECONDS": "20"}
    with _live(databases, env) as (server, api, world, url):
        class_id = world.a.class_id
        a_second = api.reseller_token(world.a.id, "A second token")
        admin_second = api.create_token(name="second administrator", role="ADMINISTRATOR")
        viewer = "{ viewer { role } }"
        for token in (world.a.token, a_second, world.b.token, admin_second):
            assert api.data(viewer, token=token)  # tokens cached by the worker

        def throttled(response: httpx.Response) -> None:
            assert response.status_code == 429, response.text
            assert response.headers["retry-after"] == "1"
            assert without_cost(response.json()) == {
                "errors": [
                    {
                        "message": "Too many concurrent requests: at most 8 of one tenant run"
                        " at once; retry shortly.",
                        "extensions": {"code": "THROTTLED"},
                    }
                ]
            }

        with (
            holding_class_lock(url, _class_key(class_id)) as release,
            httpx.Client(base_url=server.url, timeout=60) as probe,
        ):
            holders = [
                _in_background(
                    partial(
                        _on_own_socket,
                        server.url,
                        token,
                        UPDATE,
                        {"input": {"id": class_id, "description": f"held {i}"}},
                    )
                )
                for i, token in enumerate([world.a.token, world.admin_token] * 8)
            ]
            throttled(_poll_until(lambda: _timed_post(probe, a_second, viewer)[0], 429))
            # The cap comes before the document is even parsed: a flood of new documents
            # (parsed in pure Python) cannot take the worker either.
            throttled(_timed_post(probe, a_second, "{ not a document")[0])
            response, elapsed = _timed_post(
                probe,
                a_second,
                UPDATE,
                {"input": {"id": class_id, "description": "never applied"}},
            )
            throttled(response)
            assert elapsed < ANSWER_BOUND, f"429 after {elapsed:.2f} s"
            throttled(_poll_until(lambda: _timed_post(probe, world.admin_token, viewer)[0], 429))

            for other in (world.b.token, admin_second):
                response, elapsed = _timed_post(probe, other, viewer)
                assert response.status_code == 200, response.text
                assert not response.json().get("errors"), response.text
                assert elapsed < ANSWER_BOUND
            release()
            for holder in holders:
                response = holder()
                assert response.status_code == 200, response.text
                assert response.json()["data"]["updateCustomerClass"]["userErrors"] == []

        # A's place is free again.
        assert api.data(viewer, token=a_second) == {"viewer": {"role": "RESELLER"}}
        state = api.data(
            "query($id: ID!) { customerClass(id: $id) { version description } }",
            {"id": class_id},
        )["customerClass"]
        assert state["version"] == 1 + 16
        assert state["description"] != "never applied"
