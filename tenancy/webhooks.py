"""Change events (issue 12): webhook subscriptions, the transactional outbox, and the
rules of delivery (who hears of what, the payload, retries, deactivation).

- **Outbox.** ``record_change`` is called by ``tenancy.audit.record`` for every audit
  event, in the same transaction and savepoint: an audited change that has a webhook
  event type (``EVENT_TYPES``) writes one ``webhook_event`` row. A refused or rolled-back
  change (a rolled-back savepoint, a dry run) therefore leaves none, and a committed one
  always leaves one.
- **Fan-out** (``fan_out``, run by the dispatcher as the administrator context): each
  outbox row becomes one delivery per matching subscription (active, created before the
  change, subscribed to its type, allowed to see it: ``policy.receives_event``), with the
  payload as that subscription's tenant may see it (``payload_for``), then the row is
  marked fanned out, in one transaction. Matching happens then rather than inside the
  change's transaction because a reseller's transaction may neither read the
  administrator's subscriptions nor write deliveries for them (row-level security), and
  so that a mutation's cost does not grow with the number of subscriptions.
- **Delivery** (``claim_due``, ``record_attempt``): at least once, with the same
  ``webhook-id`` for every attempt; retried with backoff and jitter (``retry_delay``)
  for ``RETRY_WINDOW``, then DEAD; a subscription failing for ``DEACTIVATE_AFTER`` is
  deactivated, with an audit event saying so.

Use-cases never commit; every statement on tenant tables goes through ``tenancy.scoping``.
"""

from __future__ import annotations

import ipaddress
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.distribution import is_distributed
from db.ids import new_id
from db.models import (
    delivery_table,
    event_table,
    lease_table,
    subscription_table,
    tenant_is,
    webhook_event_table,
)
from tenancy import audit, fields, maxima, pagination, policy
from tenancy.errors import ErrorList, refusal
from tenancy.errors import UserErrorCode as Code
from tenancy.ids import decode, presented_object_id, to_global_id
from tenancy.inputs import (
    CreateWebhookSubscription,
    DeleteWebhookSubscription,
    RedeliverWebhook,
    RotateWebhookSecret,
    UpdateWebhookSubscription,
    WebhookEventType,
)
from tenancy.locks import Limit, serialise
from tenancy.principal import Principal, Role
from tenancy.scoping import changeable, in_its_shard, visible
from tenancy.webhook_secrets import SecretBox, new_secret

TYPE = "WebhookSubscription"
DELIVERY_TYPE = "WebhookDelivery"
URL_MAX = 2048
DESCRIPTION_MAX = fields.DESCRIPTION_MAX
# Standard Webhooks: the previous secret keeps signing this long after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)
# Retries: about 5 s, 30 s, 2 min, 10 min, 1 h, then every 6 h, each +-20 %, for 3 days.
RETRY_DELAYS = (5, 30, 120, 600, 3600, 6 * 3600)
JITTER = 0.2
RETRY_WINDOW = timedelta(days=3)
DEACTIVATE_AFTER = timedelta(days=5)
ERROR_MAX = 500

# (object type, audit action) -> webhook event type. Other audited changes (catalog
# entries, token creation, subscriptions themselves) have no event type.
EVENT_TYPES: dict[tuple[str, str], WebhookEventType] = {
    ("CustomerClass", "CREATE"): "CUSTOMER_CLASS_CREATED",
    ("CustomerClass", "CLONE"): "CUSTOMER_CLASS_CREATED",
    ("CustomerClass", "UPDATE"): "CUSTOMER_CLASS_UPDATED",
    ("CustomerClass", "DELETE"): "CUSTOMER_CLASS_DELETED",
    ("CustomerClass", "SHARE"): "CUSTOMER_CLASS_SHARING_CHANGED",
    ("CustomerClass", "UNSHARE"): "CUSTOMER_CLASS_SHARING_CHANGED",
    ("Customer", "CREATE"): "CUSTOMER_CREATED",
    ("Customer", "ASSIGN"): "CUSTOMER_CLASS_ASSIGNED",
    ("Customer", "UPDATE"): "CUSTOMER_OVERRIDES_UPDATED",
    ("ApiToken", "REVOKE"): "API_TOKEN_REVOKED",
}

