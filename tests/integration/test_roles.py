"""The owner/service role split of SPEC §7 on PostgreSQL: the table owner migrates and
grants; the service role only reads and writes rows, so it can neither switch row-level
security off nor rewrite history. Commands run as an operator runs them (subprocesses)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from db import migrate
from tests.api_client import without_cost
from tests.databases import CITUS, OWNER_ROLE, SERVICE_ROLE, Databases
from tests.test_cli import _env, _error_lines, _free_port, _no_traceback, _request, billclass

pytestmark = pytest.mark.postgres

# What the service role may do on each table (SPEC §7); nothing else, on no table.
EXPECTED_PRIVILEGES = {
    "audit_event": {"SELECT", "INSERT"},
    "alembic_version": {"SELECT"},
    "trusted_document": {"SELECT"},
}
ROW_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE"}
ALL_PRIVILEGES = ROW_PRIVILEGES | {"TRUNCATE", "REFERENCES", "TRIGGER"}


def _pg(dsn: str) -> str:
    return make_url(dsn).set(drivername="postgresql").render_as_string(hide_password=False)


def _fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement as the role of ``url`` (asyncpg, outside the application)."""

    async def main() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(_pg(url))
        try:
            found: list[asyncpg.Record] = await conn.fetch(query, *args)
            return found
        finally:
            await conn.close()

    return asyncio.run(main())


