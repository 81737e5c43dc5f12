"""Rate limits (SPEC §7): a leaky bucket per token and one per tenant, charged the
requested cost on admission and refunded down to the actual cost; refused requests get
429 THROTTLED with Retry-After and execute nothing. Every behaviour is checked on both
bucket stores: in process (the default) and Redis (BILLCLASS_REDIS_URL)."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from db.currencies import CURRENCIES
from db.settings import Settings
from gql.rate_limits import Bucket, LocalBuckets, RateLimiter, RedisBuckets
from tenancy.principal import Principal, Role
from tests.api.protection_support import app_with, top_error
from tests.api_client import Api, World
from tests.support.sql import recording

REDIS_URL = "redis://127.0.0.1:6379/0"
# Costs as much as it returns: nothing is refunded, so buckets drain predictably.
CURRENCY_LIST = "{ currencies { code } }"
PRICE = len(CURRENCIES)


def redis_running() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def forget_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    if not redis_running():
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    prefix = f"billclass-test:{uuid.uuid4().hex}:"
    yield prefix
    forget_keys(prefix)


@pytest.fixture(params=["in-process", "redis"])
def store(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings selecting the bucket store under test."""
    if request.param == "in-process":
        return {}
    prefix = request.getfixturevalue("redis_prefix")
    return {"redis_url": REDIS_URL, "redis_key_prefix": prefix}


