"""revertCustomerClass (issue 11): a class's settings at an earlier version, rebuilt from
the audit trail and applied as one update through updateCustomerClass's path: precedence,
the rules of SPEC §5 and §4 against the current state, references that no longer exist,
expectedVersion, dryRun, the audit note, and isolation from every side."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from db.models import class_table, invoice_template_table
from db.settings import Settings
from tenancy.principal import CLI
from tenancy.scoping import changeable, visible
from tests.api.class_support import (
    FULL_CLASS,
    MALFORMED_ID,
    create,
    custom_field,
    custom_tax,
    events,
    guessed_class_id,
    invoice_template,
    notification_set,
    read_class,
    refused,
    update,
)
from tests.api.test_class_history import changes, versions
from tests.api_client import Api, World, shown
from tests.integration.rls_support import key
from tests.support.audit import event_count
from tests.support.cli import run_as_cli

# What a revert restores: everything but the name, the version and the timestamps (and
# what never changes: manager, business model, currency; sharing is not reverted either).
NOT_SETTINGS = ("name", "version", "updatedAt", "sharedWithResellers")


def settings_of(found: dict[str, Any] | None) -> dict[str, Any]:
    assert found is not None
    return {k: v for k, v in found.items() if k not in NOT_SETTINGS}


def revert(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    payload = api.ok("revertCustomerClass", input_, token, f"customerClass {{ {FULL_CLASS} }}")
    found: dict[str, Any] = payload["customerClass"]
    return found


def _refused_unchanged(api: Api, input_: dict[str, Any], token: str | None = None) -> list[Any]:
    """A refused revert: its (code, field) pairs, after checking that nothing changed."""
    class_id = input_["id"]
    before = read_class(api, class_id) if class_id != MALFORMED_ID else None
    count = event_count(api)
    found = refused(api, "revertCustomerClass", input_, token, "customerClass { id }")
    if before is not None:
        assert read_class(api, class_id) == before
    assert event_count(api) == count
    return found


def _evolving_class(api: Api, token: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """A class changed in every kind of field, and its full state at each version."""
    template = invoice_template(api, "Revert template")
    tax = custom_tax(api, "Revert tax")
    field = custom_field(api, "Revert field")
    notifications = notification_set(api, "Revert set")
    created = create(
        api,
        {
            "name": "Evolving",
            "currencyCode": "USD",
            "description": "First",
            "generalInfo": {"roundingPrecision": 4},
        },
        token,
    )
    class_id = created["id"]
    states = [shown(read_class(api, class_id, token))]
    for patch in (
        {
            "regularInvoices": {
                "invoiceTemplateId": template,
                "paymentTerms": {"netDays": 30, "dueDateReminderDays": [10, 5]},
                "pastDue": {"lateFee": "2.50"},
            },
            "notificationSender": "billing@example.com",
        },
        {
            "taxation": {"method": "CUSTOM_TAXATION", "customTaxIds": [tax]},
            "customFieldIds": [field],
            "measuredServices": [
                {"parameter": "PBX_EXTENSIONS", "chargeBasedOn": "MAXIMUM", "pricePerItem": "1.5"}
            ],
        },
        {
            "notifications": {
                "notificationSetId": notifications,
                "settings": [{"type": "INVOICE_ISSUED", "email": {"send": True}}],
            },
            "fraudProtection": {
                "dailySpendingThreshold": "100.00",
                "sendWarning": True,
                "warningThresholdPercent": 80,
            },
            "description": None,
            "name": "Evolved",
        },
        {
            "regularInvoices": {
                "invoiceTemplateId": None,
                "paymentTerms": {"netDays": 0, "dueDateReminderDays": []},
            },
            "taxation": {"method": "NO_TAXATION", "customTaxIds": []},
            "measuredServices": [],
            "customFieldIds": [],
        },
    ):
        update(api, {"id": class_id, **patch}, token)
        states.append(shown(read_class(api, class_id, token)))
    return class_id, states


# --------------------------------------------------------------------------- replay


def test_every_version_can_be_restored(api: Api) -> None:
    """Revert to each version in turn gives exactly that version's settings (every tab,
    description and sender), as a new version; the name stays."""
    class_id, states = _evolving_class(api)
    assert [s["version"] for s in states] == [1, 2, 3, 4, 5]
    current = 5
    for target in (1, 3, 2, 4, 5, 1):
        before = read_class(api, class_id)
        found = revert(api, {"id": class_id, "toVersion": target})
        changed = settings_of(states[target - 1]) != settings_of(before)
        current += 1 if changed else 0
        assert found["version"] == current
        assert settings_of(found) == settings_of(states[target - 1])
        assert found["name"] == "Evolved"
        assert read_class(api, class_id) == found


def test_the_history_replays_forwards_to_the_same_settings(api: Api) -> None:
    """The audit trail holds enough to rebuild every tab field from version 1: the
    CREATE event lists every leaf and each UPDATE every changed one, so replaying the
    history's changes forwards gives the same leaves as restoring the version does."""
    class_id, _ = _evolving_class(api)
    nodes = list(reversed(versions(api, class_id)))
    leaves: dict[str, Any] = {}
    replayed = []
    for node in nodes:
        for path, (_, after) in changes(node).items():
            leaves[path] = after
        replayed.append(dict(leaves))
    assert nodes[0]["action"] == "CREATE"
    assert len(replayed[0]) == len(replayed[-1]) > 100  # every leaf from version 1 on
    revert(api, {"id": class_id, "toVersion": 2})
    undo = changes(versions(api, class_id)[0])
    for path, (before, after) in undo.items():
        if path != "revertedToVersion":
            assert replayed[-1][path] == before
            assert replayed[1][path] == after
    assert replayed[1]["name"] == "Evolving" != replayed[-1]["name"]
    assert "name" not in undo


