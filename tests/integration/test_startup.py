"""Start-up refuses a PostgreSQL role that row-level security cannot hold (SPEC §7): a
superuser or BYPASSRLS role (not subject to it) or a table owner (who could switch it
off), unless BILLCLASS_ALLOW_UNSAFE_ROLE=1, which starts with a loud warning."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from db.roles import UnsafeRole
from db.settings import Settings
from gql.app import create_app
from tests.databases import OWNER_ROLE, Databases


def _asyncpg_url(dsn: str) -> str:
    return make_url(dsn).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def _superuser(statement: str, url: str) -> None:
    async def main() -> None:
        conn = await asyncpg.connect(Databases.superuser_dsn(url))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(main())


@pytest.fixture
def temporary_role(settings: Settings) -> Iterator[str]:
    role = f"bc_test_role_{uuid.uuid4().hex[:8]}"
    yield role
    _superuser(f"DROP ROLE IF EXISTS {role}", settings.database_url)


def _start(url: str, caplog: pytest.LogCaptureFixture, **settings: Any) -> list[str]:
    """Start the app (its lifespan) and stop it; the billclass log records meanwhile."""
    app = create_app(Settings(database_url=url, **settings))
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="billclass"), TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    return [
        f"{record.levelname} {record.getMessage()}"
        for record in caplog.records
        if record.name.startswith("billclass") and record.levelno >= logging.WARNING
    ]


def _refused(url: str, caplog: pytest.LogCaptureFixture) -> str:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="billclass"), pytest.raises(UnsafeRole) as error:
        _start(url, caplog)
    message = str(error.value)
    assert message.startswith("refusing to start: PostgreSQL role "), message
    assert "BILLCLASS_ALLOW_UNSAFE_ROLE=1" in message
    assert "\n" not in message
    # Said once, as the reason the service does not start.
    logged = [r for r in caplog.records if r.name == "billclass" and r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in logged] == [message]
    return message


@pytest.mark.postgres
def test_refuses_a_superuser(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    url = _asyncpg_url(Databases.superuser_dsn(settings.database_url))
    message = _refused(url, caplog)
    assert f"role {make_url(url).username!r} is a superuser" in message


@pytest.mark.postgres
def test_refuses_a_bypassrls_role(
    settings: Settings, temporary_role: str, caplog: pytest.LogCaptureFixture
) -> None:
    _superuser(f"CREATE ROLE {temporary_role} LOGIN NOSUPERUSER BYPASSRLS", settings.database_url)
    message = _refused(_as_role(settings.database_url, temporary_role), caplog)
    assert f"role {temporary_role!r} is a BYPASSRLS role" in message


@pytest.mark.postgres
def test_refuses_the_table_owner(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    message = _refused(Databases.owner_url(settings.database_url), caplog)
    assert f"role {OWNER_ROLE!r} is the owner of tables alembic_version, api_token," in message
    assert "switch row-level security off" in message


@pytest.mark.postgres
def test_refuses_a_member_of_the_owner_role(
    settings: Settings, temporary_role: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A member may SET ROLE to the owner: it can do whatever the owner can."""
    _superuser(
        f"CREATE ROLE {temporary_role} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE {OWNER_ROLE}",
        settings.database_url,
    )
    message = _refused(_as_role(settings.database_url, temporary_role), caplog)
    assert "is the owner of tables" in message


@pytest.mark.postgres
def test_the_override_starts_with_a_loud_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = _asyncpg_url(Databases.superuser_dsn(settings.database_url))
    (line,) = _start(url, caplog, allow_unsafe_role=True)
    assert line.startswith("WARNING !!! SECURITY: PostgreSQL role "), line
    assert "is a superuser" in line
    assert "tenant isolation rests on the application alone" in line


@pytest.mark.postgres
def test_the_override_is_read_from_the_environment(
    settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLCLASS_ALLOW_UNSAFE_ROLE", "1")
    assert Settings(database_url=settings.database_url).allow_unsafe_role is True
    monkeypatch.setenv("BILLCLASS_ALLOW_UNSAFE_ROLE", "0")
    assert Settings(database_url=settings.database_url).allow_unsafe_role is False


def test_starts_silently_as_the_service_role(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The role every other test uses (on SQLite: no roles, nothing to say)."""
    assert _start(settings.database_url, caplog) == []
