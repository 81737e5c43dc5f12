"""The ``billclass`` command, run as an operator runs it: a separate process configured
by the environment, on a temporary SQLite file."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db import migrate
from db.models import token_table
from db.settings import Settings, environment_variables, get_settings, markdown_table
from gql import cli
from gql.schema import sdl
from tenancy import customers, demo, tokens
from tenancy.ids import to_global_id
from tenancy.inputs import CustomerType
from tenancy.policy import IMPLICIT_LIFETIME
from tenancy.principal import CLI
from tests.api.test_rate_limits import REDIS_URL, redis_running
from tests.databases import POSTGRES, Databases
from tests.support.cli import run_as_cli

REPOSITORY = Path(__file__).resolve().parents[1]
TIMEOUT = 60
T = TypeVar("T")


def _env(database_url: str) -> dict[str, str]:
    # The database's kind stays (BILLCLASS_CITUS, set by tests/databases.py on Citus).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BILLCLASS_") or k == "BILLCLASS_CITUS"
    }
    env["BILLCLASS_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    # Whether or not the project is pip-installed, this checkout is what runs.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def billclass(
    database_url: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "gql.cli", *args],
        env={**_env(database_url), **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


class Run(Protocol):
    def __call__(
        self,
        database_url: str,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Run]:
    """``billclass`` run in this process (so that coverage sees it), configured and
    answering as the command does: the environment, the working directory, stdout,
    stderr and the exit status. Log records go to pytest, not to stderr."""
    root = logging.getLogger()
    level = root.level

    def run(
        database_url: str,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        for name in list(os.environ):
            if name.startswith("BILLCLASS_") and name != "BILLCLASS_CITUS":
                monkeypatch.delenv(name)
        for name, value in {"BILLCLASS_DATABASE_URL": database_url, **(env or {})}.items():
            monkeypatch.setenv(name, value)
        if cwd is not None:
            monkeypatch.chdir(cwd)
        get_settings.cache_clear()
        capsys.readouterr()
        try:
            cli.main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        finally:
            get_settings.cache_clear()
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)

    yield run
    get_settings.cache_clear()
    root.setLevel(level)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'billclass.db'}"


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("billclass:")]


def _run_async(database_url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    return run_as_cli(Settings(database_url=database_url), work)


def _utc(value: datetime) -> datetime:
    """A stored time in UTC (SQLite returns it naive)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _token_row(database_url: str, secret: str) -> Any:
    async def work(conn: Any) -> Any:
        return await tokens.find_by_secret(conn, secret)

    return _run_async(database_url, work)


# --------------------------------------------------------------------------- commands