def test_the_revert_is_audited_as_an_update_with_its_version(api: Api) -> None:
    class_id, _ = _evolving_class(api)
    found = revert(api, {"id": class_id, "toVersion": 1})
    latest = versions(api, class_id)[0]
    assert (latest["version"], latest["action"]) == (found["version"], "UPDATE")
    assert changes(latest)["revertedToVersion"] == (None, 1)
    event = events(api, class_id)[0]
    assert event["action"] == "UPDATE"
    assert event["changes"]["revertedToVersion"] == {"before": None, "after": 1}
    assert event["changes"]["description"] == {"before": None, "after": "First"}
    assert "name" not in event["changes"]


def test_reverting_to_the_current_settings_changes_nothing(api: Api) -> None:
    class_id = api.create_class(name="Steady", currencyCode="USD")
    update(api, {"id": class_id, "description": "A"})
    update(api, {"id": class_id, "description": None})
    count = event_count(api)
    for target in (3, 1):  # version 1 had no description either
        found = revert(api, {"id": class_id, "toVersion": target})
        assert found["version"] == 3
    assert event_count(api) == count


def test_the_default_class_reverts_to_its_installed_version(api: Api) -> None:
    """Version 1 of the Default class has no event (the migration installed it): it is
    rebuilt backwards from the current row, undoing each recorded change."""
    default = api.default_class_id()
    installed = read_class(api, default)
    update(api, {"id": default, "generalInfo": {"roundingPrecision": 5}, "description": "Mod"})
    update(api, {"id": default, "regularInvoices": {"paymentTerms": {"netDays": 7}}})
    found = revert(api, {"id": default, "toVersion": 1})
    assert found["version"] == 4
    assert settings_of(found) == settings_of(installed)
    assert found["name"] == "Default"


# --------------------------------------------------------------------------- refusals


def test_to_version_out_of_range(api: Api) -> None:
    class_id = api.create_class(name="Short")
    update(api, {"id": class_id, "description": "x"})
    for target in (0, -1, 3, 2**31 - 1):
        found = _refused_unchanged(api, {"id": class_id, "toVersion": target})
        assert found == [("OUT_OF_RANGE", ["input", "toVersion"])]


def test_expected_version_is_honoured(api: Api) -> None:
    class_id = api.create_class(name="Versioned")
    update(api, {"id": class_id, "description": "x"})
    found = _refused_unchanged(api, {"id": class_id, "toVersion": 1, "expectedVersion": 1})
    assert found == [("VERSION_CONFLICT", ["input", "expectedVersion"])]
    # VERSION_CONFLICT comes before a toVersion out of range.
    found = _refused_unchanged(api, {"id": class_id, "toVersion": 9, "expectedVersion": 1})
    assert found == [("VERSION_CONFLICT", ["input", "expectedVersion"])]
    assert revert(api, {"id": class_id, "toVersion": 1, "expectedVersion": 2})["version"] == 3


