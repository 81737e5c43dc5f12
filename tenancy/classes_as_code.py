"""Classes as code (issue 11): one manager's classes as a JSON document, and back.

``export_customer_classes`` writes the classes of one scope (the administrator's, or one
reseller's) as ``{"formatVersion": 1, "managedBy": ..., "classes": [...]}``: every header
field and every tab of each class, catalog entries referred to by name (business models
by code, custom fields by object and name) rather than by ID, so that a document moves
between installations; keys sorted and classes ordered by name, so that two exports of an
unchanged database are equal byte for byte once serialised with sorted keys. In a
reseller's scope the shared administrator classes appear as read-only references
(``{"managedBy": "ADMINISTRATOR", "name": ..., "readOnly": true, "sharedWithResellers":
true}``): the reseller may assign them, never change them.

``apply_customer_classes`` reconciles the scope the document names to it, all or
nothing (any error refuses the whole document, and the caller's savepoint undoes what was
written before it: gql.mutation's, or the command line's transaction): a class of the
document that the scope lacks is created, one it has (same name ignoring case) is updated
to exactly the document (a key left out means its default), one it has that the document
does not name is deleted with ``prune`` (never the Default class; a class in use is the
error IN_USE). Every change goes through the
use-case of the matching mutation (``tenancy.customer_classes``), so SPEC §5 and the
overrides rule hold as for single mutations, each change is audited by it (CREATE,
UPDATE, SHARE/UNSHARE, DELETE; nothing for a class that does not change), and its errors
come back on their path inside the document, e.g. ``("input", "document", "classes",
"3", "taxation", "vatRatePercent")``. Errors of every class are reported at once (within
one class, with the precedence of SPEC §5: NOT_FOUND, then NOT_PERMITTED, then the
rest). A dry run is the caller's: the same call in a savepoint that is always rolled
back (gql.mutation; ``billclass classes apply --dry-run``).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import class_table, customer_table, tenant_is
from tenancy import catalogs, class_rows, customer_classes, documents, fields, maxima, policy, tabs
from tenancy.errors import BadUserInput, ErrorList, FieldError, Path, Refused
from tenancy.errors import UserErrorCode as Code
from tenancy.ids import decode, to_global_id
from tenancy.inputs import (
    ApplyCustomerClasses,
    CustomFieldObject,
    ManagerKind,
    MeasuredServiceInput,
)
from tenancy.principal import Principal
from tenancy.scoping import visible

FORMAT_VERSION = 1
TYPE = class_rows.TYPE
PlanAction = Literal["CREATE", "UPDATE", "DELETE", "UNCHANGED"]


# --------------------------------------------------------------------------- shapes
# What each value of a document may be, derived from the typed tabs document
# (tenancy.documents) so that a tab field added there is exported and applied at once.


@dataclass(frozen=True)
class Shape:
    kind: Literal["bool", "int", "str", "enum", "list", "object", "map"]
    nullable: bool = False
    values: tuple[str, ...] = ()  # enum values; map keys
    item: Shape | None = None  # list items; map values
    fields: Mapping[str, Shape] = field(default_factory=dict)  # object keys
    required: frozenset[str] = frozenset()  # object keys that may not be left out


def shape_of(hint: Any) -> Shape:
    """The shape of a type of ``tenancy.documents`` (bool, int, str, Literal, X | None,
    list, dict keyed by a Literal, TypedDict)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(hint) if arg is not type(None)]
        return replace(shape_of(inner), nullable=True)
    if origin is Literal:
        return Shape("enum", values=get_args(hint))
    if origin is list:
        return Shape("list", item=shape_of(get_args(hint)[0]))
    if origin is dict:
        key, value = get_args(hint)
        return Shape("map", values=get_args(key), item=shape_of(value))
    if is_typeddict(hint):
        return Shape("object", fields={k: shape_of(v) for k, v in get_type_hints(hint).items()})
    kinds: dict[Any, Literal["bool", "int", "str"]] = {bool: "bool", int: "int", str: "str"}
    return Shape(kinds[hint])


NAME = Shape("str")
NAMES = Shape("list", item=NAME)
TEXT_OR_NULL = Shape("str", nullable=True)
CUSTOM_FIELD = Shape(
    "object",
    fields={"object": shape_of(CustomFieldObject), "name": NAME},
    required=frozenset({"object", "name"}),
)

# Catalog references of the tabs: stored key -> (document key, catalog). The document
# keys are the output fields' names (as in the audit trail).
REFERENCES: dict[Path, tuple[str, str]] = {
    ("notifications", "notificationSetId"): ("notificationSet", "NotificationSet"),
    ("regularInvoices", "invoiceTemplateId"): ("invoiceTemplate", "InvoiceTemplate"),
    ("outOfTurnInvoices", "invoiceTemplateId"): ("invoiceTemplate", "InvoiceTemplate"),
    ("taxation", "customTaxIds"): ("customTaxes", "CustomTax"),
    ("customFieldIds",): ("customFields", "CustomFieldDefinition"),
}


