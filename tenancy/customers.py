"""Customers: creation, listing, class assignment (SPEC §4), overrides and the settings a
customer experiences."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.ids import new_id
from db.models import class_table, customer_table
from tenancy import (
    audit,
    catalogs,
    class_rows,
    customer_classes,
    fields,
    locks,
    override_rules,
    pagination,
    policy,
)
from tenancy.documents import Tabs
from tenancy.errors import ErrorList
from tenancy.errors import UserErrorCode as Code
from tenancy.ids import decode, global_id, to_global_id
from tenancy.inputs import (
    AssignCustomerClass,
    CreateCustomer,
    CustomerFilter,
    OverrideKey,
    TemplateOverrideKey,
    UpdateCustomerOverrides,
)
from tenancy.principal import Principal
from tenancy.scoping import changeable, in_its_shard, visible

TYPE = "Customer"
MAX_RESELLER_LEVEL = 3


async def visible_customers(
    conn: AsyncConnection, principal: Principal, keys: Iterable[int]
) -> dict[int, Any]:
    """The customers among ``keys`` the caller may see, by key (hidden ones are absent).
    No lock, no event.
    """
    wanted = list(set(keys))
    if not wanted:
        return {}
    statement = sa.select(customer_table).where(customer_table.c.id.in_(wanted))
    return {row.id: row for row in await conn.execute(visible(statement, principal))}


async def _read_visible(conn: AsyncConnection, principal: Principal, key: int | None) -> Any:
    """A visible customer, unlocked: what a decision reads of a customer it does not
    change (a parent's type and reseller level) never changes, and customers are never
    deleted (the foreign key of a new child takes its own KEY SHARE lock)."""
    if key is None:
        return None
    statement = sa.select(customer_table).where(customer_table.c.id == key)
    return (await conn.execute(visible(statement, principal))).first()


async def _lock_for_change(conn: AsyncConnection, principal: Principal, key: int | None) -> Any:
    """A visible customer the mutation changes, locked (``FOR UPDATE``) before it is read.

    A reseller's own record is visible but read-only (SPEC §2): it is read unlocked and
    the mutation refuses it NOT_PERMITTED. It could not be locked anyway: a row lock
    needs the UPDATE policy, which PostgreSQL denies a reseller on its own record."""
    if key is None:
        return None
    if policy.is_own_record(principal, key):
        return await _read_visible(conn, principal, key)
    statement = sa.select(customer_table).where(customer_table.c.id == key)
    routed = await in_its_shard(conn, principal, statement, customer_table, key)
    if routed is None:
        return None
    return (await conn.execute(visible(routed.with_for_update(), principal))).first()


async def _reread(conn: AsyncConnection, principal: Principal, key: int) -> Row[Any]:
    """A customer this request has just written (so the caller may see it)."""
    statement = sa.select(customer_table).where(customer_table.c.id == key)
    return (await conn.execute(visible(statement, principal))).one()


async def _audit(
    conn: AsyncConnection, principal: Principal, action: str, row: Any, changes: dict[str, Any]
) -> None:
    await audit.record(
        conn,
        principal=principal,
        action=action,
        object_type=TYPE,
        object_key=row.id,
        tenant_id=row.tenant_id,
        changes=changes,
    )


def _class_gid(row: Any) -> str:
    return global_id(class_rows.TYPE, row.id, row.tenant_id)


# --------------------------------------------------------------------------- create


async def create_customer(
    conn: AsyncConnection, *, principal: Principal, data: CreateCustomer
) -> Row[Any]:
    """Create a customer (``createCustomer``); returns its row.

    Inputs: ``name``, ``customerType`` (RETAIL by default), ``currencyCode``,
    ``customerClassId`` (the Default class when omitted), ``parentId`` (administrators:
    a RESELLER customer or omitted for a direct customer; resellers: omitted or their
    own ID, and the parent is always the reseller itself).
    Errors, tier by tier: NOT_FOUND on ``parentId`` (administrators only) and
    ``customerClassId``; NOT_PERMITTED on ``parentId`` (a reseller naming anyone but
    itself), then on ``customerClassId`` (an administrator using a reseller's class,
    SPEC §4 rule 4); then every validation error at once: ``name`` REQUIRED, INVALID or
    TOO_LONG,
    ``currencyCode`` INVALID, ``parentId`` INVALID (not a RESELLER customer),
    ``customerType`` INVALID (resellers nest at most 3 levels), and, for a known
    currency, ``customerClassId`` CURRENCY_MISMATCH and OWNERSHIP_MISMATCH (§4).
    Side effects: locks the class shared (``lock_for_use``; the Default class is not
    locked) so that it stays shared and existing until commit; inserts the customer;
    writes a CREATE event.
    """
    errors = ErrorList()
    own_id = to_global_id(TYPE, principal.reseller_id) if principal.reseller_id else None
    # 1. Resolve what the input names.
    parent = None
    if policy.resolves_named_reseller(principal, data.get("parentId")):
        parent = await _read_visible(conn, principal, decode(data["parentId"], TYPE))
        if parent is None:
            errors.add(Code.NOT_FOUND, ("parentId",), "No customer has this ID.")
    class_row = None
    if data.get("customerClassId") is not None:
        key = decode(data["customerClassId"], class_rows.TYPE)
        class_row = await customer_classes.lock_for_use(conn, principal, key)
        if class_row is None:
            errors.add(Code.NOT_FOUND, ("customerClassId",), "No customer class has this ID.")
    errors.raise_if_any()
    # 2. What the caller may not ask for.
    if not principal.is_admin:
        policy.deny(
            errors, policy.customer_request_denials(principal, data.get("parentId"), own_id)
        )
        errors.raise_if_any()
        parent = await _read_visible(conn, principal, principal.reseller_id)
    parent_id = parent.id if parent is not None else None
    if class_row is None:
        class_row = await customer_classes.default_class(conn, principal)
    customer_type = str(data.get("customerType") or "RETAIL")
    currency = data.get("currencyCode")
    if not policy.may_assign_class(principal, class_row):
        managed = "Only the managing reseller assigns a reseller's class."
        policy.deny(errors, [policy.Denial(("customerClassId",), managed)])
        errors.raise_if_any()
    problems = policy.assignment_problems(principal, class_row, parent_id, str(currency))
    # 3. Validation.
    name, problem = fields.check_name(data.get("name"))
    if problem:
        errors.add(problem[0], ("name",), problem[1])
    if currency not in catalogs.MINOR_UNITS:
        errors.add(Code.INVALID, ("currencyCode",), "Unknown ISO 4217 currency code.")
    if parent is not None and parent.customer_type != "RESELLER":
        errors.add(Code.INVALID, ("parentId",), "A customer's parent must be a RESELLER customer.")
    level = 0
    if customer_type == "RESELLER":
        level = (parent.reseller_level if parent is not None else 0) + 1
        if level > MAX_RESELLER_LEVEL:
            errors.add(
                Code.INVALID,
                ("customerType",),
                f"Resellers nest at most {MAX_RESELLER_LEVEL} levels deep.",
            )
    if currency in catalogs.MINOR_UNITS:
        _assignment_errors(errors, problems)
    errors.raise_if_any()
    key = new_id()
    await conn.execute(
        customer_table.insert().values(
            id=key,
            tenant_id=parent_id,
            name=name,
            name_key=fields.name_key(name or ""),
            customer_type=customer_type,
            reseller_level=level,
            currency_code=currency,
            customer_class_id=class_row.id,
            created_at=utcnow(),
        )
    )
    row = await _reread(conn, principal, key)
    changes = {
        "name": name,
        "customerType": customer_type,
        "currency": currency,
        "parent": None if parent_id is None else to_global_id(TYPE, parent_id),
        "customerClass": _class_gid(class_row),
    }
    await _audit(
        conn,
        principal,
        "CREATE",
        row,
        {k: {"before": None, "after": v} for k, v in changes.items()},
    )
    return row


def _assignment_errors(errors: ErrorList, problems: Sequence[str]) -> None:
    if "CURRENCY_MISMATCH" in problems:
        errors.add(
            Code.CURRENCY_MISMATCH,
            ("customerClassId",),
            "The class has another currency than the customer.",
        )
    if "OWNERSHIP_MISMATCH" in problems:
        errors.add(
            Code.OWNERSHIP_MISMATCH,
            ("customerClassId",),
            "The class is not available to this customer's manager.",
        )


# --------------------------------------------------------------------------- assign


async def assign_customer_class(
    conn: AsyncConnection, *, principal: Principal, data: AssignCustomerClass
) -> Any:
    """Assign a class to a customer (``assignCustomerClass``); returns the customer row,
    unchanged (no event) when it already uses that class.

    Inputs: ``customerId``, ``customerClassId`` (null: the Default class).
    Errors, tier by tier (SPEC §4): NOT_FOUND on ``customerId`` and ``customerClassId``;
    NOT_PERMITTED on ``customerId`` (a reseller's own record), then on
    ``customerClassId`` (an administrator assigning a reseller's class); then
    CURRENCY_MISMATCH, OWNERSHIP_MISMATCH and DEPENDENCY (the customer's overrides need
    statistics the class has off) on ``customerClassId``.
    Side effects: locks the customer (``FOR UPDATE``) and the class (shared; the Default
    class only when the customer's overrides make its settings matter); updates
    the customer's class; writes an ASSIGN event (with ``businessModel`` when the new
    class has another business model).
    """
    errors = ErrorList()
    customer = await _lock_for_change(conn, principal, decode(data.get("customerId"), TYPE))
    if customer is None:
        errors.add(Code.NOT_FOUND, ("customerId",), "No customer has this ID.")
    # Overrides that need statistics make the target class's settings matter (SPEC §4):
    # then even the Default class is locked, so it cannot turn statistics off meanwhile.
    needing = [] if customer is None else override_rules.stored_needing_statistics(customer)
    raw_class = data.get("customerClassId")
    if raw_class is None:
        class_row = await customer_classes.default_class(conn, principal)
        if needing:
            class_row = await customer_classes.lock_for_use(
                conn, principal, class_row.id, settings_matter=True
            )
    else:
        key = decode(raw_class, class_rows.TYPE)
        class_row = await customer_classes.lock_for_use(
            conn, principal, key, settings_matter=bool(needing)
        )
        if class_row is None:
            errors.add(Code.NOT_FOUND, ("customerClassId",), "No customer class has this ID.")
    errors.raise_if_any()
    policy.deny(errors, policy.customer_change_denials(principal, customer))
    errors.raise_if_any()
    if not policy.may_assign_class(principal, class_row):
        managed = (
            "Administrators may view and edit a reseller's class but only that reseller assigns it."
        )
        policy.deny(errors, [policy.Denial(("customerClassId",), managed)])
        errors.raise_if_any()
    problems = policy.assignment_problems(
        principal, class_row, customer.tenant_id, customer.currency_code
    )
    _assignment_errors(errors, problems)
    if needing and not class_rows.settings_of(class_row)["generalInfo"]["generateStatistics"]:
        errors.add(
            Code.DEPENDENCY,
            ("customerClassId",),
            # SPEC §4: the message gives how many customers' overrides conflict, as for
            # a class change (here always this one customer).
            "The class has statistics off, and the overrides of 1 customer (this one: "
            + ", ".join(needing)
            + ") need them; clear those overrides first.",
        )
    errors.raise_if_any()
    if customer.customer_class_id == class_row.id:
        return customer
    previous = await _class_of(conn, principal, customer.customer_class_id)
    statement = (
        customer_table.update()
        .where(customer_table.c.id == customer.id)
        .values(customer_class_id=class_row.id)
    )
    await conn.execute(changeable(statement, principal))
    changes: dict[str, Any] = {
        "customerClass": {
            "before": _class_gid(previous),
            "after": _class_gid(class_row),
        }
    }
    # A new business model changes the service type the customer is billed for.
    if previous is not None and previous.business_model_id != class_row.business_model_id:
        changes["businessModel"] = {
            "before": _gid("BusinessModel", previous.business_model_id),
            "after": _gid("BusinessModel", class_row.business_model_id),
        }
    row = await _reread(conn, principal, customer.id)
    await _audit(conn, principal, "ASSIGN", row, changes)
    return row


def _gid(type_name: str, key: int | None) -> str | None:
    return None if key is None else to_global_id(type_name, key)


async def _class_of(conn: AsyncConnection, principal: Principal, key: int) -> Any:
    """The class a changeable customer uses: visible to whoever may change the customer
    (a reseller's customers use its own or shared classes, SPEC §4)."""
    statement = sa.select(class_table).where(class_table.c.id == key)
    return (await conn.execute(visible(statement, principal))).first()


# --------------------------------------------------------------------------- overrides

# Override input key -> (column, dotted path of the effective setting it replaces).
OVERRIDES: dict[OverrideKey, tuple[str, str]] = {
    "regularInvoicesEnabled": ("override_regular_invoices_enabled", "regularInvoices.enabled"),
    "outOfTurnInvoicesEnabled": (
        "override_out_of_turn_invoices_enabled",
        "outOfTurnInvoices.enabled",
    ),
    "sendStatistics": ("override_send_statistics", "generalInfo.sendStatistics"),
    "suspendOnInsufficientFunds": (
        "override_suspend_on_insufficient_funds",
        "generalInfo.suspendOnInsufficientFunds",
    ),
}
TEMPLATE_OVERRIDES: dict[TemplateOverrideKey, tuple[str, str, str]] = {
    "regularInvoiceTemplate": (
        "override_regular_template",
        "override_regular_template_id",
        "regularInvoices.invoiceTemplate",
    ),
    "outOfTurnInvoiceTemplate": (
        "override_out_of_turn_template",
        "override_out_of_turn_template_id",
        "outOfTurnInvoices.invoiceTemplate",
    ),
}


_NEEDS_STATISTICS_MESSAGES = {
    "regularInvoicesEnabled": (
        "The customer's class has statistics off; regular invoices need them."
    ),
    "sendStatistics": "The customer's class has statistics off; there are none to send.",
}
assert _NEEDS_STATISTICS_MESSAGES.keys() == override_rules.NEEDING_STATISTICS.keys()


def overrides_of(row: Any) -> dict[str, Any]:
    """The overrides of a customer row, in audit form (templates as {template: ID})."""
    m = row._mapping
    result: dict[str, Any] = {key: m[column] for key, (column, _path) in OVERRIDES.items()}
    for key, (flag, column, _path) in TEMPLATE_OVERRIDES.items():
        result[key] = {"template": _gid("InvoiceTemplate", m[column])} if m[flag] else None
    return result


async def update_customer_overrides(
    conn: AsyncConnection, *, principal: Principal, data: UpdateCustomerOverrides
) -> Any:
    """Set or clear a customer's overrides (``updateCustomerOverrides``); returns the
    customer row, unchanged (no event) when nothing changes.

    Inputs: ``customerId`` and any of the keys of ``OVERRIDES`` (null: as the class
    defines) and ``TEMPLATE_OVERRIDES`` (null: as the class defines; ``{templateId:
    null}``: no invoice documents).
    Errors, tier by tier: NOT_FOUND on ``customerId`` and on ``<template>.templateId``;
    NOT_PERMITTED on ``customerId`` (a reseller's own record); then DEPENDENCY on
    ``regularInvoicesEnabled`` and ``sendStatistics`` when the class has statistics off.
    Side effects: locks the customer (``FOR UPDATE``) and its class (shared, while the
    overrides are validated against it); writes an UPDATE event on the customer with
    ``overrides.<key>`` paths.
    """
    errors = ErrorList()
    customer = await _lock_for_change(conn, principal, decode(data.get("customerId"), TYPE))
    if customer is None:
        errors.add(Code.NOT_FOUND, ("customerId",), "No customer has this ID.")
    templates: dict[str, tuple[bool, int | None]] = {}
    for key in TEMPLATE_OVERRIDES:
        if key not in data:
            continue
        given = data[key]
        if given is None:
            templates[key] = (False, None)  # back to the class's template
            continue
        raw = given.get("templateId")
        if raw is None:
            templates[key] = (True, None)  # override: no invoice documents
            continue
        template = decode(raw, "InvoiceTemplate")
        found = template is not None and await catalogs.entries_by_key(
            conn, "InvoiceTemplate", [template]
        )
        if not found:
            errors.add(Code.NOT_FOUND, (key, "templateId"), "No invoice template has this ID.")
        templates[key] = (True, template)
    errors.raise_if_any()
    policy.deny(errors, policy.customer_change_denials(principal, customer))
    errors.raise_if_any()
    # Validate together with the class values the overrides combine with (SPEC §4), held
    # (shared) so that no class change lands between the check and the write. The locked
    # customer row keeps its class meanwhile.
    await locks.lock_class(conn, customer.customer_class_id, shared=True)
    class_row = await _class_of(conn, principal, customer.customer_class_id)
    if not class_row.general_info["generateStatistics"]:
        for needing, message in _NEEDS_STATISTICS_MESSAGES.items():
            if override_rules.needs_statistics(needing, data.get(needing)):
                errors.add(Code.DEPENDENCY, (needing,), message)
    errors.raise_if_any()
    values: dict[str, Any] = {}
    for override, (column, _path) in OVERRIDES.items():
        if override in data:
            value = data[override]
            values[column] = (
                None
                if value is None
                else (str(value) if override == "sendStatistics" else bool(value))
            )
    for key, (flag, column, _path) in TEMPLATE_OVERRIDES.items():
        if key in templates:
            values[flag], values[column] = templates[key]
    current = customer._mapping
    if all(current[column] == value for column, value in values.items()):
        return customer
    statement = customer_table.update().where(customer_table.c.id == customer.id).values(**values)
    await conn.execute(changeable(statement, principal))
    row = await _reread(conn, principal, customer.id)
    before, after = overrides_of(customer), overrides_of(row)
    changes = {
        f"overrides.{key}": {"before": before[key], "after": after[key]}
        for key in before
        if before[key] != after[key]
    }
    await _audit(conn, principal, "UPDATE", row, changes)
    return row


def effective_settings(class_row: Any, customer: Any) -> tuple[Tabs, list[str]]:
    """The class's tabs with the customer's overrides applied, and the overridden paths.

    Computed on read, so a class change reaches every customer without an override with
    no per-customer write.
    """
    settings = copy.deepcopy(class_rows.settings_of(class_row))
    by_path = cast(dict[str, dict[str, Any]], settings)  # OVERRIDES name tabs by dotted text
    m = customer._mapping
    overridden: list[str] = []
    for column, path in OVERRIDES.values():
        if m[column] is not None:
            tab, name = path.split(".")
            by_path[tab][name] = m[column]
            overridden.append(path)
    for flag, column, path in TEMPLATE_OVERRIDES.values():
        if m[flag]:
            tab = path.split(".")[0]
            by_path[tab]["invoiceTemplateId"] = m[column]
            overridden.append(path)
    return settings, sorted(overridden)


# --------------------------------------------------------------------------- listing


def list_filter(principal: Principal, filters: CustomerFilter) -> list[Any]:
    """WHERE clauses of ``customers(filter:)`` (visibility is added by ``visible()``). An ID
    that does not decode or is of another type is BAD_USER_INPUT naming its field; one of
    the right type that is unknown or hidden matches nothing."""
    c = customer_table.c
    clauses: list[Any] = []
    text = filters.get("nameContains")
    if text:
        clauses.append(c.name_key.contains(fields.name_filter_key(text), autoescape=True))
    if filters.get("customerType") is not None:
        clauses.append(c.customer_type == str(filters["customerType"]))
    if filters.get("parentId") is not None:
        wanted = fields.filter_id(filters["parentId"], TYPE, ("filter", "parentId"))
        parent = policy.reachable_reseller(principal, wanted)
        clauses.append(c.tenant_id == parent if parent is not None else sa.false())
    if filters.get("customerClassId") is not None:
        field = ("filter", "customerClassId")
        key = fields.filter_id(filters["customerClassId"], class_rows.TYPE, field)
        clauses.append(c.customer_class_id == key)
        if not policy.sees_everything(principal):
            # A hidden class matches nothing, not even R's own record that uses it.
            hidden_or_not = sa.select(class_table.c.id).where(class_table.c.id == key)
            clauses.append(visible(hidden_or_not, principal).exists())
    return clauses


# customers(orderBy:) fields: the sort expression and the type a cursor carries.
SORTS: dict[str, tuple[Any, type]] = {
    "NAME": (customer_table.c.name_key, str),
    "CREATED_AT": (customer_table.c.created_at, datetime),
}


async def list_customers(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: CustomerFilter,
    order_field: str = "NAME",
    direction: str = "ASC",
    first: int,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> pagination.Page:
    """One keyset page of the customers the caller may see that match ``filters``
    (``list_filter``), sorted by ``order_field`` (NAME: the name key; CREATED_AT) in
    ``direction``, then id; forwards from ``after``, or backwards when ``last``/``before``
    is given. A cursor of another order or filter is BAD_USER_INPUT (``pagination``). No
    lock, no event.
    """
    sort, value_type = SORTS[order_field]
    statement = (
        sa.select(customer_table)
        .add_columns(sort.label("sort_value"))
        .where(*list_filter(principal, filters))
    )
    return await pagination.keyset_page(
        conn,
        visible(statement, principal),
        sort=sort,
        key=customer_table.c.id,
        sort_attr="sort_value",
        mark=pagination.order_mark(
            "Customer",
            order_field,
            direction,
            pagination.fingerprint("customers", filters),
            unchanged_default=("NAME", "ASC"),
        ),
        value_type=value_type,
        ascending=direction == "ASC",
        first=first,
        after=after,
        last=last,
        before=before,
    )


async def count_customers(
    conn: AsyncConnection, principal: Principal, filters: CustomerFilter
) -> int:
    """How many customers the caller may see match ``filters`` (``totalCount``). No lock,
    no event.
    """
    statement = sa.select(sa.func.count()).select_from(customer_table)
    statement = statement.where(*list_filter(principal, filters))
    return int((await conn.execute(visible(statement, principal))).scalar_one())


CLASS_CUSTOMERS_MARK = "Customer:NAME:" + pagination.fingerprint("CustomerClass.customers", None)


async def customers_of_classes(
    conn: AsyncConnection,
    principal: Principal,
    class_keys: Sequence[int],
    *,
    first: int,
    after: str | None,
) -> dict[int, pagination.Page]:
    """One page of visible customers for each class, in one statement (a window
    function numbers each class's customers), so a page of classes costs one query."""
    c = customer_table.c
    size = max(1, min(first, pagination.MAX_PAGE))
    clauses: list[Any] = [c.customer_class_id.in_(list(set(class_keys)))]
    if after is not None:
        value, key = pagination.decode_cursor(after, CLASS_CUSTOMERS_MARK, str)
        clauses.append(
            sa.tuple_(c.name_key, c.id)
            > sa.tuple_(sa.literal(value, c.name_key.type), sa.literal(key, c.id.type))
        )
    number = (
        sa.func.row_number()
        .over(partition_by=c.customer_class_id, order_by=(c.name_key, c.id))
        .label("position")
    )
    inner = visible(sa.select(customer_table, number).where(*clauses), principal).subquery()
    statement = (
        sa.select(inner)
        .where(inner.c.position <= size + 1)
        .order_by(inner.c.customer_class_id, inner.c.position)
    )
    grouped: dict[int, list[Any]] = {key: [] for key in class_keys}
    for row in await conn.execute(statement):
        grouped[row.customer_class_id].append(row)
    pages = {}
    for key, rows in grouped.items():
        more = len(rows) > size
        rows = rows[:size]
        pages[key] = pagination.Page(
            rows=rows,
            cursors=[
                pagination.encode_cursor(CLASS_CUSTOMERS_MARK, r.name_key, r.id) for r in rows
            ],
            has_next=more,
            has_previous=after is not None,
        )
    return pages
