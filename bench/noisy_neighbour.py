"""The noisy-neighbour benchmark (issue 7), in one command:
``.venv/bin/python -m bench.noisy_neighbour [--database-url URL]``.

Can one reseller with legal requests take the service away from another? One uvicorn
worker of our service, pinned to the server core, serves a modest data set (20
resellers, ``bench.seed``). Tenant B (the second reseller by name) sends a steady 20 point
lookups per second, open loop, and records their latency from the moment each was due;
meanwhile tenant A (the first reseller, 4 tokens) floods in turn with

- (a) its costliest legal queries: up to 20 aliased pages of 100 classes with every tab,
  in six orders, with ``totalCount`` and up to 4 customers of each class with their
  effective settings: the costliest shape the service accepts (probed before the run,
  costliest first, while the service answers ``QUERY_TOO_COMPLEX``);
- (b) the combining-mark payload of issue 7: 12,000 marks as ``nameContains`` of 20
  aliased ``customerClasses`` plus ``customers``, and 30,000 marks as the name of a
  ``createCustomerClass``, alternately;
- (c) 60 concurrent cheap reads: ``nodes(ids:)`` of 3 of its customers with their class's
  and parent's name;
- (d) a stream of distinct valid ~60 KB documents (``bench.noisy_load.distinct_document``);

after a quiet baseline (B alone). A runs 32 connections (60 in (c)) in closed loops and
ignores ``Retry-After``. Each phase gets a fresh worker (the previous one is killed, with
whatever backlog it had), so each phase's peak memory (VmHWM) is its own and no phase
inherits another's queue. The load drivers (``bench.noisy_load``), one process per
tenant, run on the load core.

Reported per phase: B's p50/p99/max latency and errors, A's requests, 429s and other
outcomes, the worker's peak memory, CPU shares. Targets (issue 7): B's p99 under 250 ms
and no error for B during every flood; the worker under 400 MB throughout. Written to
the terminal and to ``bench/out/noisy_neighbour.json`` (one entry per database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import noisy_load, run, seed
from db.models import class_table, customer_table, event_table, tenant_is, token_table
from tenancy import tokens as api_tokens
from tenancy.ids import global_id, to_global_id
from tenancy.principal import CLI
from tenancy.scoping import enter_tenant

ROOT = run.ROOT
OUT = seed.OUT
DEFAULT_URL = f"sqlite+aiosqlite:///{OUT / 'noisy.db'}"
RESULTS = OUT / "noisy_neighbour.json"
SERVER_CPU, LOAD_CPU = run.SERVER_CPU, run.LOAD_CPU
# PostgreSQL: the service connects as this role, which owns nothing and holds only DML
# privileges (SPEC §7 owner/service split); the data belongs to seed.APP_ROLE.
SERVICE_ROLE = "billclass_bench_service"

RESELLERS = 20  # a modest data set: 20 x (99 classes + 1,000 customers)
B_RATE = 20  # point lookups per second
A_TOKENS = 4
A_CONNECTIONS = 32
READ_CONCURRENCY = 60
TIMEOUT = 10.0  # seconds before a request counts as an error (B) or a timeout (A)
RAMP = 2.0  # seconds of flood before B's first measured request
TARGET_P99_MS = 250.0
TARGET_MEMORY_MIB = 400.0
# A phase is noisy when unrelated processes took more than this share of a core, or when
# B's own client sent late (p99) by more than NOISY_LAG_MS: then its latencies are too
# high and the run should be repeated on a quiet machine.
NOISY_LOAD = 0.25
NOISY_LAG_MS = 20.0

# --------------------------------------------------------------------------- documents

# Every tab of a class (and of a customer's effective settings: the same fields).
TABS = """
  generalInfo {
    generateStatistics sendStatistics billingPeriodClosure closeDelayHours roundingMethod
    roundingPrecision suspendOnInsufficientFunds billedExternally resetBalanceEveryPeriod
    hideBalanceResetXdr
  }
  measuredServices { parameter chargeBasedOn pricePerItem itemsFreeOfCharge rateCode service }
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
"""
CLASS_TABS = f"fragment ClassTabs on CustomerClass {{{TABS}}}\n"
CUSTOMER_TABS = f"fragment CustomerTabs on EffectiveSettings {{{TABS}  overriddenFields\n}}\n"
POLICY_FRAGMENTS = """fragment Terms on PaymentTerms {
  netDays dueDateReminderDays autoCharge autoChargeTiming
}
fragment PastDue on PastDuePolicy {
  collectionThreshold resendInvoiceDays lateFee limitServiceAfterDays limitationNoticeDays
  suspendAfterDays suspensionNoticeDays reactivationFee terminateAfterDays
  terminationNoticeDays terminateCommitments restoreAfterPartialPayment
}"""
# Each alias orders differently (CUSTOMER_COUNT counts customers per class in SQL).
ORDERS = [
    "{field: NAME}",
    "{field: CUSTOMER_COUNT, direction: DESC}",
    "{field: UPDATED_AT, direction: DESC}",
    "{field: NAME, direction: DESC}",
    "{field: CUSTOMER_COUNT}",
    "{field: CREATED_AT}",
]
# (aliases, page size, customers per class), costliest first: every alias is a page of
# 100 classes with every tab (the bulk of the work), and nested customers add to it. The
# first shape the service accepts is used (the refusals cost nothing: QUERY_TOO_COMPLEX
# comes before execution). Today's node budget takes 20 x (100 + 100 x 4) = 10,000.
COSTLY_SHAPES = [
    *((aliases, 100, customers) for aliases in range(20, 0, -1) for customers in (4, 2, 1, 0)),
    *((1, first, 0) for first in (50, 20, 10, 5, 1)),
]
TOO_COSTLY = {"QUERY_TOO_COMPLEX", "QUERY_TOO_LARGE", "TOO_MANY_ALIASES", "PAGE_TOO_LARGE"}

# Issue 7: combining marks in descending canonical combining class order, repeated, make
# canonical reordering (NFC) quadratic in their number.
MARKS = "\u0345\u035d\u035c\u0315\u0301\u059a\u0316\u031b\u0327\u0334"
FILTER_MARKS = 12_000
NAME_MARKS = 30_000
MARKS_QUERY = (
    "query MarkFilters($q: String!) {\n"
    + "".join(
        f"  c{i:02d}: customerClasses(filter: {{nameContains: $q}}) {{ totalCount }}\n"
        for i in range(20)
    )
    + "  customers(filter: {nameContains: $q}) { totalCount }\n}"
)
MARKS_MUTATION = """mutation MarkName($name: String!) {
  createCustomerClass(input: {name: $name}) { customerClass { id } userErrors { code } }
}"""
READS_QUERY = """query Reads($ids: [ID!]!) {
  nodes(ids: $ids) { ... on Customer { customerClass { name } parent { name } } }
}"""
VIEWER_QUERY = "query Viewer { viewer { role } }"


def costly_query(aliases: int, first: int, customers: int) -> str:
    """``aliases`` pages of ``first`` classes with every tab (and ``customers`` of each
    class's customers with their effective settings), each alias in another order."""
    nested = (
        f" customers(first: {customers}) {{ nodes {{ id name effectiveSettings"
        " { ...CustomerTabs } } }"
        if customers
        else ""
    )
    fields = "".join(
        f"  p{i:02d}: customerClasses(first: {first}, orderBy: {ORDERS[i % len(ORDERS)]})"
        " { ...Page }\n"
        for i in range(aliases)
    )
    page = (
        "fragment Page on CustomerClassConnection"
        f" {{ totalCount nodes {{ id name ...ClassTabs{nested} }} }}\n"
    )
    fragments = page + CLASS_TABS + (CUSTOMER_TABS if customers else "") + POLICY_FRAGMENTS
    return f"query Costly {{\n{fields}}}\n{fragments}"


def marks(count: int) -> str:
    return (MARKS * (count // len(MARKS) + 1))[:count]


# --------------------------------------------------------------------------- set-up


@dataclass
class Tenants:
    database: str
    classes: int
    customers: int
    a_id: int
    a_name: str
    b_id: int
    b_name: str
    b_classes: list[int]
    a_customers: list[int]
    a_tokens: list[str] = field(default_factory=list)
    b_token: str = ""


async def _tenants(url: str) -> Tenants:
    """Tenant A is the first reseller by name, tenant B the second."""
    engine = seed.engine_for(url)
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            cc, k = customer_table.c, class_table.c
            a, b = (
                await conn.execute(
                    sa.select(cc.id, cc.name)
                    .where(cc.customer_type == "RESELLER", tenant_is(cc.tenant_id, None))
                    .order_by(cc.name_key, cc.id)
                    .limit(2)
                )
            ).all()
            b_classes = (
                await conn.execute(
                    sa.select(k.id).where(k.tenant_id == b.id).order_by(k.name_key, k.id)
                )
            ).scalars()
            a_customers = (
                await conn.execute(
                    sa.select(cc.id).where(cc.tenant_id == a.id).order_by(cc.name_key, cc.id)
                )
            ).scalars()
            classes, customers = (
                await conn.execute(
                    sa.text(
                        "select (select count(*) from customer_class),"
                        " (select count(*) from customer)"
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
            return Tenants(
                database=f"{engine.dialect.name} {version}",
                classes=classes,
                customers=customers,
                a_id=a.id,
                a_name=a.name,
                b_id=b.id,
                b_name=b.name,
                b_classes=list(b_classes),
                a_customers=list(a_customers),
            )
    finally:
        await engine.dispose()


async def _create_tokens(url: str, tenants: Tenants) -> None:
    """A_TOKENS reseller tokens for A and one for B, made the way the command line makes
    them (``tenancy.tokens``), valid for a day."""
    engine = seed.engine_for(url)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)

            async def token(name: str, reseller: int) -> str:
                _row, secret = await api_tokens.create_api_token(
                    conn,
                    principal=CLI,
                    data={
                        "name": f"{name} {stamp}",
                        "role": "RESELLER",
                        "resellerId": to_global_id("Customer", reseller),
                        "expiresAt": expires,
                    },
                )
                return secret

            # Earlier runs' tokens (--reuse) are revoked first: they would count against
            # the limit of 20 unrevoked tokens per reseller.
            t = token_table.c
            earlier = await conn.execute(
                sa.select(t.id).where(
                    t.tenant_id.in_([tenants.a_id, tenants.b_id]),
                    t.revoked_at.is_(None),
                    t.name.like("noisy %"),
                )
            )
            for key in earlier.scalars().all():
                await api_tokens.revoke_api_token(
                    conn, principal=CLI, data={"id": to_global_id(api_tokens.TYPE, key)}
                )
            tenants.a_tokens = [await token(f"noisy A{i}", tenants.a_id) for i in range(A_TOKENS)]
            tenants.b_token = await token("noisy B", tenants.b_id)
    finally:
        await engine.dispose()


async def _is_seeded(url: str) -> bool:
    engine = seed.engine_for(url)
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            count = (
                await conn.execute(
                    sa.text(
                        "select count(*) from customer"
                        " where customer_type = 'RESELLER' and tenant_id = 0"
                    )
                )
            ).scalar_one()
            return int(count) >= 2
    finally:
        await engine.dispose()


async def _service_url(given_url: str, owner_url: str) -> str:
    """On PostgreSQL with a superuser URL: the URL of SERVICE_ROLE, granted DML on the
    bench database (tables stay owned by seed.APP_ROLE, so the service is no owner, as
    SPEC §7 wants it). Otherwise the owner URL as it is."""
    parsed = make_url(given_url)
    conn = await asyncpg.connect(seed._dsn(given_url))
    try:
        superuser = await conn.fetchval(
            "select rolsuper from pg_roles where rolname = current_user"
        )
        if not superuser:
            return owner_url
        if not await conn.fetchval("select 1 from pg_roles where rolname = $1", SERVICE_ROLE):
            await conn.execute(
                f"CREATE ROLE {SERVICE_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
            )
        await conn.execute(f'GRANT CONNECT ON DATABASE "{parsed.database}" TO {SERVICE_ROLE}')
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {SERVICE_ROLE}")
        await conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {SERVICE_ROLE}"
        )
        await conn.execute(
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {SERVICE_ROLE}"
        )
        await conn.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {SERVICE_ROLE}")
        # History is append-only for the service (SPEC §7).
        await conn.execute(f"REVOKE UPDATE, DELETE ON {event_table.name} FROM {SERVICE_ROLE}")
    finally:
        await conn.close()
    return (
        make_url(owner_url)
        .set(username=SERVICE_ROLE, password=None)
        .render_as_string(hide_password=False)
    )


# --------------------------------------------------------------------------- the worker


class Worker:
    """One uvicorn worker of our service on the server core, its memory sampled from
    /proc every 0.1 s. Past ``guard_mib`` of RSS it is killed (the run goes on and
    reports it): a benchmark must not push a shared machine into the OOM killer."""

    def __init__(self, name: str, env: dict[str, str], guard_mib: float) -> None:
        self.name = name
        self.env = env
        self.guard_kib = guard_mib * 1024
        self.port = run._free_port()
        self.log_path = OUT / f"noisy-server-{name}.log"
        self.peak_rss_kib = 0
        self.hwm_kib = 0
        self.killed_at_kib: int | None = None
        self.exit_code: int | None = None
        self._jiffies = 0
        self._stop = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._sampler: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> None:
        command = [
            "taskset", "-c", SERVER_CPU, sys.executable, "-m", "uvicorn", "gql.app:create_app",
            "--factory", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            if self._process.poll() is not None:
                raise SystemExit(f"the server exited at start; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {self.log_path}") from None
                time.sleep(0.2)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def memory(self) -> dict[str, int]:
        """VmHWM (peak RSS) and VmRSS in KiB; empty once the process is gone."""
        found: dict[str, int] = {}
        with suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in ("VmHWM", "VmRSS"):
                    found[name] = int(value.split()[0])
        return found

    def jiffies(self) -> int:
        """CPU time used so far (utime + stime); the last figure seen once it is gone."""
        with suppress(OSError):
            self._jiffies = run._process_jiffies(self.pid)
        return self._jiffies

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.jiffies()
            found = self.memory()
            if not found:
                return
            self.peak_rss_kib = max(self.peak_rss_kib, found.get("VmRSS", 0))
            self.hwm_kib = max(self.hwm_kib, found.get("VmHWM", 0))
            if found.get("VmRSS", 0) > self.guard_kib and self._process is not None:
                self.killed_at_kib = found["VmRSS"]
                self._process.kill()
                return

    def wait_idle(self, limit: float = 30) -> None:
        """Until the worker has used no CPU for 0.3 s (set-up requests finished)."""
        deadline = time.monotonic() + limit
        last, quiet = self.jiffies(), 0
        while quiet < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.jiffies()
            quiet = quiet + 1 if now - last <= 1 else 0
            last = now

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds: a flooded worker's backlog is
        of no interest once its phase is measured."""
        if self._process is None:
            return
        found = self.memory()
        self.hwm_kib = max(self.hwm_kib, found.get("VmHWM", 0))
        self._stop.set()
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.exit_code = self._process.returncode
        if self._sampler is not None:
            self._sampler.join()


@contextmanager
def serving(name: str, env: dict[str, str], guard_mib: float) -> Iterator[Worker]:
    worker = Worker(name, env, guard_mib)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()


def _post(
    client: httpx.Client, worker: Worker, token: str, body: bytes
) -> tuple[str, dict[str, Any], float]:
    """A set-up request: the outcome (``bench.noisy_load.classify``), the answer and
    seconds taken; waits out 429s (set-up is not measured)."""
    for _ in range(60):
        started = time.perf_counter()
        try:
            response = client.post(
                worker.url,
                content=body,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as error:
            raise SystemExit(f"a set-up request failed: {error!r}; see {worker.log_path}") from None
        elapsed = time.perf_counter() - started
        outcome = noisy_load.classify(response.status_code, response.content)
        if response.status_code == 429:
            time.sleep(float(response.headers.get("retry-after") or 1))
            continue
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = {}
        return outcome, answer if isinstance(answer, dict) else {}, elapsed
    raise SystemExit("set-up requests stayed throttled (429) for minutes")


# --------------------------------------------------------------------------- phases


@dataclass
class Phase:
    key: str
    title: str
    what: str
    workers: int = 0  # tenant A's connections; 0 = A is quiet
    bodies: list[bytes] = field(default_factory=list)
    documents: bool = False  # A sends distinct documents (bench.noisy_load)
    duration: float = 20.0
    result: dict[str, Any] = field(default_factory=dict)


def point_bodies(tenants: Tenants) -> list[bytes]:
    return [
        run.body(
            run.POINT_QUERY, "ClassHeader", {"id": global_id("CustomerClass", key, tenants.b_id)}
        )
        for key in tenants.b_classes
    ]


def read_bodies(tenants: Tenants) -> list[bytes]:
    ids = [to_global_id("Customer", key) for key in tenants.a_customers]
    return [
        run.body(READS_QUERY, "Reads", {"ids": ids[i : i + 3]})
        for i in range(0, min(len(ids), 600) - 2, 3)
    ]


def choose_costly(client: httpx.Client, worker: Worker, tenants: Tenants) -> dict[str, Any]:
    """The costliest shape of COSTLY_SHAPES that the service runs for A."""
    tried = []
    for index, (aliases, first, customers) in enumerate(COSTLY_SHAPES):
        query = costly_query(aliases, first, customers)
        payload = run.body(query, "Costly")
        token = tenants.a_tokens[index % len(tenants.a_tokens)]
        outcome, answer, seconds = _post(client, worker, token, payload)
        shape = {"aliases": aliases, "first": first, "customers_per_class": customers}
        tried.append({**shape, "outcome": outcome})
        if outcome == "200":
            print(
                f"  tenant A's costliest accepted query: {shape} ({len(tried) - 1} costlier"
                f" shapes refused), {seconds:.1f} s alone"
            )
            cost = (answer.get("extensions") or {}).get("cost")
            return {
                **shape,
                "body": payload,
                "seconds_alone": round(seconds, 2),
                "response_bytes": len(orjson.dumps(answer)),
                "cost": cost,
                "costlier_shapes_refused": {
                    "count": len(tried) - 1,
                    "outcomes": sorted({t["outcome"] for t in tried[:-1]}),
                },
            }
        if outcome.split()[-1] not in TOO_COSTLY:
            raise SystemExit(f"the costly query failed ({outcome}): {answer}")
    raise SystemExit(f"the service refused every costly query shape: {tried}")


def check_setup(
    client: httpx.Client, worker: Worker, tenants: Tenants, reads: list[bytes]
) -> dict[str, Any]:
    """B's lookup, A's reads and a distinct document must work before anything is
    measured (the combining marks are not tried: on today's code they take seconds)."""
    outcome, answer, _ = _post(client, worker, tenants.b_token, point_bodies(tenants)[0])
    if outcome != "200" or not (answer.get("data") or {}).get("customerClass"):
        raise SystemExit(f"tenant B's point lookup failed ({outcome}): {answer}")
    outcome, answer, _ = _post(client, worker, tenants.a_tokens[0], reads[0])
    found = (answer.get("data") or {}).get("nodes") or []
    if outcome != "200" or len(found) != 3 or not all(found):
        raise SystemExit(f"tenant A's reads failed ({outcome}): {answer}")
    document = noisy_load.distinct_document("setup0", random.Random(0))
    even, _, _ = _post(client, worker, tenants.a_tokens[0], document)
    document = noisy_load.distinct_document("setup1", random.Random(1))
    odd, _, _ = _post(client, worker, tenants.a_tokens[0], document)
    for outcome in (even, odd):
        if outcome.split()[-1] in (
            "GRAPHQL_PARSE_FAILED",
            "GRAPHQL_VALIDATION_FAILED",
            "QUERY_TOO_LARGE",
            "TOO_MANY_ALIASES",
        ):
            raise SystemExit(f"a distinct document was refused as invalid or too large: {outcome}")
    return {"distinct_documents": [even, odd]}


def warm_up(client: httpx.Client, worker: Worker, tenants: Tenants) -> None:
    """Schema, token cache and connections of a fresh worker, for both tenants."""
    for payload in point_bodies(tenants)[:10]:
        _post(client, worker, tenants.b_token, payload)
    for token in tenants.a_tokens:
        _post(client, worker, token, run.body(VIEWER_QUERY, "Viewer"))


def _snapshot(worker: Worker, postgres: bool) -> tuple[Any, ...]:
    return (
        run._cpu_stat(),
        worker.jiffies(),
        run._children_jiffies(),
        run._postgres_jiffies() if postgres else 0,
        time.process_time() * run.CLOCK_TICKS,
    )


def _drive(config: dict[str, Any]) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a load driver (``bench.noisy_load``) on the load core; returns it and its
    config file."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (removed by the caller)
        "wb", prefix=f"noisy-{config['tenant']}-", suffix=".json", dir=OUT, delete=False
    )
    with handle:
        handle.write(orjson.dumps(config))
    process = subprocess.Popen(
        ["taskset", "-c", LOAD_CPU, sys.executable, "-m", "bench.noisy_load", handle.name],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    return process, Path(handle.name)


def _collect(driver: tuple[subprocess.Popen[bytes], Path], limit: float) -> dict[str, Any]:
    """The driver's tally (its last line of output); its config file is removed."""
    process, config = driver
    try:
        stdout, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, _ = process.communicate()
    finally:
        config.unlink(missing_ok=True)
    if process.returncode != 0 or not stdout.strip():
        raise SystemExit(f"a load driver failed (exit {process.returncode})")
    result: dict[str, Any] = orjson.loads(stdout.strip().splitlines()[-1])
    return result


def run_phase(phase: Phase, tenants: Tenants, env: dict[str, str], args: Any) -> None:
    postgres = args.postgres
    with serving(phase.key, env, args.memory_guard) as worker:
        with httpx.Client(timeout=120) as client:
            warm_up(client, worker, tenants)
        worker.wait_idle()
        start = time.time() + 2.0  # the drivers' start-up (imports) happens meanwhile
        common = {"url": worker.url, "start": start, "duration": phase.duration, "timeout": TIMEOUT}
        drivers = [
            _drive(
                {
                    **common,
                    "tenant": "b",
                    "token": tenants.b_token,
                    "rate": B_RATE,
                    "ramp": RAMP,
                    "bodies": [b.decode() for b in point_bodies(tenants)],
                }
            )
        ]
        if phase.workers:
            drivers.append(
                _drive(
                    {
                        **common,
                        "tenant": "a",
                        "tokens": tenants.a_tokens,
                        "workers": phase.workers,
                        "bodies": [b.decode() for b in phase.bodies],
                        "documents": phase.documents,
                    }
                )
            )
        time.sleep(max(0.0, start - time.time()))
        before = _snapshot(worker, postgres)
        results = [_collect(d, phase.duration + TIMEOUT + 60) for d in drivers]
        after = _snapshot(worker, postgres)
        alive = worker.alive()
        worker.stop()
    own, drivers_cpu, database, runner = (after[i] - before[i] for i in range(1, 5))
    interval = after[0][f"cpu{SERVER_CPU}"][1] - before[0][f"cpu{SERVER_CPU}"][1] or 1
    busy = sum(after[0][c][0] - before[0][c][0] for c in after[0])
    phase.result = {
        "b": results[0],
        "a": results[1] if len(results) > 1 else None,
        "memory": {
            "vmhwm_mib": round(worker.hwm_kib / 1024, 1),
            "peak_vmrss_mib": round(worker.peak_rss_kib / 1024, 1),
            "killed_by_memory_guard_at_mib": (
                round(worker.killed_at_kib / 1024, 1) if worker.killed_at_kib else None
            ),
        },
        "server_alive_at_end": alive,
        "cpu_cores": {
            "server": round(own / interval, 2),
            "database": round(database / interval, 2),
            "load_drivers": round(drivers_cpu / interval, 2),
            "other_load": round(max(0, busy - own - drivers_cpu - database - runner) / interval, 2),
        },
        "seconds": phase.duration,
    }
    phase.result["noisy"] = (
        phase.result["cpu_cores"]["other_load"] > NOISY_LOAD
        or results[0]["send_lag_p99_ms"] > NOISY_LAG_MS
    )
    _print_phase(phase)


# --------------------------------------------------------------------------- report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _outcomes(tally: dict[str, int], skip: tuple[str, ...] = ()) -> str:
    items = sorted(tally.items(), key=lambda item: -item[1])
    return ", ".join(f"{name}: {count:,}" for name, count in items if name not in skip) or "-"


def _print_phase(phase: Phase) -> None:
    result = phase.result
    b, a, memory = result["b"], result["a"], result["memory"]
    line = (
        f"  {phase.title:34} B p50 {_ms(b['p50_ms']):>6} ms  p99 {_ms(b['p99_ms']):>6} ms"
        f"  errors {b['errors']}/{b['due']}"
    )
    if a:
        line += f"  | A {a['answered']:,} answered, {a['throttled']:,} x 429"
    line += f"  | peak {memory['vmhwm_mib']:.0f} MiB"
    print(line)


def _met(verdict: bool | None) -> str:
    return "not measured (no flood phase)" if verdict is None else "MET" if verdict else "NOT MET"


def _verdict(phases: list[Phase]) -> dict[str, Any]:
    floods = [p for p in phases if p.workers]
    p99 = {p.key: p.result["b"]["p99_ms"] for p in floods}
    errors = {p.key: p.result["b"]["errors"] for p in floods}
    memory = max(
        max(
            p.result["memory"]["vmhwm_mib"],
            p.result["memory"]["killed_by_memory_guard_at_mib"] or 0,
        )
        for p in phases
    )
    # None: no flood phase was run, so the B targets were not measured.
    latency_met = (
        all(value is not None and value < TARGET_P99_MS for value in p99.values())
        if floods
        else None
    )
    return {
        "b_p99_under_250_ms": latency_met,
        "b_no_errors": not any(errors.values()) if floods else None,
        "memory_under_400_mb": memory < TARGET_MEMORY_MIB,
        "worst_b_p99_ms": max((v for v in p99.values() if v is not None), default=None),
        "b_errors_during_floods": sum(errors.values()),
        "peak_memory_mib": memory,
    }


def report(phases: list[Phase], info: dict[str, Any]) -> dict[str, Any]:
    tenants = info["tenants"]
    print()
    print(
        f"noisy neighbour: {tenants['database']}, {tenants['classes']:,} classes,"
        f" {tenants['customers']:,} customers; one worker on CPU {SERVER_CPU}, load on CPU"
        f" {LOAD_CPU}; B = {tenants['b_name']!r} at {B_RATE} point lookups/s (open loop),"
        f" A = {tenants['a_name']!r} with {A_TOKENS} tokens; {TIMEOUT:g} s timeout"
    )
    print(f"machine: {info['machine']['cpu']}; code {info['machine']['git']}")
    print()
    head = (
        f"{'phase':34} {'B p50':>7} {'B p99':>7} {'B max':>7} {'B err':>7}"
        f" {'A reqs':>7} {'A 429':>6} {'peak MiB':>8} {'srv CPU':>7} {'other':>6}"
    )
    print(head)
    print("-" * len(head))
    for phase in phases:
        r = phase.result
        b, a = r["b"], r["a"]
        memory = r["memory"]
        peak = f"{memory['vmhwm_mib']:.0f}" + (
            "!" if memory["killed_by_memory_guard_at_mib"] else ""
        )
        print(
            f"{phase.title:34} {_ms(b['p50_ms']):>7} {_ms(b['p99_ms']):>7} {_ms(b['max_ms']):>7}"
            f" {b['errors']:>3}/{b['due']:<3} {(a['answered'] if a else 0):>7,}"
            f" {(a['throttled'] if a else 0):>6,} {peak:>8} {r['cpu_cores']['server']:>7.0%}"
            f" {r['cpu_cores']['other_load']:>6.0%}"
        )
    print(
        "(latencies in ms from the moment each request was due; B err = B's errors/requests;"
        " A reqs = A's answered requests (timeouts included); peak = the worker's VmHWM;"
        " ! = killed by the memory guard; srv CPU and other = shares of one core taken by the"
        " worker and by processes that are none of ours)"
    )
    print()
    for phase in phases:
        r = phase.result
        print(f"{phase.title}:")
        print(f"  B outcomes: {_outcomes(r['b']['outcomes'])}")
        if r["b"]["send_lag_p99_ms"] > NOISY_LAG_MS or r["b"]["late_start_s"] > 0.5:
            print(
                f"  (B's own client was late: p99 {r['b']['send_lag_p99_ms']:.0f} ms, max"
                f" {r['b']['send_lag_max_ms']:.0f} ms per send; its start"
                f" {r['b']['late_start_s']:.1f} s late: other load on the load core)"
            )
        if r["a"]:
            a = r["a"]
            print(
                f"  A: {a['sent']:,} sent ({a['sent_bytes'] / 1e6:.1f} MB), {a['answered']:,}"
                f" answered, {a['abandoned']} abandoned at the end; p50 {_ms(a['p50_ms'])} ms;"
                f" outcomes: {_outcomes(a['outcomes'])}"
            )
        memory = r["memory"]
        print(
            f"  worker: VmHWM {memory['vmhwm_mib']:.1f} MiB, peak VmRSS"
            f" {memory['peak_vmrss_mib']:.1f} MiB"
            + (
                f", KILLED by the memory guard at {memory['killed_by_memory_guard_at_mib']} MiB"
                if memory["killed_by_memory_guard_at_mib"]
                else ""
            )
            + ("" if r["server_alive_at_end"] else ", NOT running at the end of the phase")
            + f"; database CPU {r['cpu_cores']['database']:.0%}"
        )
    verdict = _verdict(phases)
    print()
    print(
        f"targets: B's p99 < {TARGET_P99_MS:.0f} ms during every flood:"
        f" {_met(verdict['b_p99_under_250_ms'])}"
        f" (worst {_ms(verdict['worst_b_p99_ms'])} ms);"
        f" no error for B: {_met(verdict['b_no_errors'])}"
        f" ({verdict['b_errors_during_floods']} errors);"
        f" worker < {TARGET_MEMORY_MIB:.0f} MB:"
        f" {'MET' if verdict['memory_under_400_mb'] else 'NOT MET'}"
        f" (peak {verdict['peak_memory_mib']:.0f} MiB)"
    )
    noisy = [phase.title for phase in phases if phase.result["noisy"]]
    if noisy:
        print(
            f"WARNING: noisy (other processes took more than {NOISY_LOAD:.0%} of a core, or B's"
            f" own client sent more than {NOISY_LAG_MS:.0f} ms late): {', '.join(noisy)}."
            " Latencies there are too high; rerun on a quiet machine before comparing them"
            " with the targets."
        )
    return {
        **info,
        "targets": {"b_p99_ms": TARGET_P99_MS, "memory_mib": TARGET_MEMORY_MIB},
        "verdict": verdict,
        "phases": {
            p.key: {"title": p.title, "what": p.what, "a_connections": p.workers, **p.result}
            for p in phases
        },
    }


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    versions = {}
    for package in ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "SQLAlchemy",
                    "aiosqlite", "asyncpg", "httpx2"):  # fmt: skip
        with suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "git": head + (" (modified)" if dirty else ""),
        "packages": versions,
    }


def _save(database: str, results: dict[str, Any]) -> None:
    """One entry per database (sqlite, postgresql) in RESULTS, the latest run of each."""
    saved: dict[str, Any] = {}
    if RESULTS.exists():
        with suppress(ValueError):
            saved = json.loads(RESULTS.read_text())
    saved[database] = results
    RESULTS.write_text(json.dumps(saved, indent=2, default=str))


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.noisy_neighbour",
        description="Does one reseller's flood of legal requests hurt another reseller?",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help="SQLAlchemy URL (default: a SQLite file under bench/out/); for PostgreSQL a"
        " superuser URL naming a database to (re)create, e.g."
        " postgresql+asyncpg://postgres@127.0.0.1:5432/billclass_noisy",
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--duration", type=float, default=20, help="seconds per phase")
    parser.add_argument(
        "--phases", default="baseline,a,b,c,d", help="which phases, comma-separated"
    )
    parser.add_argument(
        "--memory-guard",
        type=float,
        default=2048,
        help="MiB of RSS past which the worker is killed (and the phase reports it)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the worker, e.g. BILLCLASS_REDIS_URL=redis://127.0.0.1:6379/0",
    )
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("the benchmark needs 2 CPUs (one for the worker, one for the load)")
    OUT.mkdir(parents=True, exist_ok=True)
    load_average = Path("/proc/loadavg").read_text().split()[:3]

    # 1. Data, tenants, tokens.
    owner_url, kept = seed.prepare_database(args.database_url, args.reuse)
    args.postgres = not seed.is_sqlite(owner_url)
    seeding: dict[str, Any] = {"reused": True}
    if not (kept and asyncio.run(_is_seeded(owner_url))):
        if kept:
            raise SystemExit("the database exists but is not seeded; run without --reuse")
        print(f"seeding {owner_url} ...")
        done = asyncio.run(seed.seed(owner_url, resellers_count=RESELLERS))
        seeding = {"reused": False, "seconds": round(done.seconds, 1)}
        print(
            f"seeded {done.classes:,} classes, {done.customers:,} customers: {done.seconds:.1f} s"
        )
    service_url = (
        asyncio.run(_service_url(args.database_url, owner_url)) if args.postgres else owner_url
    )
    tenants = asyncio.run(_tenants(owner_url))
    asyncio.run(_create_tokens(owner_url, tenants))
    env = {
        "BILLCLASS_DATABASE_URL": service_url,
        # Where migrations would run from once the service and the owner are split.
        "BILLCLASS_MIGRATION_DATABASE_URL": owner_url,
    }
    for item in args.server_env:
        name, _, value = item.partition("=")
        env[name] = value
    print(f"tenant A {tenants.a_name!r}, tenant B {tenants.b_name!r}; {tenants.database}")

    # 2. Probe the service for A's costliest accepted query (on its own worker).
    reads = read_bodies(tenants)
    print("probing the costliest query the service accepts from tenant A ...")
    with serving("probe", env, args.memory_guard) as worker, httpx.Client(timeout=180) as client:
        checks = check_setup(client, worker, tenants, reads)
        costly = choose_costly(client, worker, tenants)

    # 3. The phases, each on a fresh worker.
    both_marks = [
        run.body(MARKS_QUERY, "MarkFilters", {"q": marks(FILTER_MARKS)}),
        run.body(MARKS_MUTATION, "MarkName", {"name": marks(NAME_MARKS)}),
    ]
    shape = f"{costly['aliases']} x customerClasses(first: {costly['first']})" + (
        f" with customers(first: {costly['customers_per_class']})"
        if costly["customers_per_class"]
        else ""
    )
    catalogue = {
        "baseline": Phase("baseline", "quiet (B alone)", "tenant B alone"),
        "a": Phase(
            "a",
            "(a) costliest legal queries",
            f"{shape}, every tab, 6 orders, totalCount",
            A_CONNECTIONS,
            [costly["body"]],
        ),
        "b": Phase(
            "b",
            "(b) combining marks",
            f"{FILTER_MARKS:,} marks as nameContains in 21 fields / {NAME_MARKS:,} marks as"
            " createCustomerClass(name:), alternately",
            A_CONNECTIONS,
            both_marks,
        ),
        "c": Phase(
            "c",
            "(c) 60 concurrent reads",
            "nodes(ids: [3 of A's customers]) { customerClass { name } parent { name } }",
            READ_CONCURRENCY,
            reads,
        ),
        "d": Phase(
            "d",
            "(d) distinct 60 KB documents",
            "every request a new valid ~60 KB document (long names or string literals)",
            A_CONNECTIONS,
            documents=True,
        ),
    }
    phases = []
    for key in args.phases.split(","):
        phase = catalogue[key.strip()]
        phase.duration = args.duration
        phases.append(phase)
    print(f"phases of {args.duration:g} s, each on a fresh worker:")
    os.sched_setaffinity(0, {int(LOAD_CPU)})  # this process's sampling stays off the server core
    for phase in phases:
        run_phase(phase, tenants, env, args)

    # 4. Report.
    info = {
        "command": shlex.join(["python", "-m", "bench.noisy_neighbour", *sys.argv[1:]]),
        "database_url": service_url,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_at_start": load_average,
        "machine": machine(),
        "seeding": seeding,
        "tenants": {
            "database": tenants.database,
            "classes": tenants.classes,
            "customers": tenants.customers,
            "a_name": tenants.a_name,
            "b_name": tenants.b_name,
        },
        "b_rate_per_s": B_RATE,
        "timeout_s": TIMEOUT,
        "costly_query": {k: v for k, v in costly.items() if k != "body"},
        "setup_checks": checks,
        "server_env": sorted(set(env) - {"BILLCLASS_DATABASE_URL"}),
    }
    results = report(phases, info)
    _save("postgresql" if args.postgres else "sqlite", results)
    print(f"\nresults written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