def _document_tabs_shape() -> Shape:
    tab_shape = shape_of(documents.Tabs)

    def renamed(shape: Shape, path: Path) -> Shape:
        if shape.kind != "object":
            return shape
        result: dict[str, Shape] = {}
        for key, sub in shape.fields.items():
            here = (*path, key)
            if here in REFERENCES:
                name, catalog = REFERENCES[here]
                if catalog == "CustomFieldDefinition":
                    result[name] = Shape("list", item=CUSTOM_FIELD)
                elif sub.kind == "list":
                    result[name] = NAMES
                else:
                    result[name] = TEXT_OR_NULL
            else:
                result[key] = renamed(sub, here)
        return replace(shape, fields=result)

    shape = renamed(tab_shape, ())
    # A measured service is a list item, not merged with defaults: it needs what its
    # input needs (the rest defaults as in MeasuredServiceInput).
    services = shape.fields["measuredServices"]
    assert services.item is not None
    item = replace(services.item, required=frozenset(MeasuredServiceInput.__required_keys__))
    return replace(shape, fields={**shape.fields, "measuredServices": replace(services, item=item)})


TABS_SHAPE = _document_tabs_shape()
HEADER_SHAPES: dict[str, Shape] = {
    "name": NAME,
    "description": TEXT_OR_NULL,
    "notificationSender": TEXT_OR_NULL,
    "currencyCode": TEXT_OR_NULL,
    "businessModel": TEXT_OR_NULL,
    "sharedWithResellers": Shape("bool"),
}
MANAGER = shape_of(ManagerKind)
CLASS_SHAPE = Shape(
    "object",
    fields={
        **HEADER_SHAPES,
        **TABS_SHAPE.fields,
        "managedBy": MANAGER,
        "readOnly": Shape("bool"),
    },
)
# What a read-only reference to a shared administrator class may say.
REFERENCE_KEYS = frozenset({"name", "managedBy", "readOnly", "sharedWithResellers"})
DOCUMENT_SHAPE = Shape(
    "object",
    fields={
        "formatVersion": Shape("int"),
        "managedBy": MANAGER,
        "managingResellerId": TEXT_OR_NULL,
        "classes": Shape("list", item=Shape("object")),  # entries are checked one by one
    },
)

_KIND_WORDS = {
    "bool": "true or false",
    "int": "an integer",
    "str": "a string",
    "list": "a list",
    "object": "an object",
    "map": "an object",
}


def check_shape(shape: Shape, value: Any, path: Path, errors: ErrorList) -> bool:
    """Whether ``value`` has ``shape``: every mismatch is INVALID on its own path (an
    unknown key on the key's path). Missing keys are allowed (they mean the default)."""
    if value is None:
        if shape.nullable:
            return True
        errors.add(Code.INVALID, path, f"{_last(path)} cannot be null.")
        return False
    kind = shape.kind
    if kind == "enum":
        if isinstance(value, str) and value in shape.values:
            return True
        errors.add(Code.INVALID, path, f"{_last(path)} must be one of {', '.join(shape.values)}.")
        return False
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "list": isinstance(value, list),
        "object": isinstance(value, dict),
        "map": isinstance(value, dict),
    }[kind]
    if not ok:
        errors.add(Code.INVALID, path, f"{_last(path)} must be {_KIND_WORDS[kind]}.")
        return False
    if kind == "list" and shape.item is not None:
        results = [check_shape(shape.item, v, (*path, str(i)), errors) for i, v in enumerate(value)]
        return all(results)
    if kind == "object" and shape.fields:
        return _check_keys(shape.fields, value, path, errors, shape.required)
    if kind == "map" and shape.item is not None:
        return _check_keys(dict.fromkeys(shape.values, shape.item), value, path, errors)
    return True


def _check_keys(
    expected: Mapping[str, Shape],
    value: Mapping[str, Any],
    path: Path,
    errors: ErrorList,
    required: Iterable[str] = (),
) -> bool:
    ok = True
    for key in sorted(set(required) - set(value)):
        errors.add(Code.REQUIRED, (*path, key), f"{key} is required here.")
        ok = False
    for key, item in value.items():
        sub = expected.get(key)
        if sub is None:
            known = ", ".join(sorted(expected))
            errors.add(Code.INVALID, (*path, str(key)), f"Unknown key {key!r}; known: {known}.")
            ok = False
        elif not check_shape(sub, item, (*path, key), errors):
            ok = False
    return ok


def _last(path: Path) -> str:
    return path[-1] if path else "document"


# --------------------------------------------------------------------------- catalogs


