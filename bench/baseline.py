"""The raw baseline: a bare Starlette app serving the same JSON as our service for the
two benchmarked operations, straight from SQL. No GraphQL, no authentication, no ORM:
``sqlite3`` on one module-level connection for SQLite, an ``asyncpg`` pool with
prepared statements for PostgreSQL; responses encoded with orjson.

It answers ``POST /graphql`` with the same request bodies as our service (the operation
is picked by ``operationName``), so one wrk script drives both. It serves one reseller,
given by the environment (there is no token to say who calls):

    BENCH_BASELINE_URL   the database, as an SQLAlchemy URL (sqlite+aiosqlite:///... or
                         postgresql+asyncpg://...)
    BENCH_RESELLER_ID    the reseller (customer key) the requests act for

    uvicorn bench.baseline:create_app --factory

On PostgreSQL the session carries the reseller's row-level security context (set once per
connection), so the baseline reads through the same policies as the service.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Domain constants only (the tab order, the list-page column): no service code runs here.
from tenancy.class_rows import invoicing
from tenancy.tabs import NOTIFICATION_TYPES

DEFAULT_CHANNEL = {"send": False, "template": "SYSTEM"}

VISIBLE = "(tenant_id = {r} or (tenant_id = 0 and shared_with_resellers))"
HEADER_SQL = (
    "select id, name, description, tenant_id, currency_code, version, archive_xdrs,"
    " regular_invoices_enabled, out_of_turn_invoices_enabled, taxation_method,"
    " created_at, updated_at from customer_class where id = {k} and " + VISIBLE
)
PAGE_SQL = (
    "select id, name, general_info, measured_services, notifications, regular_invoices,"
    " out_of_turn_invoices, taxation, custom_field_ids, fraud_protection, tenant_id"
    " from customer_class where " + VISIBLE + " order by name_key, id limit {n}"
)
CATALOG_SQL = {
    "notification_set": "select id, name from notification_set where id {keys}",
    "invoice_template": "select id, name from invoice_template where id {keys}",
    "custom_tax": "select id, name, rate_percent from custom_tax where id {keys}",
    "custom_field_definition": (
        "select id, name, name_key from custom_field_definition where id {keys}"
    ),
}


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def class_id(key: int, tenant: int) -> str:
    """A class's global ID as the service gives it out (routed: tenancy.ids)."""
    return base64.b64encode(f"CustomerClass:{key}@{tenant}".encode()).decode()


def decode_id(value: object, type_name: str) -> int | None:
    try:
        kind, _, key = base64.b64decode(str(value)).decode().partition(":")
        return int(key.partition("@")[0]) if kind == type_name else None
    except ValueError:
        return None


def timestamp(value: Any) -> str:
    """The service's DateTime output: UTC, ISO 8601, ``Z``."""
    if isinstance(value, str):  # SQLite stores UTC without an offset
        return datetime.fromisoformat(value).isoformat() + "Z"
    moment: datetime = value
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def header(row: Sequence[Any]) -> dict[str, Any]:
    currency = row[4]
    return {
        "id": class_id(row[0], row[3]),
        "name": row[1],
        "description": row[2],
        "managedBy": "ADMINISTRATOR" if row[3] is None else "RESELLER",
        "currency": None if currency is None else {"code": currency},
        "version": row[5],
        "archiveXdrs": bool(row[6]),
        "invoicing": invoicing(row[7], row[8]),
        "taxationMethod": row[9],
        "createdAt": timestamp(row[10]),
        "updatedAt": timestamp(row[11]),
    }


def parse_rows(rows: Sequence[Sequence[Any]], loads: Any) -> list[list[Any]]:
    """Rows of PAGE_SQL with their JSON columns decoded."""
    return [[row[0], row[1], *(loads(v) for v in row[2:10]), row[10]] for row in rows]


