from __future__ import annotations

from typing import Annotated

import strawberry

from gql.audit.types import AuditEventConnection
from gql.common import AFTER_DESCRIPTION, FIRST_DESCRIPTION
from gql.context import Info
from tenancy import audit


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Newest first. Administrators see every event; resellers only events whose"
        " tenant is themselves."
    )
    async def auditEvents(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description=FIRST_DESCRIPTION)] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
        objectId: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only the events of this object: its global ID (the object may no"
                " longer exist). Omitted: every event."
            ),
        ] = None,
    ) -> AuditEventConnection:
        context = info.context
        object_id = None if objectId is None else str(objectId)
        page = await audit.list_events(
            context.conn, context.principal, first=first, after=after, object_id=object_id
        )
        return AuditEventConnection.of(
            page,
            lambda: audit.count_events(context.conn, context.principal, object_id),
            context.principal.reseller_id,
        )
