"""Look-ahead on the requested fields, to read only what a query needs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode


def _names(selections: Iterable[object], info: GraphQLResolveInfo[Any], seen: set[str]) -> set[str]:
    """Names of every field selected below ``selections`` (fragments inlined)."""
    found: set[str] = set()
    for selection in selections:
        if isinstance(selection, FieldNode):
            found.add(selection.name.value)
            if selection.selection_set is not None:
                found |= _names(selection.selection_set.selections, info, seen)
        elif isinstance(selection, InlineFragmentNode):
            found |= _names(selection.selection_set.selections, info, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = info.fragments.get(selection.name.value)
            if fragment is not None:
                found |= _names(fragment.selection_set.selections, info, seen)
    return found


def selected_below(info: GraphQLResolveInfo[Any]) -> set[str]:
    """Every field name selected under the field being resolved, at any depth."""
    selections = [
        selection
        for node in info.field_nodes
        if node.selection_set is not None
        for selection in node.selection_set.selections
    ]
    return _names(selections, info, set())


def top_level(info: GraphQLResolveInfo[Any]) -> set[str]:
    """Field names selected directly under the field being resolved (fragments inlined)."""
    names: set[str] = set()
    pending: list[object] = [
        selection
        for node in info.field_nodes
        if node.selection_set is not None
        for selection in node.selection_set.selections
    ]
    seen: set[str] = set()
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = info.fragments.get(selection.name.value)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
    return names


def only_counting(info: GraphQLResolveInfo[Any]) -> bool:
    """Whether a connection is asked for its totalCount alone (no page to read)."""
    return top_level(info) <= {"totalCount", "__typename"}
