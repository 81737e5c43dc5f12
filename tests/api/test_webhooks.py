"""Change events (issue 12): subscriptions over the API, tenancy from every side, the
transactional outbox, and delivery to a real receiver verifying Standard Webhooks
signatures (the dispatcher run in process, on a clock the tests move)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import make_engine
from db.models import subscription_table, webhook_event_table
from db.settings import Settings
from gql.webhooks.dispatcher import Dispatcher
from tenancy import customer_classes, webhooks
from tenancy.principal import CLI
from tenancy.scoping import install_guard, visible
from tests.api.protection_support import app_with
from tests.api_client import Api, World
from tests.support.cli import run_as_cli
from tests.support.errors import errors_of
from tests.support.webhooks import ALL_EVENTS, Clock, Receiver, dispatch, receiving, subscribe

SUBSCRIPTION = "id url events active description createdAt"
DELIVERY = (
    "id eventId eventType status attempts lastAttemptAt nextAttemptAt lastResponseStatus"
    " lastError payload"
)
DELIVERIES = (
    "query($id: ID!, $status: WebhookDeliveryStatus, $after: String, $first: Int!) {"
    " node(id: $id) { ... on WebhookSubscription { deliveries(first: $first, after: $after,"
    f" status: $status) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {DELIVERY} }}"
    " } } } }"
)
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on WebhookSubscription {{ {SUBSCRIPTION} }} }} }}"
LIST = f"{{ webhookSubscriptions {{ {SUBSCRIPTION} }} }}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Receivers in tests listen on 127.0.0.1 over http."""
    return Settings(database_url=database_url, webhook_allow_insecure=True)


