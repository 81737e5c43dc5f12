"""The benchmark, in one command: ``.venv/bin/python -m bench.run``.

1. Seeds the data set (``bench.seed``) into ``bench/out/bench.db`` (or the PostgreSQL
   database of ``--database-url``), unless ``--reuse`` finds it already seeded.
2. Counts the SQL statements of each operation in-process (the app with a
   ``before_cursor_execute`` listener, token cache warmed first so authentication is not
   counted).
3. Serves the data with our service (one uvicorn worker pinned to CPU 0), drives it with
   wrk pinned to CPU 1 (after a warm-up; each figure the median of ``--repeat`` runs,
   3 by default, with their spread), and reads the server's peak memory; then does
   the same with the raw baseline (``bench.baseline``), after checking that it returns
   exactly the JSON our service returns.
4. Prints the table and writes ``bench/out/results.json``.

Operations: (a) a reseller's point lookup of one of its classes with its header fields
(the id rotates over the reseller's 99 classes); (b) a reseller's page of 50 classes
with every tab; (a) and (b) again as trusted documents (registered before the run, sent
as ``{"documentId": ...}``; the baseline answers them the same way, by operation name).
(c) a write, ours only: the reseller updates the description of one of its classes (every
request changes a row). Scale (ours only, as the administrator over 20,000 classes): the
same page on page 1 and deep in the listing (a keyset cursor 100 rows from the end), and
``customerClasses { totalCount }``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event

from bench import seed
from db.models import class_table, customer_table, tenant_is
from db.settings import Settings
from tenancy.ids import global_id
from tenancy.principal import CLI
from tenancy.scoping import enter_tenant

ROOT = Path(__file__).resolve().parent.parent
OUT = seed.OUT
SERVER_CPU = "0"
LOAD_CPU = "1"
TARGETS = {"point": 0.20, "page": 0.10, "point_trusted": 0.35, "page_trusted": 0.15}
# Flat with depth: the deep page's p50 within this factor of page 1's.
FLAT_FACTOR = 1.25
# A run is noisy when other processes take more than this share of a core while the
# server gets less than FULL_CORE of its own.
NOISE = 0.05
FULL_CORE = 0.95
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZES = (10, 50, 100)
RUN_LATENCIES = 20
MAX_RUN = 60

POINT_QUERY = """query ClassHeader($id: ID!) {
  customerClass(id: $id) {
    id name description managedBy currency { code } version archiveXdrs invoicing
    taxationMethod createdAt updatedAt
  }
}"""

PAGE_QUERY = """query ClassPage($first: Int!, $after: String) {
  customerClasses(first: $first, after: $after) {
    pageInfo { hasNextPage }
    nodes {
      id name
      generalInfo {
        generateStatistics sendStatistics billingPeriodClosure closeDelayHours
        roundingMethod roundingPrecision suspendOnInsufficientFunds billedExternally
        resetBalanceEveryPeriod hideBalanceResetXdr
      }
      measuredServices {
        parameter chargeBasedOn pricePerItem itemsFreeOfCharge rateCode service
      }
      notifications {
        notificationSet { name }
        settings { type email { send template } sms { send template } }
      }
      regularInvoices {
        enabled pdfGeneration delivery holdForReviewDays invoiceTemplate { name }
        paymentTerms { ...Terms } pastDue { ...PastDue }
      }
      outOfTurnInvoices {
        enabled delivery separateInvoiceForRecurringFees invoiceTemplate { name }
        paymentTerms { ...Terms } pastDue { ...PastDue }
      }
      taxation {
        method assessTaxes taxesIncludedInRates assessment vatRatePercent taxName
        customTaxes { name ratePercent }
      }
      customFields { name }
      fraudProtection {
        dailySpendingThreshold checkRemainingFunds sendWarning warningThresholdPercent
      }
    }
  }
}
fragment Terms on PaymentTerms { netDays dueDateReminderDays autoCharge autoChargeTiming }
fragment PastDue on PastDuePolicy {
  collectionThreshold resendInvoiceDays lateFee limitServiceAfterDays limitationNoticeDays
  suspendAfterDays suspensionNoticeDays reactivationFee terminateAfterDays
  terminationNoticeDays terminateCommitments restoreAfterPartialPayment
}"""

# Rate limits stay on (every request is admitted and refunded through the buckets) but are
# restored so fast that they never run dry: the benchmark measures the request path, not
# the pacing of one token.
UNTHROTTLED = {
    "BILLCLASS_RATE_TOKEN_RESTORE": "1000000000",
    "BILLCLASS_RATE_TENANT_RESTORE": "1000000000",
}

COUNT_QUERY = "query ClassCount { customerClasses { totalCount } }"
DEEP_CURSOR_QUERY = "query DeepCursor { customerClasses(last: 100) { edges { cursor } } }"

# A write (ours only: the baseline serves reads): the reseller sets the description of one
# of its classes. The bodies go over its 99 classes twice, with two descriptions, so every
# request changes a row (a new version and an audit event), never two at once the same.
UPDATE_QUERY = """mutation Describe($input: UpdateCustomerClassInput!) {
  updateCustomerClass(input: $input) {
    customerClass { id version description }
    userErrors { code field message }
  }
}"""


def trusted_body(document_id: str, operation: str, variables: dict[str, Any]) -> bytes:
    """The same request as a trusted (registered) document: its ID instead of its text."""
    envelope = {"documentId": document_id, "operationName": operation, "variables": variables}
    return orjson.dumps(envelope)


async def register_documents(app_url: str, texts: list[str]) -> dict[str, str]:
    """Register ``texts`` as trusted documents (as ``billclass documents push`` does, as
    the table owner); their IDs by text."""
    from gql.schema import graphql_schema
    from gql.trusted import document_id, registrations
    from tenancy import trusted_documents

    found, problems = registrations(graphql_schema, {document_id(t): t for t in texts})
    if problems:
        raise SystemExit(f"the bench documents do not register: {problems}")
    engine = seed.engine_for(seed.owner_url(app_url))
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            await trusted_documents.register(conn, found)
    finally:
        await engine.dispose()
    return {t: document_id(t) for t in texts}


def _class_id(key: int, subject: dict[str, Any]) -> str:
    """The routed global ID of one of the subject reseller's classes (tenancy.ids)."""
    return global_id("CustomerClass", key, subject["reseller_id"])


