"""Catalog types: public to every authenticated caller."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from db.currencies import CURRENCIES
from gql.common import Decimal, Node
from tenancy.ids import to_global_id


@strawberry.type(
    description="An ISO 4217 currency (the active ones, seeded; the list never changes while"
    " the service runs)."
)
class Currency:
    code: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    name: str = strawberry.field(description="English name, e.g. US Dollar.")
    minorUnits: int = strawberry.field(
        description="Decimals of money amounts in this currency: 2 for USD, 0 for JPY, 3 for"
        " BHD. Money of a class in this currency is returned with exactly this many."
    )


CATALOG_NAME = "1 to 100 characters, unique in its catalog ignoring case and compatibility forms."


# The seeded currency table never changes at run time: one object per code, built once.
CURRENCY_BY_CODE = {
    code: Currency(code=code, name=name, minorUnits=units) for code, name, units in CURRENCIES
}


def currency_of(code: str | None) -> Currency | None:
    return None if code is None else CURRENCY_BY_CODE.get(code)


@strawberry.type(
    description="The type of service a class's customers are provided, e.g. Cloud PBX or"
    " Internet access."
)
class BusinessModel(Node):
    code: str = strawberry.field(
        description="1 to 50 characters: a letter or digit, then letters, digits, _, . or -;"
        " unique ignoring case and compatibility forms."
    )
    name: str = strawberry.field(description="Display name, 1 to 100 characters.")

    @classmethod
    def of(cls, row: Any) -> BusinessModel:
        return cls(
            id=strawberry.ID(to_global_id("BusinessModel", row.id)), code=row.code, name=row.name
        )


@strawberry.type(description="A template of invoice documents.")
class InvoiceTemplate(Node):
    name: str = strawberry.field(description=CATALOG_NAME)

    @classmethod
    def of(cls, row: Any) -> InvoiceTemplate:
        return cls(id=strawberry.ID(to_global_id("InvoiceTemplate", row.id)), name=row.name)


@strawberry.type(description="A set of notification templates; notifications need one.")
class NotificationSet(Node):
    name: str = strawberry.field(description=CATALOG_NAME)

    @classmethod
    def of(cls, row: Any) -> NotificationSet:
        return cls(id=strawberry.ID(to_global_id("NotificationSet", row.id)), name=row.name)


@strawberry.enum(description="The object whose page shows a custom field.")
class CustomFieldObject(Enum):
    CUSTOMER = strawberry.enum_value("CUSTOMER", description="The customer.")
    ACCOUNT = strawberry.enum_value("ACCOUNT", description="Each account of the customer.")


@strawberry.enum(description="The type of a custom field's values.")
class CustomFieldType(Enum):
    TEXT = strawberry.enum_value("TEXT", description="Free text.")
    NUMBER = strawberry.enum_value(
        "NUMBER", description="A decimal number, written as the Decimal scalar is."
    )
    DATE = strawberry.enum_value("DATE", description="An ISO 8601 date, e.g. 2027-01-31.")
    DATE_TIME = strawberry.enum_value(
        "DATE_TIME", description="A date-time with a UTC offset, written as DateTime is."
    )
    LIST = strawberry.enum_value("LIST", description="One of the field's listValues.")


@strawberry.type(
    description="An extra field that classes may enable for their customers (customFields)."
)
class CustomFieldDefinition(Node):
    object: CustomFieldObject = strawberry.field(description="The object it belongs to.")
    name: str = strawberry.field(
        description="1 to 100 characters, unique per object ignoring case and compatibility forms."
    )
    type: CustomFieldType = strawberry.field(description="The type of its values; fixed.")
    listValues: list[str] = strawberry.field(
        description="Allowed values of a LIST field, in the order given (1 to 100); empty for"
        " other types."
    )
    defaultValue: str | None = strawberry.field(
        description="The value a new object starts with, a valid value of the type; null: none."
    )
    mandatory: bool = strawberry.field(description="A value must be filled in.")
    visibleToEndUser: bool = strawberry.field(description="End users see and edit it in self-care.")
    containsPersonalData: bool = strawberry.field(
        description="It holds personal data, masked for users without personal-data permission."
    )

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


@strawberry.enum(description="The charges a custom tax applies to.")
class TaxAppliedTo(Enum):
    ALL_CHARGES = strawberry.enum_value(
        "ALL_CHARGES",
        description="Every charge; the only custom taxes allowed with AT_TIME_OF_PAYMENT"
        " assessment.",
    )
    SUBSCRIPTIONS = strawberry.enum_value("SUBSCRIPTIONS", description="Subscription fees.")
    USAGE = strawberry.enum_value("USAGE", description="Usage charges.")


@strawberry.type(description="A tax of CUSTOM_TAXATION classes.")
class CustomTax(Node):
    name: str = strawberry.field(description=CATALOG_NAME)
    ratePercent: Decimal = strawberry.field(
        description="The tax rate, a percentage from 0 to 100 with at most 4 decimals."
    )
    appliedTo: TaxAppliedTo = strawberry.field(description="The charges it applies to.")

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
