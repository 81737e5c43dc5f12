"""Catalogs that classes refer to: currencies (seeded), business models, invoice
templates, notification sets, custom field definitions and custom taxes.

Every authenticated caller may read them (their names are public to all resellers);
only administrators create them. They are not tenant-owned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.currencies import CURRENCIES
from db.ids import new_id
from db.models import (
    business_model_table,
    currency_table,
    custom_field_table,
    custom_tax_table,
    invoice_template_table,
    notification_set_table,
)
from tenancy import audit, fields, maxima, policy
from tenancy.errors import ErrorList, Path, refusal
from tenancy.errors import UserErrorCode as Code
from tenancy.ids import decode
from tenancy.inputs import (
    CreateBusinessModel,
    CreateCustomFieldDefinition,
    CreateCustomTax,
    CreateNamedCatalogEntry,
)
from tenancy.locks import Limit, serialise
from tenancy.principal import Principal
from tenancy.tabs import Reference

TABLES: dict[str, sa.Table] = {
    "BusinessModel": business_model_table,
    "InvoiceTemplate": invoice_template_table,
    "NotificationSet": notification_set_table,
    "CustomFieldDefinition": custom_field_table,
    "CustomTax": custom_tax_table,
}
# Each catalog in words, for messages: (one entry with its article, several entries).
NOUNS: dict[str, tuple[str, str]] = {
    "BusinessModel": ("A business model", "business models"),
    "InvoiceTemplate": ("An invoice template", "invoice templates"),
    "NotificationSet": ("A notification set", "notification sets"),
    "CustomFieldDefinition": ("A custom field definition", "custom field definitions"),
    "CustomTax": ("A custom tax", "custom taxes"),
}
# Each catalog's size is a counted limit with a lock of its own (SPEC §7).
LIMITS: dict[str, Limit] = {
    "BusinessModel": Limit.BUSINESS_MODELS,
    "InvoiceTemplate": Limit.INVOICE_TEMPLATES,
    "NotificationSet": Limit.NOTIFICATION_SETS,
    "CustomFieldDefinition": Limit.CUSTOM_FIELD_DEFINITIONS,
    "CustomTax": Limit.CUSTOM_TAXES,
}
# The seeded ISO 4217 table never changes at run time: minor units come from memory.
MINOR_UNITS: Mapping[str, int] = {code: units for code, _name, units in CURRENCIES}
CODE_MAX = 50
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}")


# --------------------------------------------------------------------------- reads


async def currencies(conn: AsyncConnection) -> Sequence[Any]:
    """The ISO 4217 currencies, by code. Catalogs are visible to everyone."""
    result = await conn.execute(sa.select(currency_table).order_by(currency_table.c.code))
    return result.all()


async def list_entries(conn: AsyncConnection, type_name: str, where: Any = None) -> Sequence[Any]:
    """Every entry of a catalog (``type_name``; optionally narrowed by ``where``), by name
    key (business models: by code key), then id. Catalogs are visible to everyone.
    """
    table = TABLES[type_name]
    order = table.c.code_key if type_name == "BusinessModel" else table.c.name_key
    statement = sa.select(table).order_by(order, table.c.id)
    if where is not None:
        statement = statement.where(where)
    return (await conn.execute(statement)).all()


async def entries_by_key(
    conn: AsyncConnection, type_name: str, keys: Iterable[int]
) -> dict[int, Row[Any]]:
    """The entries of a catalog among ``keys``, by key (unknown ones are absent)."""
    table = TABLES[type_name]
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = await conn.execute(sa.select(table).where(table.c.id.in_(wanted)))
    return {row.id: row for row in rows}


async def resolve(
    conn: AsyncConnection, refs: Sequence[Reference], errors: ErrorList
) -> dict[Path, int]:
    """Resolve catalog references of an input; unresolvable ones are NOT_FOUND."""
    decoded: dict[Path, int] = {}
    by_type: dict[str, set[int]] = {}
    for ref in refs:
        key = decode(ref.raw, ref.node_type)
        if key is not None:
            decoded[ref.path] = key
            by_type.setdefault(ref.node_type, set()).add(key)
    existing: dict[str, set[int]] = {}
    for type_name, keys in by_type.items():
        existing[type_name] = set(await entries_by_key(conn, type_name, keys))
    resolved: dict[Path, int] = {}
    for ref in refs:
        key = decoded.get(ref.path)
        if key is None or key not in existing.get(ref.node_type, ()):
            errors.add(Code.NOT_FOUND, ref.path, f"No {ref.node_type} has this ID.")
        else:
            resolved[ref.path] = key
    return resolved


# --------------------------------------------------------------------------- creates


async def _insert(
    conn: AsyncConnection,
    principal: Principal,
    type_name: str,
    values: dict[str, Any],
    taken_path: Path,
    changes: dict[str, Any],
) -> Row[Any]:
    table = TABLES[type_name]
    key = new_id()
    try:
        async with conn.begin_nested():
            await conn.execute(table.insert().values(id=key, created_at=utcnow(), **values))
    except IntegrityError:
        raise refusal(
            Code.TAKEN,
            taken_path,
            f"{NOUNS[type_name][0]} with this {taken_path[-1]} already exists.",
        ) from None
    await audit.record(
        conn,
        principal=principal,
        action="CREATE",
        object_type=type_name,
        object_key=key,
        tenant_id=None,
        changes={path: {"before": None, "after": value} for path, value in changes.items()},
    )
    return (await entries_by_key(conn, type_name, [key]))[key]


async def _check_room(conn: AsyncConnection, errors: ErrorList, type_name: str) -> None:
    """A catalog holds at most ``maxima.CATALOG_ENTRIES`` entries (the length every query
    is charged for). The catalog's lock is held from this count to the end of the
    transaction, so concurrent creations cannot both take the last place."""
    await serialise(conn, LIMITS[type_name], None)
    table = TABLES[type_name]
    count = (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
    if count >= maxima.CATALOG_ENTRIES:
        errors.add(
            Code.OUT_OF_RANGE,
            (),
            f"A catalog holds at most {maxima.CATALOG_ENTRIES} entries and this one is full.",
        )


def _check_name(errors: ErrorList, raw: object, path: Path = ("name",)) -> str | None:
    name, problem = fields.check_name(raw)
    if problem:
        errors.add(problem[0], path, problem[1])
    return name


async def _taken(
    conn: AsyncConnection, table: sa.Table, column: str, key: str, **more: Any
) -> bool:
    statement = sa.select(table.c.id).where(table.c[column] == key)
    for name, value in more.items():
        statement = statement.where(table.c[name] == value)
    return (await conn.execute(statement.limit(1))).first() is not None


async def create_named_entry(
    conn: AsyncConnection, *, principal: Principal, type_name: str, data: CreateNamedCatalogEntry
) -> Row[Any]:
    """Create an invoice template or notification set (``type_name``): a unique name and
    nothing else; returns its row.

    Inputs: ``name``.
    Errors: top-level FORBIDDEN for resellers (from the role alone); OUT_OF_RANGE on the
    input (the catalog holds 500 entries), ``name`` REQUIRED, INVALID, TOO_LONG or TAKEN.
    Side effects: takes the catalog's limit lock until commit; inserts the entry;
    writes a CREATE event (tenant: the administrator).
    """
    policy.require_administrator(principal, f"create {NOUNS[type_name][1]}")
    errors = ErrorList()
    await _check_room(conn, errors, type_name)
    name = _check_name(errors, data.get("name"))
    table = TABLES[type_name]
    if name and await _taken(conn, table, "name_key", fields.name_key(name)):
        errors.add(Code.TAKEN, ("name",), f"{NOUNS[type_name][0]} named {name!r} already exists.")
    errors.raise_if_any()
    assert name is not None
    return await _insert(
        conn,
        principal,
        type_name,
        {"name": name, "name_key": fields.name_key(name)},
        ("name",),
        {"name": name},
    )


async def create_business_model(
    conn: AsyncConnection, *, principal: Principal, data: CreateBusinessModel
) -> Row[Any]:
    """Create a business model (``createBusinessModel``); returns its row.

    Inputs: ``code`` (unique ignoring case, letters, digits, ``_ . -``, up to 50
    characters), ``name``.
    Errors: top-level FORBIDDEN for resellers (from the role alone); OUT_OF_RANGE on the
    input (catalog full), ``code`` REQUIRED, TOO_LONG, INVALID or TAKEN, ``name``
    REQUIRED, INVALID or TOO_LONG.
    Side effects: takes the catalog's limit lock until commit; inserts the entry;
    writes a CREATE event.
    """
    policy.require_administrator(principal, "create business models")
    errors = ErrorList()
    await _check_room(conn, errors, "BusinessModel")
    raw_code = data.get("code")
    # Measured as given first: nothing else is done with an overlong code (SPEC §7).
    over = isinstance(raw_code, str) and len(raw_code) > CODE_MAX * fields.RAW_FACTOR
    code = raw_code.strip() if isinstance(raw_code, str) and not over else ""
    if not code and not over:
        errors.add(Code.REQUIRED, ("code",), "code must not be blank.")
    elif over or len(code) > CODE_MAX:
        errors.add(Code.TOO_LONG, ("code",), f"code must be at most {CODE_MAX} characters.")
    elif not _CODE.fullmatch(code):
        errors.add(Code.INVALID, ("code",), "code may use letters, digits, '_', '.' and '-'.")
    elif await _taken(conn, business_model_table, "code_key", fields.name_key(code)):
        errors.add(Code.TAKEN, ("code",), f"A business model with code {code!r} already exists.")
    name = _check_name(errors, data.get("name"))
    errors.raise_if_any()
    return await _insert(
        conn,
        principal,
        "BusinessModel",
        {"code": code, "code_key": fields.name_key(code), "name": name},
        ("code",),
        {"code": code, "name": name},
    )


async def create_custom_tax(
    conn: AsyncConnection, *, principal: Principal, data: CreateCustomTax
) -> Row[Any]:
    """Create a custom tax (``createCustomTax``); returns its row.

    Inputs: ``name``, ``ratePercent`` (0 to 100), ``appliedTo``.
    Errors: top-level FORBIDDEN for resellers (from the role alone); OUT_OF_RANGE on the
    input (catalog full), ``name`` REQUIRED, INVALID, TOO_LONG or TAKEN, ``ratePercent``
    INVALID or OUT_OF_RANGE.
    Side effects: takes the catalog's limit lock until commit; inserts the entry;
    writes a CREATE event.
    """
    policy.require_administrator(principal, "create custom taxes")
    errors = ErrorList()
    await _check_room(conn, errors, "CustomTax")
    name = _check_name(errors, data.get("name"))
    if name and await _taken(conn, custom_tax_table, "name_key", fields.name_key(name)):
        errors.add(Code.TAKEN, ("name",), f"A custom tax named {name!r} already exists.")
    rate, problem = fields.check_percent(data.get("ratePercent"), "ratePercent")
    if problem:
        errors.add(problem[0], ("ratePercent",), problem[1])
    errors.raise_if_any()
    assert name is not None
    applied_to = str(data["appliedTo"])
    return await _insert(
        conn,
        principal,
        "CustomTax",
        {
            "name": name,
            "name_key": fields.name_key(name),
            "rate_percent": rate,
            "applied_to": applied_to,
        },
        ("name",),
        {"name": name, "ratePercent": rate, "appliedTo": applied_to},
    )


async def create_custom_field_definition(
    conn: AsyncConnection, *, principal: Principal, data: CreateCustomFieldDefinition
) -> Row[Any]:
    """Create a custom field definition (``createCustomFieldDefinition``); returns its row.

    Inputs: ``object``, ``name`` (unique per object), ``type``, ``listValues`` (LIST
    fields only, 1 to 100 distinct names), ``defaultValue`` (a value of the type),
    ``mandatory``, ``visibleToEndUser``, ``containsPersonalData``.
    Errors: top-level FORBIDDEN for resellers (from the role alone); OUT_OF_RANGE on the
    input (catalog full), ``name`` REQUIRED, INVALID, TOO_LONG or TAKEN, ``listValues``
    DEPENDENCY (not a LIST field), REQUIRED, OUT_OF_RANGE, or INVALID/TOO_LONG on
    ``listValues.<index>`` (a bad or repeated value), ``defaultValue`` TOO_LONG or
    INVALID.
    Side effects: takes the catalog's limit lock until commit; inserts the entry;
    writes a CREATE event.
    """
    policy.require_administrator(principal, "create custom field definitions")
    errors = ErrorList()
    await _check_room(conn, errors, "CustomFieldDefinition")
    obj, kind = str(data["object"]), str(data["type"])
    name = _check_name(errors, data.get("name"))
    if name and await _taken(
        conn, custom_field_table, "name_key", fields.name_key(name), object=obj
    ):
        errors.add(Code.TAKEN, ("name",), f"A {obj} custom field named {name!r} already exists.")
    values = _check_list_values(errors, kind, data.get("listValues"))
    default, problem = fields.check_text(data.get("defaultValue"), 500, "defaultValue")
    if problem:
        errors.add(problem[0], ("defaultValue",), problem[1])
    elif default is not None and not _default_fits(kind, default, values):
        errors.add(Code.INVALID, ("defaultValue",), f"defaultValue is not a valid {kind} value.")
    errors.raise_if_any()
    assert name is not None
    row = {
        "object": obj,
        "name": name,
        "name_key": fields.name_key(name),
        "type": kind,
        "list_values": values,
        "default_value": default,
        "mandatory": bool(data.get("mandatory", False)),
        "visible_to_end_user": bool(data.get("visibleToEndUser", False)),
        "contains_personal_data": bool(data.get("containsPersonalData", False)),
    }
    changes = {
        "object": obj,
        "name": name,
        "type": kind,
        "listValues": values,
        "defaultValue": default,
        "mandatory": row["mandatory"],
        "visibleToEndUser": row["visible_to_end_user"],
        "containsPersonalData": row["contains_personal_data"],
    }
    return await _insert(conn, principal, "CustomFieldDefinition", row, ("name",), changes)


def _check_list_values(errors: ErrorList, kind: str, raw: object) -> list[str]:
    given = list(raw) if isinstance(raw, list) else []
    path: Path = ("listValues",)
    if kind != "LIST":
        if given:
            errors.add(Code.DEPENDENCY, path, "listValues are only for LIST fields.")
        return []
    if not given:
        errors.add(Code.REQUIRED, path, "A LIST field needs at least one value.")
        return []
    if len(given) > maxima.LIST_VALUES_PER_FIELD:
        most = maxima.LIST_VALUES_PER_FIELD
        errors.add(Code.OUT_OF_RANGE, path, f"A LIST field has at most {most} values.")
        return []
    values: list[str] = []
    for index, item in enumerate(given):
        value, problem = fields.check_name(item, "A list value")
        if problem:
            errors.add(problem[0], (*path, str(index)), problem[1])
        elif value in values:
            errors.add(Code.INVALID, (*path, str(index)), f"{value!r} is listed twice.")
        else:
            values.append(value)  # type: ignore[arg-type]
    return values


def _default_fits(kind: str, value: str, values: list[str]) -> bool:
    if kind == "LIST":
        return value in values
    if kind == "NUMBER":
        return fields.parse_decimal(value)[0] is not None
    if kind == "DATE":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if kind == "DATE_TIME":
        return fields.check_datetime(value, "defaultValue")[1] is None
    return True
