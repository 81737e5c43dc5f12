"""Every table of the service, in one module.

Conventions:
- Primary keys are random 63-bit integers (``db.ids.new_id``), never sequential, so that
  global IDs reveal nothing about volumes.
- Tenant-owned tables carry ``tenant_id``: the reseller that owns the row, or the
  sentinel ``ADMINISTRATOR_TENANT`` (0) for the administrator's rows (migration 0008).
  Never NULL: it is the distribution column of a distributed PostgreSQL (Citus, README
  "Deployment: beyond one database server"), which refuses NULL there. Python code keeps
  saying ``None`` for the administrator: the ``TenantId`` column type stores None as 0
  and reads 0 back as None, and ``tenant_is`` compares a column with a tenant. Primary
  keys are ``(tenant_id, id)``, so that every key holds the distribution column.
  PostgreSQL row-level security policies filter on ``tenant_id`` (migrations 0003 and
  0008) and ``tenancy.scoping`` adds the same filter in SQL on every path.
- Timestamps are timezone-aware UTC datetimes (``db.clock.utcnow``). SQLModel maps
  ``datetime`` fields to its ``UTCDateTime`` type: ``timestamptz`` on PostgreSQL; on SQLite,
  stored as UTC without an offset and read back aware. A naive datetime is refused on
  write. The GraphQL layer serialises them in UTC with a ``Z``.
- Names have a ``name_key`` (``casefold(NFKC(name))``, see ``tenancy.fields.name_key``)
  for uniqueness ignoring case and compatibility forms, and a byte order that SQLite and
  PostgreSQL agree on (collation "C" on PostgreSQL). It holds up to 400 characters:
  case folding and NFKC can triple a 100-character name.
- A customer class's tabs are JSON documents, one column per tab, in the shape of the
  GraphQL output (camelCase keys, money as decimal strings). The list-page columns that
  are filtered and sorted in SQL (statistics, invoicing, taxation method) are plain
  columns written by the same code that writes the tabs (``tenancy.class_rows.tab_values``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

# SQLModel and Alembic share this naming convention so constraint names are stable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# Byte order on both databases (SQLite's default BINARY collation is byte order).
NAME_KEY_LENGTH = 400
NameKey = sa.String(NAME_KEY_LENGTH).with_variant(
    sa.String(NAME_KEY_LENGTH, collation="C"), "postgresql"
)
Id = sa.BigInteger()

# The tenant of the administrator's rows (never a customer's ID: those are positive).
ADMINISTRATOR_TENANT = 0


class TenantId(sa.types.TypeDecorator[int | None]):
    """A tenant column: the reseller's ID, or None for the administrator, stored as
    ``ADMINISTRATOR_TENANT`` (a distribution column cannot hold NULL). Comparing such a
    column with None in SQL would say ``IS NULL`` and match nothing: use ``tenant_is``."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: sa.Dialect) -> int:
        return ADMINISTRATOR_TENANT if value is None else value

    def process_result_value(self, value: int | None, dialect: sa.Dialect) -> int | None:
        return None if value == ADMINISTRATOR_TENANT else value


def tenant_is(column: sa.ColumnElement[Any], tenant: int | None) -> sa.ColumnElement[bool]:
    """``column`` names ``tenant`` (None: the administrator)."""
    return column == sa.literal(ADMINISTRATOR_TENANT if tenant is None else tenant, Id)


# Tables whose rows belong to a tenant and are protected by row-level security.
TENANT_TABLES = (
    "customer_class",
    "customer",
    "api_token",
    "audit_event",
    "webhook_subscription",
    "webhook_event",
    "webhook_delivery",
)


def _id_field(**kw: Any) -> Any:
    return Field(sa_type=Id, **kw)


def _primary_key() -> Any:
    # Random keys (db.ids.new_id), so no sequence or autoincrement.
    return Field(sa_type=Id, primary_key=True, sa_column_kwargs={"autoincrement": False})


def _tenant_key() -> Any:
    # The first column of a tenant table's primary key (tenant_id, id): the distribution
    # column. No foreign key to customer: the administrator's sentinel is no customer,
    # and Citus cannot check a key across shards; the application guarantees it names
    # an existing reseller (a tenant is always a visible reseller when a row is created,
    # and customers are never deleted), see README "Deployment: beyond one database server".
    return Field(sa_type=TenantId, primary_key=True, sa_column_kwargs={"autoincrement": False})