@dataclass
class Catalogs:
    """Every catalog entry by key (its name in documents) and by name key."""

    names: dict[str, dict[int, Any]]
    keys: dict[str, dict[Any, int]]

    def name(self, catalog: str, key: int | None) -> Any:
        if key is None:
            return None
        found = self.names[catalog].get(key)
        # Catalog entries are never deleted; a dangling key is written as its global ID,
        # which names nothing on apply (NOT_FOUND) rather than changing its meaning.
        return to_global_id(catalog, key) if found is None else found

    def key(self, catalog: str, name: Any) -> int | None:
        if catalog == "CustomFieldDefinition":
            return self.keys[catalog].get((name["object"], _name_key(name["name"])))
        return self.keys[catalog].get(_name_key(name))


def _name_key(name: str) -> str | None:
    """The comparison key of a name, or None for text no entry can have."""
    if len(name) > fields.NAME_RAW_MAX:
        return None
    return fields.name_key(name.strip())


async def load_catalogs(conn: AsyncConnection) -> Catalogs:
    """Every entry of the five catalogs (each holds at most 500: SPEC §7)."""
    names: dict[str, dict[int, Any]] = {}
    keys: dict[str, dict[Any, int]] = {}
    for catalog in catalogs.TABLES:
        rows = await catalogs.list_entries(conn, catalog)
        if catalog == "BusinessModel":
            names[catalog] = {row.id: row.code for row in rows}
            keys[catalog] = {row.code_key: row.id for row in rows}
        elif catalog == "CustomFieldDefinition":
            names[catalog] = {row.id: {"name": row.name, "object": row.object} for row in rows}
            keys[catalog] = {(row.object, row.name_key): row.id for row in rows}
        else:
            names[catalog] = {row.id: row.name for row in rows}
            keys[catalog] = {row.name_key: row.id for row in rows}
    return Catalogs(names, keys)


# --------------------------------------------------------------------------- export


def tabs_document(settings: tabs.Settings, found: Catalogs) -> dict[str, Any]:
    """A class's tabs as a document: references by name, every notification type (a
    copy: the row's values are not touched)."""
    result: dict[str, Any] = sorted_keys(dict(settings))
    stored = result["notifications"]["settings"]
    result["notifications"]["settings"] = {
        kind: {
            channel: dict((stored.get(kind) or {}).get(channel) or tabs.default_channel())
            for channel in tabs.CHANNELS
        }
        for kind in tabs.NOTIFICATION_TYPES
    }
    for path, (name, catalog) in REFERENCES.items():
        *parents, key = path
        holder = result
        for parent in parents:
            holder = holder[parent]
        value = holder.pop(key)
        if isinstance(value, list):
            holder[name] = [found.name(catalog, item) for item in value]
        else:
            holder[name] = found.name(catalog, value)
    result["customFields"].sort(key=lambda entry: (entry["object"], entry["name"]))
    return result


def class_document(row: Any, found: Catalogs) -> dict[str, Any]:
    """One class as a document entry (keys sorted)."""
    entry: dict[str, Any] = sorted_keys(
        {
            "name": row.name,
            "description": row.description,
            "notificationSender": row.notification_sender,
            "currencyCode": row.currency_code,
            "businessModel": found.name("BusinessModel", row.business_model_id),
            "sharedWithResellers": row.shared_with_resellers,
            **tabs_document(class_rows.settings_of(row), found),
        }
    )
    return entry


def reference_document(row: Any) -> dict[str, Any]:
    """A shared administrator class in a reseller's document: read-only, no settings."""
    return {
        "managedBy": "ADMINISTRATOR",
        "name": row.name,
        "readOnly": True,
        "sharedWithResellers": True,
    }