PENDING, DELIVERED, FAILED, DEAD = "PENDING", "DELIVERED", "FAILED", "DEAD"

# The dispatcher acts as the administrator context; its audit events name it.
DISPATCHER = Principal(
    role=Role.ADMINISTRATOR,
    reseller_id=None,
    token_id=None,
    token_name="dispatcher",  # noqa: S106 (a name, not a secret)
)


@dataclass(frozen=True)
class Config:
    """What the use-cases need from the settings (set by ``configure`` at start-up)."""

    allow_insecure: bool = False
    box: SecretBox = field(default_factory=SecretBox)


_config = Config()


def configure(*, allow_insecure: bool, secret_key: str | None) -> None:
    """Apply BILLCLASS_WEBHOOK_ALLOW_INSECURE and BILLCLASS_WEBHOOK_SECRET_KEY (the app
    and ``billclass dispatch`` call it at start-up)."""
    global _config
    _config = Config(allow_insecure=allow_insecure, box=SecretBox.of_setting(secret_key))


def config() -> Config:
    return _config


# --------------------------------------------------------------------------- outbox


async def record_change(
    conn: AsyncConnection,
    *,
    principal: Principal,
    action: str,
    object_type: str,
    object_key: int,
    object_id: str,
    tenant_id: int | None,
    changes: dict[str, Any],
    at: datetime,
    subject: Any = None,
) -> None:
    """The outbox row of one audited change, in the caller's transaction (see module).

    ``subject``: the changed class's row as the change left it (before it, for DELETE),
    for its version and sharing; other objects have no version column, so their version
    is the number of audit events recorded for them so far (this one included).
    """
    event_type = EVENT_TYPES.get((object_type, action))
    if event_type is None:
        return
    shared = False
    if subject is not None:
        version = int(subject.version) + (1 if action == "DELETE" else 0)
        shared = subject.tenant_id is None and (
            bool(subject.shared_with_resellers) or action == "UNSHARE"
        )
    else:
        count = sa.select(sa.func.count()).where(event_table.c.object_id == object_id)
        version = int((await conn.execute(visible(count, principal))).scalar_one())
    await conn.execute(
        webhook_event_table.insert().values(
            id=new_id(),
            tenant_id=tenant_id,
            shared=shared,
            at=at,
            event_type=event_type,
            action=action,
            object_id=object_id,
            object_type=object_type,
            version=version,
            actor_role=principal.role.value,
            actor_token_name=principal.token_name,
            actor_reseller_id=principal.reseller_id,
            changes=changes,
            fanned_out=False,
        )
    )


def payload_for(event: Any, subscription_tenant: int | None) -> dict[str, Any]:
    """The Standard Webhooks payload of ``event`` for a subscription of
    ``subscription_tenant``: what that tenant may see in ``auditEvents`` (a reseller reads
    "administrator" as the actor of changes it did not make)."""
    return {
        "type": event.event_type,
        "timestamp": _iso(event.at),
        "data": {
            "objectId": presented_object_id(event.object_type, event.object_id, event.tenant_id),
            "objectType": event.object_type,
            "version": event.version,
            "action": event.action,
            "changes": event.changes,
            "actor": {
                "role": event.actor_role,
                "tokenName": policy.actor_token_name(event, subscription_tenant),
            },
        },
    }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def shares_by_row_locks(conn: AsyncConnection) -> bool:
    """Whether dispatchers share the queue by row locks (``SKIP LOCKED``): on a single
    PostgreSQL node. SQLite has none, and Citus refuses a row lock across shards (the
    queue spans every tenant): there one dispatcher leads at a time (``lead``)."""
    return conn.dialect.name == "postgresql" and not is_distributed(conn)


