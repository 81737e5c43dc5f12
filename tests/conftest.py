"""Fixtures: a fresh migrated database per test, the app over HTTP, and a small world of
one administrator and two resellers (A and B) to test every operation from both sides."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.settings import Settings
from gql.admission import DEFAULT_PARSE_SHARE
from gql.app import create_app
from tenancy import tokens
from tenancy.inputs import CreateApiToken
from tenancy.principal import CLI
from tests.api_client import Api, World
from tests.databases import CITUS, POSTGRES, Databases
from tests.support.cli import run_as_cli
from tests.support.sql import recording

# No background webhook dispatcher in the apps tests make (in process or as servers):
# the webhook tests start theirs explicitly (BILLCLASS_WEBHOOK_DISPATCH=1).
os.environ.setdefault("BILLCLASS_WEBHOOK_DISPATCH", "0")


def pytest_report_header() -> str:
    kind = "Citus" if CITUS else "PostgreSQL" if POSTGRES else "SQLite"
    return f"billclass test database: {kind}"


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # A test marked not_on_citus says why it is skipped there (README, "Citus in CI").
    if report.skipped and not (CITUS and "not on Citus:" in str(report.longrepr)):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # On PostgreSQL (and Citus) nothing may be skipped: CI relies on this run to prove RLS.
    if POSTGRES and _skipped and exitstatus == 0:
        kind = "Citus" if CITUS else "PostgreSQL"
        print(f"\nFAIL: {len(_skipped)} tests skipped on {kind}: {_skipped[:5]}")
        session.exitstatus = 1
    # pytest-xdist: a worker sends this to the controller (pytest_testnodedown).
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["citus_costs"] = _citus_costs


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(tmp_path_factory.mktemp("databases"))
    yield found
    found.close()
    if CITUS:
        citus = found.citus
        _citus_costs.append((citus.resets, citus.reset_seconds, len(citus.made)))


# Citus: (resets, their seconds, databases migrated) per test process, for the summary.
_citus_costs: list[tuple[int, float, int]] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: a worker's Citus costs, sent in its workeroutput."""
    _citus_costs.extend(tuple(cost) for cost in node.workeroutput.get("citus_costs", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    resets = sum(cost[0] for cost in _citus_costs)
    if resets:
        seconds = sum(cost[1] for cost in _citus_costs)
        terminalreporter.write_line(
            f"Citus: {resets} resets of the test databases, {seconds:.1f} s"
            f" ({1000 * seconds / resets:.0f} ms each),"
            f" {sum(cost[2] for cost in _citus_costs)} databases migrated"
        )


@pytest.fixture
def database_url(databases: Databases) -> Iterator[str]:
    with databases.fresh() as url:
        yield url


def _parse_share_under_test() -> float:
    """The service's parse pacing share, scaled when coverage traces this process.

    Pacing is by the CPU time a parse takes (gql/admission.py), and coverage's tracer
    makes graphql-core's parsing and validation about 5 times slower (an every-tab
    document: 20 ms -> 100 ms), so its pauses would grow 5-fold and ordinary sequences of
    new documents be refused. Under coverage the share is 0.5 (pause = t instead of 9t):
    the same wall-clock pacing as untraced. Tests of the pacing itself set their own.
    """
    import coverage

    return 0.5 if coverage.Coverage.current() is not None else DEFAULT_PARSE_SHARE


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, parse_share=_parse_share_under_test())


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def cli_token(settings: Settings, name: str = "root", expiresAt: str | None = None) -> str:
    """A token made the way the first administrator token is: by the command line."""
    data: CreateApiToken = {"name": name, "role": "ADMINISTRATOR"}
    if expiresAt is not None:
        data["expiresAt"] = expiresAt

    async def create(conn: AsyncConnection) -> str:
        _row, secret = await tokens.create_api_token(conn, principal=CLI, data=data)
        return secret

    return run_as_cli(settings, create)


@pytest.fixture
def admin_token(settings: Settings) -> str:
    return cli_token(settings)


@pytest.fixture
def api(client: TestClient, admin_token: str) -> Api:
    return Api(client, admin_token)


@pytest.fixture
def sql_statements(app: Starlette) -> Iterator[list[str]]:
    """Every SQL statement the app runs, in order (clear it before the request to count)."""
    with recording(app) as statements:
        yield statements


@pytest.fixture
def world(api: Api) -> World:
    return api.world()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres") and not POSTGRES:
            item.add_marker(
                pytest.mark.skip(reason="needs BILLCLASS_TEST_DATABASE=postgresql or citus")
            )
        marker = item.get_closest_marker("not_on_citus")
        if marker and CITUS:
            item.add_marker(pytest.mark.skip(reason=f"not on Citus: {marker.args[0]}"))
    # Citus-only tests are deselected elsewhere rather than skipped: the PostgreSQL run
    # fails on any skipped test (pytest_sessionfinish).
    if not CITUS:
        deselected = [item for item in items if item.get_closest_marker("citus")]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if not item.get_closest_marker("citus")]


__all__ = ["Path"]