def body(query: str, operation: str, variables: dict[str, Any] | None = None) -> bytes:
    envelope: dict[str, Any] = {"query": query, "operationName": operation}
    if variables is not None:
        envelope["variables"] = variables
    return orjson.dumps(envelope)


@dataclass
class Operation:
    key: str
    title: str
    token: str
    bodies: list[bytes]
    baseline: bool  # also measured against the raw baseline
    statements: list[str] = field(default_factory=list)
    ours: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    response_bytes: int = 0


# --------------------------------------------------------------------------- set-up


def ensure_tools() -> None:
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is required")
    if shutil.which("wrk") is None:
        print("wrk is missing: installing it with apt-get")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=True)
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("the benchmark needs 2 CPUs (one for the server, one for wrk)")


async def _subject(url: str) -> dict[str, Any]:
    """The reseller the reseller operations act for, and the ids of its classes."""
    engine = seed.engine_for(url)
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            cc = customer_table.c
            reseller = (
                await conn.execute(
                    sa.select(cc.id, cc.name)
                    .where(cc.customer_type == "RESELLER", tenant_is(cc.tenant_id, None))
                    .order_by(cc.name_key, cc.id)
                    .limit(1)
                )
            ).one()
            k = class_table.c
            classes = (
                await conn.execute(
                    sa.select(k.id).where(k.tenant_id == reseller.id).order_by(k.name_key, k.id)
                )
            ).scalars()
            counts = (
                await conn.execute(
                    sa.text(
                        "select (select count(*) from customer_class),"
                        " (select count(*) from customer),"
                        " (select count(*) from customer where customer_type = 'RESELLER'"
                        " and tenant_id = 0)"
                    )
                )
            ).one()
            version = (
                await conn.execute(
                    sa.text(
                        "select sqlite_version()"
                        if engine.dialect.name == "sqlite"
                        else "show server_version"
                    )
                )
            ).scalar_one()
            return {
                "reseller_id": reseller.id,
                "reseller_name": reseller.name,
                "class_ids": list(classes),
                "classes": counts[0],
                "customers": counts[1],
                "resellers": counts[2],
                "database": f"{engine.dialect.name} {version}",
            }
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- in-process


