"""Shared GraphQL building blocks: scalars, the Node interface, pages, user errors, and
the conversion of Strawberry inputs into the plain patches the tenancy layer takes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NewType, TypeVar

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.types.scalar import ScalarDefinition

from tenancy import errors, fields
from tenancy.errors import FieldError

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


RFC_3339 = "https://datatracker.ietf.org/doc/html/rfc3339"
ECMA_404 = "https://ecma-international.org/publications-and-standards/standards/ecma-404/"

DECIMAL_DESCRIPTION = (
    "An exact decimal number, always a JSON string (a JSON number is refused), in plain"
    f" decimal notation {fields.DECIMAL_GRAMMAR}: an optional minus sign, at most"
    f" {fields.MAX_INTEGER_DIGITS} digits before the optional decimal point (leading zeros"
    " count), digits after it; no exponent, no plus sign, no spaces or separators, no NaN"
    f" or infinity; at most {fields.DECIMAL_RAW_MAX} characters. An input that is not of"
    " this form is the userError INVALID on its field, never a top-level error. Money"
    " accepts at most as many decimals as the class currency has minor units"
    f" ({fields.DEFAULT_MONEY_DECIMALS} without currency) and is returned with exactly that"
    ' many ("1.50" in USD, "2" in JPY); percentages accept at most'
    f' {fields.PERCENT_DECIMALS} decimals and are returned as written. Examples: "12.50",'
    ' "0", "-3.1415".'
)

SCALARS: dict[object, ScalarDefinition] = {
    Decimal: strawberry.scalar(
        name="Decimal",
        description=DECIMAL_DESCRIPTION,
        serialize=str,
        parse_value=_untouched,
    ),
    DateTime: strawberry.scalar(
        name="DateTime",
        description="A point in time as an RFC 3339 date-time string. Inputs must carry a UTC"
        ' offset ("2027-01-31T09:30:00Z", "2027-01-31T10:30:00+01:00"; without one:'
        " INVALID), lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z"
        f" (OUT_OF_RANGE) and have at most {fields.DATETIME_RAW_MAX} characters. Outputs are"
        " always in UTC with the suffix Z, with microseconds only when they are not zero:"
        ' "2027-01-31T09:30:00Z", "2027-01-31T09:30:00.250000Z".',
        specified_by_url=RFC_3339,
        serialize=_serialize_datetime,
        parse_value=_untouched,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="Any JSON value (ECMA-404): object, array, string, number, boolean or"
        " null, returned as it is stored. Outputs: AuditEvent.changes, FieldChange.before and"
        " after, exportCustomerClasses, WebhookDelivery.payload; input:"
        " ApplyCustomerClassesInput.document, checked by the mutation (a malformed document is"
        " a userError, never a top-level error).",
        specified_by_url=ECMA_404,
        serialize=_untouched,
        parse_value=_untouched,
    ),
}


@strawberry.interface(
    description="An object with a global ID, refetchable with node(id:) and nodes(ids:)."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="Global ID: opaque, stable, unique across types; it reveals no counts."
        " Pass it back as it is: an undecodable, unknown, hidden or other-type ID reads as"
        " null in node, nodes and the single-object queries, and as NOT_FOUND in mutations."
    )


# Arguments of every connection (SPEC §3, §6; page size checked in gql/limits.py).
FIRST_DESCRIPTION = (
    "Page size, 1 to 100 (default 50): above 100 is the top-level error PAGE_TOO_LARGE,"
    " below 1 BAD_USER_INPUT. The connection costs its page size (times its parent's"
    " multiplier) in the requested cost."
)
CURSOR_DESCRIPTION = (
    "Opaque cursor of this item, to pass as after (or before) to the same field with the"
    " same filter and order."
)
AFTER_DESCRIPTION = (
    "Start after this cursor (an endCursor or edge cursor of the same field, filter and"
    " order; anything else is the top-level error BAD_USER_INPUT). Omitted: from the start."
)
LAST_DESCRIPTION = (
    "Take the page backwards: this many items, 1 to 100 (PAGE_TOO_LARGE above,"
    " BAD_USER_INPUT below), from the end of the list or before the cursor before. Counts"
    " like first in the requested cost."
)
BEFORE_DESCRIPTION = (
    "Take the page backwards, ending before this cursor (of the same field, filter and"
    " order; else BAD_USER_INPUT), with last items (default 50)."
)


# The dryRun field of the inputs that have one (issue 11).
_DRY_RUN_RULE = (
    " the mutation runs exactly as it would, with the same checks, errors and tenancy, and"
    " everything it did is rolled back. Default false; null means false."
)
DRY_RUN = {
    "class": "Validate and compute the impact without writing anything (no audit event, no"
    " version change):" + _DRY_RUN_RULE + " The payload shows the class as it would be.",
    "delete": "Validate without deleting anything (no audit event):"
    + _DRY_RUN_RULE
    + " deletedIds lists the classes that would be deleted, userErrors the others.",
    "assign": "Validate without writing anything (no audit event):"
    + _DRY_RUN_RULE
    + " The payload shows the customer as it would be, effective settings included.",
    "apply": "Validate and compute the plan without writing anything (no audit event, no"
    " version change):" + _DRY_RUN_RULE + " The plan is the one a real run would carry out.",
}


# The one argument of every mutation field.
INPUT = strawberry.argument(
    description="The change, validated as a whole; refusals come back in userErrors, with"
    ' field paths starting at "input".'
)


@strawberry.type(
    description="Where a page of a connection lies. Cursors are opaque strings valid only"
    " for the same field, filter and order."
)
class PageInfo:
    hasNextPage: bool = strawberry.field(
        description="Forward pages (first/after): more items follow this page. Backward pages"
        " (last/before): true whenever before was given."
    )
    hasPreviousPage: bool = strawberry.field(
        description="Backward pages (last/before): more items precede this page. Forward pages"
        " (first/after): true whenever after was given."
    )
    startCursor: str | None = strawberry.field(
        description="Cursor of the page's first item, to pass as before; null for an empty page."
    )
    endCursor: str | None = strawberry.field(
        description="Cursor of the page's last item, to pass as after; null for an empty page."
    )

    @classmethod
    def of(cls, cursors: list[str], has_next: bool, has_previous: bool) -> PageInfo:
        return cls(
            hasNextPage=has_next,
            hasPreviousPage=has_previous,
            startCursor=cursors[0] if cursors else None,
            endCursor=cursors[-1] if cursors else None,
        )


@strawberry.enum(description="Sort direction; ties are always broken by id in the same direction.")
class SortDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Ascending: A to Z, oldest first, fewest first.")
    DESC = strawberry.enum_value(
        "DESC", description="Descending: Z to A, newest first, most first."
    )


@strawberry.enum(
    description="Why a mutation input was refused: the code of a userError. A mutation"
    " reports its NOT_FOUND errors, else its NOT_PERMITTED errors, else VERSION_CONFLICT,"
    " and only then every validation error at once (deleteCustomerClasses: one error per"
    " refused ID)."
)
class UserErrorCode(Enum):
    """The GraphQL face of ``tenancy.errors.UserErrorCode`` (same names, checked below),
    with a description for each value."""

    INVALID = strawberry.enum_value(
        "INVALID",
        description="Malformed or unacceptable value: a bad format (e-mail, currency code,"
        " Decimal, DateTime, characters of a name), wrong order, a duplicate, an explicit null"
        " on a field that cannot be null, or a value a rule forbids outright.",
    )
    REQUIRED = strawberry.enum_value(
        "REQUIRED",
        description="A value is missing or blank, including one that another setting makes"
        " mandatory (e.g. closeDelayHours with WITH_EXTRA_DELAY).",
    )
    TOO_LONG = strawberry.enum_value(
        "TOO_LONG",
        description="Text longer than its limit (names: 100 characters, or 400 as given"
        " before trimming and normalisation; other limits in each field's description).",
    )
    OUT_OF_RANGE = strawberry.enum_value(
        "OUT_OF_RANGE",
        description="A number, a date-time or a list length outside its range, or a counted"
        ' limit reached (tokens, catalog entries; then field is ["input"]).',
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND",
        description="The ID names no object of the expected type that the caller may see:"
        " unknown, hidden, undecodable and other-type IDs all read the same.",
    )
    TAKEN = strawberry.enum_value(
        "TAKEN",
        description="The name is already used in its namespace (classes: per manager; tokens:"
        " per owner; custom fields: per object; other catalogs: per catalog; business-model"
        " codes: per catalog), compared ignoring case and compatibility forms.",
    )
    IMMUTABLE = strawberry.enum_value(
        "IMMUTABLE", description="The Default class cannot be renamed (the only use of this code)."
    )
    IN_USE = strawberry.enum_value(
        "IN_USE",
        description="The class is assigned to a customer the caller may see (deleting), or a"
        " reseller's customer uses the shared class (unsharing).",
    )
    DEFAULT_CLASS = strawberry.enum_value(
        "DEFAULT_CLASS", description="The Default class can never be deleted or unshared."
    )
    VERSION_CONFLICT = strawberry.enum_value(
        "VERSION_CONFLICT",
        description="expectedVersion is not the current version: the object changed"
        " meanwhile. Nothing was written; read it again and retry.",
    )
    CURRENCY_MISMATCH = strawberry.enum_value(
        "CURRENCY_MISMATCH",
        description="The class has a currency, and it is not the customer's.",
    )
    OWNERSHIP_MISMATCH = strawberry.enum_value(
        "OWNERSHIP_MISMATCH",
        description="The class's manager and sharing do not allow this customer: an"
        " unshared administrator class is only for customers without a parent, a shared one"
        " for any customer, a reseller's class only for that reseller's customers.",
    )
    DEPENDENCY = strawberry.enum_value(
        "DEPENDENCY",
        description="The value needs another setting, or another setting forbids it (e.g."
        " due-date reminders while netDays is 0); the message names the other setting.",
    )
    NOT_PERMITTED = strawberry.enum_value(
        "NOT_PERMITTED",
        description="The caller may see the object but not change or use it (a shared class"
        " or its own customer record, to a reseller; a reseller's class, to an administrator"
        " assigning it), or asked for what its role may not have (another reseller's ID,"
        " sharing, an ADMINISTRATOR token, to a reseller).",
    )


if [c.name for c in UserErrorCode] != [c.name for c in errors.UserErrorCode]:
    raise RuntimeError("gql.common.UserErrorCode and tenancy.errors.UserErrorCode differ")


@strawberry.type(
    description="An expected refusal of a mutation input: nothing of the mutation field was"
    " written (except the deleted IDs of deleteCustomerClasses)."
)
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field, e.g. ["input", "regularInvoices", "paymentTerms",'
        ' "netDays"]; list elements add their index as a decimal string'
        ' (["input", "measuredServices", "1", "parameter"]); ["input"] for the input as a'
        " whole."
    )
    message: str = strawberry.field(
        description="An English sentence for people, naming the rule; not stable: match on"
        " code and field."
    )
    code: UserErrorCode = strawberry.field(description="The kind of refusal, stable.")

    @classmethod
    def of(cls, error: FieldError) -> UserError:
        return cls(
            field=list(error.field) if error.field is not None else None,
            message=error.message,
            code=UserErrorCode[error.code.name],
        )


def like_output(output: type, name: str, *, default: Any = strawberry.UNSET, more: str = "") -> Any:
    """An input field described as the output field ``name`` of ``output`` that it sets
    (``more`` appended): one text for both sides of a setting."""
    found = get_object_definition(output, strict=True).get_field(name)
    if found is None or not found.description:  # pragma: no cover - a typo stops the import
        raise RuntimeError(f"{output.__name__}.{name} has no description to share")
    return strawberry.field(default=default, description=found.description + more)


def patch_of(value: Any) -> Any:
    """A Strawberry input as plain data: omitted fields are absent, explicit nulls are
    None, enums are their string values, nested inputs are dicts, lists stay lists. A
    JSON field's value is passed on as it came: it is plain data already, and walking it
    would recurse as deep as a client nests it."""
    if value is strawberry.UNSET:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [patch_of(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        definition = get_object_definition(type(value))
        raw = {f.python_name for f in definition.fields if f.type is JSON} if definition else ()
        result = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is not strawberry.UNSET:
                result[f.name] = item if f.name in raw else patch_of(item)
        return result
    return value