def cost(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = response.json()["extensions"]["cost"]
    return found


def status(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = cost(response)["throttleStatus"]
    return found


def admitted(api: Api, token: str, query: str = CURRENCY_LIST) -> Any:
    response = api.post(query, token=token)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response


def throttled(api: Api, token: str, query: str = CURRENCY_LIST) -> Any:
    response = api.post(query, token=token)
    error = top_error(response, 429)
    assert error["extensions"]["code"] == "THROTTLED", error
    return response


# --------------------------------------------------------------------------- defaults


def test_every_response_carries_its_cost_and_the_token_bucket(
    settings: Settings, admin_token: str, store: dict[str, Any]
) -> None:
    with app_with(settings, admin_token, **store) as api:
        token = api.create_token(name="fresh", role="ADMINISTRATOR")
        response = admitted(api, token, "{ viewer { role } }")
        assert cost(response)["requestedQueryCost"] == 1
        assert cost(response)["actualQueryCost"] == 1
        # The defaults: 10,000 points restored at 1,000 a second.
        assert status(response)["maximumAvailable"] == 10_000
        assert status(response)["restoreRate"] == 1_000
        assert 9_999 <= status(response)["currentlyAvailable"] <= 10_000
        # Errors too, as far as the request got a cost.
        response = api.post(
            'mutation { revokeApiToken(input: {id: "x"}) { userErrors { code } } }', token=token
        )
        assert cost(response)["requestedQueryCost"] == 10
        assert cost(response)["actualQueryCost"] == 10
        refused = api.post(
            "{ customerClasses(first: 100) { nodes { customers(first: 100) { nodes { id } } } } }",
            token=token,
        )
        assert top_error(refused)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert cost(refused)["requestedQueryCost"] == 10_100
        assert cost(refused)["actualQueryCost"] == 0
        assert status(refused)["maximumAvailable"] == 10_000
        # No cost yet: a document that does not parse.
        assert "extensions" not in api.post("{", token=token).json()


# --------------------------------------------------------------------------- refund


def test_the_difference_to_the_actual_cost_is_refunded(
    settings: Settings, admin_token: str, store: dict[str, Any], world: World
) -> None:
    # Restored at 1 point a second: what the bucket holds is what was not charged.
    with app_with(
        settings, admin_token, rate_token_restore=1, rate_tenant_bucket=0, **store
    ) as api:
        query = "{ customerClasses(first: 100) { nodes { customFields { id } } } }"
        first = admitted(api, world.a.token, query)
        assert cost(first)["requestedQueryCost"] == 100 + 100 * 50
        assert cost(first)["actualQueryCost"] == 3  # Default, the shared class and A's
        assert status(first)["currentlyAvailable"] >= 10_000 - 3
        # Without the refund only 4,900 points would be left for the next 5,100.
        for _ in range(3):
            assert cost(admitted(api, world.a.token, query))["actualQueryCost"] == 3
        assert status(admitted(api, world.a.token, query))["currentlyAvailable"] >= 10_000 - 15


# --------------------------------------------------------------------------- refused


def test_a_refused_request_gets_429_retry_after_and_runs_nothing(
    settings: Settings, admin_token: str, store: dict[str, Any], world: World
) -> None:
    size = 2 * PRICE + PRICE // 2
    with app_with(
        settings,
        admin_token,
        rate_token_bucket=size,
        rate_token_restore=1,
        rate_tenant_bucket=0,
        **store,
    ) as api:
        token = world.a.token
        admitted(api, token)
        admitted(api, token)
        # Two updates requesting 60 points each (10 + 50 custom fields at most).
        mutation = (
            "mutation($id: ID!) {"
            ' a: updateCustomerClass(input: {id: $id, description: "x"})'
            " { customerClass { customFields { id } } }"
            ' b: updateCustomerClass(input: {id: $id, description: "y"})'
            " { customerClass { customFields { id } } } }"
        )
        with recording(api.app) as statements:
            response = throttled(api, token)
            refused_mutation = api.post(mutation, {"id": world.a.class_id}, token)
        assert statements == []  # the token is cached; nothing reached the database
        error = top_error(refused_mutation, 429)
        assert error["extensions"]["code"] == "THROTTLED"
        assert cost(refused_mutation)["requestedQueryCost"] == 120
        left = status(response)["currentlyAvailable"]
        assert left < PRICE
        assert response.headers["Retry-After"] == str(PRICE - left)  # 1 point a second
        assert cost(response) == {
            "requestedQueryCost": PRICE,
            "actualQueryCost": 0,
            "throttleStatus": {
                "maximumAvailable": size,
                "currentlyAvailable": left,
                "restoreRate": 1,
            },
        }
        assert "retry in" in top_error(response, 429)["message"]
    state = api.data(
        "query($id: ID!) { customerClass(id: $id) { description version } }",
        {"id": world.a.class_id},
        world.a.token,
    )
    assert state == {"customerClass": {"description": None, "version": 1}}


def test_a_cost_beyond_the_bucket_can_never_run(
    settings: Settings, admin_token: str, store: dict[str, Any]
) -> None:
    with app_with(settings, admin_token, rate_token_bucket=500, **store) as api:
        api.data("{ viewer { role } }")
        with recording(api.app) as statements:
            response = api.post("{ customerClasses(first: 10) { nodes { customFields { id } } } }")
        error = top_error(response)
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "510" in error["message"] and "500" in error["message"]
        assert cost(response)["requestedQueryCost"] == 510
        assert statements == []


# --------------------------------------------------------------------------- tenants


def test_a_resellers_tokens_share_its_tenant_bucket(
    settings: Settings, admin_token: str, store: dict[str, Any], world: World
) -> None:
    with app_with(
        settings,
        admin_token,
        rate_token_bucket=10 * PRICE,
        rate_token_restore=1,
        rate_tenant_bucket=2 * PRICE + PRICE // 2,
        rate_tenant_restore=1,
        **store,
    ) as api:
        second = api.reseller_token(world.a.id, "second")
        first = admitted(api, world.a.token)
        # The tenant bucket is the tighter one: its figures are shown.
        assert status(first)["maximumAvailable"] == 2 * PRICE + PRICE // 2
        admitted(api, second)
        throttled(api, world.a.token)
        refused = throttled(api, second)
        assert status(refused)["maximumAvailable"] == 2 * PRICE + PRICE // 2
        # Another reseller is not affected.
        response = admitted(api, world.b.token)
        assert status(response)["currentlyAvailable"] >= PRICE + PRICE // 2


def test_administrator_tokens_each_count_alone(
    settings: Settings, admin_token: str, store: dict[str, Any]
) -> None:
    with app_with(
        settings,
        admin_token,
        rate_token_bucket=10 * PRICE,
        rate_token_restore=1,
        rate_tenant_bucket=2 * PRICE + PRICE // 2,
        rate_tenant_restore=1,
        **store,
    ) as api:
        other = api.create_token(name="other", role="ADMINISTRATOR")
        admitted(api, api.admin_token)
        admitted(api, api.admin_token)
        throttled(api, api.admin_token)
        admitted(api, other)
        admitted(api, other)
        throttled(api, other)


# --------------------------------------------------------------------------- settings


def test_zero_turns_limiting_off(
    settings: Settings, admin_token: str, store: dict[str, Any]
) -> None:
    # A size of 0 or a restore rate of 0 turns its bucket off.
    with app_with(
        settings,
        admin_token,
        rate_token_bucket=PRICE,
        rate_token_restore=0,
        rate_tenant_bucket=0,
        rate_tenant_restore=1,
        **store,
    ) as api:
        for _ in range(4):
            response = admitted(api, api.admin_token)
            assert cost(response) == {
                "requestedQueryCost": PRICE,
                "actualQueryCost": PRICE,
                "throttleStatus": None,
            }
    # Only the tenant bucket on: it alone limits, and it is shown.
    with app_with(
        settings,
        admin_token,
        rate_token_bucket=0,
        rate_tenant_bucket=PRICE + PRICE // 2,
        rate_tenant_restore=1,
        **store,
    ) as api:
        assert status(admitted(api, api.admin_token))["maximumAvailable"] == PRICE + PRICE // 2
        throttled(api, api.admin_token)


# --------------------------------------------------------------------------- Redis down


def test_redis_down_fails_open(
    settings: Settings, admin_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        caplog.at_level(logging.WARNING, logger="billclass.rate_limits"),
        app_with(
            settings,
            admin_token,
            redis_url=f"redis://127.0.0.1:{port}/0",
            rate_token_bucket=PRICE,
            rate_token_restore=1,
        ) as api,
    ):
        for _ in range(3):  # would be refused from the second on
            response = admitted(api, api.admin_token)
            assert cost(response)["throttleStatus"] is None
    warnings = [r for r in caplog.records if r.name == "billclass.rate_limits"]
    assert len(warnings) == 1, warnings  # once, then Redis is left alone for a while
    assert "Redis unavailable" in warnings[0].getMessage()


def test_a_silent_redis_never_stalls_requests(settings: Settings, admin_token: str) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        with app_with(settings, admin_token, redis_url=f"redis://127.0.0.1:{port}/0") as api:
            started = time.monotonic()
            for _ in range(5):
                assert cost(admitted(api, api.admin_token))["throttleStatus"] is None
            # The issue demands a short timeout: generous bound, 0.2 s per call is used.
            assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- the stores


ADMIN = Principal(role=Role.ADMINISTRATOR, reseller_id=None, token_id=7, token_name="t")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_in_process_buckets_restore_at_their_rate() -> None:
    clock = Clock()
    token, tenant = Bucket(400, 10), Bucket(0, 0)
    limiter = RateLimiter(token, tenant, LocalBuckets(token, tenant, clock))

    async def scenario() -> None:
        assert (await limiter.admit(ADMIN, 157)).admitted
        assert (await limiter.admit(ADMIN, 157)).admitted
        refused = await limiter.admit(ADMIN, 157)  # 86 left: 71 short at 10 a second
        assert not refused.admitted
        assert refused.retry_after == math.ceil(71 / 10) == 8
        assert refused.status is not None and refused.status.currently_available == 86
        clock.now += 7.0
        assert not (await limiter.admit(ADMIN, 157)).admitted  # 156
        clock.now += 0.1
        admission = await limiter.admit(ADMIN, 157)  # 157
        assert admission.admitted
        status = await limiter.settle(admission, 7)  # 150 refunded
        assert status is not None and status.currently_available == 150
        clock.now += 3600
        status = await limiter.status(ADMIN)
        assert status is not None and status.currently_available == 400  # never above size

    asyncio.run(scenario())


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    clock = Clock()
    token, tenant = Bucket(400, 1_000), Bucket(1_000, 1)
    limiter = RateLimiter(token, tenant, LocalBuckets(token, tenant, clock))

    async def scenario() -> None:
        assert (await limiter.admit(ADMIN, 400)).admitted  # token 0, tenant 600
        clock.now += 0.3999  # token 399.9: short by a tenth of a point
        refused = await limiter.admit(ADMIN, 400)
        assert not refused.admitted and refused.retry_after == 1
        clock.now += 1
        assert (await limiter.admit(ADMIN, 400)).admitted  # token 0, tenant 201.4
        clock.now += 1
        refused = await limiter.admit(ADMIN, 400)  # the token is full, the tenant not
        assert not refused.admitted
        assert refused.retry_after == 198  # 197.6 points at 1 a second
        # The tenant bucket is the tighter one: its figures are shown.
        assert refused.status is not None
        assert refused.status.as_json() == {
            "maximumAvailable": 1_000,
            "currentlyAvailable": 202,
            "restoreRate": 1,
        }

    asyncio.run(scenario())


def test_redis_buckets_update_both_in_one_script(redis_prefix: str) -> None:
    token, tenant = Bucket(1_000, 1), Bucket(400, 1)
    store = RedisBuckets(REDIS_URL, token, tenant, prefix=redis_prefix)
    limiter = RateLimiter(token, tenant, store)
    reseller = Principal(role=Role.RESELLER, reseller_id=42, token_id=8, token_name="a")
    sibling = Principal(role=Role.RESELLER, reseller_id=42, token_id=9, token_name="b")

    async def scenario() -> None:
        try:
            first = await limiter.admit(reseller, 300)
            assert first.admitted
            refused = await limiter.admit(sibling, 300)  # the tenant holds ~100
            assert not refused.admitted
            assert 199 <= refused.retry_after <= 201
            # Refused: nothing taken from the sibling's own token bucket either.
            levels = await store.update("token:9", "reseller:42", 0, conditional=True)
            assert levels.token == 1_000
            assert levels.tenant is not None and levels.tenant < 110
            await limiter.settle(first, 1)  # 299 back to both of the first token's buckets
            assert (await limiter.admit(sibling, 300)).admitted
        finally:
            await store.close()

    asyncio.run(scenario())
