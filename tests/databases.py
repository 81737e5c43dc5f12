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

``BILLCLASS_TEST_DATABASE=citus`` runs it on a Citus cluster (issue 13; ``make citus``
starts one): ``BILLCLASS_TEST_CITUS_URL`` (default the superuser on the coordinator,
127.0.0.1:9700/postgres, or the port ``BILLCLASS_CITUS_PORT``), whose ``pg_dist_node``
names the workers. Citus refuses
``CREATE DATABASE ... TEMPLATE``, so each test process makes its own database on every
node (``CREATE EXTENSION citus``, the coordinator and workers registered, 4 shards),
migrates it once with ``BILLCLASS_CITUS=1`` (the tables distributed), records the rows the
migrations seed, and between tests empties every table and puts those rows back. A test
that needs a second database at once (a module's server beside the test's own) gets
another one, made the same way and reset the same way. ``POSTGRES`` is true on Citus too
(it is PostgreSQL: roles, row-level security); ``CITUS`` only there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from db import migrate

KIND = os.environ.get("BILLCLASS_TEST_DATABASE", "sqlite").lower()
if KIND not in ("sqlite", "postgresql", "citus"):
    raise RuntimeError("BILLCLASS_TEST_DATABASE must be sqlite, postgresql or citus")
# PostgreSQL or Citus (which is PostgreSQL: roles, row-level security, asyncpg).
POSTGRES = KIND in ("postgresql", "citus")
CITUS = KIND == "citus"
if CITUS:
    # The coordinator of .ci/citus-cluster (its port: BILLCLASS_CITUS_PORT, default 9700).
    SUPERUSER_URL = os.environ.get(
        "BILLCLASS_TEST_CITUS_URL",
        "postgresql+asyncpg://postgres@127.0.0.1:"
        f"{os.environ.get('BILLCLASS_CITUS_PORT', '9700')}/postgres",
    )
    # billclass migrate/serve/check, in this process and the ones tests start, distribute.
    os.environ["BILLCLASS_CITUS"] = "1"
