from __future__ import annotations

import strawberry

from gql.context import Info
from gql.webhooks.types import WebhookSubscription
from tenancy import webhooks


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        description="The webhook subscriptions of the caller's tenant (the reseller's, or the"
        " administrators'), oldest first: at most 10. Administrators reach a reseller's"
        " subscription by its ID (node)."
    )
    async def webhookSubscriptions(self, info: Info) -> list[WebhookSubscription]:
        rows = await webhooks.list_subscriptions(info.context.conn, info.context.principal)
        return [WebhookSubscription.of(row) for row in rows]