def test_unknown_and_malformed_ids_are_not_found(api: Api) -> None:
    for class_id in (guessed_class_id(), MALFORMED_ID):
        found = _refused_unchanged(api, {"id": class_id, "toVersion": 1})
        assert found == [("NOT_FOUND", ["input", "id"])]


def test_a_reference_that_no_longer_exists_is_not_found_on_its_path(
    api: Api, settings: Settings
) -> None:
    """A catalog entry the version referenced is gone (catalogs have no delete mutation:
    removed here as an operator would, in SQL): NOT_FOUND on its input path, nothing
    written."""
    template = invoice_template(api, "Doomed")
    class_id = create(
        api,
        {"name": "Referencing", "regularInvoices": {"invoiceTemplateId": template}},
    )["id"]
    update(api, {"id": class_id, "regularInvoices": {"invoiceTemplateId": None}})

    async def work(conn: Any) -> None:
        statement = sa.delete(invoice_template_table).where(
            invoice_template_table.c.id == key(template)
        )
        assert (await conn.execute(statement)).rowcount == 1

    run_as_cli(settings, work)
    found = _refused_unchanged(api, {"id": class_id, "toVersion": 1})
    assert found == [("NOT_FOUND", ["input", "regularInvoices", "invoiceTemplateId"])]


def test_section_5_rules_are_checked_against_the_current_state(
    api: Api, settings: Settings
) -> None:
    """The restored leaves are validated with what the class holds now, every SPEC §5
    rule included. A version's settings were valid together, so only a change the trail
    does not record can make them clash: here due-date reminders written straight into
    the row (as a data migration would), which need net days above 0."""
    class_id = api.create_class(name="Rules", currencyCode="USD")
    update(api, {"id": class_id, "regularInvoices": {"paymentTerms": {"netDays": 30}}})

    async def work(conn: Any) -> None:
        statement = sa.select(class_table).where(class_table.c.id == key(class_id))
        regular = (await conn.execute(visible(statement, CLI))).one().regular_invoices
        regular["paymentTerms"]["dueDateReminderDays"] = [5]
        change = (
            class_table.update()
            .where(class_table.c.id == key(class_id))
            .values(regular_invoices=regular)
        )
        assert (await conn.execute(changeable(change, CLI))).rowcount == 1

    run_as_cli(settings, work)
    found = _refused_unchanged(api, {"id": class_id, "toVersion": 1})
    assert found == [("DEPENDENCY", ["input", "regularInvoices", "paymentTerms", "netDays"])]


def test_the_overrides_rule_refuses_a_revert_with_dependency(api: Api, world: World) -> None:
    """SPEC §4: a revert that turns statistics off while a customer's override needs them
    is refused with DEPENDENCY, counted, and changes nothing."""
    class_id = api.create_class(name="Stats", currencyCode="USD")
    update(api, {"id": class_id, "generalInfo": {"generateStatistics": False}})
    update(api, {"id": class_id, "generalInfo": {"generateStatistics": True}})
    customer = api.create_customer(name="Needs stats", customerClassId=class_id)
    api.ok(
        "updateCustomerOverrides",
        {"customerId": customer, "regularInvoicesEnabled": True},
        selection="customer { id }",
    )
    found = _refused_unchanged(api, {"id": class_id, "toVersion": 2})
    assert found == [("DEPENDENCY", ["input", "generalInfo", "generateStatistics"])]
    payload = api.mutate(
        "revertCustomerClass", {"id": class_id, "toVersion": 2}, selection="customerClass { id }"
    )
    assert "1 customer" in payload["userErrors"][0]["message"]
    # The dry run says the same.
    dry = api.mutate(
        "revertCustomerClass",
        {"id": class_id, "toVersion": 2, "dryRun": True},
        selection="customerClass { id }",
    )
    assert dry["userErrors"] == payload["userErrors"]


# --------------------------------------------------------------------------- dry run


