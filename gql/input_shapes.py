"""Import-time checks that the GraphQL inputs and enums agree with the types the tenancy
layer declares for them (``tenancy.inputs``, ``tenancy.documents``).

The use-cases receive each input as plain data (``gql.common.patch_of``), which mypy
cannot follow from a Strawberry input class to its ``TypedDict``; these checks close that
gap when the module defining the inputs is imported, so a field added, renamed or made
optional on one side only stops the service from starting instead of reaching a
use-case that does not expect it.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, get_args

import strawberry


def check_input(input_type: type, typed: Any) -> None:
    """``input_type`` (a Strawberry input) has exactly the keys of the ``TypedDict``
    ``typed``, and every key ``typed`` requires is one the input always carries (a field
    that may be omitted, default UNSET, must be ``NotRequired``)."""
    fields = {f.name: f for f in dataclasses.fields(input_type)}
    keys = typed.__required_keys__ | typed.__optional_keys__
    if set(fields) != keys:
        raise RuntimeError(
            f"{input_type.__name__} and {typed.__name__} differ: {sorted(set(fields) ^ keys)}"
        )
    for name in typed.__required_keys__:
        if fields[name].default is strawberry.UNSET:
            raise RuntimeError(f"{typed.__name__}.{name} may be omitted: make it NotRequired")


def check_values(enum: type[Enum], values: object) -> None:
    """The GraphQL enum ``enum`` lists exactly the values of the ``Literal`` ``values``."""
    if tuple(member.value for member in enum) != get_args(values):
        raise RuntimeError(f"{enum.__name__} and its Literal differ")