def in_process(
    app_url: str, operations: list[Operation], admin: str, page_statements: dict[int, int]
) -> str:
    """Count the SQL statements of each operation (authentication excluded), and of the
    reseller's page at several sizes into ``page_statements``; return the deep keyset
    cursor of the administrator's listing."""
    from starlette.testclient import TestClient

    from gql.app import create_app

    app = create_app(
        Settings(
            database_url=app_url,
            rate_token_restore=int(UNTHROTTLED["BILLCLASS_RATE_TOKEN_RESTORE"]),
            rate_tenant_restore=int(UNTHROTTLED["BILLCLASS_RATE_TENANT_RESTORE"]),
        )
    )
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    for engine in app.state.engines:
        event.listen(engine, "before_cursor_execute", record)
    headers = {"Content-Type": "application/json"}
    with TestClient(app) as client:

        def post(token: str, payload: bytes) -> dict[str, Any]:
            response = client.post(
                "/graphql", content=payload, headers={**headers, "Authorization": f"Bearer {token}"}
            )
            result: dict[str, Any] = response.json()
            if response.status_code != 200 or result.get("errors"):
                raise SystemExit(f"request failed ({response.status_code}): {result}")
            return result

        deep = post(admin, body(DEEP_CURSOR_QUERY, "DeepCursor"))
        cursor: str = deep["data"]["customerClasses"]["edges"][0]["cursor"]
        for op in operations:
            if op.key == "admin_deep":
                op.bodies = [body(PAGE_QUERY, "ClassPage", {"first": 50, "after": cursor})]
            # Warm the token cache (and lastUsedAt) first: authentication is not counted.
            # Then count another body of the operation, which for the write is one that
            # changes its row (the same one again would change nothing).
            post(op.token, op.bodies[0])
            statements.clear()
            post(op.token, op.bodies[1 % len(op.bodies)])
            op.statements = list(statements)
        # The statement count must not grow with the page size.
        pages = [op.token for op in operations if op.key == "page"]
        for token in pages:
            for size in PAGE_SIZES:
                post(token, body(PAGE_QUERY, "ClassPage", {"first": size}))
                statements.clear()
                post(token, body(PAGE_QUERY, "ClassPage", {"first": size}))
                page_statements[size] = len(statements)
    for engine in app.state.engines:
        event.remove(engine, "before_cursor_execute", record)
    return cursor


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    postgres: bool

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def memory(self) -> dict[str, int]:
        """VmHWM (peak RSS) and VmRSS in KiB, from /proc."""
        found = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                found[name] = int(value.split()[0])
        return found


@contextmanager
def serve(
    name: str, app: str, env: dict[str, str], postgres: bool, cpus: str = SERVER_CPU
) -> Iterator[Server]:
    port = _free_port()
    log = (OUT / f"server-{name}.log").open("wb")
    command = [
        "taskset", "-c", cpus, sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    server = Server(name, process, port, postgres)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name} server exited; see {log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name} server did not start; see {log.name}") from None
                time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def fetch(url: str, token: str, payload: bytes) -> tuple[int, bytes]:
    # Always http://127.0.0.1:<port>/graphql, built by Server.url.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --------------------------------------------------------------------------- wrk

LUA = """-- generated by bench/run.py
local bodies = {
%(bodies)s
}
local auth = "Bearer %(token)s"
local requests = {}
local n = 0
local threads = {}
graphql_errors = 0
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  for i, b in ipairs(bodies) do
    requests[i] = wrk.format("POST", "/graphql",
      {["Content-Type"] = "application/json", ["Authorization"] = auth}, b)
  end
end
function request()
  n = n %% #requests + 1
  return requests[n]
end
%(response)s
function done(summary, latency, requests)
  local e = summary.errors
  local errors = 0
  for _, thread in ipairs(threads) do
    errors = errors + (thread:get("graphql_errors") or 0)
  end
  io.write(string.format(
    'BENCH {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"mean_us":%%.1f,"max_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"graphql_errors":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, errors))
end
"""
# Counts responses carrying GraphQL errors (HTTP 200 with "errors", or a mutation's
# userErrors): our service only;
# the baseline has no error path and its answers are checked before the load.
LUA_RESPONSE = """function response(status, headers, body)
  if string.find(body, '"errors":', 1, true)
      or string.find(body, '"userErrors":[{', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end"""


def write_lua(op: Operation, server: Server) -> Path:
    quoted = ",\n".join(f"  [==[{b.decode()}]==]" for b in op.bodies)
    path = OUT / f"{op.key}-{server.name}.lua"
    response = LUA_RESPONSE if server.name == "ours" else ""
    path.write_text(LUA % {"bodies": quoted, "token": op.token, "response": response})
    return path