class Currency(SQLModel, table=True):
    __tablename__ = "currency"
    code: str = Field(primary_key=True, max_length=3)
    name: str
    minor_units: int


class BusinessModel(SQLModel, table=True):
    __tablename__ = "business_model"
    id: int = _primary_key()
    code: str = Field(max_length=50)
    code_key: str = Field(sa_type=NameKey, unique=True)
    name: str = Field(max_length=100)
    created_at: datetime


class InvoiceTemplate(SQLModel, table=True):
    __tablename__ = "invoice_template"
    id: int = _primary_key()
    name: str = Field(max_length=100)
    name_key: str = Field(sa_type=NameKey, unique=True)
    created_at: datetime


class NotificationSet(SQLModel, table=True):
    __tablename__ = "notification_set"
    id: int = _primary_key()
    name: str = Field(max_length=100)
    name_key: str = Field(sa_type=NameKey, unique=True)
    created_at: datetime


class CustomFieldDefinition(SQLModel, table=True):
    __tablename__ = "custom_field_definition"
    __table_args__ = (sa.UniqueConstraint("object", "name_key"),)
    id: int = _primary_key()
    object: str = Field(max_length=20)
    name: str = Field(max_length=100)
    name_key: str = Field(sa_type=NameKey)
    type: str = Field(max_length=20)
    list_values: list[str] = Field(sa_type=Json)
    default_value: str | None = None
    mandatory: bool
    visible_to_end_user: bool
    contains_personal_data: bool
    created_at: datetime


class CustomTax(SQLModel, table=True):
    __tablename__ = "custom_tax"
    id: int = _primary_key()
    name: str = Field(max_length=100)
    name_key: str = Field(sa_type=NameKey, unique=True)
    # Percentages are exact decimal strings (at most 4 decimals), never floats.
    rate_percent: str = Field(max_length=20)
    applied_to: str = Field(max_length=20)
    created_at: datetime


