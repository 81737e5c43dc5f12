"""The ``billclass`` command: serve, migrate, check, token create/list/revoke,
documents push/list/remove, classes export/apply, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:  # imported lazily at run time, to keep the CLI quick to start
    from sqlalchemy.ext.asyncio import AsyncEngine

    from db.settings import Settings
    from tenancy.principal import Principal

T = TypeVar("T")


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"billclass: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _settings() -> Settings:
    """The configuration, or one line and exit 2 (before anything else happens); the
    log level it names applies from here on."""
    from db.settings import ConfigurationError, get_settings

    try:
        settings = get_settings()
    except ConfigurationError as error:
        _fail(str(error))
    logging.getLogger().setLevel(settings.log_level)
    return settings


def _migrate(settings: Any, *, distribute_non_empty: bool = False) -> None:
    """Apply pending migrations as the table owner: BILLCLASS_MIGRATION_DATABASE_URL when
    set (granting the role of BILLCLASS_DATABASE_URL the service privileges), else
    BILLCLASS_DATABASE_URL itself (SPEC §7). On Citus (BILLCLASS_CITUS=1) the migrations
    distribute the tables; ``distribute_non_empty``: even tables that hold rows."""
    url = settings.migration_url
    problem = _sqlite_problem(url)
    if problem:
        _fail(f"cannot migrate the database at {_safe(url)}: {problem}")
    from db import migrate

    separate = settings.migration_database_url is not None
    try:
        migrate.upgrade(
            url,
            service_url=settings.database_url if separate else None,
            citus=settings.citus,
            distribute_non_empty=distribute_non_empty,
        )
    except migrate.MigrationRefused as error:
        _fail(f"cannot migrate the database at {_safe(url)}: {error}")  # every line of it
    except Exception as error:
        if not separate and _insufficient_privilege(error):
            _fail(_no_way_to_migrate(url))
        _fail(f"cannot migrate the database at {_safe(url)}: {_reason(error)}")


def _reason(error: BaseException) -> str:
    """The first line of an error, without any password."""
    from db.settings import mask_urls

    text = str(error).strip()
    return mask_urls(text.splitlines()[0]) if text else type(error).__name__


def _insufficient_privilege(error: BaseException) -> bool:
    """PostgreSQL's 42501: the role may not create or alter the schema."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) == "42501"


def _no_way_to_migrate(url: str) -> str:
    from db import migrate, roles

    try:
        where = f"is at revision {migrate.current_revision(url) or 'none'}"
    except Exception:
        where = "is not at the latest revision"
    return (
        f"the database {where}, this version needs {migrate.head_revision()}, and the role"
        f" {roles.role_of(url)!r} of BILLCLASS_DATABASE_URL may not apply migrations: set"
        " BILLCLASS_MIGRATION_DATABASE_URL to the table owner's URL (README 'PostgreSQL"
        " roles')"
    )


def _check_role(settings: Any) -> None:
    """Refuse, in one line, to serve as a role row-level security cannot hold (the app
    checks again at start-up, for those who run uvicorn directly)."""
    from db import roles

    try:
        warning = _service_role_warning(settings)
    except roles.UnsafeRole as error:
        _fail(str(error))
    if warning:
        logging.getLogger("billclass").warning("%s", warning)


def _service_role_warning(settings: Settings) -> str | None:
    """db.roles.check_service_role on a short-lived engine: raises UnsafeRole, or returns
    the warning to log when BILLCLASS_ALLOW_UNSAFE_ROLE lets an unsafe role through."""
    from db import roles

    async def check(engine: AsyncEngine) -> str | None:
        return await roles.check_service_role(engine, allow_unsafe=settings.allow_unsafe_role)

    return _on_engine(settings, check)