async def fan_out(conn: AsyncConnection, now: datetime, *, limit: int = 200) -> int:
    """Turn up to ``limit`` outbox rows into deliveries (see module); returns how many
    rows were taken. PostgreSQL: rows another dispatcher holds are skipped (``SKIP
    LOCKED``), so dispatchers share the queue. Runs as the dispatcher (administrator)."""
    e = webhook_event_table.c
    statement = sa.select(webhook_event_table).where(e.fanned_out.is_(False))
    statement = statement.order_by(e.at, e.id).limit(limit)
    if shares_by_row_locks(conn):
        statement = statement.with_for_update(skip_locked=True)
    events = (await conn.execute(visible(statement, DISPATCHER))).all()
    if not events:
        return 0
    s = subscription_table.c
    subscriptions = (
        await conn.execute(visible(sa.select(subscription_table).where(s.active), DISPATCHER))
    ).all()
    rows: list[dict[str, Any]] = []
    for event in events:
        for sub in subscriptions:
            if (
                sub.created_at <= event.at
                and event.event_type in sub.events
                and policy.receives_event(sub.tenant_id, event.tenant_id, event.shared)
            ):
                rows.append(
                    {
                        "id": new_id(),
                        "tenant_id": sub.tenant_id,
                        "subscription_id": sub.id,
                        "webhook_event_id": event.id,
                        "event_id": "msg_" + secrets.token_hex(16),
                        "event_type": event.event_type,
                        "status": PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "window_started_at": now,
                        "next_attempt_at": now,
                        "payload": payload_for(event, sub.tenant_id),
                    }
                )
    if rows:
        await conn.execute(delivery_table.insert(), rows)
    done = (
        webhook_event_table.update()
        .where(e.id.in_([event.id for event in events]))
        .values(fanned_out=True)
    )
    await conn.execute(changeable(done, DISPATCHER))
    return len(events)


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt, with what sending it needs."""

    id: int
    subscription_id: int
    event_id: str
    url: str
    payload: dict[str, Any]
    secrets: tuple[str, ...]


async def claim_due(
    conn: AsyncConnection,
    now: datetime,
    *,
    lease: timedelta,
    free_slots: Callable[[int], int],
    limit: int = 100,
) -> tuple[list[Claimed], list[tuple[int, str]]]:
    """Take the deliveries due at ``now`` of active subscriptions, at most
    ``free_slots(subscription_id)`` per subscription, for one attempt each: their next
    attempt moves to ``now + lease``, so that a dispatcher that dies mid-attempt leaves
    them due again then (at least once). PostgreSQL: rows another dispatcher holds are
    skipped. Returns the claimed deliveries and, for those whose secret cannot be read,
    (delivery ID, reason) to record as failed attempts."""
    d, s = delivery_table.c, subscription_table.c
    statement = (
        sa.select(
            d.id,
            d.subscription_id,
            d.event_id,
            d.payload,
            s.url,
            s.secret,
            s.previous_secret,
            s.previous_secret_expires_at,
        )
        # With the tenant: a co-located join, which a distributed database runs shard by
        # shard (a delivery belongs to its subscription's tenant).
        .join(subscription_table, sa.and_(s.id == d.subscription_id, s.tenant_id == d.tenant_id))
        # DELIVERED and DEAD deliveries have no next attempt (ix_webhook_delivery_due).
        .where(d.next_attempt_at <= now, d.status.in_((PENDING, FAILED)), s.active)
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if shares_by_row_locks(conn):
        statement = statement.with_for_update(skip_locked=True, of=delivery_table)
    rows = (await conn.execute(visible(statement, DISPATCHER))).all()
    taken: dict[int, int] = {}
    claimed: list[Claimed] = []
    unreadable: list[tuple[int, str]] = []
    box = _config.box
    for row in rows:
        if taken.get(row.subscription_id, 0) >= free_slots(row.subscription_id):
            continue
        taken[row.subscription_id] = taken.get(row.subscription_id, 0) + 1
        try:
            keys = [box.open(row.secret, row.subscription_id)]
            if row.previous_secret is not None and (
                row.previous_secret_expires_at is not None and row.previous_secret_expires_at > now
            ):
                keys.append(box.open(row.previous_secret, row.subscription_id))
        except Exception as error:
            unreadable.append((row.id, str(error)))
            continue
        claimed.append(
            Claimed(row.id, row.subscription_id, row.event_id, row.url, row.payload, tuple(keys))
        )
    ids = [c.id for c in claimed] + [u[0] for u in unreadable]
    if ids:
        statement_lease = (
            delivery_table.update().where(d.id.in_(ids)).values(next_attempt_at=now + lease)
        )
        await conn.execute(changeable(statement_lease, DISPATCHER))
    return claimed, unreadable


def retry_delay(failed_attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """The wait after the ``failed_attempts``-th failed attempt: 5 s, 30 s, 2 min, 10 min,
    1 h, then 6 h, each scattered by up to 20 % either way (``rand`` in [0, 1))."""
    base = RETRY_DELAYS[min(failed_attempts, len(RETRY_DELAYS)) - 1]
    return timedelta(seconds=base * (1 - JITTER + 2 * JITTER * rand()))


async def record_attempt(
    conn: AsyncConnection,
    delivery_id: int,
    now: datetime,
    *,
    status_code: int | None,
    error: str | None,
    rand: Callable[[], float] = random.random,
) -> str | None:
    """Record one attempt of a claimed delivery (2xx: DELIVERED; otherwise FAILED with
    the next attempt, or DEAD once it would fall ``RETRY_WINDOW`` after the window
    started); keeps the subscription's run of failures, and deactivates it after
    ``DEACTIVATE_AFTER`` of failures (an UPDATE audit event by "dispatcher"). Returns the
    new status (None: the delivery or its subscription was deleted meanwhile)."""
    d, s = delivery_table.c, subscription_table.c
    row = (
        await conn.execute(
            visible(sa.select(delivery_table).where(d.id == delivery_id), DISPATCHER)
        )
    ).first()
    if row is None:
        return None
    attempts = row.attempts + 1
    delivered = status_code is not None and 200 <= status_code < 300
    next_at: datetime | None = None
    if delivered:
        status = DELIVERED
    else:
        next_at = now + retry_delay(attempts, rand)
        status = FAILED
        if next_at > row.window_started_at + RETRY_WINDOW:
            status, next_at = DEAD, None
    values = {
        "attempts": attempts,
        "status": status,
        "last_attempt_at": now,
        "next_attempt_at": next_at,
        "last_response_status": status_code,
        "last_error": None if error is None else error[:ERROR_MAX],
    }
    update = delivery_table.update().where(d.id == delivery_id).values(**values)
    await conn.execute(changeable(update, DISPATCHER))
    sub = (
        await conn.execute(
            visible(sa.select(subscription_table).where(s.id == row.subscription_id), DISPATCHER)
        )
    ).first()
    if sub is None:
        return None
    if delivered:
        if sub.failing_since is not None:
            await _set_subscription(conn, sub.id, failing_since=None)
        return status
    failing_since = sub.failing_since or now
    if sub.active and now - failing_since >= DEACTIVATE_AFTER:
        await _set_subscription(conn, sub.id, active=False, failing_since=failing_since)
        await _audit(
            conn,
            DISPATCHER,
            "UPDATE",
            sub,
            {
                "active": {"before": True, "after": False},
                "deactivatedAfterFailingSince": {"before": None, "after": _iso(failing_since)},
            },
        )
    elif sub.failing_since is None:
        await _set_subscription(conn, sub.id, failing_since=now)
    return status


async def record_delivered(
    conn: AsyncConnection, delivered: Sequence[tuple[int, int, int]], now: datetime
) -> None:
    """Record successful attempts in bulk: (delivery ID, subscription ID, 2xx status).
    The same as ``record_attempt`` for a 2xx answer, in one UPDATE per status code and
    one for the subscriptions' runs of failures, whatever their number."""
    d, s = delivery_table.c, subscription_table.c
    by_status: dict[int, list[int]] = {}
    for key, _subscription, status_code in delivered:
        by_status.setdefault(status_code, []).append(key)
    for status_code, keys in by_status.items():
        update = (
            delivery_table.update()
            .where(d.id.in_(keys))
            .values(
                attempts=d.attempts + 1,
                status=DELIVERED,
                last_attempt_at=now,
                next_attempt_at=None,
                last_response_status=status_code,
                last_error=None,
            )
        )
        await conn.execute(changeable(update, DISPATCHER))
    subscriptions = sorted({subscription for _key, subscription, _status in delivered})
    if subscriptions:
        recovered = (
            subscription_table.update()
            .where(s.id.in_(subscriptions), s.failing_since.is_not(None))
            .values(failing_since=None)
        )
        await conn.execute(changeable(recovered, DISPATCHER))


