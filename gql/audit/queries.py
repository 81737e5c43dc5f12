from __future__ import annotations

import strawberry

from gql.audit.types import AuditEventConnection
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
        first: int = 50,
        after: str | None = None,
        objectId: strawberry.ID | None = None,
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