def catalog_keys(docs: list[list[Any]]) -> dict[str, set[int]]:
    """The catalog entries a page references, per table (one query per kind)."""
    keys: dict[str, set[int]] = {
        "notification_set": set(),
        "invoice_template": set(),
        "custom_tax": set(),
        "custom_field_definition": set(),
    }
    for doc in docs:
        if doc[4]["notificationSetId"] is not None:
            keys["notification_set"].add(doc[4]["notificationSetId"])
        for invoices in (doc[5], doc[6]):
            if invoices["invoiceTemplateId"] is not None:
                keys["invoice_template"].add(invoices["invoiceTemplateId"])
        keys["custom_tax"].update(doc[7]["customTaxIds"])
        keys["custom_field_definition"].update(doc[8])
    return keys


def build_page(
    docs: list[list[Any]], more: bool, found: dict[str, dict[int, Sequence[Any]]]
) -> dict[str, Any]:
    """The page-of-50 JSON from decoded rows and the catalog rows they reference."""
    set_rows = found.get("notification_set", {})
    template_rows = found.get("invoice_template", {})
    tax_rows = found.get("custom_tax", {})
    field_rows = found.get("custom_field_definition", {})

    def template(key: int | None) -> dict[str, Any] | None:
        entry = template_rows.get(key) if key is not None else None
        return None if entry is None else {"name": entry[1]}

    nodes = []
    for key, name, general, measured, notes, regular, oot, tax, field_ids, fraud, tenant in docs:
        stored = notes["settings"]
        found_set = set_rows.get(notes["notificationSetId"])
        chosen_fields = sorted(
            (field_rows[k] for k in field_ids if k in field_rows), key=lambda r: (r[2], r[0])
        )
        nodes.append(
            {
                "id": class_id(key, tenant),
                "name": name,
                "generalInfo": general,
                "measuredServices": measured,
                "notifications": {
                    "notificationSet": None if found_set is None else {"name": found_set[1]},
                    "settings": [
                        {
                            "type": kind,
                            "email": (stored.get(kind) or {}).get("email") or DEFAULT_CHANNEL,
                            "sms": (stored.get(kind) or {}).get("sms") or DEFAULT_CHANNEL,
                        }
                        for kind in NOTIFICATION_TYPES
                    ],
                },
                "regularInvoices": {
                    "enabled": regular["enabled"],
                    "pdfGeneration": regular["pdfGeneration"],
                    "delivery": regular["delivery"],
                    "holdForReviewDays": regular["holdForReviewDays"],
                    "invoiceTemplate": template(regular["invoiceTemplateId"]),
                    "paymentTerms": regular["paymentTerms"],
                    "pastDue": regular["pastDue"],
                },
                "outOfTurnInvoices": {
                    "enabled": oot["enabled"],
                    "delivery": oot["delivery"],
                    "separateInvoiceForRecurringFees": oot["separateInvoiceForRecurringFees"],
                    "invoiceTemplate": template(oot["invoiceTemplateId"]),
                    "paymentTerms": oot["paymentTerms"],
                    "pastDue": oot["pastDue"],
                },
                "taxation": {
                    "method": tax["method"],
                    "assessTaxes": tax["assessTaxes"],
                    "taxesIncludedInRates": tax["taxesIncludedInRates"],
                    "assessment": tax["assessment"],
                    "vatRatePercent": tax["vatRatePercent"],
                    "taxName": tax["taxName"],
                    "customTaxes": [
                        {"name": tax_rows[k][1], "ratePercent": tax_rows[k][2]}
                        for k in tax["customTaxIds"]
                        if k in tax_rows
                    ],
                },
                "customFields": [{"name": r[1]} for r in chosen_fields],
                "fraudProtection": fraud,
            }
        )
    return {"data": {"customerClasses": {"pageInfo": {"hasNextPage": more}, "nodes": nodes}}}


def _not_found() -> Response:
    return OrjsonResponse({"errors": [{"message": "unknown operation"}]}, status_code=400)