def deliveries(
    api: Api, subscription_id: str, token: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    found = api.data(DELIVERIES, {"id": subscription_id, "status": status, "first": 100}, token)[
        "node"
    ]
    assert found is not None
    nodes: list[dict[str, Any]] = found["deliveries"]["nodes"]
    return nodes


def outbox_rows(settings: Settings) -> list[Any]:
    async def read(conn: AsyncConnection) -> list[Any]:
        # Oldest first: without an order, a distributed database answers shard by shard.
        c = webhook_event_table.c
        statement = sa.select(webhook_event_table).order_by(c.at, c.id)
        return list((await conn.execute(visible(statement, CLI))).all())

    return run_as_cli(settings, read)


# --------------------------------------------------------------------------- subscriptions


def test_create_returns_the_secret_once_and_audits_without_it(api: Api, world: World) -> None:
    with receiving() as receiver:
        payload = api.ok(
            "createWebhookSubscription",
            {"url": receiver.url, "events": ["CUSTOMER_CREATED"], "description": " CRM "},
            world.a.token,
            f"secret webhookSubscription {{ {SUBSCRIPTION} }}",
        )
    secret = payload["secret"]
    assert secret.startswith("whsec_")
    sub = payload["webhookSubscription"]
    assert sub["url"] == receiver.url
    assert sub["events"] == ["CUSTOMER_CREATED"]
    assert sub["active"] is True
    assert sub["description"] == "CRM"
    listed = api.data(LIST, token=world.a.token)["webhookSubscriptions"]
    assert listed == [sub]
    updated = api.ok(
        "updateWebhookSubscription",
        {"id": sub["id"], "active": False},
        world.a.token,
        "secret webhookSubscription { active }",
    )
    assert updated["secret"] is None
    assert updated["webhookSubscription"]["active"] is False
    events = api.data(
        "query($id: ID) { auditEvents(objectId: $id) { nodes { action changes } } }",
        {"id": sub["id"]},
        world.a.token,
    )["auditEvents"]["nodes"]
    assert [e["action"] for e in events] == ["UPDATE", "CREATE"]
    assert events[1]["changes"]["url"] == {"before": None, "after": receiver.url}
    assert events[0]["changes"] == {"active": {"before": True, "after": False}}
    assert secret not in str(events)
    assert secret[len("whsec_") :] not in str(events)


def test_the_secret_is_stored_encrypted_with_a_key(settings: Settings, api: Api) -> None:
    webhooks.configure(allow_insecure=True, secret_key="A" * 43 + "=")
    try:
        _sub_id, secret = subscribe(api, "http://127.0.0.1:9/hook")
    finally:
        webhooks.configure(allow_insecure=True, secret_key=None)

    async def stored(conn: AsyncConnection) -> str:
        statement = sa.select(subscription_table.c.secret)
        value: str = (await conn.execute(visible(statement, CLI))).scalar_one()
        return value

    value = run_as_cli(settings, stored)
    assert value.startswith("v1:")
    assert secret not in value and secret[len("whsec_") :] not in value


def test_bad_input_is_refused_with_paths(api: Api) -> None:
    payload = api.mutate(
        "createWebhookSubscription",
        {"url": "ftp://example.com/x", "events": [], "description": "x" * 501},
        selection="secret webhookSubscription { id }",
    )
    assert payload["webhookSubscription"] is None and payload["secret"] is None
    assert errors_of(payload) == [
        ("INVALID", ["input", "url"]),
        ("REQUIRED", ["input", "events"]),
        ("TOO_LONG", ["input", "description"]),
    ]
    assert api.data(LIST)["webhookSubscriptions"] == []


def test_ten_subscriptions_per_tenant(api: Api, world: World) -> None:
    for n in range(10):
        subscribe(api, f"http://127.0.0.1:9/{n}", world.a.token)
    payload = api.mutate(
        "createWebhookSubscription",
        {"url": "http://127.0.0.1:9/11", "events": ALL_EVENTS},
        world.a.token,
        "webhookSubscription { id }",
    )
    assert errors_of(payload) == [("OUT_OF_RANGE", ["input"])]
    # Another tenant's count is its own.
    subscribe(api, "http://127.0.0.1:9/b", world.b.token)
    subscribe(api, "http://127.0.0.1:9/admin")
    assert len(api.data(LIST, token=world.a.token)["webhookSubscriptions"]) == 10


def test_subscriptions_from_every_side(api: Api, world: World) -> None:
    """The owner and the administrator see and change it; another reseller cannot tell
    it from a nonexistent one."""
    sub_id, _ = subscribe(api, "http://127.0.0.1:9/a", world.a.token)
    admin_sub, _ = subscribe(api, "http://127.0.0.1:9/admin")
    assert api.data(NODE, {"id": sub_id}, world.a.token)["node"]["id"] == sub_id
    assert api.data(NODE, {"id": sub_id})["node"]["id"] == sub_id
    assert api.data(NODE, {"id": sub_id}, world.b.token)["node"] is None
    assert api.data(NODE, {"id": admin_sub}, world.a.token)["node"] is None
    nodes = api.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [sub_id, admin_sub]},
        world.b.token,
    )["nodes"]
    assert nodes == [None, None]
    # Each tenant lists its own only (the administrator too).
    assert [s["id"] for s in api.data(LIST)["webhookSubscriptions"]] == [admin_sub]
    assert api.data(LIST, token=world.b.token)["webhookSubscriptions"] == []
    for name, input_ in (
        ("updateWebhookSubscription", {"id": sub_id, "active": False}),
        ("rotateWebhookSecret", {"id": sub_id}),
        ("deleteWebhookSubscription", {"id": sub_id}),
    ):
        refused = api.mutate(name, input_, world.b.token, "secret webhookSubscription { id }")
        assert errors_of(refused) == [("NOT_FOUND", ["input", "id"])]
        assert refused["secret"] is None
    undecodable = api.mutate(
        "deleteWebhookSubscription",
        {"id": world.a.class_id},
        world.a.token,
        "webhookSubscription { id }",
    )
    assert errors_of(undecodable) == [("NOT_FOUND", ["input", "id"])]
    # The administrator changes a reseller's subscription; the owner deletes it.
    api.ok("updateWebhookSubscription", {"id": sub_id, "description": "by admin"})
    assert api.data(NODE, {"id": sub_id}, world.a.token)["node"]["description"] == "by admin"
    api.ok("deleteWebhookSubscription", {"id": sub_id}, world.a.token)
    assert api.data(NODE, {"id": sub_id})["node"] is None


