"""Every key a use-case reads from its typed input exists in that input's TypedDict.

mypy checks ``data["key"]`` against a TypedDict, but allows any string in
``data.get("key")`` (PEP 589), and most use-cases read optional inputs with ``.get``: a
misspelt key there would silently read None. This test reads the source of every
``tenancy`` module: in each function whose parameter is annotated with a TypedDict of
``tenancy.inputs`` or ``tenancy.documents``, every literal key read from that parameter
(``.get("k")``, ``["k"]``, ``"k" in``) must be one of the TypedDict's keys.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import tenancy
from tenancy import documents, inputs

TENANCY = Path(tenancy.__file__).parent


def typed_dict_keys(name: str) -> frozenset[str] | None:
    """The keys of the TypedDict ``name`` in tenancy.inputs or tenancy.documents."""
    for module in (inputs, documents):
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and hasattr(candidate, "__required_keys__"):
            required: frozenset[str] = getattr(candidate, "__required_keys__")  # noqa: B009
            optional: frozenset[str] = getattr(candidate, "__optional_keys__")  # noqa: B009
            return required | optional
    return None


def _annotation_name(annotation: ast.expr | None) -> str | None:
    if isinstance(annotation, ast.Name):
        return annotation.id
    if isinstance(annotation, ast.Attribute):
        return annotation.attr
    return None


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def keys_read(function: ast.AST, parameter: str) -> Iterator[tuple[str, int]]:
    """(key, line) for each literal key read from ``parameter`` inside ``function``."""
    for node in ast.walk(function):
        key = None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == parameter
            and node.args
        ):
            key = _literal(node.args[0])
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == parameter
        ):
            key = _literal(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and isinstance(node.comparators[0], ast.Name)
            and node.comparators[0].id == parameter
        ):
            key = _literal(node.left)
        if key is not None:
            yield key, getattr(node, "lineno", 0)


def unknown_keys(source: str, filename: str, seen: list[str] | None = None) -> list[str]:
    """The reads of keys their TypedDict lacks; every key checked goes to ``seen``."""
    problems = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = function.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            name = _annotation_name(argument.annotation)
            keys = typed_dict_keys(name) if name else None
            if keys is None:
                continue
            for key, line in keys_read(function, argument.arg):
                if seen is not None:
                    seen.append(key)
                if key not in keys:
                    problems.append(
                        f"{filename}:{line}: {argument.arg} ({name}) has no key {key!r}"
                    )
    return problems


def test_use_cases_read_only_keys_their_input_has() -> None:
    problems: list[str] = []
    checked: list[str] = []
    for path in sorted(TENANCY.glob("*.py")):
        problems += unknown_keys(path.read_text(), path.name, checked)
    assert len(checked) > 50  # the use-cases' reads are found (100 today)
    assert problems == []


def test_a_misspelt_key_is_found() -> None:
    source = (
        "async def create(conn, *, principal, data: CreateApiToken):\n"
        "    a = data.get('resellerID')\n"
        "    b = data['name']\n"
        "    c = 'expiresAt' in data\n"
        "    d = data.get('nmae')\n"
    )
    assert unknown_keys(source, "x.py") == [
        "x.py:2: data (CreateApiToken) has no key 'resellerID'",
        "x.py:5: data (CreateApiToken) has no key 'nmae'",
    ]
