"""The customer-class list page (``customerClasses``): filters, sorts, counts and keyset
pages, all computed in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import class_table, customer_table, tenant_is
from tenancy import catalogs, class_rows, fields, pagination, policy
from tenancy.inputs import CustomerClassFilter
from tenancy.principal import Principal
from tenancy.scoping import visible

c = class_table.c


def filter_clauses(principal: Principal, filters: CustomerClassFilter) -> list[Any]:
    """The WHERE clauses of a filter (visibility is added by ``visible()``). A malformed
    value (a currency code that is not upper-case ISO 4217, an ID that does not decode or
    is of another type) is BAD_USER_INPUT naming its field; a well-formed one that names
    nothing the caller may see matches nothing, and a reseller's filter never reaches
    another tenant."""
    clauses: list[Any] = []
    text = filters.get("nameContains")
    if text:
        clauses.append(c.name_key.contains(fields.name_filter_key(text), autoescape=True))
    if filters.get("businessModelId") is not None:
        key = fields.filter_id(
            filters["businessModelId"], "BusinessModel", ("filter", "businessModelId")
        )
        clauses.append(c.business_model_id == key)
    currency = filters.get("currencyCode")
    if currency is not None:
        currency = fields.filter_currency(currency, ("filter", "currencyCode"))
    if currency == "":
        clauses.append(c.currency_code.is_(None))
    elif currency is not None:
        # An unknown code matches nothing, decided here: arbitrary text never reaches SQL.
        known = currency in catalogs.MINOR_UNITS
        clauses.append(c.currency_code == currency if known else sa.false())
    managed = filters.get("managedBy")
    if managed is not None:
        reseller: int | None = None
        if managed.get("resellerId") is not None:
            field = ("filter", "managedBy", "resellerId")
            reseller = fields.filter_id(managed["resellerId"], "Customer", field)
        if str(managed["kind"]) == "ADMINISTRATOR":
            clauses.append(tenant_is(c.tenant_id, None))
        else:
            clauses.append(sa.not_(tenant_is(c.tenant_id, None)))
            if reseller is not None:
                reachable = policy.reachable_reseller(principal, reseller)
                clauses.append(c.tenant_id == reachable if reachable is not None else sa.false())
    if filters.get("invoicing") is not None:
        regular, out_of_turn = class_rows.INVOICING_FLAGS[str(filters["invoicing"])]
        clauses.append(c.regular_invoices_enabled.is_(regular))
        clauses.append(c.out_of_turn_invoices_enabled.is_(out_of_turn))
    if filters.get("taxationMethod") is not None:
        clauses.append(c.taxation_method == str(filters["taxationMethod"]))
    if policy.hides_shared(principal, filters.get("includeShared", True)):
        clauses.append(c.tenant_id == principal.reseller_id)
    return clauses


def _visible_counts(principal: Principal) -> sa.Subquery:
    cc = customer_table.c
    counts = sa.select(cc.customer_class_id.label("class_id"), sa.func.count().label("n"))
    return visible(counts.group_by(cc.customer_class_id), principal).subquery("visible_counts")


SORTS: dict[str, tuple[Any, type]] = {
    "NAME": (c.name_key, str),
    "CREATED_AT": (c.created_at, datetime),
    "UPDATED_AT": (c.updated_at, datetime),
}


async def list_classes(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: CustomerClassFilter,
    order_field: str,
    direction: str,
    first: int,
    after: str | None,
    last: int | None,
    before: str | None,
    columns: Sequence[Any] = class_rows.ALL_COLUMNS,
) -> pagination.Page:
    """One page of ``customerClasses``: the classes the caller may see that match
    ``filters`` (``filter_clauses``), sorted by ``order_field`` (NAME, CREATED_AT,
    UPDATED_AT or CUSTOMER_COUNT, counting only visible customers) in ``direction``,
    then id; forwards from ``after``, or backwards when ``last``/``before`` is given. A
    cursor of another sort, direction or filter is BAD_USER_INPUT (``pagination``). No
    lock, no event.
    """
    statement = sa.select(*columns).where(*filter_clauses(principal, filters))
    if order_field == "CUSTOMER_COUNT":
        counts = _visible_counts(principal)
        sort: Any = sa.func.coalesce(counts.c.n, 0)
        statement = statement.add_columns(sort.label("sort_value")).outerjoin(
            counts, counts.c.class_id == c.id
        )
        value_type: type = int
    else:
        sort, value_type = SORTS[order_field]
        statement = statement.add_columns(sort.label("sort_value"))
    mark = pagination.order_mark(
        "CustomerClass", order_field, direction, pagination.fingerprint("customerClasses", filters)
    )
    return await pagination.keyset_page(
        conn,
        visible(statement, principal),
        sort=sort,
        key=c.id,
        sort_attr="sort_value",
        mark=mark,
        value_type=value_type,
        ascending=direction == "ASC",
        first=first,
        after=after,
        last=last,
        before=before,
    )


async def count_classes(
    conn: AsyncConnection, principal: Principal, filters: CustomerClassFilter
) -> int:
    """How many classes the caller may see match ``filters`` (``totalCount``). No lock, no
    event.
    """
    statement = sa.select(sa.func.count()).select_from(class_table)
    statement = statement.where(*filter_clauses(principal, filters))
    return int((await conn.execute(visible(statement, principal))).scalar_one())
