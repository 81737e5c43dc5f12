from __future__ import annotations

import strawberry

from gql.catalogs.types import CustomFieldObject, CustomFieldType, TaxAppliedTo
from gql.common import Decimal


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
