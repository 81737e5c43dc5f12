"""A small believable data set for ``billclass serve --demo``: two resellers (one with a
sub-reseller), catalogs, classes of every manager and customers using them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.models import customer_table
from tenancy import catalogs, customer_classes, customers, tokens
from tenancy.ids import to_global_id
from tenancy.inputs import CreateCustomer
from tenancy.principal import CLI, Principal, Role
from tenancy.scoping import visible


def _gid(type_name: str, row: Any) -> str:
    return to_global_id(type_name, row.id)


async def seed(conn: AsyncConnection) -> dict[str, str]:
    """Create the data set as the administrator; returns a fresh token per role."""
    admin = CLI
    pbx = await catalogs.create_business_model(
        conn, principal=admin, data={"code": "hosted-pbx", "name": "Hosted IP PBX"}
    )
    template = await catalogs.create_named_entry(
        conn, principal=admin, type_name="InvoiceTemplate", data={"name": "Standard invoice"}
    )
    notification_set = await catalogs.create_named_entry(
        conn, principal=admin, type_name="NotificationSet", data={"name": "Default e-mails"}
    )
    vat = await catalogs.create_custom_tax(
        conn,
        principal=admin,
        data={"name": "City tax", "ratePercent": "1.5", "appliedTo": "ALL_CHARGES"},
    )
    del vat
    retail = await customer_classes.create_customer_class(
        conn,
        principal=admin,
        data={
            "name": "Retail",
            "description": "Consumers, billed monthly.",
            "currencyCode": "USD",
            "businessModelId": _gid("BusinessModel", pbx),
            "sharedWithResellers": True,
            "regularInvoices": {
                "enabled": True,
                "invoiceTemplateId": _gid("InvoiceTemplate", template),
                "paymentTerms": {"netDays": 14, "dueDateReminderDays": [7, 2]},
                "pastDue": {"lateFee": "5.00", "suspendAfterDays": 30, "terminateAfterDays": 90},
            },
            "notifications": {
                "notificationSetId": _gid("NotificationSet", notification_set),
                "settings": [{"type": "INVOICE_ISSUED", "email": {"send": True}}],
            },
            "taxation": {
                "method": "FIXED_VAT_RATE",
                "assessTaxes": True,
                "vatRatePercent": "20",
                "taxName": "VAT",
            },
            "fraudProtection": {"dailySpendingThreshold": "200.00", "checkRemainingFunds": True},
        },
    )
    business = await customer_classes.create_customer_class(
        conn,
        principal=admin,
        data={
            "name": "Business",
            "description": "Companies on net-30 terms.",
            "currencyCode": "EUR",
            "regularInvoices": {"enabled": True, "paymentTerms": {"netDays": 30}},
        },
    )
    resellers = {}
    for name in ("Skyline Telecom", "Harbor Networks"):
        resellers[name] = await customers.create_customer(
            conn,
            principal=admin,
            data={"name": name, "customerType": "RESELLER", "currencyCode": "USD"},
        )
    skyline = resellers["Skyline Telecom"]
    await customers.create_customer(
        conn,
        principal=admin,
        data={
            "name": "Acme GmbH",
            "currencyCode": "EUR",
            "customerClassId": _gid("CustomerClass", business),
        },
    )
    as_skyline = Principal(Role.RESELLER, skyline.id, None, "cli")
    own_class = await customer_classes.create_customer_class(
        conn,
        principal=as_skyline,
        data={
            "name": "Skyline Home",
            "currencyCode": "USD",
            "measuredServices": [
                {
                    "parameter": "ACTIVE_CALLS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "0.50",
                    "itemsFreeOfCharge": 2,
                }
            ],
        },
    )
    await customers.create_customer(
        conn,
        principal=as_skyline,
        data={"name": "Skyline Wholesale", "customerType": "RESELLER", "currencyCode": "USD"},
    )
    for name, class_row in (("Jane Doe", own_class), ("John Roe", retail), ("Corner Cafe", None)):
        data: CreateCustomer = {"name": name, "currencyCode": "USD"}
        if class_row is not None:
            data["customerClassId"] = _gid("CustomerClass", class_row)
        await customers.create_customer(conn, principal=as_skyline, data=data)
    return await tokens_for_demo(conn, skyline.id)


# The demo's tokens are named with these prefixes and a time stamp (names stay unique per
# owner, revoked tokens included); each run revokes those of the runs before it.
DEMO_TOKEN_PREFIXES = ("demo-admin-", "demo-skyline-")
# Demo tokens expire, the administrator's too: a demo left running, or a secret copied
# from a terminal, is not a standing key. Each ``serve --demo`` prints fresh ones anyway.
DEMO_TOKEN_LIFETIME = timedelta(days=30)


async def prepare(conn: AsyncConnection) -> tuple[dict[str, str], bool]:
    """What ``serve --demo`` does: seed the data set unless it is there, revoke the demo
    tokens of earlier runs, and mint fresh ones. Returns the secrets per role and whether
    the data was seeded now."""
    skyline = await seeded_reseller(conn)
    if skyline is not None:
        await revoke_earlier_tokens(conn)
        return await tokens_for_demo(conn, skyline), False
    return await seed(conn), True


async def revoke_earlier_tokens(conn: AsyncConnection) -> int:
    """Revoke the unrevoked demo tokens (by name prefix); returns how many."""
    rows = await tokens.list_tokens(conn, CLI, include_revoked=False)
    earlier = [row for row in rows if row.name.startswith(DEMO_TOKEN_PREFIXES)]
    for row in earlier:
        await tokens.revoke_api_token(
            conn, principal=CLI, data={"id": to_global_id(tokens.TYPE, row.id)}
        )
    return len(earlier)


async def tokens_for_demo(conn: AsyncConnection, skyline: int) -> dict[str, str]:
    """A fresh administrator token and a token of reseller Skyline Telecom, both expiring
    after ``DEMO_TOKEN_LIFETIME``."""
    expires = (utcnow() + DEMO_TOKEN_LIFETIME).isoformat()
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    admin_prefix, skyline_prefix = DEMO_TOKEN_PREFIXES
    _row, admin_secret = await tokens.create_api_token(
        conn,
        principal=CLI,
        data={"name": f"{admin_prefix}{stamp}", "role": "ADMINISTRATOR", "expiresAt": expires},
    )
    _row, reseller_secret = await tokens.create_api_token(
        conn,
        principal=CLI,
        data={
            "name": f"{skyline_prefix}{stamp}",
            "role": "RESELLER",
            "resellerId": to_global_id("Customer", skyline),
            "expiresAt": expires,
        },
    )
    return {"ADMINISTRATOR": admin_secret, "RESELLER (Skyline Telecom)": reseller_secret}


async def seeded_reseller(conn: AsyncConnection) -> int | None:
    """The demo's reseller Skyline Telecom, when the demo data is already there (read as
    the command line, an administrator)."""
    statement = sa.select(customer_table.c.id).where(customer_table.c.name == "Skyline Telecom")
    return (await conn.execute(visible(statement.limit(1), CLI))).scalar()
