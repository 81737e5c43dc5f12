"""Name keys ignore compatibility forms: recompute every key, widen the columns to 400.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

SPEC §3 (amended): ``name_key = casefold(NFKC(name))`` without U+200C/U+200D, up to 400
characters (case folding can triple a name). 0001 keyed ``casefold(NFC(name))`` in 100
characters, so a 100 x "ß" name overflowed on PostgreSQL and "ﬃ"/"ffi" did not collide.

Before changing anything, the new keys of every existing row are computed and checked:
two names that were distinct but now collide in one uniqueness scope (classes per
manager, tokens per owner, each catalog, custom fields per object) stop the migration
with the list of them, so the operator renames one and runs it again. Nothing is changed
then (PostgreSQL DDL is transactional, and the check comes first on both databases).

The key function below is a frozen copy: tenancy's may evolve, a migration must not
(tests/integration/test_migrations.py compares the two).
"""

import base64
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic import op

from db.migrate import MigrationRefused

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_WIDTH, NEW_WIDTH = 100, 400
JOINERS = ("\u200c", "\u200d")


def name_key(name: str) -> str:
    """SPEC §3 as of this migration (frozen copy of ``tenancy.fields.name_key``)."""
    key = unicodedata.normalize("NFKC", name).casefold()
    for joiner in JOINERS:
        key = key.replace(joiner, "")
    return key


def old_name_key(name: str) -> str:
    """The key of revision 0001, for the downgrade."""
    return unicodedata.normalize("NFC", name).casefold()


def _key_type(width: int) -> sa.types.TypeEngine[Any]:
    return sa.String(width).with_variant(sa.String(width, collation="C"), "postgresql")


@dataclass(frozen=True)
class Keyed:
    """A table with a key column computed from a text column."""

    table: str
    type_name: str  # GraphQL type, for the global IDs the operator sees in the API
    source: str
    key: str = "name_key"
    # How the unique index scopes the key; None: no uniqueness (customers).
    scope: str | None = ""
    # Expression indexes SQLite cannot reflect: rebuilt by hand around the table rebuild.
    expression_index: str | None = None


KEYED = (
    Keyed("business_model", "BusinessModel", "code", key="code_key"),
    Keyed("invoice_template", "InvoiceTemplate", "name"),
    Keyed("notification_set", "NotificationSet", "name"),
    Keyed("custom_field_definition", "CustomFieldDefinition", "name", scope="object"),
    Keyed("custom_tax", "CustomTax", "name"),
    Keyed(
        "customer_class",
        "CustomerClass",
        "name",
        scope="coalesce(tenant_id, 0)",
        expression_index="uq_customer_class_manager_name",
    ),
    Keyed("customer", "Customer", "name", scope=None),
    Keyed(
        "api_token",
        "ApiToken",
        "name",
        scope="coalesce(tenant_id, 0)",
        expression_index="uq_api_token_owner_name",
    ),
)
# Catalog tables have no UPDATE policy (nothing updates them at run time): the migration
# adds one for the administrator while it rewrites their keys.
CATALOGS = (
    "business_model",
    "invoice_template",
    "notification_set",
    "custom_field_definition",
    "custom_tax",
)
ADMIN = "(select current_setting('billclass.role', true)) = 'ADMINISTRATOR'"
BATCH = 1000


@dataclass
class Plan:
    """The new keys of one table, and what stands in their way."""

    keyed: Keyed
    changed: list[tuple[int, str]] = field(default_factory=list)
    collisions: list[tuple[Any, list[tuple[int, str]]]] = field(default_factory=list)
    too_long: list[tuple[int, str]] = field(default_factory=list)


def upgrade() -> None:
    _rekey(name_key, OLD_WIDTH, NEW_WIDTH)


def downgrade() -> None:
    _rekey(old_name_key, NEW_WIDTH, OLD_WIDTH)


def _rekey(key_of: Callable[[str], str], old_width: int, new_width: int) -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        # Every table is FORCE'd under row-level security: only the administrator
        # context sees (and may update) every row.
        op.execute("select set_config('billclass.role', 'ADMINISTRATOR', true)")
    plans = [_plan(bind, keyed, key_of, new_width) for keyed in KEYED]
    report = _report(bind, plans, new_width)
    if report:
        raise MigrationRefused(report)
    for keyed in KEYED:
        _change_width(keyed, postgres, old_width, new_width)
    for plan in plans:
        _apply(bind, plan, postgres)