# --------------------------------------------------------------------------- outbox


def test_refused_and_rolled_back_changes_write_no_event(
    settings: Settings, api: Api, world: World
) -> None:
    before = len(outbox_rows(settings))
    refused = api.mutate(
        "updateCustomerClass",
        {"id": world.admin_class_id, "name": "x"},
        world.a.token,
        "customerClass { id }",
    )
    assert errors_of(refused) == [("NOT_FOUND", ["input", "id"])]
    assert len(outbox_rows(settings)) == before

    async def rolled_back(conn: AsyncConnection) -> None:
        savepoint = await conn.begin_nested()
        await customer_classes.create_customer_class(
            conn, principal=CLI, data={"name": "Rolled back"}
        )
        await savepoint.rollback()

    run_as_cli(settings, rolled_back)
    assert len(outbox_rows(settings)) == before
    api.ok("updateCustomerClass", {"id": world.admin_class_id, "name": "Renamed"})
    rows = outbox_rows(settings)
    assert len(rows) == before + 1
    assert rows[-1].event_type == "CUSTOMER_CLASS_UPDATED"


def test_delivery_is_signed_and_carries_the_audit_diff(
    settings: Settings, api: Api, world: World
) -> None:
    with receiving() as receiver:
        sub_id, secret = subscribe(api, receiver.url)
        receiver.secrets = [secret]
        class_id = api.create_class(name="Hooked", currencyCode="USD")
        api.ok("updateCustomerClass", {"id": class_id, "description": "now"})
        dispatch(settings)
    assert len(receiver.received) == 2
    assert all(r.verified for r in receiver.received)
    created, updated = sorted(receiver.received, key=lambda r: r.payload["data"]["version"])
    assert created.payload["type"] == "CUSTOMER_CLASS_CREATED"
    assert updated.payload == {
        "type": "CUSTOMER_CLASS_UPDATED",
        "timestamp": updated.payload["timestamp"],
        "data": {
            "objectId": class_id,
            "objectType": "CustomerClass",
            "version": 2,
            "action": "UPDATE",
            "changes": {"description": {"before": None, "after": "now"}},
            "actor": {"role": "ADMINISTRATOR", "tokenName": "root"},
        },
    }
    assert created.payload["data"]["version"] == 1
    assert updated.signature.startswith("v1,") and " " not in updated.signature
    # The delivery as the API shows it: its eventId is the webhook-id.
    shown = {d["eventId"]: d for d in deliveries(api, sub_id)}
    assert set(shown) == {r.webhook_id for r in receiver.received}
    assert {d["status"] for d in shown.values()} == {"DELIVERED"}
    assert shown[updated.webhook_id]["payload"] == updated.payload
    assert shown[updated.webhook_id]["lastResponseStatus"] == 200
    assert shown[updated.webhook_id]["attempts"] == 1


