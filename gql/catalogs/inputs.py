from __future__ import annotations

import strawberry

from gql.catalogs.types import CustomFieldObject, CustomFieldType, TaxAppliedTo
from gql.common import Decimal
from gql.input_shapes import check_input, check_values
from tenancy import documents, inputs

# Names of catalog entries follow the name rules of SPEC §3 (tenancy.fields.check_name).
NAME_RULES = (
    "1 to 100 characters once NFC-normalised and trimmed (blank: REQUIRED; longer, or more"
    " than 400 characters as given: TOO_LONG), without control or invisible format"
    " characters (INVALID)"
)
UNIQUE_IN_CATALOG = "; unique in its catalog ignoring case and compatibility forms (TAKEN)."


@strawberry.input(description="A new custom field definition.")
class CreateCustomFieldDefinitionInput:
    object: CustomFieldObject = strawberry.field(description="The object it belongs to.")
    name: str = strawberry.field(
        description=NAME_RULES + "; unique per object ignoring case and compatibility forms"
        " (TAKEN)."
    )
    type: CustomFieldType = strawberry.field(description="The type of its values; fixed.")
    listValues: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="LIST fields only (DEPENDENCY for other types), and required for them"
        " (REQUIRED): 1 to 100 values (OUT_OF_RANGE), each following the name rules (codes on"
        ' ["input", "listValues", index]) and listed once (INVALID).',
    )
    defaultValue: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The value a new object starts with: at most 500 characters (TOO_LONG)"
        " and a valid value of the type (INVALID): one of listValues for LIST, the Decimal"
        " grammar for NUMBER, an ISO 8601 date for DATE, a date-time with an offset for"
        " DATE_TIME. Omitted, null or blank: none.",
    )
    mandatory: bool = strawberry.field(
        default=False, description="A value must be filled in. Default false."
    )
    visibleToEndUser: bool = strawberry.field(
        default=False, description="End users see and edit it in self-care. Default false."
    )
    containsPersonalData: bool = strawberry.field(
        default=False,
        description="It holds personal data, masked for users without personal-data"
        " permission. Default false.",
    )


@strawberry.input(description="A new invoice template or notification set.")
class CreateNamedCatalogEntryInput:
    name: str = strawberry.field(description=NAME_RULES + UNIQUE_IN_CATALOG)


@strawberry.input(description="A new business model.")
class CreateBusinessModelInput:
    code: str = strawberry.field(
        description="1 to 50 characters once trimmed (blank: REQUIRED; longer: TOO_LONG): a"
        " letter or digit, then letters, digits, _, . or - (INVALID otherwise); unique"
        " ignoring case and compatibility forms (TAKEN)."
    )
    name: str = strawberry.field(description="Display name: " + NAME_RULES + ".")


@strawberry.input(description="A new custom tax.")
class CreateCustomTaxInput:
    name: str = strawberry.field(description=NAME_RULES + UNIQUE_IN_CATALOG)
    ratePercent: Decimal = strawberry.field(
        description="The tax rate, a percentage from 0 to 100 (OUT_OF_RANGE) with at most 4"
        " decimals (INVALID)."
    )
    appliedTo: TaxAppliedTo = strawberry.field(description="The charges it applies to.")


check_input(CreateCustomFieldDefinitionInput, inputs.CreateCustomFieldDefinition)
check_input(CreateNamedCatalogEntryInput, inputs.CreateNamedCatalogEntry)
check_input(CreateBusinessModelInput, inputs.CreateBusinessModel)
check_input(CreateCustomTaxInput, inputs.CreateCustomTax)
check_values(CustomFieldObject, inputs.CustomFieldObject)
check_values(CustomFieldType, inputs.CustomFieldType)
check_values(TaxAppliedTo, documents.TaxAppliedTo)
