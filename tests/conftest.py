"""Fixtures: a fresh migrated database per test, the app over HTTP, and a small world of
one administrator and two resellers (A and B) to test every operation from both sides."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from db.engine import make_engine
from db.settings import Settings
from gql.app import create_app
from tenancy import tokens
from tenancy.principal import CLI
from tenancy.scoping import enter_tenant
from tests.api_client import Api
from tests.databases import POSTGRES, Databases


def pytest_report_header() -> str:
    return f"billclass test database: {'PostgreSQL' if POSTGRES else 'SQLite'}"


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # On PostgreSQL nothing may be skipped: CI relies on this run to prove RLS and co.
    if POSTGRES and _skipped and exitstatus == 0:
        print(f"\nFAIL: {len(_skipped)} tests skipped on PostgreSQL: {_skipped[:5]}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(tmp_path_factory.mktemp("databases"))
    yield found
    found.close()


@pytest.fixture
def database_url(databases: Databases) -> Iterator[str]:
    with databases.fresh() as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def app(settings: Settings) -> Any:
    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def cli_token(settings: Settings, name: str = "root", **data: Any) -> str:
    """A token made the way the first administrator token is: by the command line."""

    async def create() -> str:
        engine = make_engine(settings=settings)
        try:
            async with engine.connect() as conn, conn.begin():
                await enter_tenant(conn, CLI)
                _row, secret = await tokens.create_api_token(
                    conn, principal=CLI, data={"name": name, "role": "ADMINISTRATOR", **data}
                )
                return secret
        finally:
            await engine.dispose()

    return asyncio.run(create())


@pytest.fixture
def admin_token(settings: Settings) -> str:
    return cli_token(settings)


@pytest.fixture
def api(client: TestClient, admin_token: str) -> Api:
    return Api(client, admin_token)


@pytest.fixture
def sql_statements(app: Any) -> Iterator[list[str]]:
    """Every SQL statement the app runs, in order (clear it before the request to count)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    for engine in app.state.engines:
        event.listen(engine, "before_cursor_execute", record)
    yield statements
    for engine in app.state.engines:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def world(api: Api) -> Any:
    return api.world()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres") and not POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs BILLCLASS_TEST_DATABASE=postgresql"))


__all__ = ["Path"]