else:
    SUPERUSER_URL = os.environ.get(
        "BILLCLASS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
# Shards per distributed table in the test databases: few, so that truncation is cheap.
CITUS_SHARD_COUNT = 4
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


async def _ensure_roles(dsn: str | None = None) -> None:
    conn = await asyncpg.connect(dsn or _dsn(SUPERUSER_URL))
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
        if CITUS:
            self.citus = CitusDatabases(self.prefix)
        elif POSTGRES:
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
        if CITUS:
            with self.citus.fresh() as url:
                yield url
        elif POSTGRES:
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
    def single_node(self) -> Iterator[str]:
        """A fresh migrated database of one PostgreSQL server: on Citus, a plain database
        on the coordinator (no citus extension, migrated without BILLCLASS_CITUS), for the
        tests of the migration chain itself (downgrades, data rewritten at a revision),
        which a distributed database cannot undo; elsewhere, ``fresh()``. Callers on
        Citus also set BILLCLASS_CITUS=0 for what they run on it."""
        if not CITUS:
            with self.fresh() as url:
                yield url
            return
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
        try:
            migrate.upgrade(
                _role_url(name, OWNER_ROLE), service_url=_role_url(name, SERVICE_ROLE), citus=False
            )
            yield _role_url(name, SERVICE_ROLE)
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    @contextmanager
    def empty(self) -> Iterator[str]:
        """A database without any migration, owned by the owner role (PostgreSQL only;
        on Citus, with the extension and the nodes registered): the service role's URL."""
        assert POSTGRES
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        if CITUS:
            asyncio.run(self.citus.create(name))
        else:
            asyncio.run(_admin(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
        try:
            yield _role_url(name, SERVICE_ROLE)
        finally:
            if CITUS:
                asyncio.run(self.citus.drop(name))
            else:
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if CITUS:
            self.citus.close()
        elif POSTGRES:
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


class _Migrated:
    """One migrated Citus database and the rows its migrations seeded."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Every table but alembic_version, each before the tables it refers to.
        self.tables: list[str] = []
        # table -> (columns, rows, digest) as the migrations left them
        self.seeded: dict[str, tuple[list[str], list[asyncpg.Record], str]] = {}


def _digests(tables: Sequence[str]) -> str:
    """One row: a digest of each table's whole content, in order."""
    return "select " + ", ".join(
        f"(select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t)"
        for table in tables
    )


def _referencing_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """``tables`` ordered so that a table comes before the tables it refers to."""
    order: list[str] = []
    remaining = set(tables)
    while remaining:
        ready = sorted(
            table
            for table in remaining
            if not any(
                dst == table and src in remaining and src != table for src, dst in references
            )
        ) or sorted(remaining)
        order += ready
        remaining -= set(ready)
    return order


class CitusDatabases:
    """The Citus side of :class:`Databases`: migrated databases reused between tests,
    reset between them (Citus refuses ``CREATE DATABASE ... TEMPLATE``).

    ``fresh()`` hands out a free database (migrating a new one when all are in use, as when
    a module's server holds one while a test takes its own) and resets it on return, as
    the superuser (no row-level security) in one transaction: every table the migrations
    left empty is emptied, and a seeded table (currencies, the Default class) whose content
    changed is emptied and its seeded rows are copied back. ``DELETE`` rather than
    ``TRUNCATE``: on Citus a TRUNCATE of the tables takes about a second (locks, new files
    on every shard, two-phase commit), the DELETEs of a test's few rows some 30 ms.
    ``reset_seconds`` adds up the time resets took (printed at the end of the session)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.free: list[_Migrated] = []
        self.made: list[str] = []
        self.reset_seconds = 0.0
        self.resets = 0
        self.coordinator = make_url(SUPERUSER_URL)
        self.workers = asyncio.run(self._workers())
        for node in self.nodes():
            asyncio.run(_ensure_roles(node))

    async def _workers(self) -> list[tuple[str, int]]:
        conn = await asyncpg.connect(_dsn(SUPERUSER_URL))
        try:
            rows = await conn.fetch(
                "select nodename, nodeport from pg_dist_node"
                " where groupid <> 0 and noderole = 'primary' order by nodeport"
            )
        except asyncpg.UndefinedTableError:
            raise RuntimeError(
                f"{SUPERUSER_URL} has no citus extension: start the cluster (make citus)"
            ) from None
        finally:
            await conn.close()
        if not rows:
            raise RuntimeError(f"no Citus workers registered at {SUPERUSER_URL} (make citus)")
        return [(row["nodename"], row["nodeport"]) for row in rows]

    def nodes(self, database: str | None = None) -> list[str]:
        """Superuser DSNs of the coordinator and every worker (their postgres database,
        or ``database``)."""
        base = self.coordinator
        urls = [base] + [base.set(host=host, port=port) for host, port in self.workers]
        return [_dsn(url.render_as_string(hide_password=False), database) for url in urls]

    async def create(self, name: str) -> None:
        """An empty database ``name`` owned by the owner role on every node, with the
        citus extension, the coordinator and the workers registered, and few shards."""
        self.made.append(name)
        for node in self.nodes():
            conn = await asyncpg.connect(node)
            try:
                await conn.execute(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
                await conn.execute(
                    f'ALTER DATABASE "{name}" SET citus.shard_count = {CITUS_SHARD_COUNT}'
                )
            finally:
                await conn.close()
        for node in self.nodes(name):
            conn = await asyncpg.connect(node)
            try:
                await conn.execute("CREATE EXTENSION citus")
            finally:
                await conn.close()
        conn = await asyncpg.connect(self.nodes(name)[0])
        try:
            await conn.execute(
                "select citus_set_coordinator_host($1, $2)",
                self.coordinator.host or "127.0.0.1",
                self.coordinator.port or 5432,
            )
            for host, port in self.workers:
                await conn.execute("select citus_add_node($1, $2)", host, port)
        finally:
            await conn.close()

    async def drop(self, name: str) -> None:
        for node in reversed(self.nodes()):
            conn = await asyncpg.connect(node)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

    def _migrated(self) -> _Migrated:
        name = f"{self.prefix}_{len(self.made)}"
        asyncio.run(self.create(name))
        migrate.upgrade(
            _role_url(name, OWNER_ROLE), service_url=_role_url(name, SERVICE_ROLE), citus=True
        )
        database = _Migrated(name)
        asyncio.run(self._snapshot(database))
        return database

    async def _snapshot(self, database: _Migrated) -> None:
        conn = await asyncpg.connect(self.nodes(database.name)[0])
        try:
            tables = list(
                await conn.fetchval(
                    "select array_agg(quote_ident(relname)) from pg_class c"
                    " join pg_namespace n on n.oid = c.relnamespace"
                    " where n.nspname = 'public' and c.relkind in ('r', 'p')"
                    " and relname <> 'alembic_version'"
                )
            )
            references = [
                (row[0], row[1])
                for row in await conn.fetch(
                    "select conrelid::regclass::text, confrelid::regclass::text"
                    " from pg_constraint where contype = 'f'"
                )
            ]
            database.tables = _referencing_first(tables, references)
            for table in database.tables:
                rows = await conn.fetch(f"select * from {table}")
                if rows:
                    database.seeded[table] = (list(rows[0].keys()), rows, "")
            seeded = list(database.seeded)
            if seeded:
                digests = await conn.fetchrow(_digests(seeded))
                for table, digest in zip(seeded, digests, strict=True):
                    columns, rows, _ = database.seeded[table]
                    database.seeded[table] = (columns, rows, digest)
        finally:
            await conn.close()

    async def _reset(self, database: _Migrated) -> None:
        conn = await asyncpg.connect(self.nodes(database.name)[0])
        try:
            seeded = list(database.seeded)
            digests = await conn.fetchrow(_digests(seeded)) if seeded else []
            changed = {
                table
                for table, digest in zip(seeded, digests, strict=True)
                if digest != database.seeded[table][2]
            }
            emptied = [t for t in database.tables if t not in database.seeded or t in changed]
            async with conn.transaction():
                # One connection per worker: reference tables (with foreign keys to them)
                # are written in the same transaction as distributed ones.
                await conn.execute(
                    "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'; "
                    + "; ".join(f"DELETE FROM {table}" for table in emptied)
                )
                for table in reversed(database.tables):
                    if table in changed:
                        columns, rows, _ = database.seeded[table]
                        await conn.copy_records_to_table(
                            table.strip('"'), records=_tuples(rows), columns=columns
                        )
        finally:
            await conn.close()

    @contextmanager
    def fresh(self) -> Iterator[str]:
        database = self.free.pop() if self.free else self._migrated()
        try:
            yield _role_url(database.name, SERVICE_ROLE)
        finally:
            started = time.perf_counter()
            asyncio.run(self._reset(database))
            self.reset_seconds += time.perf_counter() - started
            self.resets += 1
            self.free.append(database)

    def close(self) -> None:
        for name in self.made:
            with contextlib.suppress(Exception):
                asyncio.run(self.drop(name))


def _tuples(rows: Sequence[asyncpg.Record]) -> list[tuple[object, ...]]:
    return [tuple(row.values()) for row in rows]