def wrk(
    url: str,
    script: Path,
    seconds: float,
    connections: int,
    *,
    threads: int = 1,
    cpus: str = LOAD_CPU,
) -> dict[str, Any]:
    command = [
        "taskset", "-c", cpus, "wrk", f"-t{threads}", f"-c{connections}",
        f"-d{max(1, round(seconds))}s", "--timeout", "30s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            result: dict[str, Any] = json.loads(line[6:])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            result["errors"] = sum(
                result[k]
                for k in ("connect", "read", "write", "status", "timeout", "graphql_errors")
            )
            return result
    raise SystemExit(f"no result from wrk:\n{done.stdout}\n{done.stderr}")


def _cpu_stat() -> dict[str, tuple[int, int, int]]:
    """Per CPU: (busy, total, steal) jiffies since boot."""
    found = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name in (f"cpu{SERVER_CPU}", f"cpu{LOAD_CPU}"):
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, values[:8])
            busy = user + nice + system + irq + softirq
            found[name] = (busy, busy + idle + iowait + steal, steal)
    return found


def _process_jiffies(pid: int | str) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _postgres_jiffies() -> int:
    """CPU time of every PostgreSQL process (the database works for both servers),
    including exited children such as parallel query workers (the postmaster's cutime)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(value) for value in fields[11:15])
        except OSError:
            continue  # gone meanwhile
    return total


def _children_jiffies() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * CLOCK_TICKS


def wait_idle(server: Server, limit: float = 60) -> None:
    """Wait until the server has finished the requests a previous wrk run abandoned
    (it keeps working on them after wrk disconnects), so a measured run starts clean."""
    deadline = time.monotonic() + limit
    last, quiet = _process_jiffies(server.process.pid), 0
    while quiet < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        now = _process_jiffies(server.process.pid)
        quiet = quiet + 1 if now - last <= 1 else 0
        last = now


def measure(
    server: Server, script: Path, args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    """One measured wrk run, with CPU accounting over it: the server's CPU time per
    request (which, unlike req/s, does not drop when other processes compete), the
    database's (PostgreSQL), and the CPU time taken by processes that are none of the
    server, wrk, the database and this script: other load on the machine, in shares of
    one core."""
    postgres = server.postgres

    def snapshot() -> tuple[Any, ...]:
        return (
            _cpu_stat(),
            _process_jiffies(server.process.pid),
            _children_jiffies(),
            _postgres_jiffies() if postgres else 0,
            time.process_time() * CLOCK_TICKS,
        )

    wait_idle(server)
    before = snapshot()
    result = wrk(server.url, script, seconds, args.connections)
    after = snapshot()
    own, load_generator, database, runner = (after[i] - before[i] for i in range(1, 5))
    name = f"cpu{SERVER_CPU}"
    interval = after[0][name][1] - before[0][name][1]
    busy = sum(after[0][c][0] - before[0][c][0] for c in after[0])
    steal = after[0][name][2] - before[0][name][2]
    foreign = busy - own - load_generator - database - runner
    share = (lambda jiffies: jiffies / interval) if interval else (lambda _jiffies: 0.0)
    result["server_cpu"] = share(own)
    result["database_cpu"] = share(database)
    result["other_load"] = max(0.0, share(foreign))
    result["steal_on_server_core"] = share(steal)
    requests = result["requests"] or 1
    result["cpu_ms_per_request"] = 1000 * own / CLOCK_TICKS / requests
    result["database_cpu_ms_per_request"] = 1000 * database / CLOCK_TICKS / requests
    seconds = own / CLOCK_TICKS
    result["rps_per_cpu_second"] = result["requests"] / seconds if seconds else 0.0
    return result


# Figures of one run that add up over repeated runs rather than having a median.
SUMMED = ("errors", "connect", "read", "write", "status", "timeout", "graphql_errors")
# Figures whose spread (min-max over the repeated runs) the report shows.
SPREAD = ("rps", "p50_us", "p99_us", "cpu_ms_per_request")


def aggregate_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure from N measured runs of the same load: the median of every numeric
    figure (each on its own), error counts summed, ``spread`` the min and max of the
    headline figures, ``runs`` how many runs and ``each`` the runs themselves."""
    if not runs:
        raise ValueError("no runs to aggregate")
    keys = [key for key in runs[0] if all(key in run for run in runs)]
    result: dict[str, Any] = {}
    for key in keys:
        values = [run[key] for run in runs]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            result[key] = values[0]
        elif key in SUMMED:
            result[key] = sum(values)
        else:
            result[key] = statistics.median(values)
    result["spread"] = {
        key: {"min": min(run[key] for run in runs), "max": max(run[key] for run in runs)}
        for key in SPREAD
        if key in result
    }
    result["runs"] = len(runs)
    result["each"] = [dict(run) for run in runs]
    return result