def test_a_dry_run_shows_the_would_be_class_and_writes_nothing(api: Api) -> None:
    class_id, states = _evolving_class(api)
    before = read_class(api, class_id)
    count = event_count(api)
    found = revert(api, {"id": class_id, "toVersion": 2, "dryRun": True})
    assert found["version"] == 6
    assert settings_of(found) == settings_of(states[1])
    # Nested objects show the would-be state too (resolved after the savepoint ended).
    template = states[1]["regularInvoices"]["invoiceTemplate"]
    assert template is not None
    assert found["regularInvoices"]["invoiceTemplate"] == template
    assert read_class(api, class_id) == before
    assert event_count(api) == count
    real = revert(api, {"id": class_id, "toVersion": 2})
    assert {**real, "updatedAt": None} == {**found, "updatedAt": None}


def test_a_dry_run_is_refused_like_the_real_revert(api: Api, world: World) -> None:
    for token, class_id, expected in (
        (world.a.token, world.b.class_id, [("NOT_FOUND", ["input", "id"])]),
        (world.a.token, world.shared_class_id, [("NOT_PERMITTED", ["input", "id"])]),
        (None, world.a.class_id, [("OUT_OF_RANGE", ["input", "toVersion"])]),
    ):
        to_version = 1 if expected[0][0] != "OUT_OF_RANGE" else 7
        input_ = {"id": class_id, "toVersion": to_version, "dryRun": True}
        assert _refused_unchanged(api, input_, token) == expected


# --------------------------------------------------------------------------- isolation


def test_the_owning_reseller_reverts_its_class(api: Api, world: World) -> None:
    class_id = world.a.class_id
    original = read_class(api, class_id, world.a.token)
    update(api, {"id": class_id, "generalInfo": {"roundingPrecision": 5}}, world.a.token)
    update(api, {"id": class_id, "description": "By the administrator"})
    found = revert(api, {"id": class_id, "toVersion": 1}, world.a.token)
    assert settings_of(found) == {
        **settings_of(original),
        "customerCount": found["customerCount"],
    }
    latest = versions(api, class_id)[0]
    assert latest["actorTokenName"] == "Reseller A token"
    assert changes(latest)["revertedToVersion"] == (None, 1)


def test_the_administrator_reverts_any_class(api: Api, world: World) -> None:
    for class_id in (world.a.class_id, world.shared_class_id, world.admin_class_id):
        update(api, {"id": class_id, "description": "Changed"})
        found = revert(api, {"id": class_id, "toVersion": 1})
        assert found["description"] is None and found["version"] == 3


@pytest.mark.parametrize("target", ["other tenant", "private administrator", "shared"])
def test_another_reseller_cannot_revert(api: Api, world: World, target: str) -> None:
    """Hidden classes are NOT_FOUND (exactly as an unknown ID), a shared class is
    NOT_PERMITTED; nothing is written either way."""
    class_id = {
        "other tenant": world.b.class_id,
        "private administrator": world.admin_class_id,
        "shared": world.shared_class_id,
    }[target]
    update(api, {"id": class_id, "description": "Changed"})
    found = _refused_unchanged(api, {"id": class_id, "toVersion": 1}, world.a.token)
    code = "NOT_PERMITTED" if target == "shared" else "NOT_FOUND"
    assert found == [(code, ["input", "id"])]
    unknown = _refused_unchanged(api, {"id": guessed_class_id(), "toVersion": 1}, world.a.token)
    if target != "shared":
        assert found == unknown
    # Not even the toVersion check answers for a hidden class.
    found = _refused_unchanged(api, {"id": class_id, "toVersion": 99}, world.a.token)
    assert found == [(code, ["input", "id"])]


def test_a_revert_reports_its_impact(api: Api, world: World) -> None:
    """The impact of a revert is that of the update it applies: the changed leaves and
    the visible customers whose effective settings change, on a dry run as on the real
    run."""
    class_id = world.a.class_id
    _net = {"id": class_id, "regularInvoices": {"paymentTerms": {"netDays": 21}}}
    update(api, _net)
    selection = (
        "customerClass { version } impact { changes { path before after } affectedCustomerCount }"
    )
    for dry_run in (True, False):
        payload = api.ok(
            "revertCustomerClass",
            {"id": class_id, "toVersion": 1, "dryRun": dry_run},
            world.a.token,
            selection,
        )
        assert payload["customerClass"]["version"] == 3
        assert payload["impact"] == {
            "changes": [{"path": "regularInvoices.paymentTerms.netDays", "before": 21, "after": 0}],
            "affectedCustomerCount": 1,
        }
    assert read_class(api, class_id)["version"] == 3  # type: ignore[index]