def test_each_tenant_hears_only_what_it_may_see(settings: Settings, api: Api, world: World) -> None:
    with receiving() as admin, receiving() as a, receiving() as b:
        for receiver, token in ((admin, None), (a, world.a.token), (b, world.b.token)):
            receiver.secrets = [subscribe(api, receiver.url, token)[1]]
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "A's"}, world.a.token)
        api.ok("updateCustomerClass", {"id": world.b.class_id, "description": "B's"}, world.b.token)
        api.ok("updateCustomerClass", {"id": world.shared_class_id, "description": "shared"})
        api.ok("updateCustomerClass", {"id": world.admin_class_id, "description": "private"})
        customer = api.create_customer(
            world.a.token, name="A's new", customerClassId=world.a.class_id
        )
        dispatch(settings)

    def seen(receiver: Receiver) -> set[tuple[str, str]]:
        assert all(r.verified for r in receiver.received)
        return {(r.payload["type"], r.payload["data"]["objectId"]) for r in receiver.received}

    updated = "CUSTOMER_CLASS_UPDATED"
    assert seen(admin) == {
        (updated, world.a.class_id),
        (updated, world.b.class_id),
        (updated, world.shared_class_id),
        (updated, world.admin_class_id),
        ("CUSTOMER_CREATED", customer),
    }
    assert seen(a) == {
        (updated, world.a.class_id),
        (updated, world.shared_class_id),
        ("CUSTOMER_CREATED", customer),
    }
    assert seen(b) == {(updated, world.b.class_id), (updated, world.shared_class_id)}
    # The same masking as auditEvents: a reseller reads "administrator" for changes it
    # did not make; the administrator reads the token's name.
    shared_for_a = next(
        r for r in a.received if r.payload["data"]["objectId"] == world.shared_class_id
    )
    assert shared_for_a.payload["data"]["actor"] == {
        "role": "ADMINISTRATOR",
        "tokenName": "administrator",
    }
    own_for_a = next(r for r in a.received if r.payload["data"]["objectId"] == world.a.class_id)
    assert own_for_a.payload["data"]["actor"] == {
        "role": "RESELLER",
        "tokenName": "Reseller A token",
    }
    a_for_admin = next(
        r for r in admin.received if r.payload["data"]["objectId"] == world.a.class_id
    )
    assert a_for_admin.payload["data"]["actor"]["tokenName"] == "Reseller A token"


def test_sharing_changes_reach_resellers_both_ways(
    settings: Settings, api: Api, world: World
) -> None:
    with receiving() as a:
        a.secrets = [subscribe(api, a.url, world.a.token, ["CUSTOMER_CLASS_SHARING_CHANGED"])[1]]
        sharing = {"id": world.admin_class_id, "shared": True}
        api.ok("setCustomerClassSharing", sharing, selection="customerClass { id }")
        api.ok(
            "setCustomerClassSharing",
            {**sharing, "shared": False},
            selection="customerClass { id }",
        )
        api.ok("updateCustomerClass", {"id": world.admin_class_id, "description": "private again"})
        dispatch(settings)
    changes = [r.payload["data"]["changes"]["sharedWithResellers"] for r in a.received]
    assert sorted(c["after"] for c in changes) == [False, True]
    assert all(r.payload["type"] == "CUSTOMER_CLASS_SHARING_CHANGED" for r in a.received)


def test_a_subscription_receives_only_its_event_types_and_later_changes(
    settings: Settings, api: Api, world: World
) -> None:
    api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "before"}, world.a.token)
    with receiving() as a:
        a.secrets = [subscribe(api, a.url, world.a.token, ["CUSTOMER_CREATED"])[1]]
        api.ok(
            "updateCustomerClass", {"id": world.a.class_id, "description": "after"}, world.a.token
        )
        customer = api.create_customer(
            world.a.token, name="Later", customerClassId=world.a.class_id
        )
        dispatch(settings)
    assert [(r.payload["type"], r.payload["data"]["objectId"]) for r in a.received] == [
        ("CUSTOMER_CREATED", customer)
    ]


# --------------------------------------------------------------------------- retries