class CustomerClass(SQLModel, table=True):
    __tablename__ = "customer_class"
    __table_args__ = (
        # Unique per manager ignoring case (the administrator's sentinel tenant is a
        # namespace of its own).
        sa.Index("uq_customer_class_manager_name", "tenant_id", "name_key", unique=True),
        # What customer.customer_class_id refers to. Not on Citus, which cannot hold a
        # unique key without the distribution column, nor a foreign key across shards
        # (migration 0008 leaves both out there; README "Deployment: beyond one database
        # server" says what the application guarantees instead).
        sa.UniqueConstraint("id", name="uq_customer_class_id"),
        sa.Index("ix_customer_class_name_order", "name_key", "id"),
        sa.Index("ix_customer_class_tenant_name", "tenant_id", "name_key", "id"),
        sa.Index("ix_customer_class_created", "created_at", "id"),
        sa.Index("ix_customer_class_updated", "updated_at", "id"),
    )
    id: int = _primary_key()
    # The managing reseller (a RESELLER customer); None = the administrator.
    tenant_id: int | None = _tenant_key()
    name: str = Field(max_length=100)
    name_key: str = Field(sa_type=NameKey)
    description: str | None = Field(default=None, max_length=500)
    business_model_id: int | None = _id_field(default=None, foreign_key="business_model.id")
    currency_code: str | None = Field(default=None, foreign_key="currency.code", max_length=3)
    notification_sender: str | None = Field(default=None, max_length=254)
    shared_with_resellers: bool = False
    is_default: bool = False
    version: int = 1
    created_at: datetime
    updated_at: datetime
    # List-page columns (derived from the tabs, written together with them).
    archive_xdrs: bool
    regular_invoices_enabled: bool
    out_of_turn_invoices_enabled: bool
    taxation_method: str = Field(max_length=30)
    # Tabs.
    general_info: dict[str, Any] = Field(sa_type=Json)
    measured_services: list[dict[str, Any]] = Field(sa_type=Json)
    notifications: dict[str, Any] = Field(sa_type=Json)
    regular_invoices: dict[str, Any] = Field(sa_type=Json)
    out_of_turn_invoices: dict[str, Any] = Field(sa_type=Json)
    taxation: dict[str, Any] = Field(sa_type=Json)
    custom_field_ids: list[int] = Field(sa_type=Json)
    fraud_protection: dict[str, Any] | None = Field(default=None, sa_type=Json)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        sa.Index("ix_customer_tenant_name", "tenant_id", "name_key", "id"),
        sa.Index("ix_customer_name_order", "name_key", "id"),
        sa.Index("ix_customer_created", "created_at", "id"),
        sa.Index("ix_customer_tenant_created", "tenant_id", "created_at", "id"),
        sa.Index("ix_customer_class_members", "customer_class_id", "tenant_id"),
    )
    id: int = _primary_key()
    # The parent reseller, which is also the tenant of the row; None = a direct customer
    # or reseller of the administrator.
    tenant_id: int | None = _tenant_key()
    name: str = Field(max_length=100)
    name_key: str = Field(sa_type=NameKey)
    customer_type: str = Field(max_length=10)
    # 0 for retail customers; 1 for a direct reseller, 2 for a sub-reseller, 3 below that.
    reseller_level: int = 0
    currency_code: str = Field(foreign_key="currency.code", max_length=3)
    customer_class_id: int = _id_field(foreign_key="customer_class.id")
    # Per-customer overrides; NULL follows the class. The template overrides need a flag
    # because "override with no template" differs from "no override".
    override_regular_template: bool = False
    override_regular_template_id: int | None = _id_field(
        default=None, foreign_key="invoice_template.id"
    )
    override_out_of_turn_template: bool = False
    override_out_of_turn_template_id: int | None = _id_field(
        default=None, foreign_key="invoice_template.id"
    )
    override_regular_invoices_enabled: bool | None = None
    override_out_of_turn_invoices_enabled: bool | None = None
    override_send_statistics: str | None = Field(default=None, max_length=20)
    override_suspend_on_insufficient_funds: bool | None = None
    created_at: datetime


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (
        sa.Index("uq_api_token_owner_name", "tenant_id", "name_key", unique=True),
        # Authentication looks a token up by its hash (and its tenant, when the token
        # names it): unique with the distribution column, first the hash.
        sa.Index("uq_api_token_token_hash", "token_hash", "tenant_id", unique=True),
    )
    id: int = _primary_key()
    # The reseller the token acts for; None for administrator tokens.
    tenant_id: int | None = _tenant_key()
    name: str = Field(max_length=100)
    name_key: str = Field(sa_type=NameKey)
    role: str = Field(max_length=20)
    # SHA-256 of the secret, hex. The secret itself is never stored.
    token_hash: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_newest", "at", "id"),
        sa.Index("ix_audit_event_tenant_newest", "tenant_id", "at", "id"),
        sa.Index("ix_audit_event_object", "object_id"),
    )
    id: int = _primary_key()
    # Tenant of the object at write time (events outlive objects).
    tenant_id: int | None = _tenant_key()
    at: datetime
    action: str = Field(max_length=10)
    actor_role: str = Field(max_length=20)
    actor_token_name: str = Field(max_length=100)
    actor_reseller_id: int | None = _id_field(default=None)
    object_id: str = Field(max_length=100)
    object_type: str = Field(max_length=50)
    changes: dict[str, Any] = Field(sa_type=Json)
    request_id: str | None = Field(default=None, max_length=64)


class TrustedDocument(SQLModel, table=True):
    """A registered ("trusted", persisted) operation document, platform-wide: not a
    tenant table (a document is text, not data; who may run it is decided per request)."""

    __tablename__ = "trusted_document"
    # "sha256:" + the hex SHA-256 of the exact document text in UTF-8.
    id: str = Field(sa_type=sa.String(71), primary_key=True)
    document: str = Field(sa_type=sa.Text())
    # The document's operation names, in order (an anonymous operation: null).
    operation_names: list[str | None] = Field(sa_type=Json)
    # Requested cost per operation name ("" for an anonymous one) computed at
    # registration; null where it depends on variables (computed per request then).
    requested_costs: dict[str, int | None] = Field(sa_type=Json)
    created_at: datetime