def sqlite_app(path: str, reseller_id: int) -> Starlette:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    header_sql = HEADER_SQL.format(k="?", r="?")
    page_sql = PAGE_SQL.format(r="?", n="?")

    def lookup(table: str, keys: set[int]) -> dict[int, Sequence[Any]]:
        if not keys:
            return {}
        marks = "in (" + ",".join("?" * len(keys)) + ")"
        return {r[0]: r for r in conn.execute(CATALOG_SQL[table].format(keys=marks), list(keys))}

    def loads(value: Any) -> Any:
        return None if value is None else orjson.loads(value)

    async def graphql(request: Request) -> Response:
        envelope = orjson.loads(await request.body())
        operation = envelope.get("operationName")
        variables = envelope.get("variables") or {}
        if operation == "ClassHeader":
            key = decode_id(variables.get("id"), "CustomerClass")
            row = conn.execute(header_sql, (key, reseller_id)).fetchone()
            return OrjsonResponse({"data": {"customerClass": row and header(row)}})
        if operation == "ClassPage":
            first = int(variables.get("first", 50))
            rows = conn.execute(page_sql, (reseller_id, first + 1)).fetchall()
            docs = parse_rows(rows[:first], loads)
            found = {table: lookup(table, keys) for table, keys in catalog_keys(docs).items()}
            return OrjsonResponse(build_page(docs, len(rows) > first, found))
        return _not_found()

    return _starlette(graphql)


def postgres_app(dsn: str, reseller_id: int) -> Starlette:
    import asyncpg

    state: dict[str, Any] = {}
    header_sql = HEADER_SQL.format(k="$1", r="$2")
    page_sql = PAGE_SQL.format(r="$1", n="$2")

    async def init(conn: Any) -> None:
        await conn.set_type_codec(
            "jsonb", schema="pg_catalog", encoder=orjson.dumps, decoder=orjson.loads
        )

    async def graphql(request: Request) -> Response:
        envelope = orjson.loads(await request.body())
        operation = envelope.get("operationName")
        variables = envelope.get("variables") or {}
        pool = state["pool"]
        if operation == "ClassHeader":
            key = decode_id(variables.get("id"), "CustomerClass")
            row = await pool.fetchrow(header_sql, key, reseller_id)
            return OrjsonResponse({"data": {"customerClass": row and header(row)}})
        if operation == "ClassPage":
            first = int(variables.get("first", 50))
            async with pool.acquire() as conn:
                rows = await conn.fetch(page_sql, reseller_id, first + 1)
                docs = parse_rows(rows[:first], _identity)
                found = {}
                for table, keys in catalog_keys(docs).items():
                    if keys:
                        sql = CATALOG_SQL[table].format(keys="= any($1::bigint[])")
                        found[table] = {r[0]: r for r in await conn.fetch(sql, list(keys))}
            return OrjsonResponse(build_page(docs, len(rows) > first, found))
        return _not_found()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            dsn,
            min_size=10,
            max_size=10,
            init=init,
            # The reseller's row-level security context, as session defaults (startup
            # parameters survive the pool's RESET ALL), so no request pays for it.
            server_settings={
                "billclass.role": "RESELLER",
                "billclass.reseller_id": str(reseller_id),
            },
        )
        yield
        await state["pool"].close()

    return _starlette(graphql, lifespan=lifespan)


def _identity(value: Any) -> Any:
    return value


def _starlette(graphql: Any, **kw: Any) -> Starlette:
    async def healthz(_request: Request) -> Response:
        return OrjsonResponse({"status": "ok"})

    app = Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)], **kw
    )
    return app


def create_app() -> Starlette:
    url = os.environ["BENCH_BASELINE_URL"]
    reseller_id = int(os.environ["BENCH_RESELLER_ID"])
    parsed = make_url(url)
    if url.startswith("sqlite"):
        return sqlite_app(str(parsed.database), reseller_id)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return postgres_app(dsn, reseller_id)