async def _set_subscription(conn: AsyncConnection, key: int, **values: Any) -> None:
    update = subscription_table.update().where(subscription_table.c.id == key).values(**values)
    await conn.execute(changeable(update, DISPATCHER))


async def lead(conn: AsyncConnection, holder: str, now: datetime, term: timedelta) -> bool:
    """SQLite and Citus (``shares_by_row_locks`` false): whether ``holder`` leads the
    dispatchers until ``now + term`` (taking the lead when it is free or expired). One
    leader at a time: on SQLite the transaction is a write transaction (BEGIN IMMEDIATE),
    on Citus the decision is taken under an advisory lock, so two cannot both take it."""
    await serialise(conn, Limit.DISPATCHER_LEAD, None)
    c = lease_table.c
    current = (await conn.execute(sa.select(lease_table).where(c.name == "leader"))).first()
    if current is None:
        await conn.execute(
            lease_table.insert().values(name="leader", holder=holder, expires_at=now + term)
        )
        return True
    if current.holder != holder and current.expires_at > now:
        return False
    if current.holder == holder and current.expires_at - now > term / 2:
        # Renewed only when half the term is gone: an idle leader writes nothing, so
        # it never invalidates another transaction's read snapshot on SQLite.
        return True
    await conn.execute(
        lease_table.update().where(c.name == "leader").values(holder=holder, expires_at=now + term)
    )
    return True


