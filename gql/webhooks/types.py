from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Annotated, Any

import strawberry

from gql.common import AFTER_DESCRIPTION, FIRST_DESCRIPTION, JSON, DateTime, Node, PageInfo
from gql.context import Info
from tenancy import pagination, webhooks
from tenancy.ids import to_global_id


@strawberry.enum(
    description="What a change event reports; a subscription receives the types it lists."
    " The payload's type is this name."
)
class WebhookEventType(Enum):
    CUSTOMER_CLASS_CREATED = strawberry.enum_value(
        "CUSTOMER_CLASS_CREATED",
        description="A class was created or cloned (action CREATE or CLONE).",
    )
    CUSTOMER_CLASS_UPDATED = strawberry.enum_value(
        "CUSTOMER_CLASS_UPDATED",
        description="A class's settings changed (action UPDATE): changes lists what changed.",
    )
    CUSTOMER_CLASS_DELETED = strawberry.enum_value(
        "CUSTOMER_CLASS_DELETED",
        description="A class was deleted (action DELETE): changes holds its last state.",
    )
    CUSTOMER_CLASS_SHARING_CHANGED = strawberry.enum_value(
        "CUSTOMER_CLASS_SHARING_CHANGED",
        description="An administrator class was shared with resellers or stopped being shared"
        " (action SHARE or UNSHARE); resellers receive both.",
    )
    CUSTOMER_CREATED = strawberry.enum_value(
        "CUSTOMER_CREATED", description="A customer was created (action CREATE)."
    )
    CUSTOMER_CLASS_ASSIGNED = strawberry.enum_value(
        "CUSTOMER_CLASS_ASSIGNED",
        description="A customer was given another class (action ASSIGN).",
    )
    CUSTOMER_OVERRIDES_UPDATED = strawberry.enum_value(
        "CUSTOMER_OVERRIDES_UPDATED",
        description="A customer's overrides changed (action UPDATE).",
    )
    API_TOKEN_REVOKED = strawberry.enum_value(
        "API_TOKEN_REVOKED", description="An API token was revoked (action REVOKE)."
    )


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value(
        "PENDING", description="Not attempted yet, or queued again by redeliverWebhook."
    )
    DELIVERED = strawberry.enum_value(
        "DELIVERED", description="The receiver answered 2xx to the last attempt."
    )
    FAILED = strawberry.enum_value(
        "FAILED",
        description="The last attempt failed (not 2xx, timeout, refused address); another"
        " follows at nextAttemptAt.",
    )
    DEAD = strawberry.enum_value(
        "DEAD",
        description="Retried for 3 days without success; no attempt follows unless"
        " redeliverWebhook queues one.",
    )


@strawberry.type(
    description="One change event for one subscription, and its attempts. Visible to whoever"
    " sees its subscription."
)
class WebhookDelivery(Node):
    eventId: str = strawberry.field(
        description="The Standard Webhooks webhook-id: the same for every attempt of one event"
        " to one subscription (receivers drop repeats by it)."
    )
    eventType: WebhookEventType = strawberry.field(description="What the event reports.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where the delivery stands.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    lastAttemptAt: DateTime | None = strawberry.field(
        description="When the last attempt was made; null before the first."
    )
    nextAttemptAt: DateTime | None = strawberry.field(
        description="When the next attempt is due (while an attempt is in flight: when it is"
        " retried should it be lost); null once DELIVERED or DEAD."
    )
    lastResponseStatus: int | None = strawberry.field(
        description="The HTTP status the receiver answered last; null when there was no"
        " answer (timeout, connection refused, refused address) or no attempt yet."
    )
    lastError: str | None = strawberry.field(
        description="Why the last attempt failed, at most 500 characters; null after a success"
        " or before the first attempt."
    )
    payload: JSON = strawberry.field(
        description="The JSON body posted: {type, timestamp, data: {objectId, objectType,"
        " version, action, changes, actor: {role, tokenName}}}; changes as in auditEvents."
    )

    @classmethod
    def of(cls, row: Any) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(to_global_id(webhooks.DELIVERY_TYPE, row.id)),
            eventId=row.event_id,
            eventType=WebhookEventType(row.event_type),
            status=WebhookDeliveryStatus(row.status),
            attempts=row.attempts,
            lastAttemptAt=row.last_attempt_at,
            nextAttemptAt=row.next_attempt_at,
            lastResponseStatus=row.last_response_status,
            lastError=row.last_error,
            payload=row.payload,
        )


@strawberry.type(description="A page of deliveries, newest first.")
class WebhookDeliveryConnection:
    nodes: list[WebhookDelivery] = strawberry.field(description="The page's deliveries.")
    pageInfo: PageInfo = strawberry.field(description="Where the page lies.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many deliveries match (of the status, if given).")
    async def totalCount(self) -> int:
        return await self.count()

    @classmethod
    def of(
        cls, page: pagination.Page, count: Callable[[], Awaitable[int]]
    ) -> WebhookDeliveryConnection:
        return cls(
            nodes=[WebhookDelivery.of(row) for row in page.rows],
            pageInfo=PageInfo.of(page.cursors, page.has_next, page.has_previous),
            count=count,
        )


@strawberry.type(
    description="An HTTPS endpoint that receives signed change events (Standard Webhooks)."
    " It belongs to the tenant of the token that made it; a reseller's receives only events"
    " about what the reseller may see."
)
class WebhookSubscription(Node):
    row: strawberry.Private[Any]
    url: str = strawberry.field(description="Where events are POSTed.")
    events: list[WebhookEventType] = strawberry.field(description="The event types it receives.")
    active: bool = strawberry.field(
        description="Whether events are fanned out to it and delivered. Set false by the"
        " dispatcher after 5 days of failed deliveries (audited as UPDATE by dispatcher)."
    )
    description: str | None = strawberry.field(description="A note for people; may be null.")
    createdAt: DateTime = strawberry.field(
        description="When it was created; it receives changes made from then on."
    )

    @classmethod
    def of(cls, row: Any) -> WebhookSubscription:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id(webhooks.TYPE, row.id)),
            url=row.url,
            events=[WebhookEventType(e) for e in row.events],
            active=row.active,
            description=row.description,
            createdAt=row.created_at,
        )

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description=FIRST_DESCRIPTION)] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
        status: Annotated[
            WebhookDeliveryStatus | None,
            strawberry.argument(description="Only deliveries of this status; omitted: all."),
        ] = None,
    ) -> WebhookDeliveryConnection:
        context = info.context
        status_value = None if status is None else status.name
        page = await webhooks.list_deliveries(
            context.conn,
            context.principal,
            self.row.id,
            status=status_value,
            first=first,
            after=after,
        )
        return WebhookDeliveryConnection.of(
            page,
            lambda: webhooks.count_deliveries(
                context.conn, context.principal, self.row.id, status_value
            ),
        )
