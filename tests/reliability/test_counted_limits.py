"""Counted limits hold under concurrent requests (SPEC §7 "Limits that race", issue 7
item 5): 30 threads released at once against a running server with two workers, on
SQLite and on PostgreSQL. Exactly the limit is reached, never more, and every refused
request is an ordinary OUT_OF_RANGE userError (never a 500 or a 503).

Before the count and the insert were serialised, 30 concurrent createApiToken calls by
one reseller left 25 to 32 unrevoked tokens on PostgreSQL against a limit of 20.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from db.settings import Settings
from tenancy import maxima
from tests.api.maxima_support import (
    CATALOG_LISTS,
    CATALOGS,
    owner_tokens,
    seed_catalog,
    seed_tokens,
)
from tests.api_client import Api
from tests.conftest import cli_token
from tests.databases import Databases
from tests.reliability.server import running_server
from tests.support.concurrent import at_once, mutation_payload

pytestmark = pytest.mark.slow

THREADS = 30
EXPIRY = "2098-01-01T00:00:00Z"
TOKEN = """
mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) { apiToken { id } userErrors { field code } }
}
"""
# The limits under test, not rate limiting or the per-tenant concurrency cap: 30 requests
# of one tenant at once must all reach the database.
UNTHROTTLED = {
    "BILLCLASS_TENANT_CONCURRENCY": "64",
    "BILLCLASS_RATE_TOKEN_BUCKET": "0",
    "BILLCLASS_RATE_TENANT_BUCKET": "0",
}


@pytest.fixture(scope="module")
def live(databases: Databases) -> Iterator[tuple[str, Api, Settings]]:
    """One server (two workers) on one fresh database for the module."""
    with databases.fresh() as database_url:
        settings = Settings(database_url=database_url)
        admin = cli_token(settings)
        with (
            running_server(database_url, workers=2, env=UNTHROTTLED) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            assert len(server.worker_pids()) == 2, server.output()
            yield server.url, Api(http, admin), settings


def _outcome(payloads: list[Any], field: str) -> tuple[int, list[Any]]:
    """(accepted count, the errors of every refused request)."""
    accepted = [p for p in payloads if p[field] is not None]
    assert all(p["userErrors"] == [] for p in accepted), accepted
    refusals = [p["userErrors"] for p in payloads if p[field] is None]
    return len(accepted), refusals


OUT_OF_RANGE = [{"field": ["input"], "code": "OUT_OF_RANGE"}]


def test_unrevoked_reseller_tokens(live: tuple[str, Api, Settings]) -> None:
    url, api, settings = live
    reseller_id = api.create_reseller("Racing tokens")
    token = api.reseller_token(reseller_id, "first")  # 1 of 20

    def work(i: int, client: httpx.Client) -> Any:
        input_ = {"name": f"racer {i}", "role": "RESELLER", "expiresAt": EXPIRY}
        return mutation_payload(client, token, TOKEN, input_)

    accepted, refusals = _outcome(at_once(url, THREADS, work), "apiToken")
    assert accepted == maxima.UNREVOKED_RESELLER_TOKENS - 1
    assert refusals == [OUT_OF_RANGE] * (THREADS - accepted)
    rows = owner_tokens(settings, reseller_id)
    assert len([r for r in rows if r["revoked_at"] is None]) == maxima.UNREVOKED_RESELLER_TOKENS


def test_tokens_per_owner(live: tuple[str, Api, Settings]) -> None:
    """The administrator (not bound by the 20) fills a reseller's list: 10 places left."""
    url, api, settings = live
    reseller_id = api.create_reseller("Full list")
    seed_tokens(settings, reseller_id, maxima.API_TOKENS_PER_OWNER - 10, revoked=False)

    def work(i: int, client: httpx.Client) -> Any:
        input_ = {"name": f"racer {i}", "role": "RESELLER", "resellerId": reseller_id}
        return mutation_payload(client, api.admin_token, TOKEN, input_)

    accepted, refusals = _outcome(at_once(url, THREADS, work), "apiToken")
    assert accepted == 10
    assert refusals == [OUT_OF_RANGE] * (THREADS - 10)
    assert len(owner_tokens(settings, reseller_id)) == maxima.API_TOKENS_PER_OWNER


def test_revoked_tokens_make_room_once_each(live: tuple[str, Api, Settings]) -> None:
    """A reseller at 100 tokens, 99 of them revoked: each creation drops the oldest revoked
    one. Both limits race at once: 19 creations (the 20 unrevoked), 19 tokens dropped."""
    url, api, settings = live
    reseller_id = api.create_reseller("Recycling tokens")
    revoked = seed_tokens(settings, reseller_id, maxima.API_TOKENS_PER_OWNER - 1, revoked=True)
    token = api.reseller_token(reseller_id, "newest")

    def work(i: int, client: httpx.Client) -> Any:
        input_ = {"name": f"racer {i}", "role": "RESELLER", "expiresAt": EXPIRY}
        return mutation_payload(client, token, TOKEN, input_)

    accepted, refusals = _outcome(at_once(url, THREADS, work), "apiToken")
    assert accepted == maxima.UNREVOKED_RESELLER_TOKENS - 1
    assert refusals == [OUT_OF_RANGE] * (THREADS - accepted)
    rows = owner_tokens(settings, reseller_id)
    assert len(rows) == maxima.API_TOKENS_PER_OWNER
    kept = [r["name"] for r in rows if r["revoked_at"] is not None]
    assert kept == revoked[accepted:]  # the oldest went first, each exactly once


@pytest.mark.parametrize("type_name", sorted(CATALOGS))
def test_catalog_sizes(live: tuple[str, Api, Settings], type_name: str) -> None:
    url, api, settings = live
    mutation, input_type, field, valid = CATALOGS[type_name]
    listing = f"{{ {CATALOG_LISTS[type_name]} {{ id }} }}"
    existing = len(api.data(listing)[CATALOG_LISTS[type_name]])
    seed_catalog(settings, type_name, maxima.CATALOG_ENTRIES - 10 - existing)
    query = (
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{"
        f" {field} {{ id }} userErrors {{ field code }} }} }}"
    )

    def work(i: int, client: httpx.Client) -> Any:
        return mutation_payload(client, api.admin_token, query, valid(f"racer-{i}"))

    accepted, refusals = _outcome(at_once(url, THREADS, work), field)
    assert accepted == 10
    assert refusals == [OUT_OF_RANGE] * (THREADS - 10)
    assert len(api.data(listing)[CATALOG_LISTS[type_name]]) == maxima.CATALOG_ENTRIES