async def resign(conn: AsyncConnection, holder: str) -> None:
    """SQLite and Citus: give up the lead (a dispatcher stopping), so the next one leads
    at once."""
    c = lease_table.c
    await conn.execute(lease_table.delete().where(c.name == "leader", c.holder == holder))


# --------------------------------------------------------------------------- URLs


def url_problem(raw: object, *, allow_insecure: bool) -> tuple[str | None, tuple[Code, str] | None]:
    """A subscription URL: absolute https (http too when insecure endpoints are allowed),
    a host, no user or password, at most 2,048 characters; an IP address literal must be
    public (loopback too when insecure). Host names are checked when delivering (every
    address they resolve to: DNS can change)."""
    if not isinstance(raw, str) or not raw.strip():
        return None, (Code.REQUIRED, "url is required.")
    url = raw.strip()
    if len(url) > URL_MAX:
        return None, (Code.TOO_LONG, f"url must be at most {URL_MAX} characters.")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None, (Code.INVALID, "url must be an absolute https URL.")
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        return None, (Code.INVALID, "url must be an absolute https URL.")
    if parts.username is not None or parts.password is not None:
        return None, (Code.INVALID, "url must not carry a user or password.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None, (Code.INVALID, "url must not contain spaces or control characters.")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and address_refused(literal, allow_insecure=allow_insecure):
        return None, (Code.INVALID, "url must not point to a private or reserved address.")
    if (
        literal is None
        and parts.hostname.lower() in ("localhost", "localhost.")
        and not (allow_insecure)
    ):
        return None, (Code.INVALID, "url must not point to a private or reserved address.")
    return url, None


def address_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_insecure: bool
) -> bool:
    """SSRF rule: whether a delivery may not connect to ``address``: loopback (allowed
    when insecure endpoints are), private, link-local (the cloud metadata address
    169.254.169.254 among them), multicast, reserved, shared (100.64/10) or unspecified:
    anything that is not a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return not allow_insecure
    return address.is_multicast or not address.is_global


# --------------------------------------------------------------------------- reads


def _own(principal: Principal) -> Any:
    owner = policy.subscription_owner(principal)
    c = subscription_table.c
    return tenant_is(c.tenant_id, owner)


async def list_subscriptions(conn: AsyncConnection, principal: Principal) -> Sequence[Any]:
    """The caller's tenant's subscriptions (at most 10), oldest first. Administrators
    reach other tenants' subscriptions by ID (``node``), not here."""
    c = subscription_table.c
    statement = sa.select(subscription_table).where(_own(principal)).order_by(c.created_at, c.id)
    return (await conn.execute(visible(statement, principal))).all()