def sorted_keys(value: Any) -> Any:
    """``value`` with the keys of every object in sorted order."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def _entry_order(entry: Mapping[str, Any]) -> tuple[str, bool, str]:
    name = str(entry["name"])
    return (fields.name_key(name), bool(entry.get("readOnly")), name)


@dataclass(frozen=True)
class Scope:
    """Whose classes a document holds: the administrator's (``reseller`` None) or one
    reseller's; ``named`` says whether the document names the reseller by ID (an
    administrator's document of a reseller's classes does; a reseller's own does not,
    so that it applies in another installation too)."""

    reseller: int | None
    named: bool = False

    @property
    def managed_by(self) -> ManagerKind:
        return "ADMINISTRATOR" if self.reseller is None else "RESELLER"


async def _scope_rows(
    conn: AsyncConnection, principal: Principal, scope: Scope
) -> tuple[list[Any], list[Any]]:
    """The classes of the scope, and (for a reseller's scope) the shared administrator
    classes, by name key then id. No lock."""
    c = class_table.c
    own = sa.select(class_table).where(tenant_is(c.tenant_id, scope.reseller))
    rows = list(await conn.execute(visible(own.order_by(c.name_key, c.id), principal)))
    shared: list[Any] = []
    if scope.reseller is not None:
        statement = sa.select(class_table).where(
            tenant_is(c.tenant_id, None), c.shared_with_resellers
        )
        shared = list(await conn.execute(visible(statement.order_by(c.name_key, c.id), principal)))
    return rows, shared


def _document(scope: Scope, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The document of a scope; its keys sorted, as each entry's already are."""
    document: dict[str, Any] = {
        "classes": sorted(entries, key=_entry_order),
        "formatVersion": FORMAT_VERSION,
        "managedBy": scope.managed_by,
    }
    if scope.named and scope.reseller is not None:
        document["managingResellerId"] = to_global_id("Customer", scope.reseller)
    return document


async def _reseller(conn: AsyncConnection, principal: Principal, key: int | None) -> Any:
    """The visible customer ``key``, or None."""
    if key is None:
        return None
    statement = sa.select(customer_table).where(customer_table.c.id == key)
    return (await conn.execute(visible(statement, principal))).first()


async def export_scope(
    conn: AsyncConnection,
    principal: Principal,
    managed_by: ManagerKind | None,
    managing_reseller_id: str | None,
) -> Scope:
    """The scope ``exportCustomerClasses`` (and ``billclass classes export``) writes.

    Resellers: always their own (naming another manager is top-level FORBIDDEN, decided
    without a lookup). Administrators: ``managingResellerId`` (a RESELLER customer's ID,
    with ``managedBy`` RESELLER or omitted) or the administrator's classes (default);
    anything else is top-level BAD_USER_INPUT on the argument."""
    own = to_global_id("Customer", principal.reseller_id) if principal.reseller_id else None
    refusal = policy.export_scope_refusal(principal, managed_by, managing_reseller_id, own)
    if refusal is not None:
        raise refusal
    if not principal.is_admin:
        return Scope(principal.reseller_id)
    field_path: Path = ("managingResellerId",)
    if managing_reseller_id is None:
        if managed_by == "RESELLER":
            raise BadUserInput(
                "managingResellerId is required with managedBy RESELLER.", field_path
            )
        return Scope(None)
    if managed_by == "ADMINISTRATOR":
        raise BadUserInput(
            "managingResellerId goes with managedBy RESELLER (or without managedBy).", field_path
        )
    row = await _reseller(conn, principal, decode(managing_reseller_id, "Customer"))
    if row is None or row.customer_type != "RESELLER":
        raise BadUserInput("managingResellerId must be the ID of a RESELLER customer.", field_path)
    return Scope(row.id, named=True)


async def export_customer_classes(
    conn: AsyncConnection,
    principal: Principal,
    *,
    managed_by: ManagerKind | None = None,
    managing_reseller_id: str | None = None,
) -> dict[str, Any]:
    """The document of a scope (see ``export_scope``). Reads only; no lock, no event."""
    scope = await export_scope(conn, principal, managed_by, managing_reseller_id)
    rows, shared = await _scope_rows(conn, principal, scope)
    found = await load_catalogs(conn)
    entries = [class_document(row, found) for row in rows]
    entries += [reference_document(row) for row in shared]
    return _document(scope, entries)


# --------------------------------------------------------------------------- apply


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


@dataclass
class PlanEntry:
    """What applying the document does (or did) to one class: ``row`` is the class as
    it is after the change (for DELETE: as it was), read inside the transaction."""

    name: str
    action: PlanAction
    row: Any
    changes: list[Change]
    read_only: bool = False


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted leaf paths of a document entry (lists are leaves)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict):
            flat.update(flatten(item, path + "."))
        else:
            flat[path] = item
    return flat


