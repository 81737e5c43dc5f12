"""What a 503 SERVICE_UNAVAILABLE logs (issue 9: "a stalled PostgreSQL connection is
logged only as TimeoutError"): the log line says what stalled (a connect, with the
server's host:port/database and never its credentials; a lock wait; a statement
timeout; a pool slot) and for how long, while the client's answer stays the same 503.
"""

from __future__ import annotations

import asyncio
import logging
import re

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from db.engine import make_engine
from db.settings import Settings
from gql.admission import GatedEngine, NoConnection
from gql.app import create_app
from gql.errors import unavailable_reason
from tenancy.ids import decode
from tests.api_client import Api
from tests.conftest import cli_token
from tests.databases import POSTGRES
from tests.reliability.faults import closed_port, holding_class_lock, silent_listener

SOME_TOKEN = "bc_" + "A" * 43
PASSWORD = "s3cret-pw-77"
UPDATE = (
    "mutation Update($input: UpdateCustomerClassInput!) {"
    " updateCustomerClass(input: $input) { userErrors { code } } }"
)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _assert_unavailable(response: httpx.Response) -> None:
    """The answer is the one it always was."""
    assert response.status_code == 503, response.text
    [error] = response.json()["errors"]
    assert error["message"] == "The database is unavailable; retry shortly."
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}


def _ask(client: TestClient) -> httpx.Response:
    return client.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers={"Authorization": f"Bearer {SOME_TOKEN}"},
    )


def test_a_hanging_database_is_logged_as_a_connect_timeout_saying_where_and_how_long(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with silent_listener() as port:
        url = f"postgresql+asyncpg://nobody:{PASSWORD}@127.0.0.1:{port}/nothing"
        settings = Settings(database_url=url, connect_timeout_seconds=0.5)
        with TestClient(create_app(settings)) as client:
            caplog.clear()
            caplog.set_level(logging.WARNING)
            response = _ask(client)
    _assert_unavailable(response)
    [line] = _warnings(caplog)
    assert re.fullmatch(
        rf"request \S+: database unavailable: connecting to PostgreSQL at 127\.0\.0\.1:{port}"
        r"/nothing timed out after 0\.\d s \(BILLCLASS_CONNECT_TIMEOUT_SECONDS=0\.5\)",
        line,
    ), line
    assert response.headers["x-request-id"] in line
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in everything and "nobody" not in everything


def test_a_refused_connect_is_logged_with_where_and_why(caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    url = f"postgresql+asyncpg://nobody:{PASSWORD}@127.0.0.1:{port}/nothing"
    with TestClient(create_app(Settings(database_url=url))) as client:
        caplog.clear()
        caplog.set_level(logging.WARNING)
        response = _ask(client)
    _assert_unavailable(response)
    [line] = _warnings(caplog)
    assert f"connecting to PostgreSQL at 127.0.0.1:{port}/nothing failed after 0.0 s: " in line
    assert "Connect" in line or "refused" in line, line
    assert PASSWORD not in line and "nobody" not in line


def test_a_start_up_that_cannot_reach_the_database_says_where(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = closed_port()
    url = f"postgresql+asyncpg://nobody:{PASSWORD}@127.0.0.1:{port}/nothing"
    caplog.set_level(logging.WARNING)
    with TestClient(create_app(Settings(database_url=url))):
        pass
    [line] = _warnings(caplog)
    assert line.startswith(
        "could not check the database role at start-up: connecting to PostgreSQL at"
        f" 127.0.0.1:{port}/nothing failed"
    ), line


def test_a_lock_wait_is_logged_with_its_bound_and_statement(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=database_url, lock_timeout_seconds=1)
    token = cli_token(settings)
    with TestClient(create_app(settings)) as client:
        api = Api(client, token)
        class_id = api.create_class(name="Locked", currencyCode="EUR")
        key = decode(class_id, "CustomerClass")
        assert key is not None
        with holding_class_lock(database_url, key):
            caplog.clear()
            caplog.set_level(logging.WARNING)
            response = api.post(UPDATE, {"input": {"id": class_id, "description": "waits"}})
    _assert_unavailable(response)
    [line] = _warnings(caplog)
    if POSTGRES:
        expected = "lock wait: no lock within lock_timeout 1 s (BILLCLASS_LOCK_TIMEOUT_SECONDS)"
    else:
        expected = "lock wait: SQLite database locked for 1 s (BILLCLASS_LOCK_TIMEOUT_SECONDS)"
    assert f"database unavailable: {expected} in: " in line, line
    assert "waits" not in line  # the statement, never its values


@pytest.mark.postgres
def test_a_statement_timeout_is_described_with_its_bound(database_url: str) -> None:
    settings = Settings(database_url=database_url, statement_timeout_seconds=0.5)

    async def run() -> BaseException:
        engine = make_engine(settings=settings)
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("select pg_sleep(5)"))
        except Exception as error:
            return error
        finally:
            await engine.dispose()
        raise AssertionError("pg_sleep(5) outlived a 0.5 s statement timeout")

    assert unavailable_reason(asyncio.run(run())) == (
        "statement timeout: ran past statement_timeout 0.5 s"
        " (BILLCLASS_STATEMENT_TIMEOUT_SECONDS) in: select pg_sleep(5)"
    )


def test_a_busy_pool_is_described_as_a_pool_slot(database_url: str) -> None:
    settings = Settings(database_url=database_url)

    async def run() -> BaseException:
        engine = make_engine(settings=settings)
        gated = GatedEngine(engine, capacity=1, wait_seconds=0.05)
        try:
            async with gated.connect(), gated.connect():
                pass
        except NoConnection as error:
            return error
        finally:
            await engine.dispose()
        raise AssertionError("a second connection from a gate of one")

    assert unavailable_reason(asyncio.run(run())) == (
        "pool slot: all 1 database connections of this worker stayed busy for 1 s"
    )


def test_anything_else_is_its_type_and_first_line() -> None:
    assert unavailable_reason(RuntimeError("first\nsecond")) == "RuntimeError: first"
    assert unavailable_reason(TimeoutError()) == "TimeoutError"
