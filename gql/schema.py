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

Query = merge_types(
    "Query", (NodeQuery, TokenQuery, CustomerClassQuery, CustomerQuery, CatalogQuery, AuditQuery)
)
Mutation = merge_types(
    "Mutation", (CustomerClassMutation, CustomerMutation, CatalogMutation, TokenMutation)
)

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
    ],
    config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALARS),
)
# What graphql-core executes: the endpoint parses, validates and runs requests itself.
graphql_schema = schema._schema


def sdl() -> str:
    return schema.as_str() + "\n"