def _spread(result: dict[str, Any], key: str, scale: float = 1.0, digits: int = 0) -> str:
    """ "min-max" of a figure over the repeated runs, or "" after a single run."""
    spread = result.get("spread", {}).get(key)
    if not spread or result.get("runs", 1) < 2:
        return ""
    return f"{spread['min'] / scale:.{digits}f}-{spread['max'] / scale:.{digits}f}"


def _noisy(result: dict[str, Any]) -> bool:
    """Whether other load on the machine kept the server from a full core. A server that
    had its core (CPU-bound at >= 95 %) measured soundly whatever ran elsewhere."""
    disturbed = result["other_load"] > NOISE or result["steal_on_server_core"] > NOISE
    return bool(disturbed and result["server_cpu"] < FULL_CORE)


def load(server: Server, op: Operation, args: argparse.Namespace) -> dict[str, Any]:
    """Warm-up, then the measured run; repeated (up to --retries times) while other
    processes take more than 5 % of the server core, keeping the quietest run."""
    script = write_lua(op, server)
    warm = wrk(server.url, script, args.warmup, args.connections)
    # A run starts with an empty pipeline and ends with requests in flight: for slow
    # operations (latency of seconds at -c16) that edge is a large share of a short run,
    # so the run lasts at least RUN_LATENCIES mean latencies (at most MAX_RUN seconds).
    seconds = max(args.duration, min(MAX_RUN, round(RUN_LATENCIES * warm["mean_us"] / 1e6)))
    runs = []
    for _ in range(args.repeat):
        run = measure(server, script, args, seconds)
        for _ in range(args.retries):
            if not _noisy(run):
                break
            print(f"  {server.name:8} {op.key:12} noisy (other load on the machine), again")
            again = measure(server, script, args, seconds)
            if again["other_load"] < run["other_load"]:
                run = again
        runs.append(run)
    result = aggregate_runs(runs)
    result["seconds"] = seconds
    spread = (
        f"  (req/s {_spread(result, 'rps')}, p99 {_spread(result, 'p99_us', 1000, 2)} ms"
        f" over {result['runs']} runs)"
        if result["runs"] > 1
        else ""
    )
    print(
        f"  {server.name:8} {op.key:12} {result['rps']:9.0f} req/s"
        f"  p50 {result['p50_us'] / 1000:7.2f} ms  p99 {result['p99_us'] / 1000:7.2f} ms"
        f"  {result['cpu_ms_per_request']:6.2f} CPU ms/req"
        f"  server CPU {result['server_cpu']:4.0%}"
        + (f", database CPU {result['database_cpu']:4.0%}" if server.postgres else "")
        + f", other load {result['other_load']:4.0%}"
        + (f"  ERRORS {result['errors']}" if result["errors"] else "")
        + ("  (NOISY)" if _noisy(result) else "")
        + (f"  [{seconds:.0f} s run]" if seconds != args.duration else "")
        + spread
    )
    return result


# --------------------------------------------------------------------------- checks


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{path or '.'}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in a.keys() | b.keys():
            if key not in a or key not in b:
                return f"{path}.{key}: present on one side only"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def check_ours(server: Server, op: Operation) -> list[Any]:
    answers = []
    for payload in op.bodies:
        status, raw = fetch(server.url, op.token, payload)
        answer = orjson.loads(raw)
        refused = any(
            isinstance(value, dict) and value.get("userErrors")
            for value in (answer.get("data") or {}).values()
        )
        if status != 200 or answer.get("errors") or not answer.get("data") or refused:
            raise SystemExit(f"{op.key}: our service answered {status}: {raw[:500]!r}")
        # extensions.cost differs from request to request; the baseline serves the data.
        answer.pop("extensions", None)
        answers.append(answer)
    op.response_bytes = len(orjson.dumps(answers[0]))
    return answers