async def visible_subscriptions(
    conn: AsyncConnection, principal: Principal, keys: Iterable[int]
) -> dict[int, Row[Any]]:
    """The subscriptions among ``keys`` the caller may see, by key. No lock."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    statement = sa.select(subscription_table).where(subscription_table.c.id.in_(wanted))
    return {row.id: row for row in await conn.execute(visible(statement, principal))}


async def visible_deliveries(
    conn: AsyncConnection, principal: Principal, keys: Iterable[int]
) -> dict[int, Row[Any]]:
    """The deliveries among ``keys`` the caller may see, by key. No lock."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    statement = sa.select(delivery_table).where(delivery_table.c.id.in_(wanted))
    return {row.id: row for row in await conn.execute(visible(statement, principal))}


def _delivery_clauses(subscription_key: int, status: str | None) -> list[Any]:
    d = delivery_table.c
    clauses: list[Any] = [d.subscription_id == subscription_key]
    if status is not None:
        clauses.append(d.status == status)
    return clauses


async def list_deliveries(
    conn: AsyncConnection,
    principal: Principal,
    subscription_key: int,
    *,
    status: str | None,
    first: int,
    after: str | None,
) -> pagination.Page:
    """One keyset page of a visible subscription's deliveries, newest first, optionally
    of one status. A cursor of another subscription or status is BAD_USER_INPUT."""
    d = delivery_table.c
    statement = (
        sa.select(delivery_table)
        .add_columns(d.created_at.label("sort_value"))
        .where(*_delivery_clauses(subscription_key, status))
    )
    return await pagination.keyset_page(
        conn,
        visible(statement, principal),
        sort=d.created_at,
        key=d.id,
        sort_attr="sort_value",
        mark=pagination.order_mark(
            "WebhookDelivery",
            "CREATED_AT",
            "DESC",
            pagination.fingerprint(
                "deliveries", {"subscription": subscription_key, "status": status}
            ),
        ),
        value_type=datetime,
        ascending=False,
        first=first,
        after=after,
    )


async def count_deliveries(
    conn: AsyncConnection, principal: Principal, subscription_key: int, status: str | None
) -> int:
    statement = sa.select(sa.func.count()).select_from(delivery_table)
    statement = statement.where(*_delivery_clauses(subscription_key, status))
    return int((await conn.execute(visible(statement, principal))).scalar_one())


# --------------------------------------------------------------------------- mutations


def _check_events(errors: ErrorList, raw: object, *, required: bool) -> list[str] | None:
    if raw is None:
        if required:
            errors.add(Code.REQUIRED, ("events",), "events is required.")
        return None
    events = list(dict.fromkeys(str(e) for e in raw))  # type: ignore[attr-defined]
    if not events:
        errors.add(Code.REQUIRED, ("events",), "Subscribe to at least one event type.")
        return None
    return events


def _check_url(errors: ErrorList, raw: object) -> str | None:
    url, problem = url_problem(raw, allow_insecure=_config.allow_insecure)
    if problem:
        errors.add(problem[0], ("url",), problem[1])
    return url


