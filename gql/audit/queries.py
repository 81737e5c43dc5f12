from __future__ import annotations

from typing import Annotated

import strawberry

from gql.audit.inputs import AuditEventOrder, AuditEventSortField
from gql.audit.types import AuditEventConnection
from gql.common import (
    AFTER_DESCRIPTION,
    BEFORE_DESCRIPTION,
    FIRST_DESCRIPTION,
    LAST_DESCRIPTION,
    SortDirection,
)
from gql.context import Info
from tenancy import audit


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Newest first (unless orderBy says otherwise). Administrators see every"
        " event; resellers only events whose tenant is themselves. With last or before the"
        " page is taken backwards and first is ignored."
    )
    async def auditEvents(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description=FIRST_DESCRIPTION + " Ignored when last or before is given."
            ),
        ] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST_DESCRIPTION)] = None,
        before: Annotated[str | None, strawberry.argument(description=BEFORE_DESCRIPTION)] = None,
        objectId: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only the events of this object: its global ID (the object may no"
                " longer exist; a value that is no global ID is the top-level error"
                " BAD_USER_INPUT). Omitted: every event."
            ),
        ] = None,
        orderBy: Annotated[
            AuditEventOrder,
            strawberry.argument(
                description="The order. Default: by AT, descending (newest first)."
            ),
        ] = AuditEventOrder(field=AuditEventSortField.AT, direction=SortDirection.DESC),
    ) -> AuditEventConnection:
        context = info.context
        object_id = None if objectId is None else str(objectId)
        page = await audit.list_events(
            context.conn,
            context.principal,
            order_field=orderBy.field.name,
            direction=orderBy.direction.name,
            first=first,
            after=after,
            last=last,
            before=before,
            object_id=object_id,
        )
        return AuditEventConnection.of(
            page,
            lambda: audit.count_events(context.conn, context.principal, object_id),
            context.principal.reseller_id,
        )