def _on_engine(settings: Settings | None, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """``work(engine)`` on an engine of ``settings``' database (the environment's by
    default), disposed of afterwards: each command opens its own, once."""
    from db.engine import make_engine

    async def main() -> T:
        engine = make_engine(settings=settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _sqlite_problem(url: str) -> str | None:
    """Why SQLite cannot create the database file, checked up front: after a failed
    connect, aiosqlite's worker thread can print a traceback once the event loop has
    closed (omnilib/aiosqlite#241), burying the one-line error."""
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url

    if not url.startswith("sqlite"):
        return None
    try:
        database = make_url(url).database
    except Exception:
        return None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    folder = Path(database).absolute().parent
    if not folder.is_dir():
        return f"directory {folder} does not exist"
    if not Path(database).exists() and not os.access(folder, os.W_OK | os.X_OK):
        return f"directory {folder} is not writable"
    return None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from db.settings import masked

    return masked(url)


def as_cli(work: Callable[[Any], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work(conn)`` in one committed transaction, as the administrator "cli" (on
    ``settings``' database; the environment's by default; the tests use it too)."""
    from tenancy.principal import CLI
    from tenancy.scoping import enter_tenant

    async def transaction(engine: AsyncEngine) -> T:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            return await work(conn)

    return _on_engine(settings, transaction)


def _check_executor() -> None:
    """Refuse, in one line, a graphql-core whose executor billclass cannot adjust."""
    from gql.execution import ExecutorMismatch, apply_sibling_fix

    try:
        apply_sibling_fix()
    except ExecutorMismatch as error:
        _fail(str(error))


def _check_port(host: str, port: int) -> None:
    """Refuse, in one line and before anything is changed or minted, a port the server
    could not bind (taken, or a host that is not ours). Bound as uvicorn binds it."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        _fail(f"cannot listen on {host}:{port}: {error.strerror or error}")


def serve(args: argparse.Namespace) -> None:
    _check_executor()
    settings = _settings()
    # Everything that can stop the start-up is checked before the demo mints tokens.
    _check_port(args.host, args.port)
    _migrate(settings)
    _check_role(settings)
    import uvicorn

    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers share their metrics through files (see gql/metrics.py).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="billclass-metrics-")
    if args.metrics_port is not None:
        from gql.metrics import METRICS_HOST, serve_metrics

        try:
            serve_metrics(args.metrics_port)
        except OSError as error:
            _fail(
                f"cannot serve metrics on {METRICS_HOST}:{args.metrics_port}:"
                f" {error.strerror or error}"
            )
    if args.demo:
        _demo(args)
    from gql.log_format import uvicorn_log_config

    uvicorn.run(
        "gql.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        log_config=uvicorn_log_config(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def dispatch(_args: argparse.Namespace) -> None:
    """Run one webhook dispatcher alone, until SIGINT or SIGTERM."""
    settings = _settings()
    _migrate(settings)
    _check_role(settings)
    import signal

    from db.engine import make_engine
    from gql.webhooks.dispatcher import announce, run_alone
    from tenancy import webhooks
    from tenancy.scoping import install_guard

    webhooks.configure(
        allow_insecure=settings.webhook_allow_insecure, secret_key=settings.webhook_secret_key
    )
    announce(settings)

    async def main() -> None:
        engine = make_engine(settings=settings.model_copy(update={"pool_size": 2}))
        install_guard(engine.sync_engine)
        task = asyncio.create_task(run_alone(engine, settings))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            await engine.dispose()

    asyncio.run(main())


def _demo(args: argparse.Namespace) -> None:
    """Seed the demo data once; revoke the demo tokens of earlier runs and print fresh
    ones (tenancy/demo.py)."""
    from tenancy import demo

    secrets, seeded = as_cli(demo.prepare)
    if not seeded:
        print(
            "Demo data already present; earlier demo tokens revoked, fresh ones created.",
            file=sys.stderr,
        )
    print(f"Demo data ready. Tokens (shown once, valid {demo.DEMO_TOKEN_LIFETIME.days} days):")
    for role, secret in secrets.items():
        print(f"  {role}: {secret}")
    print(f"GraphiQL: http://{args.host}:{args.port}/graphql")
    sys.stdout.flush()


def migrate_command(args: argparse.Namespace) -> None:
    settings = _settings()
    _migrate(settings, distribute_non_empty=args.distribute_non_empty)
    print("Database is at the latest migration.", file=sys.stderr)


def _refused(refusal: Any) -> NoReturn:
    """A use-case's refusal: one line per error, exit status 1."""
    for error in refusal.errors:
        where = ".".join((error.field or ())[1:]) or "input"
        print(f"billclass: {error.code.value} {where}: {error.message}", file=sys.stderr)
    raise SystemExit(1)


def token_create(args: argparse.Namespace) -> None:
    settings = _settings()
    _migrate(settings)
    from tenancy import tokens
    from tenancy.errors import Refused
    from tenancy.inputs import CreateApiToken

    data: CreateApiToken = {
        "name": args.name,
        "role": "RESELLER" if args.reseller else "ADMINISTRATOR",
    }
    if args.reseller:
        data["resellerId"] = args.reseller
    if args.expires_at:
        data["expiresAt"] = args.expires_at

    async def create(conn: Any) -> str:
        _row, secret = await tokens.create_api_token(
            conn, principal=_cli(), data=data, command_line=True
        )
        return secret

    try:
        secret = as_cli(create)
    except Refused as refusal:
        _refused(refusal)
    print(secret)


def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def token_list(_args: argparse.Namespace) -> None:
    settings = _settings()
    _migrate(settings)
    from tenancy import tokens
    from tenancy.ids import to_global_id

    async def listed(conn: Any) -> list[list[str]]:
        rows = await tokens.list_tokens(conn, _cli(), include_revoked=True)
        return [
            [
                to_global_id(tokens.TYPE, row.id),
                row.name,
                row.role,
                "-" if row.tenant_id is None else to_global_id("Customer", row.tenant_id),
                _when(row.created_at),
                _when(row.expires_at),
                _when(row.last_used_at),
                _when(row.revoked_at),
            ]
            for row in rows
        ]

    _print_table(
        [
            ["ID", "NAME", "ROLE", "RESELLER", "CREATED", "EXPIRES", "LAST USED", "REVOKED"],
            *as_cli(listed),
        ]
    )


def _print_table(table: list[list[str]]) -> None:
    """Rows in columns two spaces apart; the last cell is not padded, so a long status
    widens no column."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for cells in table:
        head = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False))
        print(f"{head}  {cells[-1]}".rstrip())


def token_revoke(args: argparse.Namespace) -> None:
    settings = _settings()
    _migrate(settings)
    from tenancy import tokens
    from tenancy.errors import Refused

    async def revoke(conn: Any) -> Any:
        return await tokens.revoke_api_token(conn, principal=_cli(), data={"id": args.id})

    try:
        row = as_cli(revoke)
    except Refused as refusal:
        _refused(refusal)
    print(f"Token {args.id} ({row.name}) revoked at {_when(row.revoked_at)}.", file=sys.stderr)


def _as_owner(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(conn)`` as the command line, connected as the table owner
    (BILLCLASS_MIGRATION_DATABASE_URL when set): the service role may only read the
    registry of trusted documents (db/roles.py)."""
    try:
        return as_cli(work, settings.model_copy(update={"database_url": settings.migration_url}))
    except Exception as error:
        if _insufficient_privilege(error):
            _fail(
                f"the role {_role(settings.migration_url)!r} may only read trusted documents:"
                " set BILLCLASS_MIGRATION_DATABASE_URL to the table owner's URL (README"
                " 'PostgreSQL roles')"
            )
        _fail(f"cannot write trusted documents: {_reason(error)}")


def _role(url: str) -> str:
    from db import roles

    return roles.role_of(url)


def documents_push(args: argparse.Namespace) -> None:
    """Register a manifest's documents: all of them, or none (one line per bad entry)."""
    import json

    settings = _settings()
    _migrate(settings)
    from gql.schema import graphql_schema
    from gql.trusted import registrations
    from tenancy import trusted_documents

    try:
        with open(args.manifest, encoding="utf-8") as file:
            manifest = json.load(file)
    except OSError as error:
        _fail(f"cannot read {args.manifest}: {error.strerror or error}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        _fail(f"{args.manifest} is not a JSON manifest: {error}")
    found, problems = registrations(graphql_schema, manifest)
    if problems:
        for problem in problems:
            print(f"billclass: refused {problem}", file=sys.stderr)
        print(
            f"billclass: nothing registered ({len(problems)} bad entries of {len(manifest)})",
            file=sys.stderr,
        )
        raise SystemExit(1)

    async def register(conn: Any) -> int:
        return await trusted_documents.register(conn, found)

    new = _as_owner(settings, register)
    print(
        f"{len(found)} documents checked: {new} registered, {len(found) - new} already registered.",
        file=sys.stderr,
    )


def documents_list(_args: argparse.Namespace) -> None:
    """Every registered document, re-validated against the served schema."""
    settings = _settings()
    _migrate(settings)
    from gql.schema import graphql_schema
    from gql.trusted import verdict
    from tenancy import trusted_documents

    rows = as_cli(trusted_documents.listed, settings)
    table = [["ID", "OPERATIONS", "CREATED", "STATUS"]]
    for row in rows:
        names = ",".join(name or "(anonymous)" for name in row.operation_names) or "-"
        table.append([row.id, names, _when(row.created_at), verdict(graphql_schema, row.document)])
    _print_table(table)


def documents_remove(args: argparse.Namespace) -> None:
    """Remove registered documents: all the IDs given, or none when one is unknown."""
    settings = _settings()
    _migrate(settings)
    from gql.trusted import PREFIX
    from tenancy import trusted_documents

    ids = [i if i.startswith(PREFIX) else PREFIX + i.lower() for i in args.ids]

    async def remove(conn: Any) -> list[str]:
        missing = await trusted_documents.remove(conn, ids)
        if missing:
            await conn.rollback()
        return missing

    missing = _as_owner(settings, remove)
    if missing:
        for document_id in missing:
            print(f"billclass: NOT_FOUND {document_id}: no such document", file=sys.stderr)
        print("billclass: nothing removed", file=sys.stderr)
        raise SystemExit(1)
    print(
        f"{len(set(ids))} documents removed; every worker refuses them within"
        f" {settings.token_cache_seconds:g} s.",
        file=sys.stderr,
    )


def _document_text(document: Any) -> str:
    """A classes document as files hold it: sorted keys, two-space indents, UTF-8 text,
    one final newline (so two exports of unchanged classes are equal byte for byte)."""
    import json

    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def classes_export(args: argparse.Namespace) -> None:
    """Write the administrator's classes, or one reseller's, as a document."""
    settings = _settings()
    _migrate(settings)
    from tenancy import classes_as_code
    from tenancy.errors import TopLevelError

    async def export(conn: Any) -> dict[str, Any]:
        return await classes_as_code.export_customer_classes(
            conn, _cli(), managing_reseller_id=args.reseller
        )

    try:
        document = as_cli(export)
    except TopLevelError as error:
        print(f"billclass: {error.code.value} --reseller: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    text = _document_text(document)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            with open(args.output, "w", encoding="utf-8") as file:
                file.write(text)
        except OSError as error:
            _fail(f"cannot write {args.output}: {error.strerror or error}")
    references = sum(1 for entry in document["classes"] if entry.get("readOnly"))
    count = len(document["classes"]) - references
    print(
        f"{count} class{'' if count == 1 else 'es'} exported"
        + (f" with {references} read-only references to shared classes" if references else "")
        + (f" to {args.output}." if args.output else "."),
        file=sys.stderr,
    )


def _read_document(path: str) -> Any:
    import json

    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as error:
        _fail(f"cannot read {path}: {error.strerror or error}")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        _fail(f"{path} is not a JSON document: {error}")


def classes_apply(args: argparse.Namespace) -> None:
    """Reconcile the classes a document names to it, all or nothing; print the plan."""
    settings = _settings()
    _migrate(settings)
    from tenancy import classes_as_code
    from tenancy.errors import Refused

    document = _read_document(args.file)
    if args.reseller is not None and isinstance(document, dict):
        named = document.get("managingResellerId")
        if named is not None and named != args.reseller:
            _fail(f"{args.file} names the reseller {named}, --reseller {args.reseller}")
        document = {**document, "managingResellerId": args.reseller}
    data: Any = {"document": document, "prune": args.prune, "dryRun": args.dry_run}

    async def apply(conn: Any) -> list[Any]:
        # A dry run is the same call in a savepoint that is always rolled back.
        savepoint = await conn.begin_nested()
        plan = await classes_as_code.apply_customer_classes(
            conn, principal=_cli(), data=data, limit=None
        )
        await (savepoint.rollback() if args.dry_run else savepoint.commit())
        return plan

    try:
        plan = as_cli(apply)
    except Refused as refusal:
        for error in refusal.errors:
            print(f"billclass: {_document_error(document, error)}", file=sys.stderr)
        count = len(refusal.errors)
        print(
            f"billclass: nothing applied ({count} error{'' if count == 1 else 's'})",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    _print_plan(plan)
    counts = {action: 0 for action in ("CREATE", "UPDATE", "DELETE", "UNCHANGED")}
    for entry in plan:
        counts[entry.action] += 1
    summary = (
        f"{counts['CREATE']} to create, {counts['UPDATE']} to update, {counts['DELETE']} to"
        f" delete, {counts['UNCHANGED']} unchanged"
    )
    if args.dry_run:
        print(f"Dry run: {summary}; nothing was written.")
    else:
        print(f"Applied: {summary}.")


def _document_error(document: Any, error: Any) -> str:
    """One refusal as a line: its code, its path inside the file (with the class's name
    when it is in a class) and its message."""
    path = list((error.field or ())[1:])
    if path[:1] == ["document"]:
        path = path[1:]
    where = ".".join(path) or "document"
    if len(path) >= 2 and path[0] == "classes" and isinstance(document, dict):
        entries = document.get("classes")
        index = int(path[1])
        entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            where += f" ({entry['name']})"
    return f"{error.code.value} {where}: {error.message}"


def _print_plan(plan: list[Any]) -> None:
    """The plan as a table: one row per class, one more per changed setting."""
    import json

    def shown(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    table = [["ACTION", "CLASS", "CHANGES"]]
    for entry in plan:
        if entry.read_only:
            table.append([entry.action, entry.name, "read-only reference to a shared class"])
        elif entry.action == "UNCHANGED":
            table.append([entry.action, entry.name, "-"])
        elif entry.action in ("CREATE", "DELETE"):
            what = "new class" if entry.action == "CREATE" else "deleted"
            table.append([entry.action, entry.name, f"{what}, {len(entry.changes)} settings"])
        else:
            for index, change in enumerate(entry.changes):
                first = [entry.action, entry.name] if index == 0 else ["", ""]
                text = f"{change.path}: {shown(change.before)} -> {shown(change.after)}"
                table.append([*first, text])
    _print_table(table)


def _cli() -> Principal:
    from tenancy.principal import CLI

    return CLI


def export_schema(_args: argparse.Namespace) -> None:
    from gql.schema import sdl

    sys.stdout.write(sdl())


# --------------------------------------------------------------------------- check


def check_command(_args: argparse.Namespace) -> None:
    """One line per check, ``ok`` or ``FAIL`` with the reason; exit status 0 only when
    every check passes."""
    from db.settings import ConfigurationError, load_settings

    failed = False

    def report(name: str, problem: str | None, detail: str = "") -> None:
        nonlocal failed
        failed = failed or problem is not None
        text = problem if problem is not None else detail
        status = "ok" if problem is None else "FAIL"
        print(f"{status:<4} {name}" + (f": {text}" if text else ""))
        sys.stdout.flush()

    try:
        settings = load_settings()
    except ConfigurationError as error:
        report("configuration", str(error))
        raise SystemExit(1) from None
    report("configuration", None, f"database {_safe(settings.database_url)}")
    problem = _database_problem(settings)
    report("database", problem, "reachable")
    if problem is None:
        report("migrations", *_migration_check(settings))
        report("role", *_role_check(settings))
    else:
        report("migrations", "not checked (no database connection)")
        report("role", "not checked (no database connection)")
    if settings.redis_url:
        report("redis", _redis_problem(settings), f"{_safe(settings.redis_url)} answers")
    raise SystemExit(1 if failed else 0)


def _database_problem(settings: Settings) -> str | None:
    """Why the service cannot connect (None: it can). A SQLite file is never created."""
    from pathlib import Path

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    if settings.is_sqlite:
        database = make_url(settings.database_url).database or ""
        if not Path(database).is_file():
            return f"SQLite file {Path(database).absolute()} does not exist (billclass migrate)"

    async def connect(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))

    try:
        _on_engine(settings, connect)
    except Exception as error:
        return f"cannot connect to {_safe(settings.database_url)}: {_reason(error)}"
    return None


def _migration_check(settings: Settings) -> tuple[str | None, str]:
    from db import migrate

    try:
        current = migrate.current_revision(settings.database_url)
    except Exception as error:
        return f"cannot read the revision: {_reason(error)}", ""
    head = migrate.head_revision()
    if current != head:
        return (
            f"the database is at revision {current or 'none'}, this version needs {head}"
            " (billclass migrate)",
            "",
        )
    return None, f"at head ({head})"


def _role_check(settings: Settings) -> tuple[str | None, str]:
    """SPEC §7: the service role is one row-level security holds (db/roles.py)."""
    from db import roles

    if settings.is_sqlite:
        return None, "SQLite has no roles (row-level security is PostgreSQL's)"
    try:
        warning = _service_role_warning(settings)
    except roles.UnsafeRole as error:
        return str(error).removeprefix("refusing to start: "), ""
    except Exception as error:
        return f"cannot check the role: {_reason(error)}", ""
    if warning:
        return None, f"allowed by BILLCLASS_ALLOW_UNSAFE_ROLE=1: {warning}"
    return None, f"{roles.role_of(settings.database_url)!r} cannot bypass row-level security"


def _redis_problem(settings: Settings) -> str | None:
    import redis.asyncio

    url = settings.redis_url or ""
    timeout = max(1.0, settings.redis_timeout_seconds)

    async def main() -> None:
        client = redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(main())
    except Exception as error:
        return f"cannot reach {_safe(url)}: {_reason(error)}"
    return None


# --------------------------------------------------------------------------- parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option's help (unless the help says its own), and the
    epilog's environment table kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if "(default:" in help_text or action.default in (None, False):
            return help_text
        return super()._get_help_string(action)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("billclass")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _environment_help() -> str:
    """The environment variables, from the Settings fields (so help cannot drift)."""
    import textwrap

    from db.settings import environment_variables

    lines = ["environment variables (a bad value stops every command with one line):"]
    for variable in environment_variables():
        lines.append(f"  {variable.name}")
        facts = f"default: {variable.default}" + (f"; {variable.range}" if variable.range else "")
        lines.extend(
            textwrap.wrap(
                f"{variable.description} ({facts})",
                width=88,
                initial_indent="      ",
                subsequent_indent="      ",
            )
        )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    import textwrap

    root = argparse.ArgumentParser(
        prog="billclass",
        description=textwrap.fill(
            "Customer classes of a telecom billing platform, served as a multi-tenant"
            " GraphQL API. Configured by the environment (below).",
            88,
        ),
        epilog=_environment_help(),
        formatter_class=_HelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"billclass {_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent: Any, name: str, summary: str, description: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description, 88),
            formatter_class=_HelpFormatter,
        )
        return sub

    run = command(
        commands,
        "serve",
        "apply migrations, then serve GraphQL",
        "Apply pending migrations (as BILLCLASS_MIGRATION_DATABASE_URL when set), refuse a"
        " PostgreSQL role row-level security cannot hold, then serve /graphql (GraphiQL in a"
        " browser), /healthz, /readyz and /metrics. SIGTERM lets requests in flight finish.",
    )
    run.add_argument("--host", default="127.0.0.1", help="address to listen on")
    run.add_argument("--port", type=int, default=8000, help="port to listen on")
    run.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes (uvicorn)"
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="seed demo data once (two resellers, classes, customers), revoke the demo"
        " tokens of earlier runs and print a fresh token per role, valid 30 days"
        " (default: off)",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="also serve /metrics on 127.0.0.1:N without a token, for all workers"
        " (default: not served)",
    )
    run.set_defaults(handler=serve)

    command(
        commands,
        "dispatch",
        "deliver webhooks, without serving",
        "Run one webhook dispatcher alone (as every billclass serve worker does unless"
        " BILLCLASS_WEBHOOK_DISPATCH=0): fan change events out to the subscriptions and"
        " deliver them, signed, with retries. Any number may run: on PostgreSQL they share"
        " the queue, on SQLite one leads at a time. Applies pending migrations first."
        " SIGTERM stops it; attempts in flight are retried later.",
    ).set_defaults(handler=dispatch)

    migrate_parser = command(
        commands,
        "migrate",
        "apply database migrations",
        "Apply the pending Alembic migrations as the table owner"
        " (BILLCLASS_MIGRATION_DATABASE_URL, else BILLCLASS_DATABASE_URL) and grant the"
        " service role its privileges. Safe to run again. With BILLCLASS_CITUS=1 (Citus,"
        " the URLs naming the coordinator) the tables are distributed, while they are empty.",
    )
    migrate_parser.add_argument(
        "--distribute-non-empty",
        action="store_true",
        help="Citus only: distribute tables that already hold rows (back up first; the"
        " migration checks that every table keeps its row count, else changes nothing)"
        " (default: off, such tables are refused)",
    )
    migrate_parser.set_defaults(handler=migrate_command)

    command(
        commands,
        "check",
        "verify configuration, database, migrations, role and Redis",
        "Check the configuration, that the database is reachable, at the latest migration"
        " and connected as a role row-level security holds (SPEC §7), and that Redis"
        " answers when BILLCLASS_REDIS_URL is set. One line per check, 'ok' or 'FAIL' with"
        " the reason; exit status 0 only when every check passes. Changes nothing.",
    ).set_defaults(handler=check_command)

    token = command(commands, "token", "create, list and revoke API tokens", "Manage API tokens.")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="SUBCOMMAND")
    create = command(
        token_commands,
        "create",
        "print a new token's secret",
        "Create an API token and print its secret alone on stdout (shown once, never"
        " stored). Without --reseller an ADMINISTRATOR token; with it a RESELLER token,"
        " which expires within 90 days as the API requires.",
    )
    create.add_argument("--name", required=True, help="unique per owner, 1 to 100 characters")
    create.add_argument(
        "--reseller",
        metavar="CUSTOMER_ID",
        help="global ID of a RESELLER customer: make a RESELLER token acting for it"
        " (default: an ADMINISTRATOR token)",
    )
    create.add_argument(
        "--expires-at",
        metavar="ISO",
        help="expiry, RFC 3339, e.g. 2027-01-31T00:00:00Z; RESELLER tokens at most 90 days"
        " ahead (default: RESELLER tokens in 90 days, ADMINISTRATOR tokens never)",
    )
    create.set_defaults(handler=token_create)

    command(
        token_commands,
        "list",
        "list every token (never its secret)",
        "List every API token, revoked ones included, newest first: ID, name, role,"
        " reseller, created, expires, last used (to the minute), revoked.",
    ).set_defaults(handler=token_list)

    revoke = command(
        token_commands,
        "revoke",
        "revoke a token",
        "Revoke an API token: every worker refuses it within 5 seconds. Revoking a revoked"
        " token changes nothing.",
    )
    revoke.add_argument("id", metavar="ID", help="the token's ID, as `token list` shows it")
    revoke.set_defaults(handler=token_revoke)

    documents = command(
        commands,
        "documents",
        "register, list and remove trusted documents",
        "Manage the registry of trusted (persisted) documents that requests name by"
        ' {"documentId": "sha256:<hex>"} (README "Trusted documents").',
    )
    document_commands = documents.add_subparsers(
        dest="documents_command", required=True, metavar="SUBCOMMAND"
    )
    push = command(
        document_commands,
        "push",
        "register a manifest's documents",
        'Register every document of MANIFEST, a JSON object {"<sha256>": "<document>"} as'
        " GraphQL Code Generator's client preset (persisted-documents.json) or Relay's"
        " persist output writes it; keys are bare hex or sha256:<hex>. Each hash must be"
        " the SHA-256 of its exact text; each document must parse, validate against the"
        " served schema and pass the limits (depth, aliases, directives, page sizes,"
        " requested cost). One bad entry refuses the whole manifest, one line each;"
        " pushing a registered document again changes nothing.",
    )
    push.add_argument("manifest", metavar="MANIFEST", help="path of the JSON manifest")
    push.set_defaults(handler=documents_push)
    command(
        document_commands,
        "list",
        "list registered documents",
        "List every registered document, oldest first: ID, operation names, created, and"
        " 'valid' or 'INVALID: reason' from validating it again against the served schema.",
    ).set_defaults(handler=documents_list)
    remove = command(
        document_commands,
        "remove",
        "remove registered documents",
        "Remove registered documents: every worker refuses them within"
        " BILLCLASS_TOKEN_CACHE_SECONDS (default 5). An unknown ID removes nothing.",
    )
    remove.add_argument(
        "ids", nargs="+", metavar="ID", help="a document ID, sha256:<hex> (or the bare hex)"
    )
    remove.set_defaults(handler=documents_remove)

    classes = command(
        commands,
        "classes",
        "export and apply classes as JSON documents",
        'Keep customer classes as code (README "Classes as code"): export a manager\'s'
        " classes as one JSON document, review changes to it, apply it to an installation.",
    )
    class_commands = classes.add_subparsers(
        dest="classes_command", required=True, metavar="SUBCOMMAND"
    )
    export = command(
        class_commands,
        "export",
        "write a manager's classes as a JSON document",
        "Write the administrator's classes (or, with --reseller, one reseller's, with the"
        " shared administrator classes as read-only references) as the document"
        " applyCustomerClasses and `classes apply` take: every tab, catalog entries by name,"
        " keys sorted, classes by name. Two exports of unchanged classes are identical.",
    )
    export.add_argument(
        "--reseller",
        metavar="CUSTOMER_ID",
        help="global ID of a RESELLER customer: export its classes (default: the administrator's)",
    )
    export.add_argument(
        "--output", metavar="FILE", help="write the document to FILE (default: stdout)"
    )
    export.set_defaults(handler=classes_export)
    apply = command(
        class_commands,
        "apply",
        "make the classes of a document's manager match it",
        "Create the classes FILE names that its manager lacks, update those that differ,"
        " and with --prune delete those it does not name (never the Default class, never a"
        " class in use): all in one transaction, or nothing with one line per error. Prints"
        " the plan: one row per class, one more per changed setting. Applying the same"
        " document again changes nothing.",
    )
    apply.add_argument("file", metavar="FILE", help="path of the JSON document")
    apply.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan, write nothing (default: apply it)",
    )
    apply.add_argument(
        "--prune",
        action="store_true",
        help="also delete the manager's classes that FILE does not name (default: keep them)",
    )
    apply.add_argument(
        "--reseller",
        metavar="CUSTOMER_ID",
        help="apply to this reseller's classes: sets the document's managingResellerId, for"
        " a reseller's own export or one from another installation (default: the"
        " manager the document names)",
    )
    apply.set_defaults(handler=classes_apply)

    command(
        commands,
        "export-schema",
        "print the GraphQL SDL",
        "Print the served GraphQL schema (SDL), as committed in gql/schema.graphql. Needs"
        " no database.",
    ).set_defaults(handler=export_schema)
    return root


def main(argv: Sequence[str] | None = None) -> None:
    from db.settings import MaskingFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # Migrations are applied on every start: their step-by-step log is noise there.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