def _check_description(errors: ErrorList, raw: object) -> str | None:
    text, problem = fields.check_text(raw, DESCRIPTION_MAX, "description", strip=True)
    if problem:
        errors.add(problem[0], ("description",), problem[1])
    return text


def _snapshot(row: Any) -> dict[str, Any]:
    """The audited fields of a subscription (never its secret)."""
    return {
        "url": row.url,
        "events": list(row.events),
        "active": row.active,
        "description": row.description,
    }


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
    )


async def create_webhook_subscription(
    conn: AsyncConnection, *, principal: Principal, data: CreateWebhookSubscription
) -> tuple[Row[Any], str]:
    """Subscribe the caller's tenant (``createWebhookSubscription``); returns the row and
    the signing secret (shown only here and by rotation).

    Errors, all at once: ``url`` REQUIRED, TOO_LONG or INVALID (see ``url_problem``);
    ``events`` REQUIRED (empty); ``description`` TOO_LONG or INVALID; OUT_OF_RANGE on the
    input when the tenant has 10 subscriptions already.
    Side effects: takes the tenant's subscription-limit lock; inserts; CREATE event.
    """
    errors = ErrorList()
    url = _check_url(errors, data.get("url"))
    events = _check_events(errors, data.get("events"), required=True)
    description = _check_description(errors, data.get("description"))
    owner = policy.subscription_owner(principal)
    await serialise(conn, Limit.WEBHOOK_SUBSCRIPTIONS, owner)
    count = sa.select(sa.func.count()).select_from(subscription_table).where(_own(principal))
    if (await conn.execute(visible(count, principal))).scalar_one() >= (
        maxima.WEBHOOK_SUBSCRIPTIONS_PER_TENANT
    ):
        errors.add(
            Code.OUT_OF_RANGE,
            (),
            f"A tenant has at most {maxima.WEBHOOK_SUBSCRIPTIONS_PER_TENANT} webhook"
            " subscriptions: delete one first.",
        )
    errors.raise_if_any()
    key, secret, now = new_id(), new_secret(), utcnow()
    await conn.execute(
        subscription_table.insert().values(
            id=key,
            tenant_id=owner,
            url=url,
            events=events,
            active=True,
            description=description,
            secret=_config.box.seal(secret, key),
            created_at=now,
            updated_at=now,
        )
    )
    row = (await visible_subscriptions(conn, principal, [key]))[key]
    await _audit(
        conn,
        principal,
        "CREATE",
        row,
        {name: {"before": None, "after": value} for name, value in _snapshot(row).items()},
    )
    return row, secret


async def _changeable_subscription(
    conn: AsyncConnection, principal: Principal, raw_id: object
) -> Row[Any]:
    key = decode(raw_id, TYPE)
    row = None
    if key is not None:
        c = subscription_table.c
        statement = sa.select(subscription_table).where(c.id == key)
        routed = await in_its_shard(conn, principal, statement, subscription_table, key)
        if routed is not None:
            row = (await conn.execute(visible(routed.with_for_update(), principal))).first()
    if row is None:
        raise refusal(Code.NOT_FOUND, ("id",), "No webhook subscription has this ID.")
    return row