def changes_between(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[Change]:
    """Every leaf that differs between two document entries (None: no class)."""
    old = flatten(before or {})
    new = flatten(after or {})
    return [
        Change(path, old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if path not in old or path not in new or old[path] != new[path]
    ]


def merged(base: Any, over: Any) -> Any:
    """``over`` laid on ``base``: objects key by key, anything else replaced (neither is
    changed; the result shares their values)."""
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for key, value in over.items():
            result[key] = merged(base.get(key), value)
        return result
    return over


class _Paths:
    """Input path of a use-case -> path inside the document entry."""

    RENAMED: dict[Path, Path] = {
        ("businessModelId",): ("businessModel",),
        ("id",): ("name",),
        ("notifications", "notificationSetId"): ("notifications", "notificationSet"),
        ("regularInvoices", "invoiceTemplateId"): ("regularInvoices", "invoiceTemplate"),
        ("outOfTurnInvoices", "invoiceTemplateId"): ("outOfTurnInvoices", "invoiceTemplate"),
        ("taxation", "customTaxIds"): ("taxation", "customTaxes"),
        ("customFieldIds",): ("customFields",),
    }

    @classmethod
    def of(cls, path: Path) -> Path:
        if path[:2] == ("notifications", "settings") and len(path) > 2 and path[2].isdigit():
            # The input lists every type in enum order; the document keys them by type.
            return ("notifications", "settings", tabs.NOTIFICATION_TYPES[int(path[2])], *path[3:])
        for length in (2, 1):
            if path[:length] in cls.RENAMED:
                return (*cls.RENAMED[path[:length]], *path[length:])
        return path


def _tabs_input(desired: Mapping[str, Any], ids: Mapping[Path, str]) -> dict[str, Any]:
    """The tab part of a create or update input, every field given, from a complete
    document entry (``desired``) and the global IDs of its references."""
    patch: dict[str, Any] = {
        key: sorted_keys(desired[key]) for key in tabs.TAB_KEYS if key in desired
    }
    for stored_path, (name, _catalog) in REFERENCES.items():
        *parents, key = stored_path
        source: Any = desired
        target: dict[str, Any] = patch
        for parent in parents:
            source = source[parent]
            target = target[parent]
        target.pop(name, None)
        where = (*parents, name)
        value = source[name]
        if isinstance(value, list):
            target[key] = [ids[(*where, str(i))] for i in range(len(value))]
        else:
            target[key] = None if value is None else ids[where]
    settings = patch["notifications"]["settings"]
    patch["notifications"]["settings"] = [
        {"type": kind, **settings[kind]} for kind in tabs.NOTIFICATION_TYPES
    ]
    return patch


def _defaults(currency: str | None) -> dict[str, Any]:
    """A new class of ``currency`` as a document entry (no references, so no catalog)."""
    decimals = None
    if currency is not None and currency in catalogs.MINOR_UNITS:
        decimals = catalogs.MINOR_UNITS[currency]
    empty = Catalogs({c: {} for c in catalogs.TABLES}, {c: {} for c in catalogs.TABLES})
    return {
        "description": None,
        "notificationSender": None,
        "currencyCode": None,
        "businessModel": None,
        "sharedWithResellers": False,
        **tabs_document(tabs.default_settings(decimals), empty),
    }


# Keys of an entry that say where the class belongs rather than what it holds.
_PLACEMENT = ("managedBy", "readOnly")


@dataclass
class _Reconciler:
    """One application of a document to a scope: the plan so far and every error."""

    conn: AsyncConnection
    principal: Principal
    scope: Scope
    found: Catalogs
    errors: ErrorList
    own: dict[str, Any]  # the scope's classes by name key
    shared: dict[str, Any]  # shared administrator classes by name key (reseller scopes)
    plan: list[PlanEntry] = field(default_factory=list)
    named: set[str] = field(default_factory=set)  # name keys of the scope's entries
    referenced: set[str] = field(default_factory=set)  # name keys of read-only entries
    defaults: dict[Any, dict[str, Any]] = field(default_factory=dict)  # by currency

    def path(self, index: int, *rest: str) -> Path:
        return ("document", "classes", str(index), *rest)

    def report(self, index: int, refused: Iterable[FieldError]) -> None:
        """A use-case's errors, moved to the entry's path inside the document."""
        for error in refused:
            where = _Paths.of(tuple((error.field or ("input",))[1:]))
            self.errors.add(error.code, self.path(index, *where), error.message)

    # ------------------------------------------------------------------ entries

    async def entry(self, index: int, raw: Mapping[str, Any]) -> None:
        """One class of the document (an object: DOCUMENT_SHAPE saw to it)."""
        well_formed = check_shape(CLASS_SHAPE, raw, self.path(index), self.errors)
        if "name" not in raw:
            self.errors.add(Code.REQUIRED, self.path(index, "name"), "Each class needs a name.")
            return
        if not isinstance(raw["name"], str):
            return  # reported by check_shape
        name, problem = fields.check_name(raw["name"])
        if problem:
            self.errors.add(problem[0], self.path(index, "name"), problem[1])
            return
        key = fields.name_key(name or "")
        if raw.get("readOnly") is True:
            if key in self.referenced:
                self.errors.add(
                    Code.INVALID, self.path(index, "name"), f"{name!r} is referenced twice."
                )
            elif well_formed:
                self.reference(index, raw, key)
            self.referenced.add(key)
            return
        if key in self.named:
            self.errors.add(
                Code.INVALID,
                self.path(index, "name"),
                f"The document names {name!r} twice (names are compared ignoring case).",
            )
            return
        self.named.add(key)
        if well_formed and self.placed(index, raw):
            await self.reconcile(index, raw, self.own.get(key))

    def reference(self, index: int, raw: Mapping[str, Any], key: str) -> None:
        """A read-only reference to a shared administrator class: never applied; the
        class must exist and be shared, and the entry may not say anything else."""
        if self.scope.reseller is None:
            self.errors.add(
                Code.INVALID,
                self.path(index, "readOnly"),
                "Read-only references to shared classes belong in documents of a reseller's"
                " classes.",
            )
            return
        row = self.shared.get(key)
        if row is None:
            self.errors.add(
                Code.NOT_FOUND,
                self.path(index, "name"),
                f"No shared administrator class is named {raw['name']!r}.",
            )
            return
        settings = sorted(set(raw) - REFERENCE_KEYS)
        if settings and not policy.may_change_class(self.principal, row):
            message = "Shared classes are read-only for resellers; a reference carries no settings."
            policy.deny(
                self.errors, [policy.Denial(self.path(index, k), message) for k in settings]
            )
            return
        for k in settings:
            self.errors.add(
                Code.INVALID,
                self.path(index, k),
                "A read-only reference carries only managedBy, name, readOnly and"
                " sharedWithResellers; change the class in the administrator's document.",
            )
        if raw.get("managedBy", "ADMINISTRATOR") != "ADMINISTRATOR":
            self.errors.add(
                Code.INVALID,
                self.path(index, "managedBy"),
                "Read-only references are to administrator classes.",
            )
        if raw.get("sharedWithResellers", True) is not True:
            self.errors.add(
                Code.INVALID,
                self.path(index, "sharedWithResellers"),
                "A read-only reference is to a shared class.",
            )
        if not settings:
            self.plan.append(PlanEntry(row.name, "UNCHANGED", row, [], read_only=True))

    def placed(self, index: int, raw: Mapping[str, Any]) -> bool:
        """Whether an entry that is no reference belongs to the document's scope."""
        manager = raw.get("managedBy")
        if manager is None or manager == self.scope.managed_by:
            return True
        path = self.path(index, "managedBy")
        if not self.principal.is_admin:
            message = (
                "Administrator classes are read-only for resellers: refer to a shared one"
                ' with "readOnly": true and no settings.'
            )
            policy.deny(self.errors, [policy.Denial(path, message)])
        else:
            self.errors.add(
                Code.INVALID,
                path,
                f"This document holds {self.scope.managed_by} classes only.",
            )
        return False

    async def reconcile(self, index: int, raw: Mapping[str, Any], existing: Any) -> None:
        currency = raw.get("currencyCode") if existing is None else existing.currency_code
        given = {k: v for k, v in raw.items() if k not in _PLACEMENT}
        if currency not in self.defaults:
            self.defaults[currency] = _defaults(currency)
        base = self.defaults[currency]
        if existing is not None and existing.is_default:
            base = {**base, "sharedWithResellers": True}  # the Default class always is
        desired = merged(base, given)
        ids = self.resolve(index, desired)
        if ids is None:
            return
        if existing is None:
            await self.create(index, desired, ids)
        else:
            await self.update(index, desired, ids, existing)

    def resolve(self, index: int, desired: Mapping[str, Any]) -> dict[Path, str] | None:
        """The global IDs of an entry's catalog references, by document path; None (with
        NOT_FOUND on each) when one names nothing here."""
        wanted: list[tuple[Path, str, Any]] = []
        if desired["businessModel"] is not None:
            wanted.append((("businessModel",), "BusinessModel", desired["businessModel"]))
        for stored_path, (name, catalog) in REFERENCES.items():
            where = (*stored_path[:-1], name)
            value: Any = desired
            for key in where:
                value = value[key]
            if isinstance(value, list):
                wanted += [((*where, str(i)), catalog, item) for i, item in enumerate(value)]
            elif value is not None:
                wanted.append((where, catalog, value))
        ids: dict[Path, str] = {}
        for where, catalog, name in wanted:
            found = self.found.key(catalog, name)
            if found is None:
                noun = catalogs.NOUNS[catalog][0]
                how = "with the code" if catalog == "BusinessModel" else "named"
                shown = (
                    f"{name['object']} {name['name']!r}" if isinstance(name, dict) else repr(name)
                )
                self.errors.add(
                    Code.NOT_FOUND,
                    self.path(index, *where),
                    f"{noun} {how} {shown} does not exist in this installation.",
                )
            else:
                ids[where] = to_global_id(catalog, found)
        return ids if len(ids) == len(wanted) else None

    def _input(
        self, desired: Mapping[str, Any], ids: Mapping[Path, str], currency: Any
    ) -> dict[str, Any]:
        data = {
            "name": desired["name"],
            "description": desired["description"],
            "notificationSender": desired["notificationSender"],
            **_tabs_input(desired, ids),
        }
        if desired["fraudProtection"] is None and currency is None:
            del data["fraudProtection"]  # any value, null included, needs a currency
        return data

    async def create(self, index: int, desired: Mapping[str, Any], ids: Mapping[Path, str]) -> None:
        data: dict[str, Any] = {
            **self._input(desired, ids, desired["currencyCode"]),
            "currencyCode": desired["currencyCode"],
            "businessModelId": ids.get(("businessModel",)),
            "sharedWithResellers": desired["sharedWithResellers"],
        }
        if self.scope.named and self.scope.reseller is not None:
            data["managingResellerId"] = to_global_id("Customer", self.scope.reseller)
        # No savepoint per class: any error refuses the whole document, and the
        # caller's savepoint undoes whatever was written before it.
        try:
            row = await customer_classes.create_customer_class(
                self.conn,
                principal=self.principal,
                data=data,  # type: ignore[arg-type]
            )
        except Refused as refused:
            self.report(index, refused.errors)
            return
        after = class_document(row, self.found)
        self.plan.append(PlanEntry(row.name, "CREATE", row, changes_between(None, after)))

    async def update(
        self, index: int, desired: Mapping[str, Any], ids: Mapping[Path, str], existing: Any
    ) -> None:
        # Locked and read again (as the update would), then compared: a class that already
        # is as the document says needs none of the update's checks and writes (an
        # exported document applied again costs two reads per class).
        existing = await customer_classes.lock_for_change(self.conn, self.principal, existing.id)
        if existing is None:  # deleted meanwhile by another request
            self.errors.add(Code.NOT_FOUND, self.path(index, "name"), "The class was deleted.")
            return
        before = class_document(existing, self.found)
        if before == desired:
            self.plan.append(PlanEntry(existing.name, "UNCHANGED", existing, []))
            return
        fixed = False
        if desired["currencyCode"] != existing.currency_code:
            self.errors.add(
                Code.IMMUTABLE,
                self.path(index, "currencyCode"),
                f"The class's currency is fixed once it is created (it is"
                f" {existing.currency_code or 'none'}); give the class another name to create"
                " a new one.",
            )
            fixed = True
        model = ids.get(("businessModel",))
        if model != (
            None
            if existing.business_model_id is None
            else to_global_id("BusinessModel", existing.business_model_id)
        ):
            self.errors.add(
                Code.IMMUTABLE,
                self.path(index, "businessModel"),
                f"The class's business model is fixed once it is created (it is"
                f" {before['businessModel'] or 'none'}).",
            )
            fixed = True
        share = desired["sharedWithResellers"]
        if share != existing.shared_with_resellers and not self.principal.is_admin:
            denials = policy.class_request_denials(self.principal, None, share, None)
            policy.deny(
                self.errors, [policy.Denial(self.path(index, *d.field), d.message) for d in denials]
            )
            fixed = True
        if fixed:
            return
        data = {
            "id": to_global_id(TYPE, existing.id),
            **self._input(desired, ids, existing.currency_code),
        }
        sharing = False
        try:
            row = await customer_classes.update_customer_class(
                self.conn,
                principal=self.principal,
                data=data,  # type: ignore[arg-type]
            )
            if share != row.shared_with_resellers:
                sharing = True
                row = await customer_classes.set_customer_class_sharing(
                    self.conn,
                    principal=self.principal,
                    data={"id": to_global_id(TYPE, row.id), "shared": share},
                )
        except Refused as refused:
            if not sharing:
                self.report(index, refused.errors)
            for error in refused.errors if sharing else ():
                # setCustomerClassSharing names the class (DEFAULT_CLASS, IN_USE) or
                # the flag (DEPENDENCY): here both are the entry's sharedWithResellers.
                where = self.path(index, "sharedWithResellers")
                self.errors.add(error.code, where, error.message)
            return
        changes = changes_between(before, class_document(row, self.found))
        action: PlanAction = "UPDATE" if row.version != existing.version else "UNCHANGED"
        self.plan.append(PlanEntry(row.name, action, row, changes))

    async def delete(self, row: Any) -> None:
        """Prune: delete a class of the scope that the document does not name."""
        before = class_document(row, self.found)
        deleted, refused = await customer_classes.delete_customer_classes(
            self.conn, principal=self.principal, data={"ids": [to_global_id(TYPE, row.id)]}
        )
        for error in refused:
            self.errors.add(
                error.code,
                ("prune",),
                f"{row.name!r} is not in the document and cannot be deleted: {error.message}",
            )
        if deleted:
            self.plan.append(PlanEntry(row.name, "DELETE", row, changes_between(before, None)))


async def _apply_scope(
    conn: AsyncConnection, principal: Principal, document: Mapping[str, Any], errors: ErrorList
) -> Scope:
    """The scope a document names: a reseller's is always its own (``managedBy`` RESELLER
    or omitted, ``managingResellerId`` omitted or its own; else NOT_PERMITTED, decided
    without a lookup); an administrator's is the administrator's classes (``managedBy``
    ADMINISTRATOR, the default) or one reseller's (``managingResellerId``)."""
    given_reseller = document.get("managingResellerId")
    managed_by: ManagerKind = document.get("managedBy") or (
        "ADMINISTRATOR" if principal.is_admin and given_reseller is None else "RESELLER"
    )
    here: Path = ("document", "managingResellerId")
    row = None
    if policy.resolves_named_reseller(principal, given_reseller):
        row = await _reseller(conn, principal, decode(given_reseller, "Customer"))
        if row is None:
            errors.add(Code.NOT_FOUND, here, "No customer has this ID.")
    errors.raise_if_any()
    own = to_global_id("Customer", principal.reseller_id) if principal.reseller_id else None
    policy.deny(errors, policy.class_scope_denials(principal, managed_by, given_reseller, own))
    errors.raise_if_any()
    if not principal.is_admin:
        return Scope(principal.reseller_id)
    if managed_by == "ADMINISTRATOR":
        if given_reseller is not None:
            errors.add(Code.DEPENDENCY, here, "managingResellerId goes with managedBy RESELLER.")
    elif row is None:
        errors.add(Code.REQUIRED, here, "A document of RESELLER classes names the reseller.")
    elif row.customer_type != "RESELLER":
        errors.add(Code.INVALID, here, "Classes are managed by RESELLER customers.")
    errors.raise_if_any()
    return Scope(None) if row is None else Scope(row.id, named=True)


async def _reconcile(
    conn: AsyncConnection, principal: Principal, document: Any, prune: bool, limit: int | None
) -> list[PlanEntry]:
    errors = ErrorList()
    if not check_shape(DOCUMENT_SHAPE, document, ("document",), errors):
        errors.raise_if_any()
    for key in ("formatVersion", "classes"):
        if key not in document:
            errors.add(Code.REQUIRED, ("document", key), f"A document has {key}.")
    if document.get("formatVersion", FORMAT_VERSION) != FORMAT_VERSION:
        errors.add(
            Code.INVALID,
            ("document", "formatVersion"),
            f"This service reads documents of formatVersion {FORMAT_VERSION}.",
        )
    errors.raise_if_any()
    scope = await _apply_scope(conn, principal, document, errors)
    entries = document["classes"]
    if limit is not None and len(entries) > limit:
        errors.add(
            Code.OUT_OF_RANGE,
            ("document", "classes"),
            f"A request applies at most {limit} classes; split the document, or apply it"
            " with `billclass classes apply`.",
        )
        errors.raise_if_any()
    rows, shared = await _scope_rows(conn, principal, scope)
    work = _Reconciler(
        conn,
        principal,
        scope,
        await load_catalogs(conn),
        errors,
        own={row.name_key: row for row in rows},
        shared={row.name_key: row for row in shared},
    )
    for index, entry in enumerate(entries):
        await work.entry(index, entry)
    if prune:
        stale = [row for row in rows if row.name_key not in work.named and not row.is_default]
        if limit is not None and len(entries) + len(stale) > limit:
            errors.add(
                Code.OUT_OF_RANGE,
                ("prune",),
                f"Pruning would make this request change more than {limit} classes; apply"
                " it with `billclass classes apply --prune`.",
            )
        else:
            for row in stale:
                await work.delete(row)
    errors.raise_if_any()
    return sorted(work.plan, key=lambda e: (fields.name_key(e.name), e.read_only, e.name))


async def apply_customer_classes(
    conn: AsyncConnection,
    *,
    principal: Principal,
    data: ApplyCustomerClasses,
    limit: int | None = maxima.CLASSES_PER_APPLY,
) -> list[PlanEntry]:
    """Reconcile a scope to a document (``applyCustomerClasses``, ``billclass classes
    apply``); returns the plan, one entry per class named or pruned, by name.

    Inputs: ``document`` (see the module), ``prune`` (``dryRun`` is the caller's: see the
    module); ``limit``: at most this many classes per call (the API's; None on the
    command line).
    Errors, all at once, on paths inside ``("input", "document")`` (``("input",
    "prune")`` for classes pruning cannot delete): INVALID or REQUIRED for a malformed
    document (not an object, unknown keys, wrong types, formatVersion other than 1,
    unnamed or twice-named classes); NOT_FOUND, NOT_PERMITTED, DEPENDENCY, REQUIRED or
    INVALID on managingResellerId and managedBy (the scope); OUT_OF_RANGE on classes
    (more than ``limit``) or prune; per class NOT_FOUND for a catalog name or shared
    class that does not exist, NOT_PERMITTED for what a reseller may not change,
    IMMUTABLE on currencyCode or businessModel of an existing class, and every error of
    createCustomerClass, updateCustomerClass and setCustomerClassSharing on its path.
    Side effects: the changes of those use-cases and deleteCustomerClasses, with their
    locks and one audit event per change, in the caller's transaction (which a refusal
    rolls back: the refusal comes after every class was tried).
    """
    return await _reconcile(conn, principal, data.get("document"), bool(data.get("prune")), limit)