def test_a_failing_receiver_is_retried_until_it_recovers(
    settings: Settings, api: Api, world: World
) -> None:
    clock = Clock()
    with receiving() as receiver:
        sub_id, secret = subscribe(api, receiver.url, world.a.token)
        receiver.secrets = [secret]
        receiver.statuses = [500, 503]
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "x"}, world.a.token)
        dispatch(settings, clock)
        [failed] = deliveries(api, sub_id, world.a.token)
        assert failed["status"] == "FAILED"
        assert failed["attempts"] == 1
        assert failed["lastResponseStatus"] == 500
        assert failed["lastError"] == "HTTP 500"
        # About 5 s later (the jitter is pinned to its middle here).
        dispatch(settings, clock)
        assert len(receiver.received) == 1
        clock.advance(seconds=5)
        dispatch(settings, clock)
        clock.advance(seconds=30)
        dispatch(settings, clock)
    [delivered] = deliveries(api, sub_id, world.a.token)
    assert delivered["status"] == "DELIVERED"
    assert delivered["attempts"] == 3
    assert delivered["nextAttemptAt"] is None
    assert len(receiver.received) == 3
    assert {r.webhook_id for r in receiver.received} == {delivered["eventId"]}
    assert all(r.verified for r in receiver.received)


def test_retry_schedule() -> None:
    middle = [webhooks.retry_delay(n, lambda: 0.5).total_seconds() for n in range(1, 9)]
    assert middle == [5, 30, 120, 600, 3600, 21600, 21600, 21600]
    assert webhooks.retry_delay(1, lambda: 0.0).total_seconds() == pytest.approx(4)
    assert webhooks.retry_delay(1, lambda: 0.999999).total_seconds() == pytest.approx(6)


def test_dead_after_three_days_then_deactivated_after_five(
    settings: Settings, api: Api, world: World
) -> None:
    clock = Clock()
    with receiving() as receiver:
        sub_id, secret = subscribe(api, receiver.url, world.a.token)
        receiver.statuses = [500] * 1000
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "1"}, world.a.token)
        for _ in range(30):
            dispatch(settings, clock)
            clock.advance(hours=6, minutes=1)
            if deliveries(api, sub_id, world.a.token)[0]["status"] == "DEAD":
                break
        [dead] = deliveries(api, sub_id, world.a.token)
        assert dead["status"] == "DEAD"
        assert dead["nextAttemptAt"] is None
        assert dead["attempts"] == len(receiver.received)
        assert api.data(NODE, {"id": sub_id}, world.a.token)["node"]["active"] is True
        # Still failing on the fifth day: the subscription is switched off, and says so.
        clock.advance(days=2)
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "2"}, world.a.token)
        dispatch(settings, clock)
    assert api.data(NODE, {"id": sub_id}, world.a.token)["node"]["active"] is False
    event = api.data(
        "query($id: ID) { auditEvents(objectId: $id) { nodes { action actorTokenName changes } } }",
        {"id": sub_id},
    )["auditEvents"]["nodes"][0]
    assert event["action"] == "UPDATE"
    assert event["actorTokenName"] == "dispatcher"
    assert event["changes"]["active"] == {"before": True, "after": False}
    # Reactivated by its owner: the pending delivery goes out again.
    clock.advance(seconds=10)
    with receiving() as receiver:
        receiver.secrets = [secret]
        api.ok(
            "updateWebhookSubscription",
            {"id": sub_id, "url": receiver.url, "active": True},
            world.a.token,
        )
        dispatch(settings, clock)
    assert [r.payload["data"]["changes"]["description"]["after"] for r in receiver.verified] == [
        "2"
    ]


