"""On Citus, how many shards (tasks) each request's statements touch (issue 13).

    make citus && make bench-citus                  # BILLCLASS_TEST_DATABASE=citus
    BILLCLASS_TEST_DATABASE=citus .venv/bin/python -m bench.citus_tasks [--verbose] [--json F]

The service runs in this process (Starlette's test client) on a migrated, distributed
database of the local cluster (``tests.databases``: ``BILLCLASS_TEST_CITUS_URL``,
default the coordinator at 127.0.0.1:9700), with the tests' small world (an
administrator, resellers A and B with a class and a customer each, administrator classes
one of them shared) and the token cache off, so that every request authenticates. For
each request below, every statement the app's engines send (with its parameters, at the
cursor) is explained again on a separate connection as the service role, in the caller's
row-level security context, and the "Task Count" of the Citus custom scan is read from
the plan: 1 is single-shard (router or a reference table), more is a fan-out; a statement
with no Citus scan (a local table, SET, advisory locks) counts 0.

Requests: reseller A's point lookup of its class by global ID (``customerClass`` and
``node``), its page of 50 classes, token authentication (the statement that reads
``api_token`` by hash, in any request), and every mutation of the schema with a valid base
input (``tests/api/input_support.py``), as reseller A where it may, else as the
administrator. It reports what is true today: lookups by an ID that does not carry its
tenant fan out to every shard.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("BILLCLASS_TEST_DATABASE", "citus")
os.environ.setdefault("BILLCLASS_WEBHOOK_DISPATCH", "0")

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.testclient import TestClient

from db import transaction_settings
from db.engine import make_engine
from db.settings import Settings
from gql.app import create_app
from tenancy import tokens
from tenancy.ids import decode
from tenancy.inputs import CreateApiToken
from tenancy.principal import CLI
from tests import databases
from tests.api.input_support import SCHEMA, build, reseller_targets
from tests.api_client import Api, World
from tests.support.cli import run_as_cli

EXPLAINED = ("select", "insert", "update", "delete", "with")
REFUSED = ("NOT_PERMITTED", "FORBIDDEN")


@dataclass
class Statement:
    sql: str
    parameters: Any
    tasks: int = 0
    error: str | None = None


@dataclass
class Measured:
    request: str
    caller: str
    statements: list[Statement] = field(default_factory=list)
    # "ok", or the first error's message or user error's code
    outcome: str = "ok"

    @property
    def tasks(self) -> int:
        return sum(s.tasks for s in self.statements)

    @property
    def widest(self) -> int:
        return max((s.tasks for s in self.statements), default=0)


@contextmanager
def recording(engines: list[Any]) -> Iterator[list[Statement]]:
    found: list[Statement] = []

    def record(_c: Any, _cursor: Any, sql: str, parameters: Any, _ctx: Any, many: bool) -> None:
        if many and parameters:
            parameters = parameters[0]
        found.append(Statement(sql, parameters))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def task_count(plan: Any) -> int:
    """The tasks of every Citus scan in an EXPLAIN (FORMAT JSON) plan."""
    if isinstance(plan, dict):
        total = plan["Task Count"] if isinstance(plan.get("Task Count"), int) else 0
        return total + sum(task_count(value) for value in plan.values())
    if isinstance(plan, list):
        return sum(task_count(value) for value in plan)
    return 0


async def explain(engine: AsyncEngine, context: dict[str, str], statement: Statement) -> None:
    if not statement.sql.lstrip().lower().startswith(EXPLAINED):
        return
    async with engine.connect() as conn:
        await transaction_settings.set_local(conn, context)
        try:
            result = await conn.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {statement.sql}", statement.parameters or ()
            )
            plan = result.scalar_one()
            statement.tasks = task_count(json.loads(plan) if isinstance(plan, str) else plan)
        except Exception as error:  # reported, not fatal: the tool reports what is true
            statement.error = str(getattr(error, "orig", error)).splitlines()[0][:160]
        finally:
            await conn.rollback()


def admin_token(settings: Settings) -> str:
    data: CreateApiToken = {"name": "bench root", "role": "ADMINISTRATOR"}

    async def create(conn: Any) -> str:
        _row, secret = await tokens.create_api_token(conn, principal=CLI, data=data)
        return secret

    return run_as_cli(settings, create)


def outcome(body: dict[str, Any]) -> str:
    if body.get("errors"):
        error = body["errors"][0]
        return str((error.get("extensions") or {}).get("code") or error.get("message"))[:30]
    for payload in (body.get("data") or {}).values():
        errors = (payload or {}).get("userErrors") if isinstance(payload, dict) else None
        if errors:
            return str(errors[0].get("code"))
    return "ok"


def refused(body: dict[str, Any]) -> bool:
    if body.get("errors"):
        return True
    for payload in (body.get("data") or {}).values():
        errors = (payload or {}).get("userErrors") or []
        if any(error.get("code") in REFUSED for error in errors):
            return True
    return False


def measure(url: str) -> list[Measured]:
    import asyncio

    settings = Settings(database_url=url, citus=True, token_cache_seconds=0)
    app = create_app(settings)
    results: list[Measured] = []
    with TestClient(app) as client:
        api = Api(client, admin_token(settings))
        world: World = api.world()
        targets = reseller_targets(api, world)
        reseller = decode(world.a.id, "Customer")
        contexts = {
            "reseller A": {"billclass.role": "RESELLER", "billclass.reseller_id": str(reseller)},
            "administrator": {"billclass.role": "ADMINISTRATOR"},
        }
        tokens_of = {"reseller A": world.a.token, "administrator": world.admin_token}

        def run(name: str, caller: str, document: str, variables: dict[str, Any]) -> Any:
            with recording(app.state.engines) as statements:
                response = client.post(
                    "/graphql",
                    json={"query": document, "variables": variables},
                    headers={"Authorization": f"Bearer {tokens_of[caller]}"},
                )
            body = response.json()
            results.append(Measured(name, caller, list(statements), outcome(body)))
            return body

        lookup = "query($id: ID!) { customerClass(id: $id) { id name } }"
        run("point lookup customerClass(id)", "reseller A", lookup, {"id": world.a.class_id})
        node = "query($id: ID!) { node(id: $id) { id ... on CustomerClass { name } } }"
        run("point lookup node(id)", "reseller A", node, {"id": world.a.class_id})
        page = "{ customerClasses(first: 50) { totalCount nodes { id name } } }"
        run("reseller's page of 50 classes", "reseller A", page, {})
        assert SCHEMA.mutation_type is not None
        # Deletions last: the others name the objects they delete.
        names = sorted(SCHEMA.mutation_type.fields, key=lambda n: (n.startswith("delete"), n))
        for name in names:
            request = build("Mutation", name, {}, targets)
            body = run(name, "reseller A", request.document, request.variables)
            if refused(body):
                results.pop()
                admin = build("Mutation", name, {}, admin_targets_of(api, world))
                run(name, "administrator", admin.document, admin.variables)

    async def explain_all() -> None:
        # One event loop for the explaining engine's connections.
        explainer = make_engine(settings=settings.model_copy(update={"pool_size": 2}))
        try:
            for measured in results:
                for statement in measured.statements:
                    await explain(explainer, contexts[measured.caller], statement)
        finally:
            await explainer.dispose()

    asyncio.run(explain_all())
    _token_authentication(results)
    return results


_admin_targets: dict[int, Any] = {}


def admin_targets_of(api: Api, world: World) -> Any:
    from tests.api.input_support import admin_targets

    if id(world) not in _admin_targets:
        _admin_targets[id(world)] = admin_targets(api, world)
    return _admin_targets[id(world)]


def _token_authentication(results: list[Measured]) -> None:
    """The statement that reads a token by its hash, as a request of its own."""
    for measured in results:
        for statement in measured.statements:
            sql = statement.sql.lower()
            if (
                "from api_token" in sql
                and "token_hash" in sql
                and sql.lstrip().startswith("select")
            ):
                found = Measured("token authentication", measured.caller, [statement])
                results.insert(0, found)
                return


def report(results: list[Measured], verbose: bool) -> None:
    print(
        f"{'request':<40} {'caller':<14} {'outcome':<18} {'stmts':>5} {'tasks':>5}"
        f" {'widest':>6}  per statement"
    )
    for measured in results:
        counts = " ".join(
            "E" if s.error else str(s.tasks)
            for s in measured.statements
            if s.sql.lstrip().lower().startswith(EXPLAINED)
        )
        print(
            f"{measured.request:<40} {measured.caller:<14} {measured.outcome:<18}"
            f" {len(measured.statements):>5} {measured.tasks:>5} {measured.widest:>6}  {counts}"
        )
        if verbose:
            for statement in measured.statements:
                text = " ".join(statement.sql.split())[:150]
                shown = f"ERROR {statement.error}" if statement.error else statement.tasks
                print(f"      [{shown}] {text}")
    shards = databases.CITUS_SHARD_COUNT
    print(
        f"\ntasks: shards a statement touches (1 = single shard or a reference table; {shards}"
        " = every shard of this database); E: the statement could not be explained"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="every statement, explained")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if not databases.CITUS:
        sys.exit("bench.citus_tasks: run with BILLCLASS_TEST_DATABASE=citus (make bench-citus)")
    citus = databases.CitusDatabases(f"bc_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    try:
        with citus.fresh() as url:
            results = measure(url)
    finally:
        citus.close()
    report(results, args.verbose)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                [
                    {
                        "request": m.request,
                        "caller": m.caller,
                        "outcome": m.outcome,
                        "tasks": m.tasks,
                        "statements": [
                            {"sql": s.sql, "tasks": s.tasks, "error": s.error} for s in m.statements
                        ],
                    }
                    for m in results
                ],
                out,
                indent=1,
            )


if __name__ == "__main__":
    main()