def check_baseline(server: Server, op: Operation, expected: list[Any]) -> None:
    for payload, want in zip(op.bodies, expected, strict=True):
        status, raw = fetch(server.url, op.token, payload)
        got = orjson.loads(raw)
        difference = first_difference(want, got)
        if status != 200 or difference:
            raise SystemExit(
                f"{op.key}: the baseline does not serve the same JSON as our service"
                f" ({status}): {difference}"
            )


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    versions = {}
    for package in (
        "strawberry-graphql", "graphql-core", "starlette", "uvicorn", "uvloop", "httptools",
        "SQLAlchemy", "aiosqlite", "asyncpg", "orjson",
    ):  # fmt: skip
        with suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.split("\n")
    return {
        "git": {"head": head, "modified_files": [line[3:] for line in dirty if line.strip()]},
        "cpu": model,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version.split("\n")[0].strip(),
        "packages": versions,
    }


def _ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def _cpu_ratio(ours: dict[str, Any], raw: dict[str, Any]) -> float:
    """R measured by server CPU time per request instead of req/s."""
    ratio: float = raw["cpu_ms_per_request"] / max(ours["cpu_ms_per_request"], 1e-9)
    return ratio


def _spread_line(result: dict[str, Any]) -> str:
    return (
        f"req/s {_spread(result, 'rps')}, p50 {_spread(result, 'p50_us', 1000, 2)} ms,"
        f" p99 {_spread(result, 'p99_us', 1000, 2)} ms,"
        f" CPU ms/req {_spread(result, 'cpu_ms_per_request', 1, 2)}"
    )