def test_redeliver_queues_the_same_event_again(settings: Settings, api: Api, world: World) -> None:
    with receiving() as receiver:
        sub_id, secret = subscribe(api, receiver.url, world.a.token)
        receiver.secrets = [secret]
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "x"}, world.a.token)
        dispatch(settings)
        [done] = deliveries(api, sub_id, world.a.token)
        for token in (world.b.token,):
            refused = api.mutate(
                "redeliverWebhook", {"deliveryId": done["id"]}, token, "delivery { id }"
            )
            assert errors_of(refused) == [("NOT_FOUND", ["input", "deliveryId"])]
        payload = api.ok(
            "redeliverWebhook",
            {"deliveryId": done["id"]},
            world.a.token,
            f"delivery {{ {DELIVERY} }}",
        )
        assert payload["delivery"]["status"] == "PENDING"
        assert payload["delivery"]["eventId"] == done["eventId"]
        dispatch(settings)
    assert [r.webhook_id for r in receiver.verified] == [done["eventId"], done["eventId"]]
    [again] = deliveries(api, sub_id, world.a.token)
    assert again["status"] == "DELIVERED" and again["attempts"] == 2
    assert (
        api.data("query($id: ID!) { node(id: $id) { id } }", {"id": done["id"]}, world.b.token)[
            "node"
        ]
        is None
    )
    assert api.data("query($id: ID!) { node(id: $id) { id } }", {"id": done["id"]})["node"] == {
        "id": done["id"]
    }


def test_rotation_signs_with_both_secrets_for_a_day(
    settings: Settings, api: Api, world: World
) -> None:
    clock = Clock()
    with receiving() as old_side, receiving() as new_side:
        sub_id, old = subscribe(api, old_side.url, world.a.token)
        rotated = api.ok("rotateWebhookSecret", {"id": sub_id}, world.a.token, "secret")
        new = rotated["secret"]
        assert new.startswith("whsec_") and new != old
        old_side.secrets, new_side.secrets = [old], [new]
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "1"}, world.a.token)
        dispatch(settings, clock)
        api.ok("updateWebhookSubscription", {"id": sub_id, "url": new_side.url}, world.a.token)
        clock.advance(hours=25)
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "2"}, world.a.token)
        dispatch(settings, clock)
    [first] = old_side.received
    assert first.verified  # the old secret still verifies during the day
    assert len(first.signature.split(" ")) == 2
    assert new_side.verify(
        orjson.dumps(first.payload),
        {
            "webhook-id": first.webhook_id,
            "webhook-timestamp": first.timestamp,
            "webhook-signature": first.signature,
        },
    )
    [second] = new_side.received
    assert second.verified and len(second.signature.split(" ")) == 1


def test_deliveries_page_and_filter(settings: Settings, api: Api, world: World) -> None:
    with receiving() as receiver:
        sub_id, _secret = subscribe(api, receiver.url, world.a.token)
        receiver.statuses = [200, 200, 500]
        for n in range(3):
            api.ok(
                "updateCustomerClass",
                {"id": world.a.class_id, "description": str(n)},
                world.a.token,
            )
        dispatch(settings)
    all_ = deliveries(api, sub_id, world.a.token)
    assert len(all_) == 3
    assert len(deliveries(api, sub_id, world.a.token, "DELIVERED")) == 2
    assert len(deliveries(api, sub_id, world.a.token, "FAILED")) == 1
    page = api.data(
        DELIVERIES, {"id": sub_id, "first": 2, "status": None, "after": None}, world.a.token
    )
    connection = page["node"]["deliveries"]
    assert connection["totalCount"] == 3 and connection["pageInfo"]["hasNextPage"] is True
    rest = api.data(
        DELIVERIES,
        {"id": sub_id, "first": 2, "status": None, "after": connection["pageInfo"]["endCursor"]},
        world.a.token,
    )["node"]["deliveries"]
    assert [d["id"] for d in connection["nodes"] + rest["nodes"]] == [d["id"] for d in all_]
    assert (
        api.error_code(
            DELIVERIES,
            {
                "id": sub_id,
                "first": 2,
                "status": "DEAD",
                "after": connection["pageInfo"]["endCursor"],
            },
            world.a.token,
        )
        == "BAD_USER_INPUT"
    )


