"""Start-up warns loudly when row-level security cannot apply (SPEC §2: the service
"warns at start-up when it is a superuser or BYPASSRLS role")."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from db.engine import make_engine
from db.settings import Settings
from gql.app import warn_if_rls_is_void
from tests.databases import Databases


def _warnings_for(url: str, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    async def main() -> None:
        engine = make_engine(url)
        try:
            await warn_if_rls_is_void(engine)
        finally:
            await engine.dispose()

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="billclass"):
        asyncio.run(main())
    return [record for record in caplog.records if record.name.startswith("billclass")]


def _asyncpg_url(dsn: str) -> str:
    return make_url(dsn).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@pytest.mark.postgres
def test_warns_when_connected_as_superuser(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = _asyncpg_url(Databases.superuser_dsn(settings.database_url))
    records = _warnings_for(url, caplog)
    assert len(records) == 1
    (record,) = records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "superuser" in message
    assert "row-level security" in message
    assert repr(make_url(url).username) in message


@pytest.mark.postgres
def test_warns_when_connected_as_a_bypassrls_role(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    superuser = Databases.superuser_dsn(settings.database_url)
    role = f"bc_test_bypass_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(superuser)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE ROLE {role} LOGIN NOSUPERUSER BYPASSRLS"))
    try:
        url = make_url(settings.database_url).set(username=role, password=None)
        records = _warnings_for(url.render_as_string(hide_password=False), caplog)
    finally:
        asyncio.run(admin(f"DROP ROLE {role}"))
    assert [record.levelno for record in records] == [logging.WARNING]
    assert "BYPASSRLS" in records[0].getMessage()


def test_logs_nothing_as_the_application_role(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert _warnings_for(settings.database_url, caplog) == []


@pytest.mark.postgres
def test_the_application_warns_on_start_up(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from starlette.testclient import TestClient

    from gql.app import create_app

    url = _asyncpg_url(Databases.superuser_dsn(settings.database_url))
    app = create_app(Settings(database_url=url))
    with caplog.at_level(logging.WARNING, logger="billclass"), TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    assert any(
        "superuser" in record.getMessage() and record.levelno == logging.WARNING
        for record in caplog.records
    )
