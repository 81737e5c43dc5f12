"""Domain errors with stable codes.

Two tiers (SPEC §2 "Refusal tiers"):
- ``Refused`` carries userErrors (a code and an input path each); the GraphQL layer puts
  them in the mutation payload and the mutation's savepoint is rolled back.
- ``TopLevelError`` subclasses become top-level GraphQL errors with ``extensions.code``
  and undo the whole request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class UserErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    TAKEN = "TAKEN"
    IMMUTABLE = "IMMUTABLE"
    IN_USE = "IN_USE"
    DEFAULT_CLASS = "DEFAULT_CLASS"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    OWNERSHIP_MISMATCH = "OWNERSHIP_MISMATCH"
    DEPENDENCY = "DEPENDENCY"
    NOT_PERMITTED = "NOT_PERMITTED"


class TopLevelCode(StrEnum):
    """``extensions.code`` of a top-level error: the request as a whole is refused or
    failed (SPEC §2 "Refusal tiers", §6, §7), nothing of it kept. One place for every
    code the service answers with, so that a misspelt one is a mypy error."""

    # The HTTP request (gql/endpoint.py, gql/app.py).
    BAD_REQUEST = "BAD_REQUEST"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    BATCHING_NOT_SUPPORTED = "BATCHING_NOT_SUPPORTED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    # The document and its variables (gql/documents.py).
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    # Trusted documents (gql/trusted.py): an unknown documentId, or an ad-hoc query
    # where BILLCLASS_DOCUMENTS allows only registered documents.
    PERSISTED_DOCUMENT_NOT_FOUND = "PERSISTED_DOCUMENT_NOT_FOUND"
    PERSISTED_DOCUMENT_REQUIRED = "PERSISTED_DOCUMENT_REQUIRED"
    # Limits and rate limits (gql/limits.py, gql/rate_limits.py, gql/admission.py).
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
    PAGE_TOO_LARGE = "PAGE_TOO_LARGE"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    THROTTLED = "THROTTLED"
    # Failures: retry (the database), or our bug (masked).
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL = "INTERNAL"


Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldError:
    code: UserErrorCode
    # Full input path, e.g. ("input", "regularInvoices", "paymentTerms", "netDays").
    field: Path | None
    message: str


class Refused(Exception):
    """The mutation is refused; nothing it did may be kept."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def refusal(code: UserErrorCode, path: Path, message: str) -> Refused:
    """A refusal with a single error on ``("input", *path)``: ``raise refusal(...)``."""
    return Refused([FieldError(code, ("input", *path), message)])


class ErrorList:
    """Collects FieldErrors under a common path prefix (usually ``("input",)``)."""

    def __init__(self, prefix: Path = ("input",)) -> None:
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def add(self, code: UserErrorCode, path: Path | None, message: str) -> None:
        self.errors.append(
            FieldError(code, None if path is None else self.prefix + tuple(path), message)
        )

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise Refused(self.errors)


class TopLevelError(Exception):
    code: TopLevelCode = TopLevelCode.INTERNAL


class Forbidden(TopLevelError):
    """The caller's role may never perform this operation (decided from the role alone)."""

    code = TopLevelCode.FORBIDDEN


class BadUserInput(TopLevelError):
    """An argument is unusable as a whole (e.g. a cursor of another listing, a malformed
    filter value). ``field`` is the argument's path when one value is to blame, e.g.
    ``("filter", "currencyCode")``; the GraphQL layer shows it as ``extensions.field``."""

    code = TopLevelCode.BAD_USER_INPUT

    def __init__(self, message: str, field: Path | None = None) -> None:
        super().__init__(message)
        self.field = field


class ServiceUnavailable(TopLevelError):
    """The database is unreachable or a lock wait timed out; safe to retry."""

    code = TopLevelCode.SERVICE_UNAVAILABLE