def test_refused_address_is_checked_at_delivery(settings: Settings, api: Api, world: World) -> None:
    """A URL accepted while insecure endpoints were allowed is refused at delivery once
    they are not: the resolved address is checked every time."""
    with receiving() as receiver:
        url = receiver.url.replace("http://127.0.0.1", "https://localhost")
        sub_id, _ = subscribe(api, url, world.a.token)
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "x"}, world.a.token)
        dispatch(settings, allow_insecure=False)
    assert receiver.received == []
    [failed] = deliveries(api, sub_id, world.a.token)
    assert failed["status"] == "FAILED"
    assert failed["lastResponseStatus"] is None
    assert failed["lastError"].startswith("refused: localhost resolves to")


def test_deleting_a_subscription_deletes_its_deliveries(
    settings: Settings, api: Api, world: World
) -> None:
    with receiving() as receiver:
        sub_id, _ = subscribe(api, receiver.url, world.a.token)
        api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "x"}, world.a.token)
        dispatch(settings)
    [delivery] = deliveries(api, sub_id, world.a.token)
    payload = api.ok(
        "deleteWebhookSubscription", {"id": sub_id}, world.a.token, "webhookSubscription { id url }"
    )
    assert payload["webhookSubscription"]["id"] == sub_id
    assert (
        api.data("query($id: ID!) { node(id: $id) { id } }", {"id": delivery["id"]})["node"] is None
    )


def test_a_hanging_receiver_does_not_hold_up_requests(
    settings: Settings, admin_token: str, world: World
) -> None:
    """The app's own dispatcher (as serve runs it) is stuck on a receiver that never
    answers: mutations still complete meanwhile, and that subscription has at most its
    concurrency of attempts in flight."""
    with (
        receiving() as receiver,
        app_with(
            settings,
            admin_token,
            webhook_dispatch=True,
            webhook_allow_insecure=True,
            webhook_poll_seconds=0.05,
            webhook_timeout_seconds=30,
            webhook_concurrency=2,
        ) as own,
    ):
        receiver.hang = threading.Event()
        subscribe(own, receiver.url, world.a.token)
        own.ok("updateCustomerClass", {"id": world.a.class_id, "description": "0"}, world.a.token)
        deadline = time.monotonic() + 10
        while receiver.hanging < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert receiver.hanging >= 1, "the dispatcher never reached the receiver"
        for n in range(1, 11):
            own.ok(
                "updateCustomerClass",
                {"id": world.a.class_id, "description": str(n)},
                world.a.token,
            )
            assert own.data(LIST, token=world.a.token)["webhookSubscriptions"]
        # Every request above answered while the first attempt was still held.
        assert receiver.received == []
        time.sleep(0.3)  # a few more dispatcher passes: still no more than 2 in flight
        assert receiver.hanging == 2
        receiver.hang.set()
        deadline = time.monotonic() + 15
        while len(receiver.received) < 11 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(receiver.received) == 11


def test_two_dispatchers_share_the_queue_without_repeats(
    settings: Settings, api: Api, world: World
) -> None:
    """PostgreSQL: both work, skipping what the other holds; SQLite: one leads. Either
    way each delivery is made once."""
    with receiving() as receiver:
        receiver.secrets = [subscribe(api, receiver.url)[1] for _ in range(3)]
        for n in range(20):
            api.ok(
                "updateCustomerClass",
                {"id": world.a.class_id, "description": str(n)},
                world.a.token,
            )

        async def both() -> None:
            engine = make_engine(settings=settings)
            install_guard(engine.sync_engine)
            pair = [Dispatcher(engine, allow_insecure=True, concurrency=2) for _ in range(2)]
            try:
                for _ in range(100):
                    busy = await asyncio.gather(*(d.run_once() for d in pair))
                    await asyncio.gather(*(d.drain() for d in pair))
                    if not any(busy):
                        break
            finally:
                for dispatcher in pair:
                    await dispatcher.stop()
                await engine.dispose()

        asyncio.run(both())
    assert len(receiver.received) == 60
    assert len({r.webhook_id for r in receiver.received}) == 60
    assert all(r.verified for r in receiver.received)