def report(
    operations: list[Operation], memory: dict[str, int], info: dict[str, Any]
) -> dict[str, Any]:
    subject = info["subject"]
    print()
    print(
        f"billclass benchmark: {subject['database']}, {subject['classes']:,} classes,"
        f" {subject['customers']:,} customers, {subject['resellers']} resellers;"
        f" server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU} (-t1 -c{info['connections']}),"
        f" {info['warmup']:g} s warm-up + {info['duration']:g} s per run (longer for slow"
        f" operations: {RUN_LATENCIES} mean latencies, at most {MAX_RUN} s)"
    )
    git = info["machine"]["git"]
    print(
        f"machine: {info['machine']['cpu']}, {info['machine']['cpus']} CPUs;"
        f" code: {git['head']}"
        + (f" + {len(git['modified_files'])} modified files" if git["modified_files"] else "")
    )
    print()
    head = (
        f"{'operation':35} {'ours req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>7}"
        f" {'base req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>7}"
        f" {'R':>6} {'R(cpu)':>6} {'target':>6} {'SQL':>4}"
    )
    print(head)
    print("-" * len(head))
    verdicts = {}
    for op in operations:
        ours, raw = op.ours, op.raw
        line = (
            f"{op.title:35} {ours['rps']:10.0f} {_ms(ours['p50_us']):>7}"
            f" {_ms(ours['p99_us']):>7} {ours['cpu_ms_per_request']:7.2f}"
        )
        if raw:
            ratio = ours["rps"] / max(raw["rps"], 1e-9)
            cpu_ratio = _cpu_ratio(ours, raw)
            target = TARGETS[op.key]
            verdicts[op.key] = {
                "R": ratio,
                "R_cpu": cpu_ratio,
                "target": target,
                "met": ratio >= target,
                "noisy": _noisy(ours) or _noisy(raw),
            }
            line += (
                f" {raw['rps']:10.0f} {_ms(raw['p50_us']):>7} {_ms(raw['p99_us']):>7}"
                f" {raw['cpu_ms_per_request']:7.2f} {ratio:6.3f} {cpu_ratio:6.3f}"
                f" {'>=' + format(target, '.2f'):>6}"
            )
        else:
            line += " " * 52
        line += f" {len(op.statements):4d}"
        print(line)
    print(
        "(CPU ms = server CPU time per request; R = ours / baseline in req/s; R(cpu) = the"
        " same ratio from CPU time per request, which other load on the machine does not"
        " distort; SQL = statements per request, authentication excluded)"
    )
    repeats = max(op.ours.get("runs", 1) for op in operations)
    if repeats > 1:
        print()
        print(f"median of {repeats} runs above; spread over the runs (min-max):")
        for op in operations:
            line = f"  {op.title:35} ours {_spread_line(op.ours)}"
            if op.raw:
                line += f"; baseline {_spread_line(op.raw)}"
            print(line)
    print()
    print(
        f"peak memory of our server (VmHWM): {memory.get('VmHWM', 0) / 1024:.1f} MiB"
        f" (VmRSS at the end {memory.get('VmRSS', 0) / 1024:.1f} MiB)"
    )
    by_key = {op.key: op for op in operations}
    flat = depth_p50 = depth_p99 = None
    if {"admin_page1", "admin_deep", "admin_count"} <= by_key.keys():
        page1, deep = by_key["admin_page1"].ours, by_key["admin_deep"].ours
        count = by_key["admin_count"].ours
        depth_p50 = deep["p50_us"] / max(page1["p50_us"], 1)
        depth_p99 = deep["p99_us"] / max(page1["p99_us"], 1)
        flat = depth_p50 <= FLAT_FACTOR
        print(
            f"scale: admin page of 50 deep in the listing vs page 1: p50 x{depth_p50:.2f},"
            f" p99 x{depth_p99:.2f} ({'flat' if flat else 'NOT flat'}; limit x{FLAT_FACTOR});"
            f" totalCount over {subject['classes']:,} classes: p50 {_ms(count['p50_us'])} ms,"
            f" p99 {_ms(count['p99_us'])} ms"
        )
    for key, verdict in verdicts.items():
        print(
            f"target {key}: R = {verdict['R']:.3f} (by CPU time {verdict['R_cpu']:.3f}),"
            f" target R >= {verdict['target']:.2f}: {'MET' if verdict['met'] else 'NOT MET'}"
            + (" (noisy run: see R by CPU time)" if verdict["noisy"] else "")
        )
    errors = [op.key for op in operations if op.ours["errors"] or (op.raw or {}).get("errors")]
    if errors:
        print(f"WARNING: wrk reported errors in: {', '.join(errors)}")
    noisy = [
        f"{op.key} ({side})"
        for op in operations
        for side, result in (("ours", op.ours), ("baseline", op.raw))
        if result and _noisy(result)
    ]
    if noisy:
        print(
            "WARNING: other processes (not the servers, wrk or the database) took more than"
            " 5 % of a core and the server got less than 95 % of its core during: "
            + ", ".join(noisy)
            + ". Their req/s and latencies are low; rerun on a quiet machine."
        )
    sizes = info["page_statements_by_size"]
    flat_sql = len(set(sizes.values())) == 1
    print(
        "SQL statements of the reseller's page by page size: "
        + ", ".join(f"first {size}: {count}" for size, count in sizes.items())
        + (" (flat)" if flat_sql else " (NOT flat: grows with the page)")
    )
    print()
    print("SQL statements per request (authentication excluded):")
    for op in operations:
        print(f"  {op.key}: {len(op.statements)}")
        for statement in op.statements:
            print(f"    {statement[:110]}")
    return {
        **info,
        "memory_kib": memory,
        "targets": verdicts,
        "scale": {
            "deep_over_page1_p50": depth_p50,
            "deep_over_page1_p99": depth_p99,
            "flat": flat,
            "limit": FLAT_FACTOR,
        },
        "operations": {
            op.key: {
                "title": op.title,
                "ours": op.ours,
                "baseline": op.raw or None,
                "R": (op.ours["rps"] / max(op.raw["rps"], 1e-9)) if op.raw else None,
                "R_cpu": _cpu_ratio(op.ours, op.raw) if op.raw else None,
                "sql_statements": op.statements,
                "response_bytes": op.response_bytes,
            }
            for op in operations
        },
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmark our service against a raw baseline."
    )
    parser.add_argument(
        "--database-url",
        default=seed.DEFAULT_URL,
        help="SQLAlchemy URL (default: a SQLite file under bench/out/); for PostgreSQL e.g."
        " postgresql+asyncpg://postgres@127.0.0.1:5432/billclass_bench",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep an already seeded bench database"
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--operations",
        nargs="+",
        choices=[
            "point",
            "page",
            "point_trusted",
            "page_trusted",
            "admin_page1",
            "admin_deep",
            "admin_count",
            "update",
        ],
        help="measure only these operations (default: all)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measured runs per figure; the report gives their median and spread (min-max)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="repeat a measured run up to this many times while it is noisy",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    ensure_tools()
    OUT.mkdir(parents=True, exist_ok=True)
    load_average = Path("/proc/loadavg").read_text().split()[:3]

    # 1. Data.
    app_url, kept = seed.prepare_database(args.database_url, args.reuse)
    seeding: dict[str, Any] = {"reused": False}
    if kept and asyncio.run(seed.is_seeded(app_url)):
        print(f"reusing the seeded database {app_url}")
        seeding["reused"] = True
    else:
        if kept:
            raise SystemExit("the database exists but is not a complete bench data set")
        print(f"seeding {app_url} ...")
        done = seed.seed(app_url)
        result = asyncio.run(done)
        seeding["seconds"] = round(result.seconds, 1)
        print(
            f"seeded {result.resellers} resellers, {result.classes:,} classes and"
            f" {result.customers:,} customers in {result.seconds:.1f} s"
        )
    subject = asyncio.run(_subject(app_url))
    admin, reseller = asyncio.run(seed.create_tokens(app_url, subject["reseller_id"]))
    print(
        f"reseller {subject['reseller_name']!r} ({len(subject['class_ids'])} own classes);"
        f" database {subject['database']}"
    )

    point_bodies = [
        body(POINT_QUERY, "ClassHeader", {"id": _class_id(key, subject)})
        for key in subject["class_ids"]
    ]
    page_body = body(PAGE_QUERY, "ClassPage", {"first": 50})
    ids = asyncio.run(register_documents(app_url, [POINT_QUERY, PAGE_QUERY]))
    point_trusted = [
        trusted_body(ids[POINT_QUERY], "ClassHeader", {"id": _class_id(key, subject)})
        for key in subject["class_ids"]
    ]
    page_trusted = trusted_body(ids[PAGE_QUERY], "ClassPage", {"first": 50})
    # Descriptions of this run only, so that a reused database's rows change too.
    stamp = time.strftime("%Y%m%d%H%M%S")
    updates = [
        body(
            UPDATE_QUERY,
            "Describe",
            {"input": {"id": _class_id(key, subject), "description": f"bench {stamp} {side}"}},
        )
        for side in ("A", "B")
        for key in subject["class_ids"]
    ]
    operations = [
        Operation("point", "(a) reseller point lookup", reseller, point_bodies, True),
        Operation("page", "(b) reseller page of 50, all tabs", reseller, [page_body], True),
        Operation("point_trusted", "(a) the same, trusted document", reseller, point_trusted, True),
        Operation("page_trusted", "(b) the same, trusted document", reseller, [page_trusted], True),
        Operation("admin_page1", "admin page 1 of 50, all tabs", admin, [page_body], False),
        Operation("admin_deep", "admin deep page (keyset), all tabs", admin, [], False),
        Operation(
            "admin_count", "admin totalCount", admin, [body(COUNT_QUERY, "ClassCount")], False
        ),
        Operation("update", "(c) reseller updates a class", reseller, updates, False),
    ]
    if args.operations:
        operations = [op for op in operations if op.key in args.operations]

    # 2. SQL statements per request, in-process.
    page_statements: dict[int, int] = {}
    in_process(app_url, operations, admin, page_statements)

    # 3. Our service, then the baseline: one server at a time.
    expected: dict[str, list[Any]] = {}
    print("our service:")
    postgres = not seed.is_sqlite(app_url)
    env = {"BILLCLASS_DATABASE_URL": app_url, **UNTHROTTLED}
    with serve("ours", "gql.app:create_app", env, postgres) as ours:
        for op in operations:
            check_ours(ours, op)  # every body answers without errors before the load
            op.ours = load(ours, op, args)
        memory = ours.memory()
        # What the baseline must match, read again now that a write operation may have
        # changed the rows (descriptions, versions), once the server has finished the
        # writes wrk left in flight.
        wait_idle(ours)
        for op in operations:
            if op.baseline:
                expected[op.key] = check_ours(ours, op)
    if Settings(database_url=app_url).citus:
        # The baseline sets the reseller's row-level security context once per
        # connection, which Citus does not pass on to the workers (the service sends it
        # per transaction): there it would read nothing. Compare with a PostgreSQL run.
        print("raw baseline: not run on Citus (compare with a single-node PostgreSQL run)")
        operations_with_baseline: list[Operation] = []
    else:
        operations_with_baseline = [op for op in operations if op.baseline]
    if operations_with_baseline:
        print("raw baseline:")
        env = {"BENCH_BASELINE_URL": app_url, "BENCH_RESELLER_ID": str(subject["reseller_id"])}
        with serve("baseline", "bench.baseline:create_app", env, postgres) as baseline:
            for op in operations_with_baseline:
                check_baseline(baseline, op, expected[op.key])
                op.raw = load(baseline, op, args)

    # 4. Report.
    info = {
        "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
        "database_url": app_url,
        "seeding": seeding,
        "subject": {k: v for k, v in subject.items() if k != "class_ids"},
        "machine": machine(),
        "duration": args.duration,
        "warmup": args.warmup,
        "connections": args.connections,
        "repeat": args.repeat,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_at_start": load_average,
        "page_statements_by_size": page_statements,
    }
    results = report(operations, memory, info)
    path = OUT / "results.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
