"""Test databases: a migrated template per session, a fresh copy per test.

``BILLCLASS_TEST_DATABASE=postgresql`` runs the suite on PostgreSQL
(``BILLCLASS_TEST_POSTGRES_URL``, default the local superuser on 127.0.0.1:5432/test).
The superuser only creates two roles and the databases; as in production (SPEC §7):

- ``OWNER_ROLE`` (NOSUPERUSER NOBYPASSRLS) owns every test database and its tables and
  runs the migrations, which grant the service role its privileges;
- ``SERVICE_ROLE`` (NOSUPERUSER NOBYPASSRLS, owns nothing) is the role the service under
  test connects as, so row-level security is in force in every test and cannot be
  switched off by the service.

A fresh database is a copy of a migrated template: the copy keeps the template's grants
(they live in the copied catalogs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from db import migrate

KIND = os.environ.get("BILLCLASS_TEST_DATABASE", "sqlite").lower()
if KIND not in ("sqlite", "postgresql"):
    raise RuntimeError("BILLCLASS_TEST_DATABASE must be sqlite or postgresql")
POSTGRES = KIND == "postgresql"
SUPERUSER_URL = os.environ.get(
    "BILLCLASS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# New names (round 2): other test runs on this machine may still use the single role
# "billclass_test_app", which owns its databases.
OWNER_ROLE = "billclass_test_owner"
SERVICE_ROLE = "billclass_test_service"


def _dsn(url: str, database: str | None = None, user: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    if user:
        parsed = parsed.set(username=user, password=None)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _role_url(database: str, role: str) -> str:
    parsed = make_url(SUPERUSER_URL).set(database=database, username=role, password=None)
    return parsed.render_as_string(hide_password=False)


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(_dsn(SUPERUSER_URL))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _ensure_roles() -> None:
    conn = await asyncpg.connect(_dsn(SUPERUSER_URL))
    try:
        for role in (OWNER_ROLE, SERVICE_ROLE):
            exists = await conn.fetchval("select 1 from pg_roles where rolname = $1", role)
            if not exists:
                # Another test run may create it meanwhile.
                with contextlib.suppress(
                    asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError
                ):
                    await conn.execute(
                        f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                    )
    finally:
        await conn.close()


class Databases:
    """Hands out fresh, migrated databases (as URLs the service can use)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.prefix = f"bc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_template"
        if POSTGRES:
            asyncio.run(_ensure_roles())
            asyncio.run(_admin(f'CREATE DATABASE "{self.template}" OWNER {OWNER_ROLE}'))
            migrate.upgrade(
                _role_url(self.template, OWNER_ROLE),
                service_url=_role_url(self.template, SERVICE_ROLE),
            )
        else:
            self.template_file = workdir / "template.db"
            migrate.upgrade(f"sqlite+aiosqlite:///{self.template_file}")

    @contextmanager
    def fresh(self) -> Iterator[str]:
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        if POSTGRES:
            asyncio.run(
                _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" OWNER {OWNER_ROLE}')
            )
            try:
                yield _role_url(name, SERVICE_ROLE)
            finally:
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            path = self.workdir / f"{name}.db"
            shutil.copyfile(self.template_file, path)
            yield f"sqlite+aiosqlite:///{path}"

    @contextmanager
    def empty(self) -> Iterator[str]:
        """A database without any migration, owned by the owner role (PostgreSQL only):
        the service role's URL of it."""
        assert POSTGRES
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
        try:
            yield _role_url(name, SERVICE_ROLE)
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if POSTGRES:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))

    @staticmethod
    def owner_url(url: str) -> str:
        """The same database as the owner role (who migrates); SQLite has no roles."""
        if not POSTGRES:
            return url
        return _role_url(make_url(url).database or "", OWNER_ROLE)

    @staticmethod
    def superuser_dsn(url: str) -> str:
        """asyncpg DSN of the same database, as the superuser (for test set-up only)."""
        return _dsn(SUPERUSER_URL, database=make_url(url).database)