def test_migrate(db_url: str, tmp_path: Path) -> None:
    result = billclass(db_url, "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _no_traceback(result)
    assert result.stdout == ""
    assert "latest migration" in result.stderr
    assert (tmp_path / "billclass.db").exists()
    assert _token_row(db_url, "bc_x") is None  # the schema is there


def test_token_create_prints_only_the_secret(db_url: str, tmp_path: Path) -> None:
    result = billclass(db_url, "token", "create", "--name", "x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _no_traceback(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    (secret,) = lines
    assert result.stdout == secret + "\n"
    # The administrator's tenant (0), a dot, 256 random bits (tenancy/tokens.py).
    assert re.fullmatch(r"bc_0\.[A-Za-z0-9_-]{43}", secret), secret
    row = _token_row(db_url, secret)
    assert (row.name, row.role, row.tenant_id) == ("x", "ADMINISTRATOR", None)
    assert row.expires_at is None and row.revoked_at is None
    # The secret itself is never stored.
    assert row.token_hash == tokens.hash_secret(secret) != secret

    # A second token of the same name is refused: a message, exit code 1, no secret.
    again = billclass(db_url, "token", "create", "--name", "X", cwd=tmp_path)
    assert again.returncode == 1
    _no_traceback(again)
    assert again.stdout == ""
    assert _error_lines(again.stderr) == [
        "billclass: TAKEN name: This owner already has a token with this name."
    ]


def _create_customer(database_url: str, name: str, customer_type: CustomerType) -> str:
    async def work(conn: Any) -> str:
        row = await customers.create_customer(
            conn,
            principal=CLI,
            data={"name": name, "customerType": customer_type, "currencyCode": "USD"},
        )
        return to_global_id("Customer", row.id)

    return _run_async(database_url, work)


def test_token_create_for_a_reseller(db_url: str, tmp_path: Path, in_process: Run) -> None:
    migrate.upgrade(db_url)
    reseller = _create_customer(db_url, "Reseller R", "RESELLER")
    retail = _create_customer(db_url, "Retail C", "RETAIL")

    result = in_process(
        db_url,
        "token",
        "create",
        "--name",
        "r",
        "--reseller",
        reseller,
        "--expires-at",
        "2099-01-31T00:00:00Z",
        cwd=tmp_path,
    )
    # The API's rule: a reseller's token expires within 90 days; one line, nothing made.
    assert result.returncode == 1
    _no_traceback(result)
    assert result.stdout == ""
    (line,) = _error_lines(result.stderr)
    assert line.startswith("billclass: OUT_OF_RANGE expiresAt: expiresAt may not be later than")
    assert line.endswith("(reseller tokens expire within 90 days).")

    in_30_days = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    result = in_process(
        db_url,
        "token",
        "create",
        "--name",
        "r",
        "--reseller",
        reseller,
        "--expires-at",
        in_30_days.isoformat(),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (secret,) = result.stdout.splitlines()
    assert secret.startswith("bc_")
    row = _token_row(db_url, secret)
    assert row.role == "RESELLER"
    assert to_global_id("Customer", row.tenant_id) == reseller
    assert _utc(row.expires_at) == in_30_days

    # Without --expires-at: 90 days, as the API's implicit lifetime (policy).
    before = datetime.now(UTC)
    result = in_process(
        db_url, "token", "create", "--name", "r90", "--reseller", reseller, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    row = _token_row(db_url, result.stdout.strip())
    assert (
        before + IMPLICIT_LIFETIME <= _utc(row.expires_at) <= datetime.now(UTC) + IMPLICIT_LIFETIME
    )

    # A RETAIL customer cannot have tokens: a message, exit code 1, no secret.
    refused = in_process(
        db_url, "token", "create", "--name", "bad", "--reseller", retail, cwd=tmp_path
    )
    assert refused.returncode == 1
    _no_traceback(refused)
    assert refused.stdout == ""
    (line,) = _error_lines(refused.stderr)
    assert line.startswith("billclass: INVALID resellerId: "), line

    # Nothing was created by the refusals.
    async def count(conn: Any) -> int:
        found: int = (
            await conn.execute(sa.select(sa.func.count()).select_from(token_table))
        ).scalar_one()
        return found

    assert _run_async(db_url, count) == 2


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("mysql://x", ("migrate",)),
        ("mysql://x", ("token", "create", "--name", "x")),
        ("mysql://x", ("serve", "--demo")),
        ("", ("migrate",)),
        ("postgresql+psycopg2://u@x/db", ("migrate",)),
    ],
    ids=["migrate", "token-create", "serve", "empty", "sync-driver"],
)
def test_a_bad_database_url_is_one_clear_line(
    url: str, args: tuple[str, ...], tmp_path: Path
) -> None:
    result = billclass(url, *args, cwd=tmp_path)
    assert result.returncode == 2
    _no_traceback(result)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("billclass: error: invalid configuration: BILLCLASS_DATABASE_URL")
    assert "sqlite+aiosqlite://" in lines[0] and "postgresql+asyncpg://" in lines[0]
    assert not list(tmp_path.iterdir()), "nothing may be created"


@pytest.mark.parametrize(
    "migration_url",
    [
        "sqlite+aiosqlite:///./other.db",
        "postgresql+asyncpg://owner@127.0.0.1/billclass",
        "mysql://owner@x/billclass",
    ],
    ids=["other-file", "other-kind", "unsupported"],
)
def test_a_migration_url_of_another_database_is_one_clear_line(
    migration_url: str, db_url: str, tmp_path: Path
) -> None:
    """SPEC §7: the migration URL is the same database as another role; migrating one
    database while serving another is refused before either is touched."""
    env = {"BILLCLASS_MIGRATION_DATABASE_URL": migration_url}
    result = billclass(db_url, "migrate", cwd=tmp_path, env=env)
    assert result.returncode == 2
    _no_traceback(result)
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "billclass: error: invalid configuration: BILLCLASS_MIGRATION_DATABASE_URL"
    ), line
    assert not list(tmp_path.iterdir()), "nothing may be created"


def test_migrate_with_a_migration_url_on_sqlite(db_url: str, tmp_path: Path) -> None:
    """SQLite has no roles: the same file under the migration URL simply migrates it."""
    env = {"BILLCLASS_MIGRATION_DATABASE_URL": db_url}
    result = billclass(db_url, "migrate", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert _token_row(db_url, "bc_x") is None  # the schema is there


def test_a_sqlite_file_in_a_missing_directory_is_one_clear_line(tmp_path: Path) -> None:
    # Checked before connecting: aiosqlite could otherwise print a worker thread's
    # traceback after the error (omnilib/aiosqlite#241).
    missing = tmp_path / "no-such-dir" / "x.db"
    for args in (("token", "create", "--name", "x"), ("serve",)):
        result = billclass(f"sqlite+aiosqlite:///{missing}", *args, cwd=tmp_path)
        assert result.returncode == 2
        _no_traceback(result)
        assert result.stderr.splitlines() == [
            f"billclass: error: cannot migrate the database at sqlite+aiosqlite:///{missing}:"
            f" directory {missing.parent} does not exist"
        ]
    # A relative path is relative to the working directory.
    result = billclass("sqlite+aiosqlite:///./nested/x.db", "migrate", cwd=tmp_path)
    assert result.stderr.splitlines() == [
        "billclass: error: cannot migrate the database at sqlite+aiosqlite:///./nested/x.db:"
        f" directory {tmp_path / 'nested'} does not exist"
    ]
    assert not missing.parent.exists()


def test_an_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody:secret-password@127.0.0.1:1/x"
    result = billclass(url, "migrate", cwd=tmp_path)
    assert result.returncode == 2
    _no_traceback(result)
    (line,) = _error_lines(result.stderr)
    assert line.startswith(
        "billclass: error: cannot migrate the database at postgresql+asyncpg://nobody:***@"
    )
    assert "secret-password" not in result.stderr


def test_export_schema_prints_the_sdl(tmp_path: Path) -> None:
    # Needs no database at all, not even a valid URL.
    result = billclass("mysql://x", "export-schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == sdl()
    assert "type Query {" in result.stdout
    assert "type Mutation {" in result.stdout
    assert result.stdout == (REPOSITORY / "gql" / "schema.graphql").read_text()


def test_usage_errors_exit_2(tmp_path: Path, db_url: str) -> None:
    for args in ((), ("frobnicate",), ("token",), ("token", "create")):
        result = billclass(db_url, *args, cwd=tmp_path)
        assert result.returncode == 2, args
        _no_traceback(result)
        assert "usage: billclass" in result.stderr


# --------------------------------------------------------------------------- serve


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data)  # noqa: S310 - http://127.0.0.1 only
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_serve_demo(db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    stderr = (tmp_path / "serve.stderr").open("w")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gql.cli", "serve", "--demo", "--port", str(port)],
        env=_env(db_url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    printed: list[str] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            printed.append(line.rstrip("\n"))

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = _request(f"{base}/healthz") == (200, {"status": "ok"})
            except (urllib.error.URLError, ConnectionError):
                healthy = False
            if healthy:
                break
            time.sleep(0.05)
        assert healthy, (
            f"not serving; exit {process.poll()}: {(tmp_path / 'serve.stderr').read_text()}"
        )

        tokens_printed = {
            match[1]: match[2]
            for line in printed
            if (match := re.fullmatch(r"\s+(ADMINISTRATOR|RESELLER)[^:]*: (bc_\S+)", line))
        }
        assert set(tokens_printed) == {"ADMINISTRATOR", "RESELLER"}, printed
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in printed

        query = {"query": "{ viewer { role reseller { name } } }"}
        status, body = _request(f"{base}/graphql", query, tokens_printed["ADMINISTRATOR"])
        assert (status, body["data"]) == (
            200,
            {"viewer": {"role": "ADMINISTRATOR", "reseller": None}},
        )
        assert body["extensions"]["cost"]["requestedQueryCost"] == 1
        status, body = _request(f"{base}/graphql", query, tokens_printed["RESELLER"])
        assert (status, body["data"]) == (
            200,
            {"viewer": {"role": "RESELLER", "reseller": {"name": "Skyline Telecom"}}},
        )
        status, body = _request(f"{base}/graphql", query)
        assert status == 401
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        status, body = _request(f"{base}/graphql", query, "bc_not-a-real-token")
        assert status == 401
        status, body = _request(f"{base}/readyz")
        assert (status, body["status"]) == (200, "ready")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
        stderr.close()
    assert process.returncode in (0, -15), process.returncode
    assert "Traceback" not in (tmp_path / "serve.stderr").read_text()


@pytest.mark.slow
def test_serve_demo_twice_creates_fresh_tokens_only(db_url: str, tmp_path: Path) -> None:
    """A second ``--demo`` on the same database keeps the data and prints new tokens."""

    migrate.upgrade(db_url)
    earlier = _run_async(db_url, demo.seed)

    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gql.cli", "serve", "--demo", "--port", str(port)],
        env=_env(db_url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("GraphiQL:"):
                break
        assert any("ADMINISTRATOR: bc_" in line for line in lines), lines
    finally:
        process.terminate()
        try:
            _out, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _out, err = process.communicate()
    assert "Demo data already present; earlier demo tokens revoked" in err
    assert "Traceback" not in err
    for secret in earlier.values():
        assert _token_row(db_url, secret).revoked_at is not None


def test_serve_with_a_busy_metrics_port_stops_with_one_line(db_url: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        port = _free_port()
        result = billclass(
            db_url, "serve", "--port", str(port), "--metrics-port", str(taken), cwd=tmp_path
        )
    assert result.returncode == 2
    _no_traceback(result)
    assert _error_lines(result.stderr) == [
        f"billclass: error: cannot serve metrics on 127.0.0.1:{taken}: Address already in use"
    ]


def test_in_memory_sqlite_is_refused_with_one_line() -> None:
    from db.settings import Settings

    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        with pytest.raises(ValueError, match="in-memory databases are not supported"):
            Settings(database_url=url)


# --------------------------------------------------------------------------- help


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command's parser, by its full name ("" for the root)."""
    found = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for path, deeper in _commands(sub).items():
                    found[f"{name} {path}".strip()] = deeper
    return found


def test_every_command_and_option_has_help_with_its_default() -> None:
    commands = _commands(cli.parser())
    assert set(commands) >= {
        "",
        "serve",
        "migrate",
        "check",
        "token",
        "token create",
        "token list",
        "token revoke",
        "export-schema",
    }
    for name, parser in commands.items():
        assert parser.description, f"{name!r} has no description"
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(choice.help for choice in action._choices_actions), name
                continue
            assert action.help, f"{name} {action.dest} has no help"
            if action.option_strings and not action.required and action.dest != "help":
                if action.dest == "version":
                    continue
                assert "(default: " in " ".join(text.split()), (name, action.dest)
    serve_help = " ".join(commands["serve"].format_help().split())
    for shown in ("--host HOST address to listen on (default: 127.0.0.1)", "(default: 8000)"):
        assert shown in serve_help


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"billclass {importlib.metadata.version('billclass')}\n"


def test_the_help_lists_every_environment_variable() -> None:
    text = cli.parser().format_help()
    words = " ".join(text.split())
    for variable in environment_variables():
        assert f"\n  {variable.name}\n" in text, variable.name
        assert f"(default: {variable.default}" in words, variable.name
        assert " ".join(variable.description.split()[:5]) in words, variable.name


def test_the_readme_configuration_table_is_the_settings() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    assert markdown_table() in readme, (
        "README.md's configuration table differs from db/settings.py:"
        " paste the output of `python -m db.settings`"
    )


# --------------------------------------------------------------------------- tokens


def test_token_list_and_revoke(db_url: str, tmp_path: Path, in_process: Run) -> None:
    migrate.upgrade(db_url)
    reseller = _create_customer(db_url, "Reseller R", "RESELLER")
    admin = in_process(db_url, "token", "create", "--name", "ops", cwd=tmp_path).stdout.strip()
    mine = in_process(
        db_url, "token", "create", "--name", "shop", "--reseller", reseller, cwd=tmp_path
    ).stdout.strip()

    listed = in_process(db_url, "token", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    _no_traceback(listed)
    header, *lines = listed.stdout.splitlines()
    assert header.split() == [
        "ID", "NAME", "ROLE", "RESELLER", "CREATED", "EXPIRES", "LAST", "USED", "REVOKED"
    ]  # fmt: skip
    rows = {line.split()[1]: line.split() for line in lines}
    assert set(rows) == {"ops", "shop"}
    assert rows["ops"][2:4] == ["ADMINISTRATOR", "-"]
    assert rows["ops"][5:] == ["-", "-", "-"]  # no expiry, never used, not revoked
    assert rows["shop"][2:4] == ["RESELLER", reseller]
    assert rows["shop"][5] != "-"
    for secret in (admin, mine):
        assert secret not in listed.stdout
        assert tokens.hash_secret(secret) not in listed.stdout

    token_id = rows["shop"][0]
    revoked = in_process(db_url, "token", "revoke", token_id, cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == ""
    assert f"Token {token_id} (shop) revoked at " in revoked.stderr
    assert _token_row(db_url, mine).revoked_at is not None
    assert _token_row(db_url, admin).revoked_at is None
    after = in_process(db_url, "token", "list", cwd=tmp_path).stdout.splitlines()
    (shop,) = [line.split() for line in after if line.split()[1] == "shop"]
    assert shop[-1] != "-"

    for unknown in ("QXBpVG9rZW46MQ", "not-an-id", rows["ops"][0].swapcase()):
        refused = in_process(db_url, "token", "revoke", unknown, cwd=tmp_path)
        assert refused.returncode == 1
        _no_traceback(refused)
        assert _error_lines(refused.stderr) == [
            "billclass: NOT_FOUND id: No API token has this ID."
        ]


# --------------------------------------------------------------------------- demo


def test_demo_is_idempotent_and_its_tokens_expire(db_url: str) -> None:
    migrate.upgrade(db_url)
    first, seeded = _run_async(db_url, demo.prepare)
    assert seeded
    second, seeded_again = _run_async(db_url, demo.prepare)
    assert not seeded_again
    assert set(first) == set(second) == {"ADMINISTRATOR", "RESELLER (Skyline Telecom)"}
    for role in first:
        old, new = _token_row(db_url, first[role]), _token_row(db_url, second[role])
        assert old.revoked_at is not None, role
        assert new.revoked_at is None, role
        assert new.expires_at is not None, role
        lifetime = _utc(new.expires_at) - _utc(new.created_at)
        assert abs(lifetime - demo.DEMO_TOKEN_LIFETIME) < timedelta(minutes=1)

    # Restarts never pile up unrevoked tokens (20 per reseller, SPEC §7).
    for _ in range(25):
        _run_async(db_url, demo.prepare)

    async def unrevoked(conn: Any) -> int:
        found = await tokens.list_tokens(conn, CLI, include_revoked=False)
        return len(found)

    assert _run_async(db_url, unrevoked) == 2


def test_serve_on_a_taken_port_mints_nothing(db_url: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = billclass(db_url, "serve", "--demo", "--port", str(taken), cwd=tmp_path)
    assert result.returncode == 2
    _no_traceback(result)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"billclass: error: cannot listen on 127.0.0.1:{taken}: Address already in use"
    ]
    assert not list(tmp_path.iterdir()), "nothing may be created (no database, no token)"


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "args", [("migrate",), ("serve", "--demo"), ("token", "create", "--name", "x")]
)
def test_a_bad_log_level_stops_every_command_before_anything(
    args: tuple[str, ...], db_url: str, tmp_path: Path
) -> None:
    result = billclass(db_url, *args, cwd=tmp_path, env={"BILLCLASS_LOG_LEVEL": "LOUD"})
    assert result.returncode == 2
    _no_traceback(result)
    assert result.stderr.splitlines() == [
        "billclass: error: invalid configuration: BILLCLASS_LOG_LEVEL must be one of DEBUG,"
        " INFO, WARNING, ERROR, CRITICAL (any case), got 'LOUD'"
    ]
    assert not list(tmp_path.iterdir()), "nothing may be created"


def test_the_usual_url_forms_work(tmp_path: Path) -> None:
    result = billclass("sqlite:///./plain.db", "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plain.db").exists()


SECRET = "Zx9-secret-password"


@pytest.mark.parametrize(
    ("url", "args"),
    [
        (f"mysql://root:{SECRET}@db/billclass", ("migrate",)),
        (f"postgres://root:{SECRET}@127.0.0.1:1/billclass", ("migrate",)),
        (f"postgres://root:{SECRET}@127.0.0.1:1/billclass", ("check",)),
        (f"postgres://root:{SECRET}@127.0.0.1:notaport/billclass", ("check",)),
        (f"mysql://root:{SECRET}@db/billclass", ("serve",)),
    ],
)
def test_a_password_is_never_shown(url: str, args: tuple[str, ...], tmp_path: Path) -> None:
    result = billclass(url, *args, cwd=tmp_path)
    assert result.returncode != 0
    _no_traceback(result)
    assert SECRET not in result.stdout + result.stderr
    assert "root:***@" in result.stdout + result.stderr


# --------------------------------------------------------------------------- check


CHECKS = ("configuration", "database", "migrations", "role")


def _check_lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    _no_traceback(result)
    found = {}
    for line in result.stdout.splitlines():
        status, name = line.split(maxsplit=2)[:2]
        assert status in ("ok", "FAIL"), line
        found[name.rstrip(":")] = status
    return found


def test_check_reports_each_check(db_url: str, tmp_path: Path, in_process: Run) -> None:
    fresh = in_process(db_url, "check", cwd=tmp_path)
    assert fresh.returncode == 1
    assert _check_lines(fresh) == {
        "configuration": "ok",
        "database": "FAIL",
        "migrations": "FAIL",
        "role": "FAIL",
    }
    assert not (tmp_path / "billclass.db").exists(), "check creates nothing"

    migrate.upgrade(db_url)
    ok = in_process(db_url, "check", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    assert _check_lines(ok) == dict.fromkeys(
        ("configuration", "database", "migrations", "role"), "ok"
    )

    no_redis = in_process(
        db_url, "check", cwd=tmp_path, env={"BILLCLASS_REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert no_redis.returncode == 1
    assert _check_lines(no_redis)["redis"] == "FAIL"

    bad = in_process(db_url, "check", cwd=tmp_path, env={"BILLCLASS_POOL_SIZE": "0"})
    assert bad.returncode == 1
    (line,) = bad.stdout.splitlines()
    assert line.startswith("FAIL configuration: invalid configuration: BILLCLASS_POOL_SIZE ")


def test_check_a_database_behind_head(db_url: str, tmp_path: Path, in_process: Run) -> None:
    from alembic import command

    command.upgrade(migrate.alembic_config(db_url), "0001")
    result = in_process(db_url, "check", cwd=tmp_path)
    assert result.returncode == 1
    assert _check_lines(result)["migrations"] == "FAIL"
    assert (
        f"FAIL migrations: the database is at revision 0001, this version needs"
        f" {migrate.head_revision()} (billclass migrate)"
    ) in result.stdout.splitlines()


def test_check_the_service_role(database_url: str, tmp_path: Path, in_process: Run) -> None:
    """On both databases: the test suite's service role passes; on PostgreSQL the table
    owner fails the role check (SPEC §7) and the rest still passes."""
    env = {"PGPASSWORD": os.environ.get("PGPASSWORD", "")}
    result = in_process(database_url, "check", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout
    assert set(_check_lines(result).values()) == {"ok"}
    if POSTGRES:
        owner = in_process(Databases.owner_url(database_url), "check", cwd=tmp_path, env=env)
        assert owner.returncode == 1
        assert _check_lines(owner) == {
            "configuration": "ok",
            "database": "ok",
            "migrations": "ok",
            "role": "FAIL",
        }
        assert "owner of tables" in owner.stdout


def test_check_redis_when_configured(database_url: str, tmp_path: Path, in_process: Run) -> None:
    if not redis_running():
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    result = in_process(database_url, "check", cwd=tmp_path, env={"BILLCLASS_REDIS_URL": REDIS_URL})
    assert _check_lines(result)["redis"] == "ok", result.stdout
    assert result.returncode == 0


def test_uvicorn_log_lines_mask_passwords() -> None:
    """The server's own log lines (uvicorn's formatter, in every worker) mask URLs too."""
    from gql.log_format import MaskingUvicornFormatter, uvicorn_log_config

    config = uvicorn_log_config()
    assert config["formatters"]["default"]["()"] == "gql.log_format.MaskingUvicornFormatter"
    formatter = MaskingUvicornFormatter("%(levelprefix)s %(message)s", use_colors=False)
    record = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "lost %s", (f"redis://:{SECRET}@r/0",), None
    )
    line = formatter.format(record)
    assert SECRET not in line and "redis://:***@r/0" in line


def test_serve_demo_twice_in_process(
    db_url: str, tmp_path: Path, in_process: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve up to the server's start (uvicorn.run recorded, not run): the demo's tokens
    are printed, the earlier run's revoked; the log level and the masking log
    configuration reach uvicorn."""
    import uvicorn

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **kwargs: started.append(kwargs))
    port = str(_free_port())
    printed = []
    for _ in range(2):
        result = in_process(
            db_url, "serve", "--demo", "--port", port, env={"BILLCLASS_LOG_LEVEL": "warning"}
        )
        assert result.returncode == 0, result.stderr
        printed.append(
            {
                match[1]: match[2]
                for line in result.stdout.splitlines()
                if (match := re.fullmatch(r"\s+(ADMINISTRATOR|RESELLER)[^:]*: (bc_\S+)", line))
            }
        )
    assert "earlier demo tokens revoked" in result.stderr
    assert "valid 30 days" in result.stdout
    first, second = printed
    assert set(first) == set(second) == {"ADMINISTRATOR", "RESELLER"}
    for role in first:
        assert _token_row(db_url, first[role]).revoked_at is not None
        assert _token_row(db_url, second[role]).revoked_at is None
    assert [run["port"] for run in started] == [int(port)] * 2
    assert started[0]["log_level"] == "warning"
    assert "MaskingUvicornFormatter" in str(started[0]["log_config"])