def _rows(bind: sa.Connection, keyed: Keyed) -> Iterator[Any]:
    """Every row's id, text, current key and scope, in pages of ``BATCH`` by id."""
    scope = keyed.scope or "0"
    statement = sa.text(
        f"select id, {keyed.source} as source, {keyed.key} as key, {scope} as scope"
        f" from {keyed.table} where id > :after order by id limit {BATCH}"
    )
    after = -(2**63)
    while True:
        rows = bind.execute(statement, {"after": after}).all()
        yield from rows
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def _plan(bind: sa.Connection, keyed: Keyed, key_of: Callable[[str], str], width: int) -> Plan:
    plan = Plan(keyed)
    groups: dict[tuple[Any, str], list[tuple[int, str]]] = {}
    for row in _rows(bind, keyed):
        key = key_of(row.source)
        if len(key) > width:
            plan.too_long.append((row.id, row.source))
        if key != row.key:
            plan.changed.append((row.id, key))
        if keyed.scope is not None:
            groups.setdefault((row.scope, key), []).append((row.id, row.source))
    plan.collisions = [
        (scope, names) for (scope, _key), names in sorted(groups.items()) if len(names) > 1
    ]
    return plan


def _report(bind: sa.Connection, plans: list[Plan], width: int) -> str:
    """What the operator must fix before the migration can run, or "" when nothing."""
    lines: list[str] = []
    for plan in plans:
        for scope, names in plan.collisions:
            listed = ", ".join(_named(plan.keyed, key, source) for key, source in names)
            where = _scope_label(bind, plan.keyed, scope)
            lines.append(f"  {plan.keyed.table}{where}: {listed}")
    if lines:
        lines.insert(
            0,
            "these names are now one name in their namespace (names are compared ignoring"
            " case and compatibility forms, such as 'ﬃ' and 'ffi'); rename all but one of"
            " each group, then run the migration again:",
        )
    long_lines = [
        f"  {plan.keyed.table}: {_named(plan.keyed, key, source)}"
        for plan in plans
        for key, source in plan.too_long
    ]
    if long_lines:
        lines.append(
            f"these names are longer than {width} characters once case-folded for"
            " comparison; shorten them, then run the migration again:"
        )
        lines.extend(long_lines)
    if not lines:
        return ""
    return "\n".join(["migration 0002 (name keys) changed nothing:", *lines])


def _named(keyed: Keyed, key: int, source: str) -> str:
    global_id = base64.b64encode(f"{keyed.type_name}:{key}".encode()).decode()
    return f"{source!r} (id {global_id})"


def _scope_label(bind: sa.Connection, keyed: Keyed, scope: Any) -> str:
    if keyed.scope == "object":
        return f" of object {scope}"
    if keyed.scope and keyed.scope.startswith("coalesce(tenant_id"):
        verb = "managed by" if keyed.table == "customer_class" else "owned by"
        if not scope:
            return f", {verb} the administrator"
        name = bind.execute(
            sa.text("select name from customer where id = :id"), {"id": scope}
        ).scalar()
        reseller = base64.b64encode(f"Customer:{scope}".encode()).decode()
        return f", {verb} reseller {name!r} (id {reseller})"
    return ""


def _change_width(keyed: Keyed, postgres: bool, old_width: int, new_width: int) -> None:
    """PostgreSQL alters the column in place (its indexes follow). SQLite cannot alter a
    column: batch mode rebuilds the table (db/migrations/env.py runs SQLite migrations
    with foreign keys off, as SQLite's procedure requires, and checks them at the end),
    and the expression index it cannot reflect is dropped and rebuilt by hand."""
    rebuild_index = keyed.expression_index is not None and not postgres
    if rebuild_index:
        op.drop_index(str(keyed.expression_index), table_name=keyed.table)
    with warnings.catch_warnings():
        # The index SQLite's reflection skips (and says so) is the one rebuilt below.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        with op.batch_alter_table(keyed.table) as batch:
            batch.alter_column(
                keyed.key,
                type_=_key_type(new_width),
                existing_type=_key_type(old_width),
                existing_nullable=False,
            )
    if rebuild_index:
        op.create_index(
            str(keyed.expression_index),
            keyed.table,
            [sa.text("coalesce(tenant_id, 0)"), keyed.key],
            unique=True,
        )


def _apply(bind: sa.Connection, plan: Plan, postgres: bool) -> None:
    if not plan.changed:
        return
    table = plan.keyed.table
    policy = f"{table}_rekey_0002"
    if postgres and table in CATALOGS:
        op.execute(
            f"CREATE POLICY {policy} ON {table} FOR UPDATE USING ({ADMIN}) WITH CHECK ({ADMIN})"
        )
    statement = sa.text(f"update {table} set {plan.keyed.key} = :key where id = :id")
    for key, new in plan.changed:
        updated = bind.execute(statement, {"id": key, "key": new}).rowcount
        if updated != 1:  # a policy hid the row: never leave a key behind silently
            raise RuntimeError(f"migration 0002 could not update {table} row {key}")
    if postgres and table in CATALOGS:
        op.execute(f"DROP POLICY {policy} ON {table}")
