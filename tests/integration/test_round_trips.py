"""Round trips to PostgreSQL per request, counted on the wire (tests.support.pg_wire).

The row-level security context goes out with the transaction's BEGIN, as ``SET LOCAL``
statements in the same message (db.transaction_settings): a request costs one round trip
per SQL statement, plus BEGIN and COMMIT, and no more. Counted in steady state (the
fewest of three runs: statement preparation and a token-cache refresh are one-offs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from db.engine import make_engine
from db.settings import Settings
from db.transaction_settings import SettingConnection, set_local, set_local_statements
from gql.app import create_app
from tests.api_client import CLASS_FIELDS, Api
from tests.support.pg_wire import RoundTrips, counting_proxy
from tests.support.sql import recording

pytestmark = pytest.mark.postgres

POINT = "query($id: ID!) { customerClass(id: $id) { " + CLASS_FIELDS + " } }"
RENAME = (
    "mutation($id: ID!, $d: String) { updateCustomerClass(input: {id: $id,"
    " description: $d}) { customerClass { version } userErrors { code } } }"
)


@pytest.fixture
def wired(settings: Settings, admin_token: str) -> Iterator[tuple[Api, RoundTrips, list[str]]]:
    with counting_proxy(settings.database_url) as (url, trips):
        app = create_app(settings.model_copy(update={"database_url": url}))
        with TestClient(app) as client, recording(app) as statements:
            yield Api(client, admin_token), trips, statements


def steady(
    api: Api,
    trips: RoundTrips,
    statements: list[str],
    query: str,
    variables: Callable[[int], dict[str, Any]],
    token: str,
) -> tuple[int, int, list[str]]:
    """(round trips, SQL statements, simple queries) of the cheapest of three requests."""
    runs = []
    for index in range(3):
        trips.reset()
        statements.clear()
        data = api.data(query, variables(index), token)
        assert all(not (v or {}).get("userErrors") for v in data.values()), data
        runs.append((trips.count, len(statements), list(trips.queries)))
    return min(runs, key=lambda run: run[0])


def test_a_point_lookup_is_its_statements_plus_begin_and_commit(
    wired: tuple[Api, RoundTrips, list[str]],
) -> None:
    api, trips, statements = wired
    world = api.world()
    count, sql, simple = steady(
        api, trips, statements, POINT, lambda _: {"id": world.a.class_id}, world.a.token
    )
    assert sql == 1  # the class, with its header fields
    assert count == sql + 2
    # BEGIN carries the reseller's context; nothing else goes out as a simple query but
    # the COMMIT.
    reseller = world.a.id
    assert len(simple) == 2 and simple[1].startswith("COMMIT"), simple
    assert simple[0].startswith("BEGIN;") and "SET LOCAL billclass.role = 'RESELLER'" in simple[0]
    assert "set_config" not in " ".join(statements)
    assert reseller  # the id is a global ID; the context carries the row id
    assert "SET LOCAL billclass.reseller_id = '" in simple[0]


def test_a_mutation_adds_no_round_trip_for_its_context(
    wired: tuple[Api, RoundTrips, list[str]],
) -> None:
    api, trips, statements = wired
    world = api.world()
    count, sql, simple = steady(
        api,
        trips,
        statements,
        RENAME,
        lambda i: {"id": world.a.class_id, "d": f"run {i}"},
        world.a.token,
    )
    # BEGIN (with the context), each statement (savepoints included), COMMIT.
    assert count == sql + 2, (count, sql, statements)
    assert simple[0].startswith("BEGIN;") and "SET LOCAL billclass.role" in simple[0]


def test_authentication_sends_the_token_hash_with_begin(
    wired: tuple[Api, RoundTrips, list[str]],
) -> None:
    api, trips, statements = wired
    world = api.world()
    token = api.reseller_token(world.a.id, "fresh")  # not yet in the token cache
    trips.reset()
    statements.clear()
    api.data("{ viewer { role } }", None, token)
    hashed = [q for q in trips.queries if "billclass.token_hash" in q]
    assert len(hashed) == 1 and hashed[0].startswith("BEGIN;"), trips.queries
    assert "set_config" not in " ".join(statements)


def test_a_context_never_sent_does_not_reach_the_next_checkout(settings: Settings) -> None:
    """A context noted for a BEGIN that never came is forgotten with its connection."""

    async def scenario() -> tuple[str, str]:
        engine = make_engine(
            settings.database_url, settings=settings.model_copy(update={"pool_size": 1})
        )
        try:
            async with engine.connect() as conn:
                await conn.begin()
                await set_local(conn, {"billclass.role": "ADMINISTRATOR"})
                driver = (await conn.get_raw_connection()).driver_connection
                assert isinstance(driver, SettingConnection) and driver.pending
                await conn.rollback()  # nothing was sent: no BEGIN went out
            async with engine.connect() as conn, conn.begin():
                leaked = (
                    await conn.execute(text("select current_setting('billclass.role', true)"))
                ).scalar_one()
                await set_local(conn, {"billclass.role": "RESELLER"})  # after BEGIN: sent at once
                now = (
                    await conn.execute(text("select current_setting('billclass.role', true)"))
                ).scalar_one()
            return leaked or "", now
        finally:
            await engine.dispose()

    leaked, now = asyncio.run(scenario())
    assert leaked == "" and now == "RESELLER"


@pytest.mark.parametrize(
    "values",
    [{"billclass.role": "x'; reset all; --"}, {"search_path": "public"}, {"billclass.role": "a b"}],
)
def test_only_plain_values_are_inlined(values: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        set_local_statements(values)
