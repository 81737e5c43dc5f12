"""Shared GraphQL building blocks: scalars, the Node interface, pages, user errors, and
the conversion of Strawberry inputs into the plain patches the tenancy layer takes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NewType, TypeVar

import strawberry
from strawberry.types.scalar import ScalarDefinition

from tenancy.errors import FieldError, UserErrorCode

# Inputs of these scalars reach the tenancy layer untouched, so that a malformed value
# is a userError with its input path (SPEC §5 "Numbers"), never a top-level error.
Decimal = NewType("Decimal", str)
DateTime = NewType("DateTime", datetime)
JSON = NewType("JSON", object)


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


T = TypeVar("T")


def _untouched(value: T) -> T:
    return value


SCALARS: dict[object, ScalarDefinition] = {
    Decimal: strawberry.scalar(
        name="Decimal",
        description='Exact decimal number, serialized as a string, e.g. "12.50".',
        serialize=str,
        parse_value=_untouched,
    ),
    DateTime: strawberry.scalar(
        name="DateTime",
        description="ISO 8601 date-time. Inputs must carry a UTC offset; outputs are in UTC.",
        serialize=_serialize_datetime,
        parse_value=_untouched,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="Arbitrary JSON value.",
        serialize=_untouched,
        parse_value=_untouched,
    ),
}


@strawberry.interface(description="An object with a global ID, refetchable with node(id:).")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    hasNextPage: bool
    hasPreviousPage: bool
    startCursor: str | None
    endCursor: str | None

    @classmethod
    def of(cls, cursors: list[str], has_next: bool, has_previous: bool) -> PageInfo:
        return cls(
            hasNextPage=has_next,
            hasPreviousPage=has_previous,
            startCursor=cursors[0] if cursors else None,
            endCursor=cursors[-1] if cursors else None,
        )


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


# Registers the domain's code enum as the GraphQL enum UserErrorCode (same class).
strawberry.enum(
    UserErrorCode,
    name="UserErrorCode",
    description="Why a mutation input was refused.",
)


@strawberry.type(description="An expected refusal of a mutation input.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field, e.g. ["input", "regularInvoices", "paymentTerms",'
        ' "netDays"]; list elements add their index.'
    )
    message: str
    code: UserErrorCode

    @classmethod
    def of(cls, error: FieldError) -> UserError:
        return cls(
            field=list(error.field) if error.field is not None else None,
            message=error.message,
            code=error.code,
        )


def patch_of(value: Any) -> Any:
    """A Strawberry input as plain data: omitted fields are absent, explicit nulls are
    None, enums are their string values, nested inputs are dicts, lists stay lists."""
    if value is strawberry.UNSET:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [patch_of(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is not strawberry.UNSET:
                result[f.name] = patch_of(item)
        return result
    return value
