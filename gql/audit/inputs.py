from __future__ import annotations

from enum import Enum

import strawberry

from gql.common import SortDirection


@strawberry.enum(description="What auditEvents(orderBy:) sorts by; every sort ends with the ID.")
class AuditEventSortField(Enum):
    AT = strawberry.enum_value("AT", description="When the change was made (the event's `at`).")


@strawberry.input(
    description="The order of auditEvents(orderBy:): a field, a direction, then the ID in"
    " the same direction, so that cursors stay stable. A cursor is valid only with the order"
    " (and objectId) that produced it: any other is BAD_USER_INPUT."
)
class AuditEventOrder:
    field: AuditEventSortField = strawberry.field(
        default=AuditEventSortField.AT, description="The value to sort by (AT, the default)."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC,
        description="DESC (the default: newest first) or ASC (oldest first).",
    )
