"""Rate-limit buckets in Redis hold across instances (SPEC §7): two servers, each its own
process, on one database and one Redis, drain one token's bucket together; without Redis
each would have admitted the last request on its own."""

from __future__ import annotations

import uuid

import httpx2 as httpx
import pytest

from db.currencies import CURRENCIES
from db.settings import Settings
from tests.api.test_rate_limits import REDIS_URL, forget_keys, redis_running
from tests.conftest import cli_token
from tests.databases import Databases
from tests.reliability.server import running_server

pytestmark = pytest.mark.slow

PRICE = len(CURRENCIES)  # { currencies { code } } costs this, requested and actual


def ask(url: str, token: str) -> httpx.Response:
    return httpx.post(
        url + "/graphql",
        json={"query": "{ currencies { code } }"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_two_instances_share_one_redis_bucket(databases: Databases) -> None:
    if not redis_running():
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    prefix = f"billclass-test:{uuid.uuid4().hex}:"
    env = {
        "BILLCLASS_REDIS_URL": REDIS_URL,
        "BILLCLASS_REDIS_KEY_PREFIX": prefix,
        # Two requests and a half: each instance alone would admit a second one.
        "BILLCLASS_RATE_TOKEN_BUCKET": str(2 * PRICE + PRICE // 2),
        "BILLCLASS_RATE_TOKEN_RESTORE": "1",
        "BILLCLASS_RATE_TENANT_BUCKET": "0",
    }
    try:
        with databases.fresh() as url:
            token = cli_token(Settings(database_url=url))
            with (
                running_server(url, workers=1, env=env) as first,
                running_server(url, workers=1, env=env) as second,
            ):
                assert ask(first.url, token).status_code == 200
                shared = ask(second.url, token)
                assert shared.status_code == 200, shared.text
                # The second instance saw the first one's charge (alone: 2 * PRICE left).
                left = shared.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
                assert left < PRICE
                refused = ask(first.url, token)
                assert refused.status_code == 429, refused.text
                assert refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
                assert int(refused.headers["Retry-After"]) >= PRICE - left - 30
                assert ask(second.url, token).status_code == 429
    finally:
        forget_keys(prefix)
