"""Filling lists up to their SPEC §7 maxima without hundreds of requests: rows written
straight into the database (as the command line, i.e. the administrator, through
row-level security), then the API is tested at the boundary."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from db.clock import utcnow
from db.ids import new_id
from db.models import (
    business_model_table,
    custom_field_table,
    custom_tax_table,
    invoice_template_table,
    notification_set_table,
    tenant_is,
    token_table,
)
from db.settings import Settings
from tenancy import fields
from tenancy.ids import decode
from tenancy.principal import CLI
from tenancy.scoping import visible
from tests.support.cli import run_as_cli

# Catalog type -> (its create mutation, input type, payload field, a valid input for name n).
CATALOGS: dict[str, tuple[str, str, str, Any]] = {
    "BusinessModel": (
        "createBusinessModel",
        "CreateBusinessModelInput",
        "businessModel",
        lambda n: {"code": f"code-{n}", "name": f"Model {n}"},
    ),
    "InvoiceTemplate": (
        "createInvoiceTemplate",
        "CreateNamedCatalogEntryInput",
        "invoiceTemplate",
        lambda n: {"name": f"Template {n}"},
    ),
    "NotificationSet": (
        "createNotificationSet",
        "CreateNamedCatalogEntryInput",
        "notificationSet",
        lambda n: {"name": f"Set {n}"},
    ),
    "CustomFieldDefinition": (
        "createCustomFieldDefinition",
        "CreateCustomFieldDefinitionInput",
        "customFieldDefinition",
        lambda n: {"object": "CUSTOMER", "name": f"Field {n}", "type": "TEXT"},
    ),
    "CustomTax": (
        "createCustomTax",
        "CreateCustomTaxInput",
        "customTax",
        lambda n: {"name": f"Tax {n}", "ratePercent": "1", "appliedTo": "ALL_CHARGES"},
    ),
}
CATALOG_LISTS = {
    "BusinessModel": "businessModels",
    "InvoiceTemplate": "invoiceTemplates",
    "NotificationSet": "notificationSets",
    "CustomFieldDefinition": "customFieldDefinitions",
    "CustomTax": "customTaxes",
}


def _catalog_row(type_name: str, name: str) -> tuple[sa.Table, dict[str, Any]]:
    key = fields.name_key(name)
    if type_name == "BusinessModel":
        return business_model_table, {"code": name, "code_key": name.casefold(), "name": name}
    if type_name == "InvoiceTemplate":
        return invoice_template_table, {"name": name, "name_key": key}
    if type_name == "NotificationSet":
        return notification_set_table, {"name": name, "name_key": key}
    if type_name == "CustomTax":
        return custom_tax_table, {
            "name": name,
            "name_key": key,
            "rate_percent": "1",
            "applied_to": "ALL_CHARGES",
        }
    return custom_field_table, {
        "object": "CUSTOMER",
        "name": name,
        "name_key": key,
        "type": "TEXT",
        "list_values": [],
        "default_value": None,
        "mandatory": False,
        "visible_to_end_user": False,
        "contains_personal_data": False,
    }


def seed_catalog(settings: Settings, type_name: str, count: int, prefix: str = "seed") -> list[int]:
    """Add ``count`` entries to a catalog; returns their keys."""

    async def work(conn: Any) -> list[int]:
        keys = []
        now = utcnow()
        for i in range(count):
            table, values = _catalog_row(type_name, f"{prefix}-{i:04d}")
            key = new_id()
            await conn.execute(table.insert().values(id=key, created_at=now, **values))
            keys.append(key)
        return keys

    result: list[int] = run_as_cli(settings, work)
    return result


def seed_tokens(
    settings: Settings,
    owner_id: str | None,
    count: int,
    *,
    revoked: bool,
    oldest: datetime | None = None,
    prefix: str = "seed",
) -> list[str]:
    """Add ``count`` tokens of an owner (a reseller's global ID, or None for the
    administrators), created one minute apart from ``oldest`` on; returns their names.
    Their secrets are unknown: nobody can use them."""
    owner = decode(owner_id, "Customer") if owner_id is not None else None
    start = oldest or utcnow() - timedelta(days=30)

    async def work(conn: Any) -> list[str]:
        names = []
        for i in range(count):
            name = f"{prefix} {i:03d}"
            created = start + timedelta(minutes=i)
            await conn.execute(
                token_table.insert().values(
                    id=new_id(),
                    tenant_id=owner,
                    name=name,
                    name_key=fields.name_key(name),
                    role="RESELLER" if owner is not None else "ADMINISTRATOR",
                    token_hash=secrets.token_hex(32),
                    created_at=created,
                    expires_at=None,
                    revoked_at=created + timedelta(seconds=30) if revoked else None,
                )
            )
            names.append(name)
        return names

    result: list[str] = run_as_cli(settings, work)
    return result


def owner_tokens(settings: Settings, owner_id: str | None) -> list[dict[str, Any]]:
    """Every token row of an owner, oldest first."""
    owner = decode(owner_id, "Customer") if owner_id is not None else None

    async def work(conn: Any) -> list[dict[str, Any]]:
        c = token_table.c
        owned = tenant_is(c.tenant_id, owner)
        statement = sa.select(token_table).where(owned).order_by(c.created_at, c.id)
        return [dict(row._mapping) for row in await conn.execute(visible(statement, CLI))]

    result: list[dict[str, Any]] = run_as_cli(settings, work)
    return result
