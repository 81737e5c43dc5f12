from __future__ import annotations

import strawberry

from gql.catalogs.types import CustomFieldObject, CustomFieldType, TaxAppliedTo
from gql.common import Decimal
from gql.input_shapes import check_input, check_values
from tenancy import documents, inputs


@strawberry.input
class CreateCustomFieldDefinitionInput:
    object: CustomFieldObject
    name: str
    type: CustomFieldType
    listValues: list[str] | None = strawberry.UNSET
    defaultValue: str | None = strawberry.UNSET
    mandatory: bool = False
    visibleToEndUser: bool = False
    containsPersonalData: bool = False


@strawberry.input
class CreateNamedCatalogEntryInput:
    name: str


@strawberry.input
class CreateBusinessModelInput:
    code: str
    name: str


@strawberry.input
class CreateCustomTaxInput:
    name: str
    ratePercent: Decimal
    appliedTo: TaxAppliedTo


check_input(CreateCustomFieldDefinitionInput, inputs.CreateCustomFieldDefinition)
check_input(CreateNamedCatalogEntryInput, inputs.CreateNamedCatalogEntry)
check_input(CreateBusinessModelInput, inputs.CreateBusinessModel)
check_input(CreateCustomTaxInput, inputs.CreateCustomTax)
check_values(CustomFieldObject, inputs.CustomFieldObject)
check_values(CustomFieldType, inputs.CustomFieldType)
check_values(TaxAppliedTo, documents.TaxAppliedTo)