class WebhookSubscription(SQLModel, table=True):
    """An endpoint that receives signed change events (README "Change events")."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (sa.Index("ix_webhook_subscription_tenant", "tenant_id", "created_at", "id"),)
    id: int = _primary_key()
    # The reseller the subscription belongs to; None = the administrator.
    tenant_id: int | None = _tenant_key()
    url: str = Field(max_length=2048)
    # WebhookEventType names.
    events: list[str] = Field(sa_type=Json)
    active: bool = True
    description: str | None = Field(default=None, max_length=500)
    # The signing secret, encrypted (tenancy.webhook_secrets); never returned after
    # create/rotate. The previous one signs too until previous_secret_expires_at.
    secret: str = Field(max_length=400)
    previous_secret: str | None = Field(default=None, max_length=400)
    previous_secret_expires_at: datetime | None = None
    # Start of the current run of failed deliveries (NULL: the last one succeeded).
    failing_since: datetime | None = None
    created_at: datetime
    updated_at: datetime


class WebhookEvent(SQLModel, table=True):
    """The transactional outbox: one row per audited change that has a webhook event
    type, written with its audit event; the dispatcher fans it out to deliveries."""

    __tablename__ = "webhook_event"
    __table_args__ = (sa.Index("ix_webhook_event_pending", "fanned_out", "at", "id"),)
    id: int = _primary_key()
    # Tenant of the object, as in audit_event (events outlive objects).
    tenant_id: int | None = _tenant_key()
    # Visible to every reseller: an administrator class shared before or after the change.
    shared: bool = False
    at: datetime
    event_type: str = Field(max_length=40)
    action: str = Field(max_length=10)
    object_id: str = Field(max_length=100)
    object_type: str = Field(max_length=50)
    version: int
    actor_role: str = Field(max_length=20)
    actor_token_name: str = Field(max_length=100)
    actor_reseller_id: int | None = _id_field(default=None)
    changes: dict[str, Any] = Field(sa_type=Json)
    fanned_out: bool = False


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription, and its attempts."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint(
            "subscription_id", "webhook_event_id", "tenant_id", name="uq_webhook_delivery_pair"
        ),
        sa.UniqueConstraint("event_id", "tenant_id", name="uq_webhook_delivery_event_id"),
        # Only PENDING and FAILED deliveries have a next attempt: the due ones are a
        # range of this index, in the order they are claimed.
        sa.Index("ix_webhook_delivery_due", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_listing", "subscription_id", "created_at", "id"),
    )
    id: int = _primary_key()
    # The subscription's tenant.
    tenant_id: int | None = _tenant_key()
    # Not a foreign key: checking one would make every fan-out hold a KEY SHARE lock on
    # the subscription, and a steady stream of them starved deleteWebhookSubscription
    # on PostgreSQL (bench/webhooks.py). The deletion deletes the deliveries itself; one
    # a fan-out racing it leaves behind is never claimed (claims join the subscription).
    subscription_id: int = _id_field()
    webhook_event_id: int = _id_field()
    # The Standard Webhooks webhook-id: the same for every attempt.
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=40)
    status: str = Field(max_length=10)
    attempts: int = 0
    created_at: datetime
    # Retries stop 3 days after this (the creation, or the last redeliverWebhook).
    window_started_at: datetime
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_response_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    payload: dict[str, Any] = Field(sa_type=Json)


class WebhookDispatcherLease(SQLModel, table=True):
    """SQLite: which dispatcher leads (one at a time); PostgreSQL uses SKIP LOCKED."""

    __tablename__ = "webhook_dispatcher_lease"
    name: str = Field(primary_key=True, max_length=20)
    holder: str = Field(max_length=100)
    expires_at: datetime


# Core tables, for the set-based SQL of the request path.
currency_table: sa.Table = SQLModel.metadata.tables[Currency.__tablename__]
business_model_table: sa.Table = SQLModel.metadata.tables[BusinessModel.__tablename__]
invoice_template_table: sa.Table = SQLModel.metadata.tables[InvoiceTemplate.__tablename__]
notification_set_table: sa.Table = SQLModel.metadata.tables[NotificationSet.__tablename__]
custom_field_table: sa.Table = SQLModel.metadata.tables[CustomFieldDefinition.__tablename__]
custom_tax_table: sa.Table = SQLModel.metadata.tables[CustomTax.__tablename__]
class_table: sa.Table = SQLModel.metadata.tables[CustomerClass.__tablename__]
customer_table: sa.Table = SQLModel.metadata.tables[Customer.__tablename__]
token_table: sa.Table = SQLModel.metadata.tables[ApiToken.__tablename__]
event_table: sa.Table = SQLModel.metadata.tables[AuditEvent.__tablename__]
trusted_document_table: sa.Table = SQLModel.metadata.tables[TrustedDocument.__tablename__]
subscription_table: sa.Table = SQLModel.metadata.tables[WebhookSubscription.__tablename__]
webhook_event_table: sa.Table = SQLModel.metadata.tables[WebhookEvent.__tablename__]
delivery_table: sa.Table = SQLModel.metadata.tables[WebhookDelivery.__tablename__]
lease_table: sa.Table = SQLModel.metadata.tables[WebhookDispatcherLease.__tablename__]
