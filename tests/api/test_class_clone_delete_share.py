"""cloneCustomerClass, deleteCustomerClasses, setCustomerClassSharing and
copyRegularInvoiceSettingsToOutOfTurn over HTTP: tenancy, precedence, audit, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.class_support import (
    FULL_CLASS,
    MALFORMED_ID,
    business_model,
    class_count,
    clone,
    create,
    custom_field,
    custom_tax,
    events,
    guessed_class_id,
    invoice_template,
    notification_set,
    one_event,
    read_class,
    refused,
    tabs_of,
    update,
)
from tests.api_client import Api, World, shown
from tests.support.audit import event_count
from tests.support.errors import errors_of

SHARING = """mutation($input: SetCustomerClassSharingInput!) {
  setCustomerClassSharing(input: $input) {
    customerClass { id version sharedWithResellers } userErrors { field code message } } }"""


def _unchanged(api: Api, class_ids: list[str], *, audit: bool = True) -> Any:
    """Snapshot classes (and the audit log unless ``audit`` is false); call the result to
    check that nothing changed."""
    before = {class_id: read_class(api, class_id) for class_id in class_ids}
    before_events = event_count(api)

    def check() -> None:
        assert {class_id: read_class(api, class_id) for class_id in class_ids} == before
        if audit:
            assert event_count(api) == before_events

    return check


def _rich_source(api: Api, token: str | None = None, **extra: Any) -> dict[str, Any]:
    """A class with every tab away from its defaults (catalog entries made by the admin)."""
    model = business_model(api, "RICH")
    template = invoice_template(api, "Rich template")
    notif = notification_set(api, "Rich set")
    fields = [custom_field(api, "Rich field 1"), custom_field(api, "Rich field 2", "ACCOUNT")]
    taxes = [custom_tax(api, "Rich tax 1"), custom_tax(api, "Rich tax 2", "2.5")]
    return create(
        api,
        {
            "name": "Rich source",
            "description": "Everything set",
            "businessModelId": model,
            "currencyCode": "EUR",
            "notificationSender": "noreply@example.com",
            "generalInfo": {
                "sendStatistics": "SUMMARY_ONLY",
                "billingPeriodClosure": "WITH_EXTRA_DELAY",
                "closeDelayHours": 48,
                "roundingMethod": "HALF_EVEN",
                "roundingPrecision": 3,
                "suspendOnInsufficientFunds": True,
                "billedExternally": True,
                "resetBalanceEveryPeriod": True,
                "hideBalanceResetXdr": True,
            },
            "measuredServices": [
                {
                    "parameter": "CONCURRENT_CALLS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "3.25",
                    "itemsFreeOfCharge": 2,
                    "rateCode": "CC",
                    "service": "Calls",
                },
                {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "AVERAGE", "pricePerItem": "0"},
            ],
            "notifications": {
                "notificationSetId": notif,
                "settings": [
                    {"type": "INVOICE_ISSUED", "email": {"send": True, "template": "CUSTOM"}},
                    {"type": "LOW_BALANCE", "sms": {"send": True}},
                ],
            },
            "regularInvoices": {
                "enabled": True,
                "invoiceTemplateId": template,
                "pdfGeneration": "ON_DEMAND",
                "delivery": "AFTER_ADMINISTRATOR_REVIEW",
                "holdForReviewDays": 5,
                "paymentTerms": {
                    "netDays": 30,
                    "dueDateReminderDays": [10, 3],
                    "autoCharge": True,
                    "autoChargeTiming": "UPON_DUE_DATE",
                },
                "pastDue": {
                    "collectionThreshold": "1.5",
                    "resendInvoiceDays": [0, 7],
                    "lateFee": "10",
                    "limitServiceAfterDays": 10,
                    "limitationNoticeDays": [5],
                    "suspendAfterDays": 20,
                    "suspensionNoticeDays": [3, 1],
                    "reactivationFee": "15",
                    "terminateAfterDays": 90,
                    "terminationNoticeDays": [30],
                    "terminateCommitments": True,
                    "restoreAfterPartialPayment": True,
                },
            },
            "outOfTurnInvoices": {
                "enabled": True,
                "invoiceTemplateId": template,
                "delivery": "AUTOMATICALLY",
                "separateInvoiceForRecurringFees": True,
                "paymentTerms": {"autoCharge": True, "netDays": 5},
                "pastDue": {"suspendAfterDays": 3},
            },
            "taxation": {
                "method": "CUSTOM_TAXATION",
                "assessTaxes": True,
                "taxesIncludedInRates": True,
                "assessment": "AT_TIME_OF_PAYMENT",
                "customTaxIds": taxes,
            },
            "customFieldIds": fields,
            "fraudProtection": {
                "dailySpendingThreshold": "99.99",
                "checkRemainingFunds": True,
                "sendWarning": True,
                "warningThresholdPercent": 75,
            },
            **extra,
        },
        token,
    )


# =========================================================================== clone


def test_administrator_clone_copies_everything(api: Api) -> None:
    source = _rich_source(api, sharedWithResellers=True)
    source = update(api, {"id": source["id"], "description": "Everything set, v2"})
    assert source["version"] == 2
    copy = clone(api, {"id": source["id"], "name": "  Rich copy "})
    assert copy["id"] != source["id"]
    assert copy["name"] == "Rich copy"
    assert copy["version"] == 1
    assert copy["sharedWithResellers"] is False
    assert copy["isDefault"] is False
    assert copy["managedBy"] == "ADMINISTRATOR"
    assert copy["managingReseller"] is None
    for key in ("description", "businessModel", "currency", "notificationSender"):
        assert copy[key] == source[key], key
    assert tabs_of(copy) == tabs_of(source)
    assert len(copy["customFields"]) == 2
    assert len(copy["taxation"]["customTaxes"]) == 2
    for key in ("archiveXdrs", "invoicing", "taxationMethod"):
        assert copy[key] == source[key]
    assert copy["customerCount"] == 0
    assert read_class(api, copy["id"]) == copy
    # The source is untouched and has no new event.
    assert read_class(api, source["id"]) == source
    assert [e["action"] for e in events(api, source["id"])] == ["UPDATE", "CREATE"]


def test_clone_event(api: Api, world: World) -> None:
    before = event_count(api)
    copy = clone(api, {"id": world.shared_class_id, "name": "Cloned"})
    assert event_count(api) == before + 1
    event = one_event(api, copy["id"])
    assert event["action"] == "CLONE"
    assert event["objectType"] == "CustomerClass"
    assert event["objectId"] == copy["id"]
    changes = event["changes"]
    assert changes["clonedFrom"] == {"before": None, "after": world.shared_class_id}
    assert changes["name"] == {"before": None, "after": "Cloned"}
    assert changes["sharedWithResellers"] == {"before": None, "after": False}
    assert changes["currency"] == {"before": None, "after": "USD"}
    assert all(change["before"] is None for change in changes.values())


def test_administrator_clone_keeps_reseller_manager(api: Api, world: World) -> None:
    copy = clone(api, {"id": world.a.class_id, "name": "A copy by admin"})
    assert copy["managedBy"] == "RESELLER"
    assert copy["managingReseller"] == {"id": world.a.id}
    assert shown(read_class(api, copy["id"], world.a.token))["id"] == copy["id"]
    assert read_class(api, copy["id"], world.b.token) is None
    # The CLONE event belongs to A's tenant.
    event = one_event(api, copy["id"], world.a.token)
    assert event["action"] == "CLONE"
    assert event["changes"]["clonedFrom"]["after"] == world.a.class_id
    assert events(api, copy["id"], world.b.token) == []


def test_reseller_clone_of_shared_class_is_its_own(api: Api, world: World) -> None:
    source = shown(read_class(api, world.shared_class_id))
    copy = clone(api, {"id": world.shared_class_id, "name": "My shared copy"}, world.a.token)
    assert copy["managedBy"] == "RESELLER"
    assert copy["managingReseller"] == {"id": world.a.id}
    assert copy["sharedWithResellers"] is False
    assert copy["version"] == 1
    assert tabs_of(copy) == tabs_of(source)
    assert copy["currency"] == source["currency"]
    assert read_class(api, copy["id"], world.b.token) is None
    event = one_event(api, copy["id"], world.a.token)
    assert event["action"] == "CLONE"
    assert event["actorTokenName"] == "Reseller A token"
    assert event["changes"]["managingReseller"] == {"before": None, "after": world.a.id}
    # The copy is A's to change.
    assert update(api, {"id": copy["id"], "description": "mine"}, world.a.token)["version"] == 2


def test_reseller_clones_rich_shared_class(api: Api, world: World) -> None:
    source = _rich_source(api, sharedWithResellers=True)
    copy = clone(api, {"id": source["id"], "name": "Rich for A"}, world.a.token)
    assert tabs_of(copy) == tabs_of(source)
    for key in ("description", "businessModel", "currency", "notificationSender"):
        assert copy[key] == source[key], key


def test_reseller_clones_its_own_class(api: Api, world: World) -> None:
    copy = clone(api, {"id": world.a.class_id, "name": "A again"}, world.a.token)
    assert copy["managingReseller"] == {"id": world.a.id}


def test_clone_of_default_class(api: Api, world: World) -> None:
    default = shown(read_class(api, world.default_class_id))
    copy = clone(api, {"id": world.default_class_id, "name": "Not default"})
    assert copy["isDefault"] is False
    assert copy["sharedWithResellers"] is False
    assert copy["managedBy"] == "ADMINISTRATOR"
    assert copy["currency"] is None
    assert copy["description"] == default["description"]
    assert tabs_of(copy) == tabs_of(default)
    # A reseller may clone the Default class too (it is shared).
    copy = clone(api, {"id": world.default_class_id, "name": "Default"}, world.a.token)
    assert copy["isDefault"] is False
    assert copy["managingReseller"] == {"id": world.a.id}


def test_clone_name_taken_in_the_copys_namespace(api: Api, world: World) -> None:
    check = _unchanged(api, [world.shared_class_id, world.a.class_id])
    count = class_count(api)
    # Administrator copy of an administrator class: administrator namespace.
    assert refused(
        api, "cloneCustomerClass", {"id": world.shared_class_id, "name": "ADMIN private"}
    ) == [("TAKEN", ["input", "name"])]
    # Administrator copy of A's class: A's namespace.
    assert refused(
        api, "cloneCustomerClass", {"id": world.a.class_id, "name": "reseller a CLASS"}
    ) == [("TAKEN", ["input", "name"])]
    # A's copy of a shared class: A's namespace.
    assert refused(
        api,
        "cloneCustomerClass",
        {"id": world.shared_class_id, "name": "Reseller A Class"},
        world.a.token,
    ) == [("TAKEN", ["input", "name"])]
    check()
    assert class_count(api) == count
    # Names of other namespaces are free.
    assert clone(api, {"id": world.a.class_id, "name": "Admin private"})["managingReseller"] == {
        "id": world.a.id
    }
    assert (
        clone(api, {"id": world.shared_class_id, "name": "Admin shared"}, world.a.token)["name"]
        == "Admin shared"
    )
    assert (
        clone(api, {"id": world.shared_class_id, "name": "Reseller B class"}, world.a.token)["name"]
        == "Reseller B class"
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "REQUIRED"), (" ", "REQUIRED"), ("x" * 101, "TOO_LONG"), ("a\x1bb", "INVALID")],
)
def test_clone_name_rules(api: Api, world: World, name: str, code: str) -> None:
    count, before = class_count(api), event_count(api)
    assert refused(api, "cloneCustomerClass", {"id": world.admin_class_id, "name": name}) == [
        (code, ["input", "name"])
    ]
    assert (class_count(api), event_count(api)) == (count, before)


@pytest.mark.parametrize(
    "which", ["other reseller", "admin private", "guessed", "malformed", "wrong type"]
)
def test_clone_of_hidden_source_is_not_found(api: Api, world: World, which: str) -> None:
    given = {
        "other reseller": world.b.class_id,
        "admin private": world.admin_class_id,
        "guessed": guessed_class_id(),
        "malformed": MALFORMED_ID,
        "wrong type": world.b.customer_id,
    }[which]
    count, before = class_count(api), event_count(api)
    # NOT_FOUND alone, even with a name that is invalid or taken.
    for name in ("Fresh name", "", "Reseller A class"):
        assert refused(api, "cloneCustomerClass", {"id": given, "name": name}, world.a.token) == [
            ("NOT_FOUND", ["input", "id"])
        ]
    assert (class_count(api), event_count(api)) == (count, before)


# =========================================================================== delete


def _delete(api: Api, ids: list[str], token: str | None = None) -> dict[str, Any]:
    return api.mutate("deleteCustomerClasses", {"ids": ids}, token, "deletedIds")


def test_delete_partial_success_as_administrator(api: Api, world: World) -> None:
    free_1 = create(api, {"name": "Free 1"})["id"]
    free_2 = create(api, {"name": "Free 2", "managingResellerId": world.b.id})["id"]
    used = create(api, {"name": "Used"})["id"]
    api.create_customer(name="Direct", customerClassId=used)
    check_kept = _unchanged(api, [used, world.a.class_id, world.default_class_id], audit=False)
    before = event_count(api)
    payload = _delete(
        api,
        [free_1, guessed_class_id(), world.default_class_id, used, world.a.class_id, free_2],
    )
    assert payload["deletedIds"] == [free_1, free_2]
    assert errors_of(payload) == [
        ("NOT_FOUND", ["input", "ids", "1"]),
        ("DEFAULT_CLASS", ["input", "ids", "2"]),
        ("IN_USE", ["input", "ids", "3"]),
        ("IN_USE", ["input", "ids", "4"]),
    ]
    assert read_class(api, free_1) is None
    assert read_class(api, free_2) is None
    # One DELETE event per deleted class, nothing for the refused ones.
    assert event_count(api) == before + 2
    check_events = event_count(api)
    for class_id, name in ((free_1, "Free 1"), (free_2, "Free 2")):
        event = events(api, class_id)[0]
        assert event["action"] == "DELETE"
        assert event["objectId"] == class_id
        assert event["objectType"] == "CustomerClass"
        assert event["changes"]["name"] == {"before": name, "after": None}
        assert all(change["after"] is None for change in event["changes"].values())
    # B sees the DELETE of its class; A does not.
    assert [e["action"] for e in events(api, free_2, world.b.token)] == ["DELETE", "CREATE"]
    assert events(api, free_2, world.a.token) == []
    assert event_count(api) == check_events
    check_kept()


def test_delete_precedence_for_a_reseller(api: Api, world: World) -> None:
    free = create(api, {"name": "A free"}, world.a.token)
    check_kept = _unchanged(
        api,
        [
            world.shared_class_id,
            world.default_class_id,
            world.b.class_id,
            world.admin_class_id,
            world.a.class_id,
        ],
        audit=False,
    )
    before = event_count(api)
    payload = _delete(
        api,
        [
            world.shared_class_id,  # visible, read-only
            world.default_class_id,  # visible, read-only: NOT_PERMITTED before DEFAULT_CLASS
            world.b.class_id,  # hidden
            world.admin_class_id,  # hidden
            world.a.class_id,  # used by A's customer
            free["id"],
            MALFORMED_ID,
            world.a.customer_id,  # wrong type
        ],
        world.a.token,
    )
    assert payload["deletedIds"] == [free["id"]]
    assert errors_of(payload) == [
        ("NOT_PERMITTED", ["input", "ids", "0"]),
        ("NOT_PERMITTED", ["input", "ids", "1"]),
        ("NOT_FOUND", ["input", "ids", "2"]),
        ("NOT_FOUND", ["input", "ids", "3"]),
        ("IN_USE", ["input", "ids", "4"]),
        ("NOT_FOUND", ["input", "ids", "6"]),
        ("NOT_FOUND", ["input", "ids", "7"]),
    ]
    assert event_count(api) == before + 1
    event = events(api, free["id"], world.a.token)[0]
    assert event["action"] == "DELETE"
    assert event["actorTokenName"] == "Reseller A token"
    check_kept()


def test_delete_in_use_counts_reseller_customers(api: Api, world: World) -> None:
    # A class used only by a reseller's customer is IN_USE for the administrator too.
    shared = create(api, {"name": "Shared in use", "sharedWithResellers": True})["id"]
    api.create_customer(world.b.token, name="B's customer", customerClassId=shared)
    payload = _delete(api, [shared])
    assert payload["deletedIds"] == []
    assert errors_of(payload) == [("IN_USE", ["input", "ids", "0"])]


def test_delete_then_reuse_of_the_name(api: Api) -> None:
    class_id = create(api, {"name": "Phoenix"})["id"]
    assert _delete(api, [class_id]) == {"deletedIds": [class_id], "userErrors": []}
    assert create(api, {"name": "phoenix"})["name"] == "phoenix"


def test_delete_same_id_twice(api: Api) -> None:
    # Code's choice: a repeated ID that this request already deleted is not reported again
    # (at most one outcome per ID).
    class_id = create(api, {"name": "Twice"})["id"]
    before = event_count(api)
    assert _delete(api, [class_id, class_id]) == {"deletedIds": [class_id], "userErrors": []}
    assert event_count(api) == before + 1


def test_delete_empty_and_too_many(api: Api) -> None:
    assert _delete(api, []) == {"deletedIds": [], "userErrors": []}
    class_id = create(api, {"name": "Survivor"})["id"]
    payload = _delete(api, [class_id] + [guessed_class_id() for _ in range(100)])
    assert payload["deletedIds"] == []
    assert errors_of(payload) == [("OUT_OF_RANGE", ["input", "ids"])]
    assert read_class(api, class_id) is not None


def test_tenant_isolation_on_delete(api: Api, world: World) -> None:
    free = create(api, {"name": "A's spare"}, world.a.token)["id"]
    check = _unchanged(api, [free, world.a.class_id])
    payload = _delete(api, [free, world.a.class_id], world.b.token)
    assert payload["deletedIds"] == []
    assert errors_of(payload) == [
        ("NOT_FOUND", ["input", "ids", "0"]),
        ("NOT_FOUND", ["input", "ids", "1"]),
    ]
    check()


# =========================================================================== sharing


def _share(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = api.data(SHARING, {"input": input_}, token)["setCustomerClassSharing"]
    return found


@pytest.mark.parametrize(
    "target", ["own class", "shared class", "admin class", "other reseller", "guessed", "malformed"]
)
@pytest.mark.parametrize("shared", [True, False])
def test_reseller_sharing_is_forbidden(api: Api, world: World, target: str, shared: bool) -> None:
    given = {
        "own class": world.a.class_id,
        "shared class": world.shared_class_id,
        "admin class": world.admin_class_id,
        "other reseller": world.b.class_id,
        "guessed": guessed_class_id(),
        "malformed": MALFORMED_ID,
    }[target]
    check = _unchanged(
        api, [world.a.class_id, world.shared_class_id, world.admin_class_id, world.b.class_id]
    )
    body = api.run(SHARING, {"input": {"id": given, "shared": shared}}, world.a.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body.get("data") is None or body["data"].get("setCustomerClassSharing") is None
    check()


def test_forbidden_sharing_undoes_the_whole_request(api: Api, world: World) -> None:
    # A top-level error undoes every root field of the request, even the successful ones.
    check = _unchanged(api, [world.a.class_id])
    count = class_count(api)
    query = """mutation($c: CreateCustomerClassInput!, $u: UpdateCustomerClassInput!,
                        $s: SetCustomerClassSharingInput!) {
      a: createCustomerClass(input: $c) { customerClass { id } userErrors { code } }
      b: updateCustomerClass(input: $u) { customerClass { id } userErrors { code } }
      c: setCustomerClassSharing(input: $s) { customerClass { id } userErrors { code } } }"""
    body = api.run(
        query,
        {
            "c": {"name": "Rolled back"},
            "u": {"id": world.a.class_id, "description": "rolled back"},
            "s": {"id": world.a.class_id, "shared": True},
        },
        world.a.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None
    assert class_count(api) == count
    check()


def test_share_and_unshare_administrator_class(api: Api, world: World) -> None:
    class_id = world.admin_class_id
    assert read_class(api, class_id, world.a.token) is None
    payload = _share(api, {"id": class_id, "shared": True, "expectedVersion": 1})
    assert payload["userErrors"] == []
    assert payload["customerClass"] == {"id": class_id, "version": 2, "sharedWithResellers": True}
    assert shown(read_class(api, class_id, world.a.token))["sharedWithResellers"] is True
    event = events(api, class_id)[0]
    assert event["action"] == "SHARE"
    assert event["objectType"] == "CustomerClass"
    assert event["changes"] == {"sharedWithResellers": {"before": False, "after": True}}

    payload = _share(api, {"id": class_id, "shared": False})
    assert payload["userErrors"] == []
    assert payload["customerClass"] == {"id": class_id, "version": 3, "sharedWithResellers": False}
    assert read_class(api, class_id, world.a.token) is None
    assert read_class(api, class_id, world.b.token) is None
    event = events(api, class_id)[0]
    assert event["action"] == "UNSHARE"
    assert event["changes"] == {"sharedWithResellers": {"before": True, "after": False}}
    assert [e["action"] for e in events(api, class_id)] == ["UNSHARE", "SHARE", "CREATE"]


def test_sharing_that_changes_nothing(api: Api, world: World) -> None:
    check = _unchanged(api, [world.shared_class_id, world.admin_class_id, world.a.class_id])
    for class_id, shared in (
        (world.shared_class_id, True),
        (world.admin_class_id, False),
        (world.a.class_id, False),
        (world.default_class_id, True),
    ):
        payload = _share(api, {"id": class_id, "shared": shared})
        assert payload["userErrors"] == [], class_id
        assert payload["customerClass"]["sharedWithResellers"] is shared
    check()


def test_sharing_reseller_class_is_a_dependency(api: Api, world: World) -> None:
    check = _unchanged(api, [world.a.class_id])
    payload = _share(api, {"id": world.a.class_id, "shared": True})
    assert payload["customerClass"] is None
    assert errors_of(payload) == [("DEPENDENCY", ["input", "shared"])]
    check()


def test_default_class_cannot_be_unshared(api: Api, world: World) -> None:
    check = _unchanged(api, [world.default_class_id])
    payload = _share(api, {"id": world.default_class_id, "shared": False})
    assert errors_of(payload) == [("DEFAULT_CLASS", ["input", "id"])]
    check()


def test_unshare_in_use_by_reseller_customer(api: Api, world: World) -> None:
    class_id = world.shared_class_id
    api.create_customer(world.a.token, name="A uses shared", customerClassId=class_id)
    check = _unchanged(api, [class_id])
    payload = _share(api, {"id": class_id, "shared": False})
    assert payload["customerClass"] is None
    assert errors_of(payload) == [("IN_USE", ["input", "id"])]
    check()


def test_unshare_used_only_by_direct_customers(api: Api, world: World) -> None:
    # A direct customer (and a reseller itself, parent null) may keep an unshared class.
    class_id = create(api, {"name": "Direct use", "sharedWithResellers": True})["id"]
    api.create_customer(name="Direct customer", customerClassId=class_id)
    api.create_customer(name="Direct reseller", customerType="RESELLER", customerClassId=class_id)
    payload = _share(api, {"id": class_id, "shared": False})
    assert payload["userErrors"] == []
    assert payload["customerClass"]["sharedWithResellers"] is False


@pytest.mark.parametrize("which", ["guessed", "malformed", "wrong type"])
def test_sharing_unknown_class_is_not_found(api: Api, world: World, which: str) -> None:
    given = {
        "guessed": guessed_class_id(),
        "malformed": MALFORMED_ID,
        "wrong type": world.a.id,
    }[which]
    before = event_count(api)
    payload = _share(api, {"id": given, "shared": True, "expectedVersion": 99})
    assert errors_of(payload) == [("NOT_FOUND", ["input", "id"])]
    assert event_count(api) == before


def test_sharing_version_conflict(api: Api, world: World) -> None:
    check = _unchanged(api, [world.admin_class_id, world.a.class_id])
    for class_id in (world.admin_class_id, world.a.class_id):
        payload = _share(api, {"id": class_id, "shared": True, "expectedVersion": 5})
        assert errors_of(payload) == [("VERSION_CONFLICT", ["input", "expectedVersion"])]
    check()


# =========================================================================== copy settings


def _copy(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    return api.mutate(
        "copyRegularInvoiceSettingsToOutOfTurn",
        input_,
        token,
        f"customerClass {{ {FULL_CLASS} }}",
        input_type="CopyRegularInvoiceSettingsInput",
    )


def _regular_with_terms(api: Api, token: str | None = None) -> dict[str, Any]:
    return create(
        api,
        {
            "name": "Terms",
            "currencyCode": "USD",
            "regularInvoices": {
                "enabled": True,
                "paymentTerms": {
                    "netDays": 30,
                    "dueDateReminderDays": [7, 3],
                    "autoCharge": True,
                    "autoChargeTiming": "UPON_DUE_DATE",
                },
                "pastDue": {
                    "collectionThreshold": "5.5",
                    "lateFee": "2",
                    "limitServiceAfterDays": 10,
                    "suspendAfterDays": 20,
                    "suspensionNoticeDays": [5],
                    "reactivationFee": "3",
                },
            },
            "outOfTurnInvoices": {"enabled": True, "delivery": "AUTOMATICALLY"},
        },
        token,
    )


def test_copy_regular_settings_to_out_of_turn(api: Api) -> None:
    source = _regular_with_terms(api)
    payload = _copy(api, {"id": source["id"], "expectedVersion": 1})
    assert payload["userErrors"] == []
    copied = payload["customerClass"]
    assert copied["version"] == 2
    regular, out = copied["regularInvoices"], copied["outOfTurnInvoices"]
    assert (
        out["paymentTerms"] == regular["paymentTerms"] == source["regularInvoices"]["paymentTerms"]
    )
    assert out["pastDue"] == regular["pastDue"] == source["regularInvoices"]["pastDue"]
    # The rest of the out-of-turn tab and every other tab are untouched.
    assert out["enabled"] is True
    assert out["delivery"] == "AUTOMATICALLY"
    assert out["separateInvoiceForRecurringFees"] is False
    for key in ("generalInfo", "regularInvoices", "taxation", "fraudProtection"):
        assert copied[key] == source[key]
    assert read_class(api, source["id"]) == copied

    event = events(api, source["id"])[0]
    assert event["action"] == "UPDATE"
    assert event["objectType"] == "CustomerClass"
    changes = event["changes"]
    assert changes["outOfTurnInvoices.paymentTerms.netDays"] == {"before": 0, "after": 30}
    assert changes["outOfTurnInvoices.paymentTerms.dueDateReminderDays"] == {
        "before": [],
        "after": [7, 3],
    }
    assert changes["outOfTurnInvoices.pastDue.collectionThreshold"] == {
        "before": "0.00",
        "after": "5.50",
    }
    assert changes["outOfTurnInvoices.pastDue.suspendAfterDays"] == {"before": None, "after": 20}
    assert all(path.startswith("outOfTurnInvoices.") for path in changes)
    assert "outOfTurnInvoices.enabled" not in changes
    assert len(events(api, source["id"])) == 2

    # Copying again changes nothing: no version bump, no event.
    again = _copy(api, {"id": source["id"]})
    assert again["userErrors"] == []
    assert again["customerClass"] == copied
    assert len(events(api, source["id"])) == 2


def test_copy_by_reseller_and_isolation(api: Api, world: World) -> None:
    source = _regular_with_terms(api, world.a.token)
    check = _unchanged(api, [source["id"], world.shared_class_id])
    for token, class_id, code in (
        (world.b.token, source["id"], "NOT_FOUND"),
        (world.a.token, world.shared_class_id, "NOT_PERMITTED"),
        (world.a.token, world.default_class_id, "NOT_PERMITTED"),
        (world.a.token, world.admin_class_id, "NOT_FOUND"),
        (world.a.token, guessed_class_id(), "NOT_FOUND"),
        (world.a.token, MALFORMED_ID, "NOT_FOUND"),
        (world.a.token, world.a.customer_id, "NOT_FOUND"),
    ):
        payload = _copy(api, {"id": class_id, "expectedVersion": 42}, token)
        assert payload["customerClass"] is None
        assert errors_of(payload) == [(code, ["input", "id"])], class_id
    check()
    payload = _copy(api, {"id": source["id"]}, world.a.token)
    assert payload["userErrors"] == []
    assert payload["customerClass"]["version"] == 2
    event = events(api, source["id"], world.a.token)[0]
    assert event["action"] == "UPDATE"
    assert event["actorTokenName"] == "Reseller A token"


def test_copy_version_conflict(api: Api) -> None:
    source = _regular_with_terms(api)
    check = _unchanged(api, [source["id"]])
    payload = _copy(api, {"id": source["id"], "expectedVersion": 2})
    assert errors_of(payload) == [("VERSION_CONFLICT", ["input", "expectedVersion"])]
    check()


def test_copy_that_breaks_an_out_of_turn_rule_is_refused(api: Api) -> None:
    # Out-of-turn separate invoices need out-of-turn auto-charge; copying regular terms
    # without auto-charge would break that. This input names only the class, so the
    # DEPENDENCY is reported on "id", its message naming the setting.
    source = create(
        api,
        {
            "name": "Separate",
            "outOfTurnInvoices": {
                "separateInvoiceForRecurringFees": True,
                "paymentTerms": {"autoCharge": True},
            },
        },
    )
    check = _unchanged(api, [source["id"]])
    payload = _copy(api, {"id": source["id"]})
    assert payload["customerClass"] is None
    assert errors_of(payload) == [("DEPENDENCY", ["input", "id"])]
    assert "outOfTurnInvoices.paymentTerms.autoCharge" in payload["userErrors"][0]["message"]
    check()


# =========================================================================== audit, isolation


def test_every_successful_mutation_writes_exactly_one_event(api: Api, world: World) -> None:
    def counted(action: Any, expected: int = 1) -> Any:
        before = event_count(api)
        result = action()
        assert event_count(api) == before + expected
        return result

    class_id = counted(lambda: create(api, {"name": "Audited", "currencyCode": "USD"})["id"])
    counted(lambda: update(api, {"id": class_id, "description": "x"}))
    counted(lambda: update(api, {"id": class_id, "description": "x"}), expected=0)
    counted(
        lambda: update(api, {"id": class_id, "regularInvoices": {"paymentTerms": {"netDays": 9}}})
    )
    counted(lambda: _copy(api, {"id": class_id}))
    counted(lambda: _share(api, {"id": class_id, "shared": True}))
    counted(lambda: _share(api, {"id": class_id, "shared": False}))
    copy_id = counted(lambda: clone(api, {"id": class_id, "name": "Audited copy"})["id"])
    counted(lambda: _delete(api, [class_id, copy_id]), expected=2)
    assert [e["action"] for e in events(api, class_id)] == [
        "DELETE",
        "UNSHARE",
        "SHARE",
        "UPDATE",
        "UPDATE",
        "UPDATE",
        "CREATE",
    ]
    assert [e["action"] for e in events(api, copy_id)] == ["DELETE", "CLONE"]


def test_refused_mutations_write_no_event(api: Api, world: World) -> None:
    check = _unchanged(
        api,
        [
            world.a.class_id,
            world.b.class_id,
            world.shared_class_id,
            world.admin_class_id,
            world.default_class_id,
        ],
    )
    refused(api, "createCustomerClass", {"name": "Admin shared"})
    refused(
        api, "createCustomerClass", {"name": "x", "managingResellerId": world.b.id}, world.a.token
    )
    refused(api, "updateCustomerClass", {"id": world.a.class_id, "name": ""})
    refused(api, "updateCustomerClass", {"id": world.a.class_id, "expectedVersion": 3})
    refused(api, "updateCustomerClass", {"id": world.default_class_id, "name": "Renamed"})
    refused(
        api, "updateCustomerClass", {"id": world.shared_class_id, "description": "x"}, world.b.token
    )
    refused(api, "cloneCustomerClass", {"id": world.a.class_id, "name": "x"}, world.b.token)
    refused(api, "cloneCustomerClass", {"id": world.admin_class_id, "name": "Admin shared"})
    payload = _delete(api, [world.default_class_id, world.a.class_id])
    assert payload["deletedIds"] == []
    _share(api, {"id": world.default_class_id, "shared": False})
    _share(api, {"id": world.a.class_id, "shared": True})
    api.run(SHARING, {"input": {"id": world.admin_class_id, "shared": True}}, world.a.token)
    _copy(api, {"id": world.a.class_id}, world.b.token)
    check()


def test_tenant_isolation_from_the_wrong_side(api: Api, world: World) -> None:
    """Reseller B on each of reseller A's classes, through every class mutation: exactly
    what a nonexistent ID gets, and nothing changes."""
    spare = create(api, {"name": "A spare", "currencyCode": "USD"}, world.a.token)["id"]
    targets = [world.a.class_id, spare]
    check = _unchanged(api, targets)
    count = class_count(api)
    for class_id in [*targets, guessed_class_id()]:
        assert refused(
            api,
            "updateCustomerClass",
            {"id": class_id, "description": "B was here"},
            world.b.token,
        ) == [("NOT_FOUND", ["input", "id"])]
        assert refused(
            api, "cloneCustomerClass", {"id": class_id, "name": "B's copy"}, world.b.token
        ) == [("NOT_FOUND", ["input", "id"])]
        payload = _copy(api, {"id": class_id}, world.b.token)
        assert errors_of(payload) == [("NOT_FOUND", ["input", "id"])]
        payload = _delete(api, [class_id], world.b.token)
        assert payload == {
            "deletedIds": [],
            "userErrors": [
                {
                    "field": ["input", "ids", "0"],
                    "code": "NOT_FOUND",
                    "message": payload["userErrors"][0]["message"],
                }
            ],
        }
        body = api.run(SHARING, {"input": {"id": class_id, "shared": True}}, world.b.token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Hidden and nonexistent get the same messages too (no oracle).
    messages = {
        refused_payload["userErrors"][0]["message"]
        for refused_payload in (
            api.mutate("updateCustomerClass", {"id": c}, world.b.token)
            for c in (world.a.class_id, guessed_class_id())
        )
    }
    assert len(messages) == 1
    check()
    assert class_count(api) == count
    # A's view of its events is unchanged too.
    assert [e["action"] for e in events(api, spare, world.a.token)] == ["CREATE"]
