"""Customer-class use-cases: create, update, clone, delete, share, copy invoice settings.

Every mutation follows SPEC §5's precedence: resolve the objects the input names (only
NOT_FOUND if any is hidden or missing), then refuse what the caller may see but not
change (only NOT_PERMITTED), then compare ``expectedVersion`` (only VERSION_CONFLICT),
and only then collect every validation error at once. A class a decision depends on is
locked before the decision reads it (``lock_for_change``, ``lock_for_use``: advisory
locks on PostgreSQL, see tenancy/locks.py; SQLite's write transaction is BEGIN
IMMEDIATE), so the patch is applied to, and validated against, the current row.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.ids import new_id
from db.models import ADMINISTRATOR_TENANT, class_table, customer_table, tenant_is
from tenancy import (
    audit,
    catalogs,
    class_history,
    class_rows,
    fields,
    locks,
    override_rules,
    policy,
    tabs,
)
from tenancy.errors import ErrorList, FieldError, Path, refusal
from tenancy.errors import UserErrorCode as Code
from tenancy.ids import decode, global_id, to_global_id
from tenancy.inputs import (
    CloneCustomerClass,
    CopyRegularInvoiceSettings,
    CreateCustomerClass,
    DeleteCustomerClasses,
    RevertCustomerClass,
    SetCustomerClassSharing,
    UpdateCustomerClass,
)
from tenancy.principal import Principal
from tenancy.scoping import (
    Bypass,
    changeable,
    open_bypass,
    unscoped,
    visible,
    visible_reused,
)

TYPE = class_rows.TYPE
# The keys of a reused statement (tenancy.scoping.visible_reused), given at execution.
_KEYS: sa.BindParameter[list[int]] = sa.bindparam("keys", expanding=True)
_TENANTS: sa.BindParameter[list[int]] = sa.bindparam("tenants", expanding=True)
MAX_DELETE = 100


class ClassChange(NamedTuple):
    """A class before and after one mutation (``before`` None: the mutation created it;
    the same row twice: it changed nothing). ``tenancy.impact`` tells what it does."""

    before: Row[Any] | None
    after: Row[Any]


# --------------------------------------------------------------------------- reads


async def visible_classes(
    conn: AsyncConnection,
    principal: Principal,
    keys: Iterable[int],
    *,
    columns: Sequence[sa.Column[Any]] = class_rows.ALL_COLUMNS,
) -> dict[int, Any]:
    """The classes among ``keys`` the caller may see, by key (hidden or missing ones are
    absent: SPEC §2 "Hidden = nonexistent"), with ``columns`` only. No lock, no event.
    """
    wanted = list(set(keys))
    if not wanted:
        return {}
    statement = visible_reused(
        ("classes by keys", tuple(columns)),
        principal,
        lambda: sa.select(*columns).where(class_table.c.id.in_(_KEYS)),
    )
    return {row.id: row for row in await conn.execute(statement, {"keys": wanted})}


async def visible_routed_classes(
    conn: AsyncConnection,
    principal: Principal,
    routes: Iterable[tuple[int, int]],
    *,
    columns: Sequence[sa.Column[Any]] = class_rows.ALL_COLUMNS,
) -> dict[tuple[int, int], Any]:
    """``visible_classes`` for (key, tenant) pairs read from routed global IDs
    (``tenancy.ids``; tenant 0: the administrator): the statement names the tenants too,
    which a distributed database answers from their shards alone. A class whose tenant
    is not the one its ID names is absent, like any unknown ID."""
    wanted = set(routes)
    if not wanted:
        return {}
    statement = visible_reused(
        ("classes by keys and tenants", tuple(columns)),
        principal,
        lambda: sa.select(*columns).where(
            class_table.c.id.in_(_KEYS), class_table.c.tenant_id.in_(_TENANTS)
        ),
    )
    values = {"keys": sorted({k for k, _ in wanted}), "tenants": sorted({t for _, t in wanted})}
    found = {}
    for row in await conn.execute(statement, values):
        route = (row.id, ADMINISTRATOR_TENANT if row.tenant_id is None else row.tenant_id)
        if route in wanted:
            found[route] = row
    return found


async def classes_of_visible_customers(
    conn: AsyncConnection, principal: Principal, keys: Iterable[int]
) -> dict[int, Any]:
    """The classes behind the effective settings of customers the caller can see,
    ``keys`` being their ``customer_class_id`` (see ``Bypass.CLASS_OF_VISIBLE_CUSTOMER``:
    a reseller's own record may use a class the reseller cannot see)."""
    wanted = sorted(set(keys))
    await open_bypass(conn, principal, Bypass.CLASS_OF_VISIBLE_CUSTOMER, wanted)
    statement = sa.select(class_table).where(class_table.c.id.in_(wanted))
    rows = await conn.execute(unscoped(statement, Bypass.CLASS_OF_VISIBLE_CUSTOMER))
    return {row.id: row for row in rows}


async def default_class(conn: AsyncConnection, principal: Principal) -> Row[Any]:
    """The Default class, unlocked. It is visible to every principal, always shared,
    never deleted and has no currency, so creating a customer in it or assigning it
    depends on nothing another transaction can change: no lock, and so no request
    holding one can make every tenant's createCustomer wait (issue 7)."""
    statement = sa.select(class_table).where(class_table.c.is_default)
    return (await conn.execute(visible(statement, principal))).one()


async def customer_counts(
    conn: AsyncConnection, principal: Principal, keys: Iterable[int]
) -> dict[int, int]:
    """Customers per class among ``keys``, counting only customers the caller may see
    (SPEC §2: ``customerCount`` is computed per request in SQL). No lock, no event.
    """
    wanted = list(set(keys))
    if not wanted:
        return {}
    c = customer_table.c
    statement = (
        sa.select(c.customer_class_id, sa.func.count())
        .where(c.customer_class_id.in_(wanted))
        .group_by(c.customer_class_id)
    )
    counts = {key: 0 for key in wanted}
    rows = await conn.execute(visible(statement, principal))
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def _read_visible(conn: AsyncConnection, principal: Principal, key: int) -> Row[Any] | None:
    statement = sa.select(class_table).where(class_table.c.id == key)
    return (await conn.execute(visible(statement, principal))).first()


async def lock_for_change(conn: AsyncConnection, principal: Principal, key: int | None) -> Any:
    """The visible class ``key`` (None: hidden, missing or undecodable), locked
    *exclusively* when the caller may change it (update, delete, sharing, copying
    settings).

    A class the caller may not change (a shared class, to a reseller) is returned
    unlocked: the mutation is refused NOT_PERMITTED, and an exclusive lock, even queued,
    would make every tenant's assignment of that class wait for a request that changes
    nothing. So the class is read once to decide (its manager never changes), locked,
    and read again: the second read sees whatever the previous lock holder committed.
    """
    if key is None:
        return None
    row = await _read_visible(conn, principal, key)
    if row is None or not policy.may_change_class(principal, row):
        return row
    await locks.lock_class(conn, key)
    return await _read_visible(conn, principal, key)


async def lock_for_use(
    conn: AsyncConnection, principal: Principal, key: int | None, *, settings_matter: bool = False
) -> Any:
    """The visible class ``key`` (None: hidden, missing or undecodable), locked *shared*
    while a decision relies on it without changing it: assigning it, creating a customer
    in it (whether it is still shared and still exists), validating overrides against
    it (``settings_matter``: its tabs). Shared holders never wait for each other; a
    change of the class waits for them and they for it.

    No lock is taken on a class the caller cannot see (a lock on another tenant's class
    would delay that tenant), nor on the Default class unless its settings matter (see
    ``default_class``)."""
    if key is None:
        return None
    row = await _read_visible(conn, principal, key)
    if row is None or (row.is_default and not settings_matter):
        return row
    await locks.lock_class(conn, key, shared=True)
    return await _read_visible(conn, principal, key)


async def _reread(conn: AsyncConnection, principal: Principal, key: int) -> Row[Any]:
    """A class this request has just written (so the caller may see it)."""
    statement = sa.select(class_table).where(class_table.c.id == key)
    return (await conn.execute(visible(statement, principal))).one()


# --------------------------------------------------------------------------- helpers


def _money_decimals(currency: str | None) -> int:
    if currency is None:
        return fields.DEFAULT_MONEY_DECIMALS
    return catalogs.MINOR_UNITS.get(currency, fields.DEFAULT_MONEY_DECIMALS)


async def _name_taken(
    conn: AsyncConnection,
    principal: Principal,
    manager: int | None,
    key: str,
    exclude: int | None = None,
) -> bool:
    """Names are unique per manager ignoring case. The caller always sees the namespace
    it writes into (an administrator sees all, a reseller its own), so the visibility
    clause removes nothing here, and TAKEN never reveals another tenant's names."""
    c = class_table.c
    statement = sa.select(c.id).where(c.name_key == key, tenant_is(c.tenant_id, manager))
    if exclude is not None:
        statement = statement.where(c.id != exclude)
    return (await conn.execute(visible(statement.limit(1), principal))).first() is not None


async def _check_header(
    conn: AsyncConnection,
    principal: Principal,
    errors: ErrorList,
    data: Mapping[str, Any],
    *,
    manager: int | None,
    exclude: int | None = None,
    current_name: str | None = None,
    is_default: bool = False,
) -> dict[str, Any]:
    """Validate name, description and notificationSender when present in ``data``."""
    values: dict[str, Any] = {}
    if "name" in data:
        raw = data["name"]
        if raw is None:
            errors.add(Code.INVALID, ("name",), "name cannot be null; omit it to keep it.")
        else:
            name, problem = fields.check_name(raw)
            if problem:
                errors.add(problem[0], ("name",), problem[1])
            elif is_default and name != current_name:
                errors.add(Code.IMMUTABLE, ("name",), "The Default class cannot be renamed.")
            elif name != current_name and await _name_taken(
                conn, principal, manager, fields.name_key(name or ""), exclude
            ):
                errors.add(
                    Code.TAKEN, ("name",), f"This manager already has a class named {name!r}."
                )
            else:
                values["name"] = name
                values["name_key"] = fields.name_key(name or "")
    if "description" in data:
        text, problem = fields.check_text(
            data["description"], fields.DESCRIPTION_MAX, "description"
        )
        if problem:
            errors.add(problem[0], ("description",), problem[1])
        else:
            values["description"] = text
    if "notificationSender" in data:
        email, problem = fields.check_email(data["notificationSender"], "notificationSender")
        if problem:
            errors.add(problem[0], ("notificationSender",), problem[1])
        else:
            values["notification_sender"] = email
    return values


async def _patched_settings(
    conn: AsyncConnection,
    errors: ErrorList,
    current: tabs.Settings,
    data: Mapping[str, Any],
    resolved: Mapping[Path, int],
    currency: str | None,
) -> tabs.Settings:
    state = tabs.Patching(
        errors=errors,
        money_decimals=_money_decimals(currency),
        has_currency=currency is not None,
        resolved=resolved,
    )
    settings = tabs.apply_patch(current, data, state)
    taxes = await catalogs.entries_by_key(conn, "CustomTax", settings["taxation"]["customTaxIds"])
    tabs.validate(
        settings,
        state,
        lambda key: taxes[key].applied_to if key in taxes else None,
    )
    return settings


def _only(errors: ErrorList) -> None:
    """Stop at a precedence tier that found something (NOT_FOUND, NOT_PERMITTED, ...)."""
    errors.raise_if_any()


async def _write_new(conn: AsyncConnection, values: dict[str, Any], taken_path: Path) -> int:
    key = new_id()
    now = utcnow()
    try:
        async with conn.begin_nested():
            await conn.execute(
                class_table.insert().values(
                    id=key, version=1, created_at=now, updated_at=now, **values
                )
            )
    except IntegrityError:
        # A concurrent request took the name between our check and our insert.
        raise refusal(
            Code.TAKEN, taken_path, "This manager already has a class with this name."
        ) from None
    return key


# --------------------------------------------------------------------------- create


async def create_customer_class(
    conn: AsyncConnection, *, principal: Principal, data: CreateCustomerClass
) -> Row[Any]:
    """Create a class (``createCustomerClass``); returns its row.

    Inputs: ``name`` (required), ``description``, ``notificationSender``,
    ``currencyCode``, ``businessModelId``, ``managingResellerId`` (administrators: a
    reseller to manage it; resellers: omitted or their own ID), ``sharedWithResellers``
    and the tab inputs (SPEC §5).
    Errors, tier by tier (SPEC §5 precedence): NOT_FOUND on ``managingResellerId``
    (administrators only), ``businessModelId`` and each catalog reference of the tabs;
    NOT_PERMITTED on ``managingResellerId`` (a reseller naming anyone but itself) and
    ``sharedWithResellers`` (a reseller passing true); then every validation error at
    once: ``managingResellerId`` INVALID (not a RESELLER customer), ``name`` REQUIRED,
    INVALID, TOO_LONG or TAKEN (per manager), ``description`` and ``notificationSender``
    (SPEC §3), ``currencyCode`` INVALID, ``sharedWithResellers`` DEPENDENCY (true on a
    reseller-managed class), and the tab codes of SPEC §5 on their paths.
    Side effects: inserts the class at version 1 (TAKEN on ``name`` if a concurrent
    request took the name first); writes a CREATE event. Takes no lock.
    """
    own_id = to_global_id("Customer", principal.reseller_id) if principal.reseller_id else None
    # 1. Resolve what the input names.
    errors = ErrorList()
    manager: int | None = policy.class_manager_for_new(principal)
    manager_row = None
    if policy.resolves_named_reseller(principal, data.get("managingResellerId")):
        manager = decode(data["managingResellerId"], "Customer")
        if manager is not None:
            statement = sa.select(customer_table).where(customer_table.c.id == manager)
            manager_row = (await conn.execute(visible(statement, principal))).first()
        if manager_row is None:
            errors.add(Code.NOT_FOUND, ("managingResellerId",), "No customer has this ID.")
    business_model = None
    if data.get("businessModelId") is not None:
        business_model = decode(data["businessModelId"], "BusinessModel")
        if business_model is None or not await catalogs.entries_by_key(
            conn, "BusinessModel", [business_model]
        ):
            errors.add(Code.NOT_FOUND, ("businessModelId",), "No business model has this ID.")
    resolved = await catalogs.resolve(conn, tabs.references(data), errors)
    _only(errors)
    # 2. What a reseller may not ask for.
    denials = policy.class_request_denials(
        principal, data.get("managingResellerId"), data.get("sharedWithResellers"), own_id
    )
    policy.deny(errors, denials)
    _only(errors)
    # 3. Validation.
    if manager_row is not None and manager_row.customer_type != "RESELLER":
        errors.add(
            Code.INVALID, ("managingResellerId",), "A class is managed by a RESELLER customer."
        )
    if "name" not in data:
        errors.add(Code.REQUIRED, ("name",), "name is required.")
    header = await _check_header(conn, principal, errors, data, manager=manager)
    currency = data.get("currencyCode")
    if currency is not None and currency not in catalogs.MINOR_UNITS:
        errors.add(Code.INVALID, ("currencyCode",), "Unknown ISO 4217 currency code.")
        currency = None
    shared = bool(data.get("sharedWithResellers", False))
    if shared and manager is not None:
        errors.add(
            Code.DEPENDENCY,
            ("sharedWithResellers",),
            "Only administrator-managed classes can be shared with resellers.",
        )
    defaults = tabs.default_settings(None if currency is None else _money_decimals(currency))
    settings = await _patched_settings(conn, errors, defaults, data, resolved, currency)
    errors.raise_if_any()
    key = await _write_new(
        conn,
        {
            "tenant_id": manager,
            "business_model_id": business_model,
            "currency_code": currency,
            "shared_with_resellers": shared,
            "is_default": False,
            "description": None,
            "notification_sender": None,
            **header,
            **class_rows.tab_values(settings),
        },
        ("name",),
    )
    row = await _reread(conn, principal, key)
    await _audit(conn, principal, "CREATE", row, class_rows.created(class_rows.snapshot(row)))
    return row


async def _audit(
    conn: AsyncConnection, principal: Principal, action: str, row: Any, changes: dict[str, Any]
) -> None:
    await audit.record(
        conn,
        principal=principal,
        action=action,
        object_type=TYPE,
        object_key=row.id,
        tenant_id=row.tenant_id,
        changes=changes,
        subject=row,
    )


# --------------------------------------------------------------------------- update


async def _changeable(
    conn: AsyncConnection,
    principal: Principal,
    raw_id: object,
    expected_version: int | None,
    errors: ErrorList,
    extra_refs: Sequence[tabs.Reference] = (),
) -> tuple[Row[Any], dict[Path, int]]:
    """Lock the class an input names and run the three precedence tiers before validation."""
    row = await lock_for_change(conn, principal, decode(raw_id, TYPE))
    if row is None:
        errors.add(Code.NOT_FOUND, ("id",), "No customer class has this ID.")
    resolved = await catalogs.resolve(conn, extra_refs, errors)
    _only(errors)
    if not policy.may_change_class(principal, row):
        read_only = "This class is shared by the administrator and is read-only for resellers."
        policy.deny(errors, [policy.Denial(("id",), read_only)])
        _only(errors)
    if expected_version is not None and expected_version != row.version:
        errors.add(
            Code.VERSION_CONFLICT,
            ("expectedVersion",),
            f"The class is at version {row.version}; reload it and retry.",
        )
        _only(errors)
    return row, resolved


async def _save_change(
    conn: AsyncConnection,
    principal: Principal,
    row: Row[Any],
    values: dict[str, Any],
    action: str = "UPDATE",
    changes: dict[str, Any] | None = None,
    note: Mapping[str, Any] | None = None,
) -> Row[Any]:
    """Write ``values`` if they change anything: version + 1 and one audit event (with
    ``note``'s entries, e.g. ``revertedToVersion``, beside the changed paths).

    A patch that changes nothing succeeds without a version bump or an event.
    """
    current = row._mapping
    changed = {k: v for k, v in values.items() if current[k] != v}
    if not changed:
        return row
    statement = (
        class_table.update()
        .where(class_table.c.id == row.id)
        .values(version=class_table.c.version + 1, updated_at=utcnow(), **changed)
    )
    await conn.execute(changeable(statement, principal))
    after = await _reread(conn, principal, row.id)
    if changes is None:
        changes = class_rows.diff(class_rows.snapshot(row), class_rows.snapshot(after))
    if changes:
        await _audit(conn, principal, action, after, {**changes, **(note or {})})
    return after


async def update_customer_class(
    conn: AsyncConnection, *, principal: Principal, data: UpdateCustomerClass
) -> Row[Any]:
    """``update_customer_class_change``, returning only the class as stored."""
    return (await update_customer_class_change(conn, principal=principal, data=data)).after


async def update_customer_class_change(
    conn: AsyncConnection, *, principal: Principal, data: UpdateCustomerClass
) -> ClassChange:
    """Patch a class (``updateCustomerClass``); returns its rows before and after, the
    same row twice (no version bump, no event) when the patch changes nothing.

    Inputs: ``id``, ``expectedVersion``, and any of ``name``, ``description``,
    ``notificationSender`` and the tab inputs (SPEC §5; currency, business model and
    manager never change).
    Errors, tier by tier: NOT_FOUND on ``id`` and on each catalog reference of the tabs;
    NOT_PERMITTED on ``id`` (a shared class, to a reseller); VERSION_CONFLICT on
    ``expectedVersion``; then every validation error at once: ``name`` INVALID, TOO_LONG,
    TAKEN or IMMUTABLE (the Default class), ``description``, ``notificationSender``,
    the tab codes of SPEC §5 on their paths, and DEPENDENCY on
    ``generalInfo.generateStatistics`` when turning statistics off would break customers'
    overrides (SPEC §4, counted in the message).
    Side effects: locks the class exclusively (``lock_for_change``) before reading it;
    writes version + 1 and an UPDATE event with the changed paths.
    """
    errors = ErrorList()
    row, resolved = await _changeable(
        conn, principal, data.get("id"), data.get("expectedVersion"), errors, tabs.references(data)
    )
    return await _apply_update(conn, principal, errors, row, data, resolved)


async def _apply_update(
    conn: AsyncConnection,
    principal: Principal,
    errors: ErrorList,
    row: Row[Any],
    data: Mapping[str, Any],
    resolved: Mapping[Path, int],
    note: Mapping[str, Any] | None = None,
) -> ClassChange:
    """updateCustomerClass after its first three tiers, on the locked class ``row``: every
    validation error at once (header, SPEC §5 tabs, SPEC §4 overrides), then the write.
    revertCustomerClass goes through here too, with its patch and ``note``."""
    values = await _check_header(
        conn,
        principal,
        errors,
        data,
        manager=row.tenant_id,
        exclude=row.id,
        current_name=row.name,
        is_default=row.is_default,
    )
    current = class_rows.settings_of(row)
    settings = await _patched_settings(conn, errors, current, data, resolved, row.currency_code)
    if (
        current["generalInfo"]["generateStatistics"]
        and not (settings["generalInfo"]["generateStatistics"])
    ):
        await _check_statistics_overrides(conn, principal, row.id, errors)
    errors.raise_if_any()
    after = await _save_change(
        conn, principal, row, {**values, **class_rows.tab_values(settings)}, note=note
    )
    return ClassChange(row, after)


async def _check_statistics_overrides(
    conn: AsyncConnection, principal: Principal, key: int, errors: ErrorList
) -> None:
    """Turning statistics off must not make a customer's override invalid (SPEC §4):
    DEPENDENCY on the touched field, with how many customers' overrides conflict. The
    class is locked exclusively, so no override or assignment of it changes meanwhile;
    the customers counted are the caller's visible ones, which for anyone who may
    change the class are all of its customers (a reseller's class serves only its
    own customers)."""
    c = customer_table.c
    statement = (
        sa.select(sa.func.count())
        .select_from(customer_table)
        .where(c.customer_class_id == key, override_rules.needing_statistics_clause(customer_table))
    )
    conflicting = (await conn.execute(visible(statement, principal))).scalar_one()
    if conflicting:
        customers = "1 customer" if conflicting == 1 else f"{conflicting} customers"
        errors.add(
            Code.DEPENDENCY,
            ("generalInfo", "generateStatistics"),
            f"Statistics cannot be turned off: the overrides of {customers} of this class"
            " need them (regularInvoicesEnabled on or sendStatistics other than"
            " DO_NOT_SEND); clear those overrides first.",
        )


async def copy_regular_invoice_settings_change(
    conn: AsyncConnection, *, principal: Principal, data: CopyRegularInvoiceSettings
) -> ClassChange:
    """Copy the regular invoices' payment terms and past-due policy to the out-of-turn
    invoices (``copyRegularInvoiceSettingsToOutOfTurn``); returns the class rows before
    and after.

    Inputs: ``id``, ``expectedVersion``.
    Errors: NOT_FOUND, NOT_PERMITTED on ``id``, VERSION_CONFLICT on ``expectedVersion``
    (as ``update_customer_class``); then any SPEC §5 code the copy would cause, on
    ``id``, its message naming the setting.
    Side effects: locks the class exclusively; writes version + 1 and an UPDATE event
    when the copy changes something (nothing otherwise).
    """
    errors = ErrorList()
    row, _ = await _changeable(conn, principal, data.get("id"), data.get("expectedVersion"), errors)
    settings = class_rows.settings_of(row)
    regular = settings["regularInvoices"]
    # Validate the copy as if the input had set every copied field.
    patch = {
        "outOfTurnInvoices": {
            "paymentTerms": copy.deepcopy(regular["paymentTerms"]),
            "pastDue": copy.deepcopy(regular["pastDue"]),
        }
    }
    copied = ErrorList()
    settings = await _patched_settings(conn, copied, settings, patch, {}, row.currency_code)
    # This input names only the class: a conflict the copy would create is reported on
    # "id", its message naming the setting (e.g. separate invoices needing auto-charge).
    for error in copied.errors:
        where = ".".join((error.field or ())[1:])
        errors.add(error.code, ("id",), f"{where}: {error.message}")
    errors.raise_if_any()
    return ClassChange(
        row, await _save_change(conn, principal, row, class_rows.tab_values(settings))
    )


# --------------------------------------------------------------------------- revert


async def revert_customer_class(
    conn: AsyncConnection, *, principal: Principal, data: RevertCustomerClass
) -> ClassChange:
    """Restore a class's settings at an earlier version (``revertCustomerClass``, issue
    11); returns its rows before and after (the same row twice when nothing changes).

    Inputs: ``id``, ``toVersion``, ``expectedVersion`` (``dryRun`` is the mutation
    layer's, gql.mutation).
    The settings at ``toVersion`` are rebuilt from the audit trail
    (``class_history.state_at``) and applied as one update through updateCustomerClass's
    own path (``_apply_update``): every tab, the description and the notification
    sender; never the name, manager, business model, currency or sharing
    (``class_history.NOT_REVERTED``).
    Errors, tier by tier: NOT_FOUND, NOT_PERMITTED on ``id`` and VERSION_CONFLICT on
    ``expectedVersion`` (as ``update_customer_class``); OUT_OF_RANGE on ``toVersion``
    (below 1 or above the current version); NOT_FOUND on the path of each reference that
    no longer exists (as the updateCustomerClass input names it, e.g.
    ``regularInvoices.invoiceTemplateId``); then every validation error of
    updateCustomerClass against the current state (SPEC §5 rules, the overrides rule of
    SPEC §4).
    Side effects: locks the class exclusively; writes version + 1 and an UPDATE event
    with the changed paths and ``revertedToVersion``; nothing when the settings at
    ``toVersion`` are the current ones.
    """
    errors = ErrorList()
    row, _ = await _changeable(conn, principal, data.get("id"), data.get("expectedVersion"), errors)
    to_version = data["toVersion"]
    if not 1 <= to_version <= row.version:
        raise refusal(
            Code.OUT_OF_RANGE,
            ("toVersion",),
            f"toVersion must be between 1 and {row.version}, the class's current version.",
        )
    versions = await class_history.versions_of(conn, row)
    current = class_rows.snapshot(row)
    target = class_history.state_at(current, versions, to_version)
    patch = class_history.revert_patch(current, target)
    resolved = await catalogs.resolve(conn, tabs.references(patch), errors)
    _only(errors)
    note = {"revertedToVersion": {"before": None, "after": to_version}}
    return await _apply_update(conn, principal, errors, row, patch, resolved, note)


# --------------------------------------------------------------------------- clone


async def clone_customer_class(
    conn: AsyncConnection, *, principal: Principal, data: CloneCustomerClass
) -> Row[Any]:
    """Copy a visible class under a new name (``cloneCustomerClass``); returns the copy.

    Inputs: ``id``, ``name``. The copy's manager is ``policy.clone_manager``: the
    source's for administrators, the caller itself for resellers.
    Errors: NOT_FOUND on ``id``; then ``name`` INVALID (null included), TOO_LONG or TAKEN (in
    the copy's manager's namespace) and OUT_OF_RANGE on ``id`` for each list of the
    source above its maximum (SPEC §7).
    Side effects: inserts the copy (not shared, not Default, version 1); writes a CLONE
    event naming the source (``clonedFrom``). Takes no lock (the source is only read).
    """
    errors = ErrorList()
    key = decode(data.get("id"), TYPE)
    source = (await visible_classes(conn, principal, [key] if key else [])).get(key or 0)
    if source is None:
        raise refusal(Code.NOT_FOUND, ("id",), "No customer class has this ID.")
    manager = policy.clone_manager(principal, source)
    header = await _check_header(
        conn, principal, errors, {"name": data.get("name")}, manager=manager
    )
    # A copy never exceeds the list maxima, even of a source written before they held.
    for path in tabs.oversized(class_rows.settings_of(source)):
        errors.add(
            Code.OUT_OF_RANGE, ("id",), f"The class's {path} exceeds its maximum; shorten it first."
        )
    errors.raise_if_any()
    m = source._mapping
    new_key = await _write_new(
        conn,
        {
            "tenant_id": manager,
            "description": m["description"],
            "business_model_id": m["business_model_id"],
            "currency_code": m["currency_code"],
            "notification_sender": m["notification_sender"],
            "shared_with_resellers": False,
            "is_default": False,
            **header,
            **class_rows.tab_values(class_rows.settings_of(source)),
        },
        ("name",),
    )
    row = await _reread(conn, principal, new_key)
    changes = class_rows.created(class_rows.snapshot(row))
    changes["clonedFrom"] = {"before": None, "after": global_id(TYPE, source.id, source.tenant_id)}
    await _audit(conn, principal, "CLONE", row, changes)
    return row


# --------------------------------------------------------------------------- sharing


async def _in_use(
    conn: AsyncConnection, principal: Principal, key: int, *, by_resellers_only: bool = False
) -> bool:
    """Whether a customer the caller may see uses the class (SPEC §2: IN_USE decisions
    involve only visible customers)."""
    c = customer_table.c
    statement = sa.select(c.id).where(c.customer_class_id == key)
    if by_resellers_only:
        statement = statement.where(sa.not_(tenant_is(c.tenant_id, None)))
    return (await conn.execute(visible(statement.limit(1), principal))).first() is not None


async def set_customer_class_sharing(
    conn: AsyncConnection, *, principal: Principal, data: SetCustomerClassSharing
) -> Row[Any]:
    """``set_customer_class_sharing_change``, returning only the class as stored."""
    return (await set_customer_class_sharing_change(conn, principal=principal, data=data)).after


async def set_customer_class_sharing_change(
    conn: AsyncConnection, *, principal: Principal, data: SetCustomerClassSharing
) -> ClassChange:
    """Share or unshare an administrator-managed class with resellers
    (``setCustomerClassSharing``); returns the class rows before and after, the same row
    twice (no event) when it already is as asked.

    Inputs: ``id``, ``shared``, ``expectedVersion``.
    Errors: top-level FORBIDDEN for resellers, from the role alone (before any ID is
    resolved); NOT_FOUND on ``id``; VERSION_CONFLICT on ``expectedVersion``; then
    ``shared`` DEPENDENCY (sharing a reseller-managed class), ``id`` DEFAULT_CLASS
    (unsharing the Default class) or IN_USE (unsharing a class that resellers'
    customers use).
    Side effects: locks the class exclusively; writes version + 1 and a SHARE or
    UNSHARE event.
    """
    policy.require_administrator(principal, "share classes with resellers")
    errors = ErrorList()
    row, _ = await _changeable(conn, principal, data.get("id"), data.get("expectedVersion"), errors)
    shared = bool(data["shared"])
    if shared == row.shared_with_resellers:
        return ClassChange(row, row)
    if shared and row.tenant_id is not None:
        errors.add(
            Code.DEPENDENCY,
            ("shared",),
            "Only administrator-managed classes can be shared with resellers.",
        )
    if not shared and row.is_default:
        errors.add(Code.DEFAULT_CLASS, ("id",), "The Default class is always shared.")
    elif not shared and await _in_use(conn, principal, row.id, by_resellers_only=True):
        errors.add(
            Code.IN_USE, ("id",), "Customers of resellers use this class; it cannot be unshared."
        )
    errors.raise_if_any()
    after = await _save_change(
        conn,
        principal,
        row,
        {"shared_with_resellers": shared},
        action="SHARE" if shared else "UNSHARE",
        changes={"sharedWithResellers": {"before": not shared, "after": shared}},
    )
    return ClassChange(row, after)


# --------------------------------------------------------------------------- delete


async def delete_customer_classes(
    conn: AsyncConnection, *, principal: Principal, data: DeleteCustomerClasses
) -> tuple[list[str], list[FieldError]]:
    """Delete classes (``deleteCustomerClasses``), the one mutation with partial success:
    deletes every deletable ID; returns their global IDs and one error per refused ID.

    Inputs: ``ids`` (at most 100, else OUT_OF_RANGE on ``ids`` and nothing is deleted).
    Errors, on ``("input", "ids", index)``, in the precedence NOT_FOUND (a repeated ID
    already deleted is skipped silently), NOT_PERMITTED (a shared class, to a
    reseller), DEFAULT_CLASS, IN_USE (a customer the caller may see uses it).
    Side effects: locks each class exclusively in turn; deletes it and writes a DELETE
    event with its last state.
    """
    ids = list(data.get("ids") or [])
    if len(ids) > MAX_DELETE:
        raise refusal(
            Code.OUT_OF_RANGE, ("ids",), f"Delete at most {MAX_DELETE} classes at a time."
        )
    errors = ErrorList()
    deleted: list[str] = []
    for index, raw in enumerate(ids):
        path: Path = ("ids", str(index))
        row = await lock_for_change(conn, principal, decode(raw, TYPE))
        if row is None:
            already = raw in deleted
            if not already:
                errors.add(Code.NOT_FOUND, path, "No customer class has this ID.")
            continue
        if not policy.may_change_class(principal, row):
            read_only = "Shared classes are read-only for resellers."
            policy.deny(errors, [policy.Denial(path, read_only)])
        elif row.is_default:
            errors.add(Code.DEFAULT_CLASS, path, "The Default class cannot be deleted.")
        elif await _in_use(conn, principal, row.id):
            errors.add(Code.IN_USE, path, "Customers use this class; assign them another first.")
        else:
            before = class_rows.snapshot(row)
            statement = class_table.delete().where(class_table.c.id == row.id)
            await conn.execute(changeable(statement, principal))
            await _audit(conn, principal, "DELETE", row, class_rows.deleted(before))
            deleted.append(global_id(TYPE, row.id, row.tenant_id))
    return deleted, errors.errors
