"""node(id:) and nodes(ids:): every type goes through the same visibility as its own
root field, so a guessed or foreign ID reads exactly like an unknown one (null)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, cast

import strawberry

from gql.audit.types import AuditEvent
from gql.catalogs.types import CATALOG_TYPES
from gql.common import Node
from gql.context import Info
from gql.customer_classes.types import CustomerClass
from gql.customers.types import Customer
from gql.tokens.types import ApiToken
from gql.webhooks.types import WebhookDelivery, WebhookSubscription
from tenancy.ids import decode_routed


async def resolve_node(info: Info, global_id: str) -> Node | None:
    decoded = decode_routed(global_id)
    if decoded is None:
        return None
    type_name, key, tenant = decoded
    loaders = info.context.loaders
    row: Any
    if type_name == "CustomerClass":
        if tenant is None:  # an ID issued before class IDs named their tenant
            row = await loaders.classes.load(key)
        else:
            row = await loaders.routed_classes.load((key, tenant))
        return row and CustomerClass.of(row)
    if type_name == "Customer":
        row = await loaders.customers.load(key)
        return row and Customer.of(row)
    if type_name == "AuditEvent":
        row = await loaders.events.load(key)
        return row and AuditEvent.of(row, info.context.principal.reseller_id)
    if type_name == "ApiToken":
        row = await loaders.tokens.load(key)
        return row and ApiToken.of(row)
    if type_name == "WebhookSubscription":
        row = await loaders.subscriptions.load(key)
        return row and WebhookSubscription.of(row)
    if type_name == "WebhookDelivery":
        row = await loaders.deliveries.load(key)
        return row and WebhookDelivery.of(row)
    catalog_type = CATALOG_TYPES.get(type_name)
    if catalog_type is not None:
        row = await loaders.catalog(type_name).load(key)
        return cast("Node | None", row and catalog_type.of(row))
    return None


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object the caller may see, by global ID; null otherwise (unknown,"
        " hidden, undecodable: all read the same)."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The global ID of any Node type.")
        ],
    ) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        description="Objects by global ID, in the order asked; null for each the caller may"
        " not see. Costs its length in the requested cost."
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description="1 to 100 global IDs of any Node types (repeats allowed): more"
                " is the top-level error PAGE_TOO_LARGE, none BAD_USER_INPUT."
            ),
        ],
    ) -> list[Node | None]:
        return list(await asyncio.gather(*(resolve_node(info, i) for i in ids)))