def _superuser(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    return _fetch(Databases.superuser_dsn(url), query, *args)


def _privileges(url: str) -> dict[str, set[str]]:
    """The service role's privileges on every table of the database, read as superuser."""
    rows = _superuser(
        url,
        "select c.relname as table, p.privilege"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " cross join unnest($1::text[]) as p(privilege)"
        " where n.nspname = 'public' and c.relkind = 'r'"
        " and has_table_privilege($2, c.oid, p.privilege)",
        sorted(ALL_PRIVILEGES),
        SERVICE_ROLE,
    )
    found: dict[str, set[str]] = {}
    for row in _superuser(
        url,
        "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind = 'r'",
    ):
        found[row["relname"]] = set()
    for row in rows:
        found[row["table"]].add(row["privilege"])
    return found


def _assert_service_grants(url: str) -> None:
    privileges = _privileges(url)
    assert "customer_class" in privileges and "alembic_version" in privileges
    for table, held in privileges.items():
        assert held == EXPECTED_PRIVILEGES.get(table, ROW_PRIVILEGES), table
    (schema,) = _superuser(
        url,
        "select has_schema_privilege($1, 'public', 'USAGE') as usage,"
        " has_schema_privilege($1, 'public', 'CREATE') as create",
        SERVICE_ROLE,
    )
    assert (schema["usage"], schema["create"]) == (True, False)
    owners = {
        row["tableowner"]
        for row in _superuser(url, "select tableowner from pg_tables where schemaname = 'public'")
    }
    assert owners == {OWNER_ROLE}


# --------------------------------------------------------------------------- the service role


# Each would let the service switch row-level security off, widen it, or rewrite history.
FORBIDDEN = {
    "alter a table": "ALTER TABLE customer_class ADD COLUMN planted text",
    "stop forcing row-level security": "ALTER TABLE audit_event NO FORCE ROW LEVEL SECURITY",
    "disable row-level security": "ALTER TABLE customer DISABLE ROW LEVEL SECURITY",
    "drop a policy": "DROP POLICY customer_class_insert ON customer_class",
    "add a policy": "CREATE POLICY everything ON customer FOR SELECT USING (true)",
    "truncate the audit log": "TRUNCATE audit_event",
    "truncate tokens": "TRUNCATE api_token",
    "update audit events": "UPDATE audit_event SET action = 'X'",
    "delete audit events": "DELETE FROM audit_event",
    "drop a table": "DROP TABLE audit_event",
    "create a table": "CREATE TABLE planted (id int)",
    "rewrite the migration history": "UPDATE alembic_version SET version_num = '0001'",
}


def _attempts(url: str) -> dict[str, str]:
    """Each FORBIDDEN statement in a transaction of its own (rolled back), in an
    administrator context: "ok" or the SQLSTATE of the refusal."""

    async def main() -> dict[str, str]:
        conn = await asyncpg.connect(_pg(url))
        found = {}
        try:
            for name, statement in FORBIDDEN.items():
                transaction = conn.transaction()
                await transaction.start()
                try:
                    await conn.execute("select set_config('billclass.role', 'ADMINISTRATOR', true)")
                    await conn.execute(statement)
                    found[name] = "ok"
                except asyncpg.PostgresError as error:
                    found[name] = error.sqlstate
                finally:
                    await transaction.rollback()
        finally:
            await conn.close()
        return found

    return asyncio.run(main())


def test_the_service_role_can_neither_switch_rls_off_nor_rewrite_history(
    database_url: str,
) -> None:
    assert make_url(database_url).username == SERVICE_ROLE
    # 42501: insufficient privilege ("must be owner", "permission denied").
    assert _attempts(database_url) == dict.fromkeys(FORBIDDEN, "42501")
    # Control: each statement is possible as such; the table owner could run every one.
    assert _attempts(Databases.owner_url(database_url)) == dict.fromkeys(FORBIDDEN, "ok")


def test_the_service_role_holds_exactly_the_service_privileges(database_url: str) -> None:
    """Every test database is a copy of the migrated template: the copy keeps the
    grants the migration gave."""
    _assert_service_grants(database_url)


# --------------------------------------------------------------------------- migrate


@pytest.fixture
def empty_database(databases: Databases) -> Iterator[str]:
    with databases.empty() as url:
        yield url


def test_migrate_with_a_migration_url_grants_the_service_role(
    empty_database: str, tmp_path: Path
) -> None:
    owner = Databases.owner_url(empty_database)
    env = {"BILLCLASS_MIGRATION_DATABASE_URL": owner}
    for _ in range(2):  # the second run finds nothing to migrate and grants the same
        result = billclass(empty_database, "migrate", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        _no_traceback(result)
        _assert_service_grants(empty_database)
    # Default privileges: a table the owner creates later is usable by the service.
    _fetch(owner, "CREATE TABLE added_later (id bigint primary key)")
    assert _privileges(empty_database)["added_later"] == ROW_PRIVILEGES
    # The service works on it: a token created with the service URL (and the owner's URL
    # for its migration step) authenticates.
    result = billclass(empty_database, "token", "create", "--name", "root", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("bc_")


def test_without_a_migration_url_the_service_role_cannot_migrate_in_one_line(
    empty_database: str, tmp_path: Path
) -> None:
    for args in (("migrate",), ("serve", "--port", str(_free_port()))):
        result = billclass(empty_database, *args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        _no_traceback(result)
        assert _error_lines(result.stderr) == [
            f"billclass: error: the database is at revision none, this version needs"
            f" {migrate.head_revision()}, and the role {SERVICE_ROLE!r} of"
            " BILLCLASS_DATABASE_URL may not apply migrations: set"
            " BILLCLASS_MIGRATION_DATABASE_URL to the table owner's URL (README 'PostgreSQL"
            " roles')"
        ], result.stderr
    assert (
        _superuser(
            empty_database, "select count(*) as n from pg_tables where schemaname = 'public'"
        )[0]["n"]
        == 0
    )


def test_serve_with_a_pending_migration_and_no_migration_url_stops(
    databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade of a running deployment: the database is one migration behind (on
    Citus, a single-node database of the coordinator: a distributed one is not undone)."""
    if CITUS:
        monkeypatch.setenv("BILLCLASS_CITUS", "0")
    with databases.single_node() as database_url:
        owner = Databases.owner_url(database_url)
        command.downgrade(migrate.alembic_config(owner), "0001")
        result = billclass(database_url, "serve", "--port", str(_free_port()), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = _error_lines(result.stderr)
    assert line.startswith("billclass: error: the database is at revision 0001, this version")
    assert "BILLCLASS_MIGRATION_DATABASE_URL" in line
    _no_traceback(result)


def test_serve_refuses_the_table_owner_in_one_line(database_url: str, tmp_path: Path) -> None:
    owner = Databases.owner_url(database_url)
    result = billclass(owner, "serve", "--port", str(_free_port()), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = _error_lines(result.stderr)
    assert line.startswith(
        f"billclass: error: refusing to start: PostgreSQL role {OWNER_ROLE!r} is the owner of"
        " tables alembic_version, api_token,"
    ), line
    _no_traceback(result)


@pytest.mark.slow
def test_serve_with_a_migration_url_migrates_then_serves_as_the_service_role(
    empty_database: str, tmp_path: Path
) -> None:
    env = {
        **_env(empty_database),
        "BILLCLASS_MIGRATION_DATABASE_URL": Databases.owner_url(empty_database),
    }
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gql.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = _request(f"{base}/readyz")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert ready == (200, {"status": "ready", "migration": migrate.head_revision()}), (
            tmp_path / "serve.log"
        ).read_text()
        _assert_service_grants(empty_database)
        token = billclass(
            empty_database, "token", "create", "--name", "root", cwd=tmp_path, env=env
        ).stdout.strip()
        query = {"query": "{ viewer { role } customerClasses { totalCount } }"}
        status, body = _request(f"{base}/graphql", query, token)
        assert (status, without_cost(body)) == (
            200,
            {"data": {"viewer": {"role": "ADMINISTRATOR"}, "customerClasses": {"totalCount": 1}}},
        )
        sessions = _superuser(
            empty_database,
            "select distinct usename from pg_stat_activity"
            " where datname = $1 and application_name = 'billclass'",
            make_url(empty_database).database,
        )
        assert {row["usename"] for row in sessions} == {SERVICE_ROLE}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in output
    assert "SECURITY" not in output