async def update_webhook_subscription(
    conn: AsyncConnection, *, principal: Principal, data: UpdateWebhookSubscription
) -> Row[Any]:
    """Change a subscription's url, events, active or description
    (``updateWebhookSubscription``); omitted or null fields stay (description: null or
    blank clears it). NOT_FOUND on ``id``; then the checks of create. Reactivating it
    forgets its run of failures. An UPDATE event lists what changed (none: nothing)."""
    row = await _changeable_subscription(conn, principal, data.get("id"))
    errors = ErrorList()
    values: dict[str, Any] = {}
    if data.get("url") is not None:
        values["url"] = _check_url(errors, data.get("url"))
    events = _check_events(errors, data.get("events"), required=False)
    if events is not None:
        values["events"] = events
    if data.get("active") is not None:
        values["active"] = bool(data.get("active"))
    if "description" in data:
        values["description"] = _check_description(errors, data.get("description"))
    errors.raise_if_any()
    before = _snapshot(row)
    changes = {
        name: {"before": before[name], "after": value}
        for name, value in values.items()
        if before[name] != value
    }
    if not changes:
        return row
    if values.get("active") and not row.active:
        values["failing_since"] = None
    update = (
        subscription_table.update()
        .where(subscription_table.c.id == row.id)
        .values(updated_at=utcnow(), **values)
    )
    await conn.execute(changeable(update, principal))
    after = (await visible_subscriptions(conn, principal, [row.id]))[row.id]
    await _audit(conn, principal, "UPDATE", after, changes)
    return after


async def delete_webhook_subscription(
    conn: AsyncConnection, *, principal: Principal, data: DeleteWebhookSubscription
) -> Row[Any]:
    """Delete a subscription and its deliveries (``deleteWebhookSubscription``); returns
    its last row. NOT_FOUND on ``id``. A DELETE event with its last state."""
    row = await _changeable_subscription(conn, principal, data.get("id"))
    deliveries = delivery_table.delete().where(delivery_table.c.subscription_id == row.id)
    await conn.execute(changeable(deliveries, principal))
    statement = subscription_table.delete().where(subscription_table.c.id == row.id)
    await conn.execute(changeable(statement, principal))
    await _audit(
        conn,
        principal,
        "DELETE",
        row,
        {name: {"before": value, "after": None} for name, value in _snapshot(row).items()},
    )
    return row


async def rotate_webhook_secret(
    conn: AsyncConnection, *, principal: Principal, data: RotateWebhookSecret
) -> tuple[Row[Any], str]:
    """A new signing secret (``rotateWebhookSecret``); the current one keeps signing too
    (a second signature) for 24 hours. NOT_FOUND on ``id``. An UPDATE event notes the
    rotation, never a secret."""
    row = await _changeable_subscription(conn, principal, data.get("id"))
    secret, now = new_secret(), utcnow()
    update = (
        subscription_table.update()
        .where(subscription_table.c.id == row.id)
        .values(
            secret=_config.box.seal(secret, row.id),
            previous_secret=row.secret,
            previous_secret_expires_at=now + ROTATION_OVERLAP,
            updated_at=now,
        )
    )
    await conn.execute(changeable(update, principal))
    after = (await visible_subscriptions(conn, principal, [row.id]))[row.id]
    await _audit(
        conn,
        principal,
        "UPDATE",
        after,
        {"secretRotatedAt": {"before": None, "after": _iso(now)}},
    )
    return after, secret


async def redeliver_webhook(
    conn: AsyncConnection, *, principal: Principal, data: RedeliverWebhook
) -> Row[Any]:
    """Queue a new attempt of a delivery, now, with the same ``eventId``
    (``redeliverWebhook``), whatever its status; its retries run for 3 days from now.
    NOT_FOUND on ``deliveryId``. Not audited (nothing of the subscription changes)."""
    key = decode(data.get("deliveryId"), DELIVERY_TYPE)
    row = None
    if key is not None:
        statement = sa.select(delivery_table).where(delivery_table.c.id == key)
        routed = await in_its_shard(conn, principal, statement, delivery_table, key)
        if routed is not None:
            row = (await conn.execute(visible(routed.with_for_update(), principal))).first()
    if row is None:
        raise refusal(Code.NOT_FOUND, ("deliveryId",), "No webhook delivery has this ID.")
    now = utcnow()
    update = (
        delivery_table.update()
        .where(delivery_table.c.id == row.id)
        .values(status=PENDING, next_attempt_at=now, window_started_at=now)
    )
    await conn.execute(changeable(update, principal))
    return (await visible_deliveries(conn, principal, [row.id]))[row.id]


def subscription_global_id(key: int) -> str:
    return to_global_id(TYPE, key)
