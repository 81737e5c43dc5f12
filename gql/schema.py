"""The one schema: per-domain query and mutation types merged here."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from gql.audit.queries import AuditQuery
from gql.audit.types import AuditEvent
from gql.catalogs.mutations import CatalogMutation
from gql.catalogs.queries import CatalogQuery
from gql.catalogs.types import (
    BusinessModel,
    CustomFieldDefinition,
    CustomTax,
    InvoiceTemplate,
    NotificationSet,
)
from gql.common import SCALARS
from gql.customer_classes.as_code import ClassesAsCodeMutation, ClassesAsCodeQuery
from gql.customer_classes.mutations import CustomerClassMutation
from gql.customer_classes.queries import CustomerClassQuery
from gql.customer_classes.types import CustomerClass
from gql.customers.mutations import CustomerMutation
from gql.customers.queries import CustomerQuery
from gql.customers.types import Customer
from gql.node import NodeQuery
from gql.tokens.mutations import TokenMutation
from gql.tokens.queries import TokenQuery
from gql.tokens.types import ApiToken
from gql.webhooks.mutations import WebhookMutation
from gql.webhooks.queries import WebhookQuery
from gql.webhooks.types import WebhookDelivery, WebhookSubscription


@strawberry.type(
    description="Reads. Every query needs a bearer token (HTTP 401 UNAUTHENTICATED"
    " without one, introspection included) and shows only what the token's role may see:"
    " anything else reads exactly as if it did not exist (null, absent from lists and"
    " counts). A request's requested cost (lists of objects at their maximum length,"
    " connections at their page size) may not exceed 10,000 (QUERY_TOO_COMPLEX) and is"
    " charged to the token's and the tenant's rate-limit buckets (THROTTLED, HTTP 429)."
)
class Query(
    NodeQuery,
    TokenQuery,
    CustomerClassQuery,
    ClassesAsCodeQuery,
    CustomerQuery,
    CatalogQuery,
    AuditQuery,
    WebhookQuery,
):
    pass


@strawberry.type(
    description="Changes. Each mutation field takes one input, runs in its own savepoint and"
    " returns a payload whose userErrors explain an expected refusal (nothing of that field"
    " is written, other fields of the request are unaffected); every change is recorded in"
    " auditEvents. Roles that may never perform an operation get the top-level error"
    " FORBIDDEN. Each mutation field costs 10 in the requested cost."
)
class Mutation(
    CustomerClassMutation,
    ClassesAsCodeMutation,
    CustomerMutation,
    CatalogMutation,
    TokenMutation,
    WebhookMutation,
):
    pass


# The root types merge the domains' fields: merge_types warns (an error under pytest) when
# two domains define the same field, which one base would silently hide.
merge_types("Query", Query.__bases__)
merge_types("Mutation", Mutation.__bases__)

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[
        CustomerClass,
        Customer,
        BusinessModel,
        InvoiceTemplate,
        NotificationSet,
        CustomFieldDefinition,
        CustomTax,
        AuditEvent,
        ApiToken,
        WebhookSubscription,
        WebhookDelivery,
    ],
    config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALARS),
)
# What graphql-core executes: the endpoint parses, validates and runs requests itself.
graphql_schema = schema._schema


def sdl() -> str:
    return schema.as_str() + "\n"
