"""Catalog types: public to every authenticated caller."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from db.currencies import CURRENCIES
from gql.common import Decimal, Node
from tenancy.ids import to_global_id


@strawberry.type(description="An ISO 4217 currency.")
class Currency:
    code: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    name: str
    minorUnits: int = strawberry.field(description="Decimals of money amounts in this currency.")


# The seeded currency table never changes at run time: one object per code, built once.
CURRENCY_BY_CODE = {
    code: Currency(code=code, name=name, minorUnits=units) for code, name, units in CURRENCIES
}


def currency_of(code: str | None) -> Currency | None:
    return None if code is None else CURRENCY_BY_CODE.get(code)


@strawberry.type(description="What a class's customers are provided, e.g. hosted IP PBX.")
class BusinessModel(Node):
    code: str
    name: str

    @classmethod
    def of(cls, row: Any) -> BusinessModel:
        return cls(
            id=strawberry.ID(to_global_id("BusinessModel", row.id)), code=row.code, name=row.name
        )


@strawberry.type(description="A template of invoice documents.")
class InvoiceTemplate(Node):
    name: str

    @classmethod
    def of(cls, row: Any) -> InvoiceTemplate:
        return cls(id=strawberry.ID(to_global_id("InvoiceTemplate", row.id)), name=row.name)


@strawberry.type(description="A set of notification templates; notifications need one.")
class NotificationSet(Node):
    name: str

    @classmethod
    def of(cls, row: Any) -> NotificationSet:
        return cls(id=strawberry.ID(to_global_id("NotificationSet", row.id)), name=row.name)


@strawberry.enum
class CustomFieldObject(Enum):
    CUSTOMER = "CUSTOMER"
    ACCOUNT = "ACCOUNT"


@strawberry.enum
class CustomFieldType(Enum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    DATE = "DATE"
    DATE_TIME = "DATE_TIME"
    LIST = "LIST"


@strawberry.type(description="An extra field that classes may enable for their customers.")
class CustomFieldDefinition(Node):
    object: CustomFieldObject
    name: str
    type: CustomFieldType
    listValues: list[str] = strawberry.field(
        description="Allowed values of a LIST field; empty for other types."
    )
    defaultValue: str | None
    mandatory: bool
    visibleToEndUser: bool
    containsPersonalData: bool

    @classmethod
    def of(cls, row: Any) -> CustomFieldDefinition:
        return cls(
            id=strawberry.ID(to_global_id("CustomFieldDefinition", row.id)),
            object=CustomFieldObject(row.object),
            name=row.name,
            type=CustomFieldType(row.type),
            listValues=list(row.list_values),
            defaultValue=row.default_value,
            mandatory=row.mandatory,
            visibleToEndUser=row.visible_to_end_user,
            containsPersonalData=row.contains_personal_data,
        )


@strawberry.enum
class TaxAppliedTo(Enum):
    ALL_CHARGES = "ALL_CHARGES"
    SUBSCRIPTIONS = "SUBSCRIPTIONS"
    USAGE = "USAGE"


@strawberry.type(description="A tax of CUSTOM_TAXATION classes.")
class CustomTax(Node):
    name: str
    ratePercent: Decimal
    appliedTo: TaxAppliedTo

    @classmethod
    def of(cls, row: Any) -> CustomTax:
        return cls(
            id=strawberry.ID(to_global_id("CustomTax", row.id)),
            name=row.name,
            ratePercent=row.rate_percent,
            appliedTo=TaxAppliedTo(row.applied_to),
        )


# GraphQL type name -> class, for node(id:) and payloads.
CATALOG_TYPES: dict[str, Any] = {
    "BusinessModel": BusinessModel,
    "InvoiceTemplate": InvoiceTemplate,
    "NotificationSet": NotificationSet,
    "CustomFieldDefinition": CustomFieldDefinition,
    "CustomTax": CustomTax,
}
