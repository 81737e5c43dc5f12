"""Initial schema, row-level security policies, ISO 4217 currencies and the Default class.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

The row-level security policies are PostgreSQL only (SQLite has none; there the tenancy
layer's filters are the only line). Each request sets, with ``set_config(..., true)``
(transaction-local, so safe with pooled connections):

- ``billclass.role``: ADMINISTRATOR or RESELLER;
- ``billclass.reseller_id``: the reseller a RESELLER token acts for;
- ``billclass.token_hash``: only while authenticating, to read that one token row.

Nothing set means nothing visible: the policies fail closed. ``current_setting`` is
wrapped in ``(select ...)`` so PostgreSQL evaluates it once per statement, not per row.
Tables are FORCE'd so that the owner is subject to the policies too.

The seeds are frozen copies, as they were when this revision was written: a revision's
data must not change when the live code does. ``CURRENCIES`` below is db/currencies.py of
that day (ISO 4217, SIX Group table published 2026-01-01, 157 currencies); a later change
to the currency list (a new code, a renamed or withdrawn one) comes as a new migration
that inserts, updates or deletes ``currency`` rows, together with the edit of
db/currencies.py, never as an edit of this list
(tests/integration/test_migrations.py checks both: this list's checksum, and that the
head revision seeds exactly db/currencies.py).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ISO 4217 active currencies (code, name, minor units) as db/currencies.py listed them
# when this revision was written: a frozen copy (see the module docstring). Funds and
# codes without minor units (precious metals, XXX, XTS) are left out.
CURRENCIES: tuple[tuple[str, str, int], ...] = (
    ("AED", "UAE Dirham", 2),
    ("AFN", "Afghani", 2),
    ("ALL", "Lek", 2),
    ("AMD", "Armenian Dram", 2),
    ("AOA", "Kwanza", 2),
    ("ARS", "Argentine Peso", 2),
    ("AUD", "Australian Dollar", 2),
    ("AWG", "Aruban Florin", 2),
    ("AZN", "Azerbaijan Manat", 2),
    ("BAM", "Convertible Mark", 2),
    ("BBD", "Barbados Dollar", 2),
    ("BDT", "Taka", 2),
    ("BHD", "Bahraini Dinar", 3),
    ("BIF", "Burundi Franc", 0),
    ("BMD", "Bermudian Dollar", 2),
    ("BND", "Brunei Dollar", 2),
    ("BOB", "Boliviano", 2),
    ("BRL", "Brazilian Real", 2),
    ("BSD", "Bahamian Dollar", 2),
    ("BTN", "Ngultrum", 2),
    ("BWP", "Pula", 2),
    ("BYN", "Belarusian Ruble", 2),
    ("BZD", "Belize Dollar", 2),
    ("CAD", "Canadian Dollar", 2),
    ("CDF", "Congolese Franc", 2),
    ("CHF", "Swiss Franc", 2),
    ("CLP", "Chilean Peso", 0),
    ("CNY", "Yuan Renminbi", 2),
    ("COP", "Colombian Peso", 2),
    ("CRC", "Costa Rican Colon", 2),
    ("CUP", "Cuban Peso", 2),
    ("CVE", "Cabo Verde Escudo", 2),
    ("CZK", "Czech Koruna", 2),
    ("DJF", "Djibouti Franc", 0),
    ("DKK", "Danish Krone", 2),
    ("DOP", "Dominican Peso", 2),
    ("DZD", "Algerian Dinar", 2),
    ("EGP", "Egyptian Pound", 2),
    ("ERN", "Nakfa", 2),
    ("ETB", "Ethiopian Birr", 2),
    ("EUR", "Euro", 2),
    ("FJD", "Fiji Dollar", 2),
    ("FKP", "Falkland Islands Pound", 2),
    ("GBP", "Pound Sterling", 2),
    ("GEL", "Lari", 2),
    ("GHS", "Ghana Cedi", 2),
    ("GIP", "Gibraltar Pound", 2),
    ("GMD", "Dalasi", 2),
    ("GNF", "Guinean Franc", 0),
    ("GTQ", "Quetzal", 2),
    ("GYD", "Guyana Dollar", 2),
    ("HKD", "Hong Kong Dollar", 2),
    ("HNL", "Lempira", 2),
    ("HTG", "Gourde", 2),
    ("HUF", "Forint", 2),
    ("IDR", "Rupiah", 2),
    ("ILS", "New Israeli Sheqel", 2),
    ("INR", "Indian Rupee", 2),
    ("IQD", "Iraqi Dinar", 3),
    ("IRR", "Iranian Rial", 2),
    ("ISK", "Iceland Krona", 0),
    ("JMD", "Jamaican Dollar", 2),
    ("JOD", "Jordanian Dinar", 3),
    ("JPY", "Yen", 0),
    ("KES", "Kenyan Shilling", 2),
    ("KGS", "Som", 2),
    ("KHR", "Riel", 2),
    ("KMF", "Comorian Franc", 0),
    ("KPW", "North Korean Won", 2),
    ("KRW", "Won", 0),
    ("KWD", "Kuwaiti Dinar", 3),
    ("KYD", "Cayman Islands Dollar", 2),
    ("KZT", "Tenge", 2),
    ("LAK", "Lao Kip", 2),
    ("LBP", "Lebanese Pound", 2),
    ("LKR", "Sri Lanka Rupee", 2),
    ("LRD", "Liberian Dollar", 2),
    ("LSL", "Loti", 2),
    ("LYD", "Libyan Dinar", 3),
    ("MAD", "Moroccan Dirham", 2),
    ("MDL", "Moldovan Leu", 2),
    ("MGA", "Malagasy Ariary", 2),
    ("MKD", "Denar", 2),
    ("MMK", "Kyat", 2),
    ("MNT", "Tugrik", 2),
    ("MOP", "Pataca", 2),
    ("MRU", "Ouguiya", 2),
    ("MUR", "Mauritius Rupee", 2),
    ("MVR", "Rufiyaa", 2),
    ("MWK", "Malawi Kwacha", 2),
    ("MXN", "Mexican Peso", 2),
    ("MYR", "Malaysian Ringgit", 2),
    ("MZN", "Mozambique Metical", 2),
    ("NAD", "Namibia Dollar", 2),
    ("NGN", "Naira", 2),
    ("NIO", "Cordoba Oro", 2),
    ("NOK", "Norwegian Krone", 2),
    ("NPR", "Nepalese Rupee", 2),
    ("NZD", "New Zealand Dollar", 2),
    ("OMR", "Rial Omani", 3),
    ("PAB", "Balboa", 2),
    ("PEN", "Sol", 2),
    ("PGK", "Kina", 2),
    ("PHP", "Philippine Peso", 2),
    ("PKR", "Pakistan Rupee", 2),
    ("PLN", "Zloty", 2),
    ("PYG", "Guarani", 0),
    ("QAR", "Qatari Rial", 2),
    ("RON", "Romanian Leu", 2),
    ("RSD", "Serbian Dinar", 2),
    ("RUB", "Russian Ruble", 2),
    ("RWF", "Rwanda Franc", 0),
    ("SAR", "Saudi Riyal", 2),
    ("SBD", "Solomon Islands Dollar", 2),
    ("SCR", "Seychelles Rupee", 2),
    ("SDG", "Sudanese Pound", 2),
    ("SEK", "Swedish Krona", 2),
    ("SGD", "Singapore Dollar", 2),
    ("SHP", "Saint Helena Pound", 2),
    ("SLE", "Leone", 2),
    ("SOS", "Somali Shilling", 2),
    ("SRD", "Surinam Dollar", 2),
    ("SSP", "South Sudanese Pound", 2),
    ("STN", "Dobra", 2),
    ("SVC", "El Salvador Colon", 2),
    ("SYP", "Syrian Pound", 2),
    ("SZL", "Lilangeni", 2),
    ("THB", "Baht", 2),
    ("TJS", "Somoni", 2),
    ("TMT", "Turkmenistan New Manat", 2),
    ("TND", "Tunisian Dinar", 3),
    ("TOP", "Pa’anga", 2),
    ("TRY", "Turkish Lira", 2),
    ("TTD", "Trinidad and Tobago Dollar", 2),
    ("TWD", "New Taiwan Dollar", 2),
    ("TZS", "Tanzanian Shilling", 2),
    ("UAH", "Hryvnia", 2),
    ("UGX", "Uganda Shilling", 0),
    ("USD", "US Dollar", 2),
    ("UYU", "Peso Uruguayo", 2),
    ("UYW", "Unidad Previsional", 4),
    ("UZS", "Uzbekistan Sum", 2),
    ("VED", "Bolívar Soberano", 2),
    ("VES", "Bolívar Soberano", 2),
    ("VND", "Dong", 0),
    ("VUV", "Vatu", 0),
    ("WST", "Tala", 2),
    ("XAD", "Arab Accounting Dinar", 2),
    ("XAF", "CFA Franc BEAC", 0),
    ("XCD", "East Caribbean Dollar", 2),
    ("XCG", "Caribbean Guilder", 2),
    ("XOF", "CFA Franc BCEAO", 0),
    ("XPF", "CFP Franc", 0),
    ("YER", "Yemeni Rial", 2),
    ("ZAR", "Rand", 2),
    ("ZMW", "Zambian Kwacha", 2),
    ("ZWG", "Zimbabwe Gold", 2),
)

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NAME_KEY = sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")

ADMIN = "(select current_setting('billclass.role', true)) = 'ADMINISTRATOR'"
RESELLER = "(select nullif(current_setting('billclass.reseller_id', true), '')::bigint)"
TOKEN_HASH = "(select current_setting('billclass.token_hash', true))"

# The Default class as the migration seeds it: a frozen copy of the defaults of SPEC §5
# (tests/integration/test_migrations.py checks it against tenancy's defaults).
NOTIFICATION_TYPES = (
    "INVOICE_ISSUED",
    "DUE_DATE_APPROACHING",
    "INVOICE_OVERDUE",
    "LATE_FEE_APPLIED",
    "SERVICE_LIMITATION_APPROACHING",
    "SERVICE_LIMITED",
    "SUSPENSION_APPROACHING",
    "SERVICE_SUSPENDED",
    "TERMINATION_APPROACHING",
    "CUSTOMER_TERMINATED",
    "PAYMENT_RECEIVED",
    "AUTO_CHARGE_FAILED",
    "LOW_BALANCE",
    "STATISTICS_READY",
    "FRAUD_SPENDING_WARNING",
)


def _payment_terms() -> dict[str, Any]:
    return {
        "netDays": 0,
        "dueDateReminderDays": [],
        "autoCharge": False,
        "autoChargeTiming": "UPON_INVOICE_GENERATION",
    }


def _past_due() -> dict[str, Any]:
    return {
        "collectionThreshold": "0.000000",
        "resendInvoiceDays": [],
        "lateFee": None,
        "limitServiceAfterDays": None,
        "limitationNoticeDays": [],
        "suspendAfterDays": None,
        "suspensionNoticeDays": [],
        "reactivationFee": None,
        "terminateAfterDays": None,
        "terminationNoticeDays": [],
        "terminateCommitments": False,
        "restoreAfterPartialPayment": False,
    }


def _default_class_tabs() -> dict[str, Any]:
    channel = {"send": False, "template": "SYSTEM"}
    return {
        "archive_xdrs": True,
        "regular_invoices_enabled": False,
        "out_of_turn_invoices_enabled": False,
        "taxation_method": "NO_TAXATION",
        "general_info": {
            "generateStatistics": True,
            "sendStatistics": "DO_NOT_SEND",
            "billingPeriodClosure": "AFTER_GLOBAL_DELAY",
            "closeDelayHours": None,
            "roundingMethod": "AWAY_FROM_ZERO",
            "roundingPrecision": 2,
            "suspendOnInsufficientFunds": False,
            "billedExternally": False,
            "resetBalanceEveryPeriod": False,
            "hideBalanceResetXdr": False,
        },
        "measured_services": [],
        "notifications": {
            "notificationSetId": None,
            "settings": {t: {"email": dict(channel), "sms": dict(channel)} for t in NOTIFICATION_TYPES},
        },
        "regular_invoices": {
            "enabled": False,
            "invoiceTemplateId": None,
            "pdfGeneration": "AT_END_OF_BILLING_PERIOD",
            "delivery": "AUTOMATICALLY",
            "holdForReviewDays": None,
            "paymentTerms": _payment_terms(),
            "pastDue": _past_due(),
        },
        "out_of_turn_invoices": {
            "enabled": False,
            "invoiceTemplateId": None,
            "delivery": "NEVER",
            "separateInvoiceForRecurringFees": False,
            "paymentTerms": _payment_terms(),
            "pastDue": _past_due(),
        },
        "taxation": {
            "method": "NO_TAXATION",
            "assessTaxes": False,
            "taxesIncludedInRates": False,
            "assessment": "AT_END_OF_BILLING_PERIOD",
            "vatRatePercent": None,
            "taxName": None,
            "customTaxIds": [],
        },
        "custom_field_ids": [],
        "fraud_protection": None,
    }


def _catalog(name: str, *columns: sa.Column[Any], unique: tuple[str, ...] = ("name_key",)) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        *columns,
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint(*unique, name=f"uq_{name}_{unique[0]}"),
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"

    op.create_table(
        "currency",
        sa.Column("code", AutoString(length=3), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("minor_units", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_currency"),
    )
    _catalog(
        "business_model",
        sa.Column("code", AutoString(length=50), nullable=False),
        sa.Column("code_key", NAME_KEY, nullable=False),
        sa.Column("name", AutoString(length=100), nullable=False),
        unique=("code_key",),
    )
    for name in ("invoice_template", "notification_set"):
        _catalog(
            name,
            sa.Column("name", AutoString(length=100), nullable=False),
            sa.Column("name_key", NAME_KEY, nullable=False),
        )
    _catalog(
        "custom_field_definition",
        sa.Column("object", AutoString(length=20), nullable=False),
        sa.Column("name", AutoString(length=100), nullable=False),
        sa.Column("name_key", NAME_KEY, nullable=False),
        sa.Column("type", AutoString(length=20), nullable=False),
        sa.Column("list_values", JSON, nullable=False),
        sa.Column("default_value", AutoString(), nullable=True),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("visible_to_end_user", sa.Boolean(), nullable=False),
        sa.Column("contains_personal_data", sa.Boolean(), nullable=False),
        unique=("object", "name_key"),
    )
    _catalog(
        "custom_tax",
        sa.Column("name", AutoString(length=100), nullable=False),
        sa.Column("name_key", NAME_KEY, nullable=False),
        sa.Column("rate_percent", AutoString(length=20), nullable=False),
        sa.Column("applied_to", AutoString(length=20), nullable=False),
    )

    # customer_class and customer reference each other (a class's managing reseller is a
    # customer; a customer's class is a class). SQLite accepts a reference to a table
    # that does not exist yet; PostgreSQL gets that foreign key once both exist.
    op.create_table(
        "customer_class",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=True),
        sa.Column("name", AutoString(length=100), nullable=False),
        sa.Column("name_key", NAME_KEY, nullable=False),
        sa.Column("description", AutoString(length=500), nullable=True),
        sa.Column("business_model_id", sa.BigInteger(), nullable=True),
        sa.Column("currency_code", AutoString(length=3), nullable=True),
        sa.Column("notification_sender", AutoString(length=254), nullable=True),
        sa.Column("shared_with_resellers", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("archive_xdrs", sa.Boolean(), nullable=False),
        sa.Column("regular_invoices_enabled", sa.Boolean(), nullable=False),
        sa.Column("out_of_turn_invoices_enabled", sa.Boolean(), nullable=False),
        sa.Column("taxation_method", AutoString(length=30), nullable=False),
        sa.Column("general_info", JSON, nullable=False),
        sa.Column("measured_services", JSON, nullable=False),
        sa.Column("notifications", JSON, nullable=False),
        sa.Column("regular_invoices", JSON, nullable=False),
        sa.Column("out_of_turn_invoices", JSON, nullable=False),
        sa.Column("taxation", JSON, nullable=False),
        sa.Column("custom_field_ids", JSON, nullable=False),
        sa.Column("fraud_protection", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["business_model_id"],
            ["business_model.id"],
            name="fk_customer_class_business_model_id_business_model",
        ),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name="fk_customer_class_currency_code_currency"
        ),
        *(
            []
            if postgres
            else [
                sa.ForeignKeyConstraint(
                    ["tenant_id"], ["customer.id"], name="fk_customer_class_tenant_id_customer"
                )
            ]
        ),
        sa.PrimaryKeyConstraint("id", name="pk_customer_class"),
    )
    op.create_index(
        "uq_customer_class_manager_name",
        "customer_class",
        [sa.text("coalesce(tenant_id, 0)"), "name_key"],
        unique=True,
    )
    op.create_index("ix_customer_class_name_order", "customer_class", ["name_key", "id"])
    op.create_index(
        "ix_customer_class_tenant_name", "customer_class", ["tenant_id", "name_key", "id"]
    )
    op.create_index("ix_customer_class_created", "customer_class", ["created_at", "id"])
    op.create_index("ix_customer_class_updated", "customer_class", ["updated_at", "id"])

    op.create_table(
        "customer",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=True),
        sa.Column("name", AutoString(length=100), nullable=False),
        sa.Column("name_key", NAME_KEY, nullable=False),
        sa.Column("customer_type", AutoString(length=10), nullable=False),
        sa.Column("reseller_level", sa.Integer(), nullable=False),
        sa.Column("currency_code", AutoString(length=3), nullable=False),
        sa.Column("customer_class_id", sa.BigInteger(), nullable=False),
        sa.Column("override_regular_template", sa.Boolean(), nullable=False),
        sa.Column("override_regular_template_id", sa.BigInteger(), nullable=True),
        sa.Column("override_out_of_turn_template", sa.Boolean(), nullable=False),
        sa.Column("override_out_of_turn_template_id", sa.BigInteger(), nullable=True),
        sa.Column("override_regular_invoices_enabled", sa.Boolean(), nullable=True),
        sa.Column("override_out_of_turn_invoices_enabled", sa.Boolean(), nullable=True),
        sa.Column("override_send_statistics", AutoString(length=20), nullable=True),
        sa.Column("override_suspend_on_insufficient_funds", sa.Boolean(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name="fk_customer_currency_code_currency"
        ),
        sa.ForeignKeyConstraint(
            ["customer_class_id"],
            ["customer_class.id"],
            name="fk_customer_customer_class_id_customer_class",
        ),
        sa.ForeignKeyConstraint(
            ["override_out_of_turn_template_id"],
            ["invoice_template.id"],
            name="fk_customer_override_out_of_turn_template_id_invoice_template",
        ),
        sa.ForeignKeyConstraint(
            ["override_regular_template_id"],
            ["invoice_template.id"],
            name="fk_customer_override_regular_template_id_invoice_template",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["customer.id"], name="fk_customer_tenant_id_customer"),
        sa.PrimaryKeyConstraint("id", name="pk_customer"),
    )
    op.create_index("ix_customer_class_members", "customer", ["customer_class_id", "tenant_id"])
    op.create_index("ix_customer_name_order", "customer", ["name_key", "id"])
    op.create_index("ix_customer_tenant_name", "customer", ["tenant_id", "name_key", "id"])
    if postgres:
        op.create_foreign_key(
            "fk_customer_class_tenant_id_customer", "customer_class", "customer", ["tenant_id"], ["id"]
        )

    op.create_table(
        "api_token",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=True),
        sa.Column("name", AutoString(length=100), nullable=False),
        sa.Column("name_key", NAME_KEY, nullable=False),
        sa.Column("role", AutoString(length=20), nullable=False),
        sa.Column("token_hash", AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["customer.id"], name="fk_api_token_tenant_id_customer"),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
    )
    op.create_index(
        "uq_api_token_owner_name",
        "api_token",
        [sa.text("coalesce(tenant_id, 0)"), "name_key"],
        unique=True,
    )

    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", AutoString(length=10), nullable=False),
        sa.Column("actor_role", AutoString(length=20), nullable=False),
        sa.Column("actor_token_name", AutoString(length=100), nullable=False),
        sa.Column("actor_reseller_id", sa.BigInteger(), nullable=True),
        sa.Column("object_id", AutoString(length=100), nullable=False),
        sa.Column("object_type", AutoString(length=50), nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("request_id", AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event"),
    )
    op.create_index("ix_audit_event_newest", "audit_event", ["at", "id"])
    op.create_index("ix_audit_event_tenant_newest", "audit_event", ["tenant_id", "at", "id"])
    op.create_index("ix_audit_event_object", "audit_event", ["object_id"])

    if postgres:
        _row_level_security()
        # Seeds below are written as the administrator, through the policies.
        op.execute("select set_config('billclass.role', 'ADMINISTRATOR', true)")
    _seed()


def _row_level_security() -> None:
    reseller_or_admin = f"{ADMIN} OR tenant_id = {RESELLER}"
    policies: dict[str, dict[str, str | None]] = {
        # Resellers read their own classes and the administrator's shared ones. Locking a
        # shared class (SELECT ... FOR UPDATE, while assigning it) needs the UPDATE
        # policy's USING clause too; WITH CHECK still refuses any change to such a row.
        # A reseller may also read the class its own customer record uses: the API shows
        # its effective settings (never the class itself) on that record.
        "customer_class": {
            "read": f"{reseller_or_admin} OR (tenant_id IS NULL AND shared_with_resellers"
            f" AND {RESELLER} IS NOT NULL)"
            f" OR id = (select own.customer_class_id from customer own where own.id = {RESELLER})",
            "write": reseller_or_admin,
        },
        # Resellers read their own record and their direct customers.
        "customer": {"read": f"{reseller_or_admin} OR id = {RESELLER}", "write": reseller_or_admin},
        # Authentication reads exactly the row whose hash it already knows.
        "api_token": {"read": f"{reseller_or_admin} OR token_hash = {TOKEN_HASH}", "write": reseller_or_admin},
        # Append-only: no UPDATE or DELETE policy exists, so both affect no row.
        "audit_event": {"read": reseller_or_admin, "write": None},
    }
    for table, rules in policies.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({rules['read']})")
        op.execute(
            f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({reseller_or_admin})"
        )
        if rules["write"]:
            op.execute(
                f"CREATE POLICY {table}_update ON {table} FOR UPDATE"
                f" USING ({rules['read']}) WITH CHECK ({rules['write']})"
            )
            op.execute(
                f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({rules['write']})"
            )
    # Catalogs are public to every authenticated caller; only administrators add to them.
    for table in (
        "currency",
        "business_model",
        "invoice_template",
        "notification_set",
        "custom_field_definition",
        "custom_tax",
    ):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING (true)")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({ADMIN})")


def _seed() -> None:
    currency = sa.table(
        "currency", sa.column("code"), sa.column("name"), sa.column("minor_units")
    )
    op.bulk_insert(
        currency, [{"code": c, "name": n, "minor_units": m} for c, n, m in CURRENCIES]
    )
    import secrets
    from datetime import UTC, datetime

    tabs = _default_class_tabs()
    customer_class = sa.table(
        "customer_class",
        *(sa.column(name) for name in ("id", "tenant_id", "name", "name_key", "description",
                                        "business_model_id", "currency_code",
                                        "notification_sender", "shared_with_resellers",
                                        "is_default", "version")),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        *(sa.column(name, JSON) for name in ("general_info", "measured_services", "notifications",
                                               "regular_invoices", "out_of_turn_invoices",
                                               "taxation", "custom_field_ids", "fraud_protection")),
        *(sa.column(name) for name in ("archive_xdrs", "regular_invoices_enabled",
                                        "out_of_turn_invoices_enabled", "taxation_method")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        customer_class,
        [
            {
                "id": secrets.randbits(63) or 1,
                "tenant_id": None,
                "name": "Default",
                "name_key": "default",
                "description": "Built-in class of every customer without another class.",
                "business_model_id": None,
                "currency_code": None,
                "notification_sender": None,
                "shared_with_resellers": True,
                "is_default": True,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                **tabs,
            }
        ],
    )


def downgrade() -> None:
    for table in (
        "audit_event",
        "api_token",
        "customer",
        "customer_class",
        "custom_tax",
        "custom_field_definition",
        "notification_set",
        "invoice_template",
        "business_model",
        "currency",
    ):
        if table in ("customer", "customer_class") and op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TABLE {table} CASCADE")
        else:
            op.drop_table(table)
