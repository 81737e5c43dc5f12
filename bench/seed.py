"""Seed the benchmark data set directly with SQL (bulk inserts through SQLAlchemy Core).

What is written (deterministic: ``random.Random(SEED)``):

- catalogs first: business models, invoice templates, notification sets, custom field
  definitions, custom taxes;
- 200 resellers (RESELLER customers, direct customers of the administrator), each with
  its own currency;
- 20,000 classes: 99 per reseller plus 200 administrator classes (60 of them shared with
  resellers), besides the built-in Default class. Every tab holds valid non-default
  values: measured services, a notification set with some types sent, regular and
  out-of-turn invoices with templates, payment terms with reminders, past-due steps
  with notices, FIXED_VAT_RATE or CUSTOM_TAXATION with taxes, custom fields, fraud
  protection (classes with a currency);
- 200,000 customers: each reseller and its 999 subentities (a few sub-resellers), on
  their reseller's classes, a shared administrator class or the Default class.

The tab documents are built the way the API builds them: an input patch (with global
IDs) applied to ``tenancy.tabs.default_settings`` by ``tenancy.tabs.apply_patch`` and
checked by ``tenancy.tabs.validate``, so every SPEC §5 rule holds; the columns are
written with ``tenancy.class_rows.tab_values``.

Run on its own: ``python -m bench.seed [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from db import migrate
from db.engine import make_engine
from db.ids import new_id
from db.models import (
    business_model_table,
    class_table,
    custom_field_table,
    custom_tax_table,
    customer_table,
    invoice_template_table,
    notification_set_table,
)
from db.settings import Settings
from tenancy import class_rows, fields, tabs, tokens
from tenancy.catalogs import MINOR_UNITS
from tenancy.errors import ErrorList
from tenancy.ids import decode, to_global_id
from tenancy.principal import CLI
from tenancy.scoping import enter_tenant

OUT = Path(__file__).parent / "out"
DEFAULT_URL = f"sqlite+aiosqlite:///{OUT / 'bench.db'}"
SEED = 20_260_101
RESELLERS = 200
CLASSES_PER_RESELLER = 99
ADMIN_CLASSES = 200
SHARED_ADMIN_CLASSES = 60
CUSTOMERS_PER_RESELLER = 1_000  # the reseller itself and 999 subentities
# The PostgreSQL roles, as in production (README "PostgreSQL roles"): the owner migrates
# (and runs VACUUM ANALYZE); the service connects as APP_ROLE, no superuser, no BYPASSRLS,
# no table owned, so that row-level security is in force exactly as in production.
OWNER_ROLE = "billclass_bench_owner"
APP_ROLE = "billclass_bench_service"

# Reseller currencies, weighted towards the common ones; JPY (0 decimals) and BHD (3)
# exercise money formatting.
CURRENCY_POOL = ["USD"] * 6 + ["EUR"] * 5 + ["GBP"] * 3 + ["CAD", "AUD", "CHF", "SEK", "PLN"]
CURRENCY_POOL += ["JPY", "BHD"]

COMPANY = [
    "Skyline", "Bluewave", "Northstar", "Crescent", "Summit", "Ironbridge", "Lakeside",
    "Redwood", "Silverline", "Harbor", "Pinnacle", "Evergreen", "Atlas", "Meridian",
    "Keystone", "Horizon", "Granite", "Clearpath", "Brightlink", "Oakridge",
]  # fmt: skip
COMPANY_KIND = ["Telecom", "Networks", "Voice", "Communications", "Connect", "Digital"]
SEGMENTS = [
    "Retail", "Business", "Enterprise", "SOHO", "Prepaid", "Postpaid", "Wholesale",
    "Hospitality", "Campus", "Government", "Healthcare", "Reseller", "Call center",
    "Residential", "Startup", "Nonprofit",
]  # fmt: skip
PLANS = ["Basic", "Plus", "Pro", "Unlimited", "Flex", "Premium", "Lite", "Max", "Core", "Edge"]
FIRST = [
    "Anna", "Ben", "Carla", "David", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara",
]  # fmt: skip
LAST = [
    "Müller", "Smith", "García", "Rossi", "Novak", "Kowalski", "Tanaka", "Dubois",
    "Johansson", "Silva", "Okafor", "Horvat", "Jensen", "Costa", "Weber", "Moreau",
]  # fmt: skip
COMPANY_SUFFIX = ["GmbH", "Ltd", "LLC", "S.A.", "AB", "Inc.", "Sp. z o.o.", "BV"]


@dataclass
class Catalogs:
    business_models: list[int] = field(default_factory=list)
    templates: list[int] = field(default_factory=list)
    notification_sets: list[int] = field(default_factory=list)
    custom_fields: list[int] = field(default_factory=list)
    # key -> appliedTo
    taxes: dict[int, str] = field(default_factory=dict)


@dataclass
class SeedReport:
    seconds: float
    classes: int
    customers: int
    resellers: int


# --------------------------------------------------------------------------- databases


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    assert database, url
    return Path(database)


def _dsn(url: str, database: str | None = None, user: str | None = None) -> str:
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


async def _prepare_postgres(url: str, reuse: bool) -> tuple[str, bool]:
    """Create (or, with ``reuse``, keep) the bench database. Returns the URL the service
    uses and whether an existing database was kept.

    With a superuser URL the database is owned by ``OWNER_ROLE`` and the service connects
    as ``APP_ROLE`` (both NOSUPERUSER NOBYPASSRLS), so row-level security is measured too.
    """
    parsed = make_url(url)
    database = parsed.database
    if not database:
        raise SystemExit("--database-url must name a database, e.g. .../billclass_bench")
    conn = await asyncpg.connect(_dsn(url, database="postgres"))
    try:
        superuser = await conn.fetchval(
            "select rolsuper from pg_roles where rolname = current_user"
        )
        exists = bool(await conn.fetchval("select 1 from pg_database where datname = $1", database))
        if not superuser:
            # Not ours to create or drop: use the database as given.
            if not exists:
                await conn.execute(f'CREATE DATABASE "{database}"')
            print(
                f"note: {parsed.username} is not a superuser; the service connects as it"
                " (and refuses to start if it owns the tables or has BYPASSRLS, unless"
                " BILLCLASS_ALLOW_UNSAFE_ROLE=1)."
            )
            return url, exists and reuse
        nodes = [url] + await _citus_workers(conn, url)
        owner = await conn.fetchval(
            "select pg_get_userbyid(datdba) from pg_database where datname = $1", database
        )
    finally:
        await conn.close()
    # Not kept either: a database of the single-role era (owned by the service role).
    kept = exists and reuse and owner == OWNER_ROLE
    # On Citus every node gets the same database (the coordinator does not create it on
    # the workers); the workers' copies are dropped first, as the cluster was built.
    for node in nodes if kept else list(reversed(nodes)):
        await _prepare_node(node, database, create=not kept)
    if not kept and len(nodes) > 1:
        await _join_cluster(url, nodes[1:])
    app_url = parsed.set(username=APP_ROLE, password=None).render_as_string(hide_password=False)
    return app_url, kept


async def _citus_workers(conn: asyncpg.Connection, url: str) -> list[str]:
    """The superuser URLs of the Citus workers registered on the coordinator ``conn``
    (BILLCLASS_CITUS=1; the cluster of ``.ci/citus-cluster``), none on plain PostgreSQL."""
    if not Settings(database_url=url).citus:
        return []
    try:
        rows = await conn.fetch(
            "select nodename, nodeport from pg_dist_node"
            " where groupid <> 0 and noderole = 'primary' order by nodeport"
        )
    except asyncpg.UndefinedTableError:
        raise SystemExit(
            f"BILLCLASS_CITUS=1 but {make_url(url).host}:{make_url(url).port} has no citus"
            " extension in its postgres database (make citus)"
        ) from None
    if not rows:
        raise SystemExit("BILLCLASS_CITUS=1 but the coordinator has no workers (make citus)")
    base = make_url(url)
    return [
        base.set(host=row["nodename"], port=row["nodeport"]).render_as_string(hide_password=False)
        for row in rows
    ]


async def _prepare_node(node: str, database: str, *, create: bool) -> None:
    """The two roles on one server; with ``create``, ``database`` (re)created there,
    owned by OWNER_ROLE, with the citus extension when the server has it preloaded."""
    conn = await asyncpg.connect(_dsn(node, database="postgres"))
    try:
        for name in (OWNER_ROLE, APP_ROLE):
            role = await conn.fetchval("select 1 from pg_roles where rolname = $1", name)
            if not role:
                await conn.execute(
                    f"CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                )
        if not create:
            return
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}" OWNER {OWNER_ROLE}')
        citus = await conn.fetchval("select 1 from pg_extension where extname = 'citus'")
    finally:
        await conn.close()
    if citus:
        conn = await asyncpg.connect(_dsn(node, database=database))
        try:
            await conn.execute("CREATE EXTENSION citus")
        finally:
            await conn.close()


async def _join_cluster(coordinator: str, workers: list[str]) -> None:
    """Register the coordinator and the workers in the new database's metadata (each
    Citus database is a cluster of its own)."""
    conn = await asyncpg.connect(_dsn(coordinator))
    try:
        parsed = make_url(coordinator)
        await conn.execute(
            "select citus_set_coordinator_host($1, $2)",
            parsed.host or "127.0.0.1",
            parsed.port or 5432,
        )
        for worker in workers:
            node = make_url(worker)
            await conn.execute("select citus_add_node($1, $2)", node.host, node.port)
    finally:
        await conn.close()


def prepare_database(url: str, reuse: bool) -> tuple[str, bool]:
    """Returns the URL the service uses, and whether an existing bench database is kept
    (only with ``reuse``). Migrations are applied either way."""
    if is_sqlite(url):
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = reuse and path.exists()
        if not kept:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        app_url = url
    else:
        app_url, kept = asyncio.run(_prepare_postgres(url, reuse))
    migrate.upgrade(owner_url(app_url), service_url=app_url)
    return app_url, kept


def owner_url(url: str) -> str:
    """The URL the bench migrates and analyses with: the owner role's when the service
    connects as APP_ROLE, else the URL as given (one role, SQLite)."""
    parsed = make_url(url)
    if is_sqlite(url) or parsed.username != APP_ROLE:
        return url
    return parsed.set(username=OWNER_ROLE, password=None).render_as_string(hide_password=False)


def engine_for(url: str) -> Any:
    return make_engine(url, settings=Settings(database_url=url), for_migrations=True)


async def is_seeded(url: str) -> bool:
    engine = engine_for(url)
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            count = (
                await conn.execute(sa.text("select count(*) from customer_class"))
            ).scalar_one()
            return int(count) >= RESELLERS * CLASSES_PER_RESELLER + ADMIN_CLASSES
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- values


def _money(rng: random.Random, decimals: int, low: int, high: int) -> str:
    """A money string in whole units low..high with up to two decimals (fewer when the
    currency has fewer), written with exactly ``decimals`` decimals."""
    cents = Decimal(rng.randint(low * 100, high * 100)) / 100
    places = min(decimals, 2)
    value = cents.quantize(Decimal(1).scaleb(-places)) if places else Decimal(int(cents) or 1)
    return fields.format_money(value, decimals)


def _decreasing(rng: random.Random, high: int, most: int) -> list[int]:
    """Distinct days in 1..high, strictly decreasing, 1..most of them."""
    count = rng.randint(1, max(1, min(most, high)))
    return sorted(rng.sample(range(1, high + 1), count), reverse=True)


def _payment_terms(rng: random.Random, *, auto_charge: bool) -> dict[str, Any]:
    net = rng.choice([7, 10, 14, 21, 30, 45, 60])
    return {
        "netDays": net,
        "dueDateReminderDays": _decreasing(rng, net - 1, 3),
        "autoCharge": auto_charge,
        "autoChargeTiming": rng.choice(["UPON_INVOICE_GENERATION", "UPON_DUE_DATE"]),
    }


def _past_due(rng: random.Random, decimals: int) -> dict[str, Any]:
    limit = rng.randint(3, 15)
    suspend = limit + rng.randint(5, 20)
    terminate = suspend + rng.randint(15, 60)
    resend = sorted(rng.sample(range(0, 31), rng.randint(1, 3)))
    return {
        "collectionThreshold": _money(rng, decimals, 1, 20),
        "resendInvoiceDays": resend,
        "lateFee": _money(rng, decimals, 2, 25),
        "limitServiceAfterDays": limit,
        "limitationNoticeDays": _decreasing(rng, limit, 2),
        "suspendAfterDays": suspend,
        "suspensionNoticeDays": _decreasing(rng, suspend, 3),
        "reactivationFee": _money(rng, decimals, 5, 50),
        "terminateAfterDays": terminate,
        "terminationNoticeDays": _decreasing(rng, terminate, 3),
        "terminateCommitments": rng.random() < 0.5,
        "restoreAfterPartialPayment": rng.random() < 0.5,
    }


NOTICE_TYPES = {
    "DUE_DATE_APPROACHING",
    "SERVICE_LIMITATION_APPROACHING",
    "SUSPENSION_APPROACHING",
    "TERMINATION_APPROACHING",
}


def tab_patch(rng: random.Random, currency: str | None, catalogs: Catalogs) -> dict[str, Any]:
    """A createCustomerClass input for every tab (catalog references as global IDs)."""
    decimals = fields.DEFAULT_MONEY_DECIMALS if currency is None else MINOR_UNITS[currency]
    billed_externally = rng.random() < 0.25
    closures = ["AFTER_GLOBAL_DELAY", "WITH_EXTRA_DELAY"]
    if not billed_externally:
        closures.append("UPON_ADMINISTRATOR_APPROVAL")
    closure = rng.choice(closures)
    reset = billed_externally and rng.random() < 0.6
    general: dict[str, Any] = {
        "generateStatistics": True,
        "sendStatistics": rng.choice(["FULL_STATISTICS", "SUMMARY_ONLY"]),
        "billingPeriodClosure": closure,
        "roundingMethod": rng.choice(
            ["HALF_AWAY_FROM_ZERO", "HALF_EVEN", "TOWARDS_ZERO", "SPECIAL_MALAYSIAN"]
        ),
        "roundingPrecision": rng.choice([0, 1, 3, 4, 5, 6]),
        "suspendOnInsufficientFunds": rng.random() < 0.5,
        "billedExternally": billed_externally,
        "resetBalanceEveryPeriod": reset,
        "hideBalanceResetXdr": reset and rng.random() < 0.5,
    }
    if closure == "WITH_EXTRA_DELAY":
        general["closeDelayHours"] = rng.randint(1, 72)
    measured = [
        {
            "parameter": parameter,
            "chargeBasedOn": rng.choice(["AVERAGE", "MAXIMUM", "MINIMUM", "DO_NOT_CHARGE"]),
            "pricePerItem": _money(rng, decimals, 0, 15),
            "itemsFreeOfCharge": rng.choice([0, 1, 2, 5, 10]),
            "rateCode": f"MS-{rng.randint(100, 999)}",
            "service": rng.choice(["Voice", "Hosted PBX", "SIP trunk", "Contact center"]),
        }
        for parameter in rng.sample(
            ["ACTIVE_CALLS", "CONCURRENT_CALLS", "PBX_EXTENSIONS"], rng.randint(1, 3)
        )
    ]
    notification_settings = []
    for kind in tabs.NOTIFICATION_TYPES:
        email = kind in NOTICE_TYPES or rng.random() < 0.5
        notification_settings.append(
            {
                "type": kind,
                "email": {"send": email, "template": rng.choice(["SYSTEM", "CUSTOM"])},
                "sms": {"send": rng.random() < 0.3, "template": rng.choice(["SYSTEM", "CUSTOM"])},
            }
        )
    review = rng.random() < 0.3
    regular: dict[str, Any] = {
        "enabled": rng.random() < 0.9,
        "invoiceTemplateId": to_global_id("InvoiceTemplate", rng.choice(catalogs.templates)),
        "pdfGeneration": rng.choice(["POSTPONED_BY_RESOURCE_AVAILABILITY", "ON_DEMAND"]),
        "delivery": "AFTER_ADMINISTRATOR_REVIEW" if review else "AUTOMATICALLY",
        "paymentTerms": _payment_terms(rng, auto_charge=rng.random() < 0.4),
        "pastDue": _past_due(rng, decimals),
    }
    if review:
        regular["holdForReviewDays"] = rng.randint(1, 30)
    separate = rng.random() < 0.5
    out_of_turn = {
        "enabled": rng.random() < 0.7,
        "invoiceTemplateId": to_global_id("InvoiceTemplate", rng.choice(catalogs.templates)),
        "delivery": "AUTOMATICALLY",
        "separateInvoiceForRecurringFees": separate,
        "paymentTerms": _payment_terms(rng, auto_charge=separate or rng.random() < 0.4),
        "pastDue": _past_due(rng, decimals),
    }
    at_payment = rng.random() < 0.4
    taxation: dict[str, Any] = {
        "assessTaxes": True,
        "taxesIncludedInRates": rng.random() < 0.3,
        "assessment": "AT_TIME_OF_PAYMENT" if at_payment else "AT_END_OF_BILLING_PERIOD",
    }
    if rng.random() < 0.5:
        taxation["method"] = "FIXED_VAT_RATE"
        taxation["vatRatePercent"] = rng.choice(["20", "7.5", "19", "8.25", "21", "5.125"])
        taxation["taxName"] = rng.choice(["VAT", "GST", "Sales tax", "IVA", "MwSt"])
    else:
        pool = [
            key
            for key, applied in catalogs.taxes.items()
            if not at_payment or applied == "ALL_CHARGES"
        ]
        taxation["method"] = "CUSTOM_TAXATION"
        taxation["customTaxIds"] = [
            to_global_id("CustomTax", key) for key in rng.sample(pool, rng.randint(1, 3))
        ]
    patch: dict[str, Any] = {
        "generalInfo": general,
        "measuredServices": measured,
        "notifications": {
            "notificationSetId": to_global_id(
                "NotificationSet", rng.choice(catalogs.notification_sets)
            ),
            "settings": notification_settings,
        },
        "regularInvoices": regular,
        "outOfTurnInvoices": out_of_turn,
        "taxation": taxation,
        "customFieldIds": [
            to_global_id("CustomFieldDefinition", key)
            for key in rng.sample(catalogs.custom_fields, rng.randint(1, 4))
        ],
    }
    if currency is not None:
        warn = rng.random() < 0.6
        fraud: dict[str, Any] = {
            "dailySpendingThreshold": _money(rng, decimals, 50, 500),
            "checkRemainingFunds": rng.random() < 0.5,
            "sendWarning": warn,
        }
        if warn:
            fraud["warningThresholdPercent"] = rng.randint(50, 95)
        patch["fraudProtection"] = fraud
    return patch


def build_settings(patch: dict[str, Any], currency: str | None, catalogs: Catalogs) -> Any:
    """The tabs document the API would store for ``patch``; raises if any rule breaks."""
    decimals = fields.DEFAULT_MONEY_DECIMALS if currency is None else MINOR_UNITS[currency]
    resolved = {}
    for ref in tabs.references(patch):
        key = decode(ref.raw, ref.node_type)
        assert key is not None, ref
        resolved[ref.path] = key
    errors = ErrorList()
    state = tabs.Patching(
        errors=errors,
        money_decimals=decimals,
        has_currency=currency is not None,
        resolved=resolved,
    )
    settings = tabs.apply_patch(
        tabs.default_settings(None if currency is None else decimals), patch, state
    )
    tabs.validate(settings, state, catalogs.taxes.get)
    if errors:
        raise AssertionError(f"seed produced an invalid class: {errors.errors}")
    return settings


# --------------------------------------------------------------------------- rows


def _moment(rng: random.Random, start: datetime, days: int) -> datetime:
    seconds = rng.randint(0, days * 86_400)
    return start + timedelta(seconds=seconds, microseconds=rng.randint(1, 999_999))


def _catalog_rows(
    rng: random.Random, now: datetime
) -> tuple[Catalogs, dict[sa.Table, list[dict[str, Any]]]]:
    catalogs = Catalogs()
    rows: dict[sa.Table, list[dict[str, Any]]] = {}

    def named(table: sa.Table, names: Sequence[str]) -> list[int]:
        keys = [new_id() for _ in names]
        rows[table] = [
            {"id": k, "name": n, "name_key": fields.name_key(n), "created_at": now}
            for k, n in zip(keys, names, strict=True)
        ]
        return keys

    models = [
        ("hosted-pbx", "Hosted IP PBX"), ("sip-trunking", "SIP trunking"),
        ("residential-voip", "Residential VoIP"), ("prepaid-calling", "Prepaid calling cards"),
        ("mobile-mvno", "Mobile (MVNO)"), ("contact-center", "Contact center"),
        ("iot", "IoT connectivity"), ("ftth", "Fiber to the home"),
        ("wholesale", "Wholesale voice"), ("ucaas", "Unified communications"),
        ("sms-gateway", "SMS gateway"), ("hotel", "Hotel PBX"),
    ]  # fmt: skip
    catalogs.business_models = [new_id() for _ in models]
    rows[business_model_table] = [
        {"id": k, "code": c, "code_key": fields.name_key(c), "name": n, "created_at": now}
        for k, (c, n) in zip(catalogs.business_models, models, strict=True)
    ]
    catalogs.templates = named(
        invoice_template_table,
        [f"{style} invoice {lang}" for style in ("Standard", "Detailed", "Compact", "Branded")
         for lang in ("EN", "DE", "FR", "ES", "PL", "JA")],
    )  # fmt: skip
    catalogs.notification_sets = named(
        notification_set_table,
        [f"{tone} notices {lang}" for tone in ("Standard", "Friendly")
         for lang in ("EN", "DE", "FR", "ES", "PL")],
    )  # fmt: skip
    field_names = [
        "VAT number", "Contract number", "Sales agent", "Cost center", "PO number",
        "Account manager", "Region", "Industry", "Onboarding date", "Support tier",
        "Customer since", "Language", "Billing contact", "Tax exemption ID", "Referral code",
        "Installation address", "Partner ID", "Credit score", "Contract end", "SLA level",
    ]  # fmt: skip
    field_rows: list[dict[str, Any]] = []
    for index, name in enumerate(field_names * 2):
        obj = "CUSTOMER" if index < len(field_names) else "ACCOUNT"
        kind = ["TEXT", "NUMBER", "DATE", "DATE_TIME", "LIST"][index % 5]
        field_rows.append(
            {
                "id": new_id(),
                "object": obj,
                "name": name,
                "name_key": fields.name_key(name),
                "type": kind,
                "list_values": ["Bronze", "Silver", "Gold"] if kind == "LIST" else [],
                "default_value": "Silver" if kind == "LIST" else None,
                "mandatory": index % 3 == 0,
                "visible_to_end_user": index % 2 == 0,
                "contains_personal_data": index % 7 == 0,
                "created_at": now,
            }
        )
    rows[custom_field_table] = field_rows
    catalogs.custom_fields = [r["id"] for r in field_rows]
    tax_rows = []
    for index, (name, rate) in enumerate(
        [
            ("City tax", "1.5"), ("County tax", "0.75"), ("State sales tax", "6.25"),
            ("Federal excise", "3"), ("911 fee", "0.5"), ("USF", "33.4"),
            ("Regulatory recovery", "2.1"), ("Municipal levy", "1.25"),
            ("Telecom relay", "0.2"), ("E-rate", "0.125"), ("Green levy", "0.8"),
            ("Digital services tax", "5"), ("Stamp duty", "0.05"), ("Tourism tax", "4.5"),
            ("Access charge", "1.1"), ("Infrastructure fee", "2.75"),
        ]
    ):  # fmt: skip
        applied = ["ALL_CHARGES", "ALL_CHARGES", "SUBSCRIPTIONS", "USAGE"][index % 4]
        key = new_id()
        catalogs.taxes[key] = applied
        tax_rows.append(
            {
                "id": key,
                "name": name,
                "name_key": fields.name_key(name),
                "rate_percent": rate,
                "applied_to": applied,
                "created_at": now,
            }
        )
    rows[custom_tax_table] = tax_rows
    return catalogs, rows


def _class_row(
    rng: random.Random,
    catalogs: Catalogs,
    *,
    tenant_id: int | None,
    name: str,
    currency: str | None,
    shared: bool,
    start: datetime,
) -> dict[str, Any]:
    settings = build_settings(tab_patch(rng, currency, catalogs), currency, catalogs)
    created = _moment(rng, start, 600)
    updated = created + timedelta(seconds=rng.randint(0, 90 * 86_400))
    description = None
    if rng.random() < 0.8:
        description = rng.choice(
            [
                "Billed monthly in arrears.",
                "Net terms with automatic reminders and a three-step collection policy.",
                "Prepaid customers; suspended when funds run out.",
                "Companies with negotiated rates and review before invoices are sent.",
                "Legacy plan kept for existing customers; no new sign-ups.",
            ]
        )
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "name": name,
        "name_key": fields.name_key(name),
        "description": description,
        "business_model_id": rng.choice(catalogs.business_models),
        "currency_code": currency,
        "notification_sender": (
            f"billing@{name.split()[0].lower()}.example" if rng.random() < 0.6 else None
        ),
        "shared_with_resellers": shared,
        "is_default": False,
        "version": rng.randint(1, 12),
        "created_at": created,
        "updated_at": updated,
        **class_rows.tab_values(settings),
    }


async def _insert(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 2_000):
        await conn.execute(table.insert(), rows[start : start + 2_000])


async def seed(url: str, *, resellers_count: int = RESELLERS) -> SeedReport:
    """Write the whole data set into a freshly migrated database at ``url``; with
    ``resellers_count`` below ``RESELLERS``, the same data for fewer resellers (each with
    its 99 classes and 999 subentities; the administrator's classes are unchanged)."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    now = datetime(2026, 1, 5, 9, 30, 0, 123_456, tzinfo=UTC)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    engine = engine_for(url)
    classes = customers = 0
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            # The catalogs first: Citus refuses a write to a reference table after a
            # statement that read a distributed table across shards in parallel.
            catalogs, catalog_rows = _catalog_rows(rng, now)
            for table, rows in catalog_rows.items():
                await conn.execute(table.insert(), rows)
            default_id = (
                await conn.execute(sa.select(class_table.c.id).where(class_table.c.is_default))
            ).scalar_one()

            # Resellers (direct customers of the administrator).
            resellers: list[dict[str, Any]] = []
            for index in range(resellers_count):
                name = (
                    f"{COMPANY[index % len(COMPANY)]} {rng.choice(COMPANY_KIND)}"
                    f" {index // len(COMPANY) + 1:02d}"
                )
                resellers.append(
                    {
                        "id": new_id(),
                        "tenant_id": None,
                        "name": name,
                        "name_key": fields.name_key(name),
                        "customer_type": "RESELLER",
                        "reseller_level": 1,
                        "currency_code": rng.choice(CURRENCY_POOL),
                        "created_at": _moment(rng, start, 300),
                    }
                )

            # Administrator classes: some shared with resellers, some without currency.
            admin_rows = []
            for index in range(ADMIN_CLASSES):
                name = f"{rng.choice(SEGMENTS)} {rng.choice(PLANS)} A{index:03d}"
                currency = None if rng.random() < 0.2 else rng.choice(CURRENCY_POOL)
                admin_rows.append(
                    _class_row(
                        rng,
                        catalogs,
                        tenant_id=None,
                        name=name,
                        currency=currency,
                        shared=index < SHARED_ADMIN_CLASSES,
                        start=start,
                    )
                )
            await _insert(conn, class_table, admin_rows)
            classes += len(admin_rows)
            shared = [r for r in admin_rows if r["shared_with_resellers"]]

            # Resellers' own assignment: the Default class or any administrator class
            # of a compatible currency (they are direct customers, parent null).
            for reseller in resellers:
                fits = [
                    r["id"]
                    for r in admin_rows
                    if r["currency_code"] in (None, reseller["currency_code"])
                ]
                use_default = rng.random() < 0.3 or not fits
                reseller["customer_class_id"] = default_id if use_default else rng.choice(fits)
            await _insert(conn, customer_table, resellers)
            customers += len(resellers)

            # Per reseller: its classes, then its customers.
            for reseller in resellers:
                own_currency = reseller["currency_code"]
                own_rows = []
                for index in range(CLASSES_PER_RESELLER):
                    name = f"{rng.choice(SEGMENTS)} {rng.choice(PLANS)} {index:02d}"
                    currency = None if rng.random() < 0.15 else own_currency
                    own_rows.append(
                        _class_row(
                            rng,
                            catalogs,
                            tenant_id=reseller["id"],
                            name=name,
                            currency=currency,
                            shared=False,
                            start=start,
                        )
                    )
                await _insert(conn, class_table, own_rows)
                classes += len(own_rows)
                own = [r["id"] for r in own_rows]
                shared_fit = [r["id"] for r in shared if r["currency_code"] in (None, own_currency)]
                subs = []
                for _ in range(CUSTOMERS_PER_RESELLER - 1):
                    pick = rng.random()
                    if pick < 0.75:
                        class_id = rng.choice(own)
                    elif pick < 0.85 and shared_fit:
                        class_id = rng.choice(shared_fit)
                    else:
                        class_id = default_id
                    sub_reseller = rng.random() < 0.01
                    if sub_reseller or rng.random() < 0.4:
                        name = (
                            f"{rng.choice(COMPANY)} {rng.choice(LAST)} {rng.choice(COMPANY_SUFFIX)}"
                        )
                    else:
                        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                    row: dict[str, Any] = {
                        "id": new_id(),
                        "tenant_id": reseller["id"],
                        "name": name,
                        "name_key": fields.name_key(name),
                        "customer_type": "RESELLER" if sub_reseller else "RETAIL",
                        "reseller_level": 2 if sub_reseller else 0,
                        "currency_code": own_currency,
                        "customer_class_id": class_id,
                        "override_send_statistics": None,
                        "override_suspend_on_insufficient_funds": None,
                        "override_regular_template": False,
                        "override_regular_template_id": None,
                        "created_at": _moment(rng, start, 650),
                    }
                    if rng.random() < 0.03:
                        row["override_send_statistics"] = "SUMMARY_ONLY"
                    if rng.random() < 0.03:
                        row["override_suspend_on_insufficient_funds"] = True
                    if rng.random() < 0.02:
                        row["override_regular_template"] = True
                        row["override_regular_template_id"] = rng.choice(catalogs.templates)
                    subs.append(row)
                await _insert(conn, customer_table, subs)
                customers += len(subs)
        if engine.dialect.name == "postgresql":
            # Planner statistics, as autovacuum would soon have them after a bulk load.
            # (SQLite is left as the service leaves it: nothing runs ANALYZE there.)
            # The owner's job: VACUUM skips tables the service role does not own.
            owner = engine_for(owner_url(url))
            try:
                async with owner.connect() as conn:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await conn.exec_driver_sql("VACUUM ANALYZE")
            finally:
                await owner.dispose()
    finally:
        await engine.dispose()
    return SeedReport(
        seconds=time.perf_counter() - started,
        classes=classes,
        customers=customers,
        resellers=resellers_count,
    )


# --------------------------------------------------------------------------- tokens


async def create_tokens(url: str, reseller_id: int) -> tuple[str, str]:
    """A fresh administrator token and a RESELLER token for ``reseller_id``, created the
    way the command line creates the first token (``tenancy.tokens``)."""
    engine = engine_for(url)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            _row, admin = await tokens.create_api_token(
                conn,
                principal=CLI,
                data={"name": f"bench admin {stamp}", "role": "ADMINISTRATOR"},
            )
            _row, reseller = await tokens.create_api_token(
                conn,
                principal=CLI,
                data={
                    "name": f"bench reseller {stamp}",
                    "role": "RESELLER",
                    "resellerId": to_global_id("Customer", reseller_id),
                    "expiresAt": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                },
            )
    finally:
        await engine.dispose()
    return admin, reseller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    app_url, _kept = prepare_database(args.database_url, reuse=False)
    report = asyncio.run(seed(app_url))
    print(
        f"seeded {report.resellers} resellers, {report.classes} classes and"
        f" {report.customers} customers in {report.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
