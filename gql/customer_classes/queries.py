from __future__ import annotations

from typing import Annotated, Any

import strawberry

from gql.common import AFTER_DESCRIPTION, FIRST_DESCRIPTION, SortDirection, patch_of
from gql.context import Info
from gql.customer_classes.inputs import (
    CustomerClassFilter,
    CustomerClassOrder,
    CustomerClassSortField,
)
from gql.customer_classes.tabs import TAB_FIELDS
from gql.customer_classes.types import CustomerClass, CustomerClassConnection
from gql.selection import only_counting, selected_below
from tenancy import class_listing, class_rows, customer_classes, inputs, pagination
from tenancy.ids import decode_routed


def _columns(info: Info) -> tuple[Any, ...]:
    """Tabs are large JSON documents: read them only when a tab field is requested."""
    if selected_below(info._raw_info) & TAB_FIELDS:
        return class_rows.ALL_COLUMNS
    return class_rows.HEADER_COLUMNS


@strawberry.type
class CustomerClassQuery:
    @strawberry.field(
        description="A class the caller may see, or null (unknown, hidden and undecodable IDs"
        " read the same)."
    )
    async def customerClass(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The class's global ID.")],
    ) -> CustomerClass | None:
        decoded = decode_routed(id)
        if decoded is None or decoded[0] != class_rows.TYPE:
            return None
        _type, key, tenant = decoded
        context = info.context
        if tenant is None:  # an ID issued before class IDs named their tenant
            rows = await customer_classes.visible_classes(
                context.conn, context.principal, [key], columns=_columns(info)
            )
            row = rows.get(key)
        else:
            routed = await customer_classes.visible_routed_classes(
                context.conn, context.principal, [(key, tenant)], columns=_columns(info)
            )
            row = routed.get((key, tenant))
        return row and CustomerClass.of(row)

    @strawberry.field(
        description="Classes the caller may see: filtered, sorted (by name by default, always"
        " ending with id) and paged in SQL, 50 at a time (1 to 100). With last or before the"
        " page is taken backwards and first is ignored."
    )
    async def customerClasses(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description=FIRST_DESCRIPTION + " Ignored when last or before is given."
            ),
        ] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
        last: Annotated[
            int | None,
            strawberry.argument(
                description="Take the page backwards: this many items, 1 to 100 (PAGE_TOO_LARGE"
                " above, BAD_USER_INPUT below), from the end of the list or before the cursor"
                " before."
            ),
        ] = None,
        before: Annotated[
            str | None,
            strawberry.argument(
                description="Take the page backwards, ending before this cursor (of the same"
                " field, filter and order; else BAD_USER_INPUT), with last items (default 50)."
            ),
        ] = None,
        filter: Annotated[
            CustomerClassFilter | None,
            strawberry.argument(description="Only the classes matching it. Omitted: all."),
        ] = None,
        orderBy: Annotated[
            CustomerClassOrder,
            strawberry.argument(description="The order. Default: by NAME, ascending."),
        ] = CustomerClassOrder(field=CustomerClassSortField.NAME, direction=SortDirection.ASC),
    ) -> CustomerClassConnection:
        context = info.context
        filters: inputs.CustomerClassFilter = patch_of(filter) if filter is not None else {}
        filters.setdefault("includeShared", True)
        if only_counting(info._raw_info) and after is None and before is None:
            # No page to read, but a malformed filter is still refused on this field.
            class_listing.filter_clauses(context.principal, filters)
            page = pagination.Page(rows=[], cursors=[], has_next=False, has_previous=False)
        else:
            page = await class_listing.list_classes(
                context.conn,
                context.principal,
                filters=filters,
                order_field=orderBy.field.name,
                direction=orderBy.direction.name,
                first=first,
                after=after,
                last=last,
                before=before,
                columns=_columns(info),
            )
        return CustomerClassConnection.of(
            page, lambda: class_listing.count_classes(context.conn, context.principal, filters)
        )
