"""Look-ahead on the requested fields, to read only the columns a query needs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField


def requests_any(selections: Iterable[Any], names: frozenset[str]) -> bool:
    """Whether any field named in ``names`` is selected anywhere below ``selections``."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name in names or requests_any(selection.selections, names):
                return True
        elif isinstance(selection, FragmentSpread | InlineFragment) and requests_any(
            selection.selections, names
        ):
            return True
    return False
