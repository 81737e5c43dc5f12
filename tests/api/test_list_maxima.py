"""List maxima, enforced when written (SPEC §7 "List maxima"): exactly the maximum is
accepted, one more is OUT_OF_RANGE on the list, and a refused write changes nothing.

Per class: customFields 50, taxation.customTaxes 10, measuredServices and notification
settings their enum sizes (each value once); per custom field definition: listValues 100;
per catalog: 500 entries; API tokens: 100 per owner, revoked ones included (the oldest
revoked ones are dropped to make room). The lists are filled straight in the database
(tests.api.maxima_support) and the API is tested at the boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from db.models import class_table
from db.settings import Settings
from gql.customer_classes.tabs import MeasuredParameter, NotificationType
from tenancy import maxima, tabs
from tenancy.ids import decode, to_global_id
from tenancy.principal import CLI
from tenancy.scoping import changeable, visible
from tests.api.maxima_support import (
    CATALOG_LISTS,
    CATALOGS,
    owner_tokens,
    seed_catalog,
    seed_tokens,
)
from tests.api_client import Api, World
from tests.support.cli import run_as_cli
from tests.support.errors import UserError, errors_of

CLASS_FIELDS = (
    "id version customFields { id } taxation { customTaxes { id } }"
    " measuredServices { parameter } notifications { settings { type email { send } } }"
)
CLASS = f"customerClass {{ {CLASS_FIELDS} }}"
EVENTS = "query($id: ID) { auditEvents(objectId: $id) { nodes { action changes actorRole } } }"
TOKENS = "{ apiTokens(includeRevoked: true) { id name revokedAt } }"
EXPIRY = "2098-01-01T00:00:00Z"


def refused(payload: dict[str, Any], field: str) -> list[UserError]:
    assert payload[field] is None, payload
    return errors_of(payload)


def custom_fields(settings: Settings, count: int) -> list[str]:
    keys = seed_catalog(settings, "CustomFieldDefinition", count, prefix="field")
    return [to_global_id("CustomFieldDefinition", key) for key in keys]


def custom_taxes(settings: Settings, count: int) -> list[str]:
    keys = seed_catalog(settings, "CustomTax", count, prefix="tax")
    return [to_global_id("CustomTax", key) for key in keys]


def create_class(api: Api, token: str | None, **input_: Any) -> dict[str, Any]:
    return api.mutate("createCustomerClass", input_, token, CLASS)


def update_class(api: Api, token: str | None, class_id: str, **input_: Any) -> dict[str, Any]:
    return api.mutate("updateCustomerClass", {"id": class_id, **input_}, token, CLASS)


def read_class(api: Api, class_id: str) -> dict[str, Any]:
    query = f"query($id: ID!) {{ customerClass(id: $id) {{ {CLASS_FIELDS} }} }}"
    found: dict[str, Any] = api.data(query, {"id": class_id})["customerClass"]
    return found


def custom_taxation(tax_ids: list[str]) -> dict[str, Any]:
    return {"method": "CUSTOM_TAXATION", "assessTaxes": True, "customTaxIds": tax_ids}


# --------------------------------------------------------------------------- class lists

# (input of a list holding n of the given IDs, path of the list, count in the output)
ClassList = tuple[Callable[[list[str]], dict[str, Any]], list[str], Callable[[dict[str, Any]], int]]
CLASS_LISTS: dict[str, ClassList] = {
    "customFields": (
        lambda ids: {"customFieldIds": ids},
        ["input", "customFieldIds"],
        lambda c: len(c["customFields"]),
    ),
    "customTaxes": (
        lambda ids: {"taxation": custom_taxation(ids)},
        ["input", "taxation", "customTaxIds"],
        lambda c: len(c["taxation"]["customTaxes"]),
    ),
}
MAXIMUM = {
    "customFields": maxima.CUSTOM_FIELDS_PER_CLASS,
    "customTaxes": maxima.CUSTOM_TAXES_PER_CLASS,
}


def list_ids(settings: Settings, which: str) -> list[str]:
    """One more entry than the class maximum, ready to list."""
    seed = custom_fields if which == "customFields" else custom_taxes
    return seed(settings, MAXIMUM[which] + 1)


@pytest.mark.parametrize("caller", ["administrator", "reseller"])
@pytest.mark.parametrize("which", sorted(CLASS_LISTS))
def test_class_list_maximum_on_create_and_update(
    api: Api, world: World, settings: Settings, which: str, caller: str
) -> None:
    token = None if caller == "administrator" else world.a.token
    as_input, path, count = CLASS_LISTS[which]
    ids = list_ids(settings, which)
    most = MAXIMUM[which]
    # Create: one more is refused as a whole, exactly the maximum is accepted.
    payload = create_class(api, token, name="Too many", **as_input(ids))
    assert refused(payload, "customerClass") == [("OUT_OF_RANGE", path)]
    assert str(most) in payload["userErrors"][0]["message"]
    payload = create_class(api, token, name="Full", **as_input(ids[:most]))
    assert payload["userErrors"] == []
    full = payload["customerClass"]
    assert count(full) == most
    # Update: the same, and a refused update changes nothing.
    small = create_class(api, token, name="Small", **as_input(ids[:1]))["customerClass"]
    payload = update_class(api, token, small["id"], **as_input(ids))
    assert refused(payload, "customerClass") == [("OUT_OF_RANGE", path)]
    assert read_class(api, small["id"]) == small
    payload = update_class(api, token, small["id"], **as_input(ids[1:]))
    assert payload["userErrors"] == []
    assert count(payload["customerClass"]) == most
    assert payload["customerClass"]["version"] == 2


def test_an_over_long_list_is_refused_before_its_ids_are_looked_up(
    api: Api, settings: Settings
) -> None:
    """Its IDs are never resolved (bounded work): no NOT_FOUND per entry, one error."""
    ids = custom_fields(settings, maxima.CUSTOM_FIELDS_PER_CLASS) + ["garbage"] * 1000
    payload = create_class(api, None, name="Huge", customFieldIds=ids)
    assert refused(payload, "customerClass") == [("OUT_OF_RANGE", ["input", "customFieldIds"])]
    # Another input's unknown ID still comes first (NOT_FOUND precedes validation).
    payload = create_class(
        api, None, name="Huge", customFieldIds=ids, regularInvoices={"invoiceTemplateId": "x"}
    )
    assert refused(payload, "customerClass") == [
        ("NOT_FOUND", ["input", "regularInvoices", "invoiceTemplateId"])
    ]


def set_custom_fields(settings: Settings, class_id: str, field_ids: list[str]) -> None:
    """Write a class as a version without the maxima could have (a legacy row)."""
    keys = [decode(i, "CustomFieldDefinition") for i in field_ids]

    async def work(conn: Any) -> None:
        statement = (
            class_table.update()
            .where(class_table.c.id == decode(class_id, "CustomerClass"))
            .values(custom_field_ids=sorted(keys))
        )
        result = await conn.execute(changeable(statement, CLI))
        assert result.rowcount == 1

    run_as_cli(settings, work)


def class_count(settings: Settings) -> int:
    async def work(conn: Any) -> int:
        statement = sa.select(sa.func.count()).select_from(class_table)
        return int((await conn.execute(visible(statement, CLI))).scalar_one())

    result: int = run_as_cli(settings, work)
    return result


@pytest.mark.parametrize("caller", ["administrator", "reseller"])
def test_clone_never_exceeds_the_maxima(
    api: Api, world: World, settings: Settings, caller: str
) -> None:
    token = None if caller == "administrator" else world.a.token
    ids = custom_fields(settings, maxima.CUSTOM_FIELDS_PER_CLASS + 1)
    clone = "cloneCustomerClass"
    # A full source is copied whole.
    full = create_class(
        api, None, name="Full shared", sharedWithResellers=True, customFieldIds=ids[:-1]
    )["customerClass"]
    payload = api.mutate(clone, {"id": full["id"], "name": "Copy"}, token, CLASS)
    assert payload["userErrors"] == []
    assert len(payload["customerClass"]["customFields"]) == maxima.CUSTOM_FIELDS_PER_CLASS
    # A source holding more (written before the maximum held) cannot be copied.
    set_custom_fields(settings, full["id"], ids)
    before = class_count(settings)
    payload = api.mutate(clone, {"id": full["id"], "name": "Copy 2"}, token, CLASS)
    assert refused(payload, "customerClass") == [("OUT_OF_RANGE", ["input", "id"])]
    assert "customFieldIds" in payload["userErrors"][0]["message"]
    assert class_count(settings) == before


# --------------------------------------------------------------------------- enum-bounded lists


def measured(parameter: str) -> dict[str, Any]:
    return {"parameter": parameter, "chargeBasedOn": "MAXIMUM", "pricePerItem": "1"}


def test_tenancy_knows_every_enum_value() -> None:
    """The bounds below are the enums' sizes: tenancy's lists must match the schema."""
    assert set(tabs.MEASURED_PARAMETERS) == {p.name for p in MeasuredParameter}
    assert set(tabs.NOTIFICATION_TYPES) == {t.name for t in NotificationType}


@pytest.mark.parametrize("caller", ["administrator", "reseller"])
def test_measured_services_each_parameter_once(api: Api, world: World, caller: str) -> None:
    token = None if caller == "administrator" else world.a.token
    every = [measured(p) for p in tabs.MEASURED_PARAMETERS]
    payload = create_class(api, token, name="All measured", measuredServices=every)
    assert payload["userErrors"] == []
    assert len(payload["customerClass"]["measuredServices"]) == len(tabs.MEASURED_PARAMETERS)
    class_id = payload["customerClass"]["id"]
    # A parameter twice: the duplicate is refused, so the list stays within the enum.
    twice = [*every[:2], measured(tabs.MEASURED_PARAMETERS[0])]
    payload = update_class(api, token, class_id, measuredServices=twice)
    assert refused(payload, "customerClass") == [
        ("INVALID", ["input", "measuredServices", "2", "parameter"])
    ]
    # More entries than parameters: refused as a whole.
    payload = update_class(api, token, class_id, measuredServices=every * 2)
    assert refused(payload, "customerClass") == [("OUT_OF_RANGE", ["input", "measuredServices"])]
    assert read_class(api, class_id)["version"] == 1


@pytest.mark.parametrize("caller", ["administrator", "reseller"])
def test_notification_settings_each_type_once(api: Api, world: World, caller: str) -> None:
    token = None if caller == "administrator" else world.a.token
    every = [{"type": t, "email": {"send": False}} for t in tabs.NOTIFICATION_TYPES]
    payload = create_class(api, token, name="All notifications", notifications={"settings": every})
    assert payload["userErrors"] == []
    assert len(payload["customerClass"]["notifications"]["settings"]) == len(every)
    class_id = payload["customerClass"]["id"]
    payload = update_class(api, token, class_id, notifications={"settings": [*every[:3], every[0]]})
    assert refused(payload, "customerClass") == [
        ("INVALID", ["input", "notifications", "settings", "3", "type"])
    ]
    twice = [*every, every[0]]  # one more than there are types
    payload = update_class(api, token, class_id, notifications={"settings": twice})
    assert refused(payload, "customerClass") == [
        ("OUT_OF_RANGE", ["input", "notifications", "settings"])
    ]
    assert read_class(api, class_id)["version"] == 1


# --------------------------------------------------------------------------- listValues


def test_list_values_at_most_100(api: Api) -> None:
    selection = "customFieldDefinition { listValues }"
    input_type = "CreateCustomFieldDefinitionInput"
    values = [f"value {i}" for i in range(maxima.LIST_VALUES_PER_FIELD + 1)]
    base = {"object": "CUSTOMER", "type": "LIST"}
    mutation = "createCustomFieldDefinition"
    long = {**base, "name": "Long", "listValues": values}
    payload = api.mutate(mutation, long, None, selection, input_type)
    assert refused(payload, "customFieldDefinition") == [("OUT_OF_RANGE", ["input", "listValues"])]
    full = {**base, "name": "Full", "listValues": values[:-1]}
    payload = api.mutate(mutation, full, None, selection, input_type)
    assert payload["userErrors"] == []
    assert payload["customFieldDefinition"]["listValues"] == values[:-1]


# --------------------------------------------------------------------------- catalogs


@pytest.mark.parametrize("type_name", sorted(CATALOGS))
def test_catalog_holds_at_most_500_entries(
    api: Api, world: World, settings: Settings, type_name: str
) -> None:
    mutation, input_type, field, valid = CATALOGS[type_name]
    listing = f"{{ {CATALOG_LISTS[type_name]} {{ id }} }}"

    def create(name: str, token: str | None = None) -> dict[str, Any]:
        return api.mutate(mutation, valid(name), token, f"{field} {{ id }}", input_type)

    existing = len(api.data(listing)[CATALOG_LISTS[type_name]])
    seed_catalog(settings, type_name, maxima.CATALOG_ENTRIES - 1 - existing)
    assert create("last")["userErrors"] == []  # the 500th
    events = len(api.data(EVENTS, {"id": None})["auditEvents"]["nodes"])
    payload = create("one-too-many")
    assert refused(payload, field) == [("OUT_OF_RANGE", ["input"])]
    assert str(maxima.CATALOG_ENTRIES) in payload["userErrors"][0]["message"]
    assert len(api.data(listing)[CATALOG_LISTS[type_name]]) == maxima.CATALOG_ENTRIES
    assert len(api.data(EVENTS, {"id": None})["auditEvents"]["nodes"]) == events
    # A reseller is refused by its role first, full catalog or not.
    query = (
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{"
        f" {field} {{ id }} userErrors {{ code }} }} }}"
    )
    assert api.error_code(query, {"input": valid("mine")}, world.a.token) == "FORBIDDEN"


# --------------------------------------------------------------------------- API tokens


def create_token(api: Api, token: str | None = None, **input_: Any) -> dict[str, Any]:
    return api.mutate("createApiToken", input_, token, "apiToken { id name }")


def listed(api: Api, token: str | None = None) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = api.data(TOKENS, token=token)["apiTokens"]
    return result


def revoke(api: Api, token_id: str, token: str | None = None) -> None:
    payload = api.mutate("revokeApiToken", {"id": token_id}, token, "apiToken { id }")
    assert payload["userErrors"] == []


def test_administrator_tokens_at_most_100(api: Api, settings: Settings) -> None:
    """The administrators' tokens form one list ("root" from the command line is one)."""
    seed_tokens(settings, None, maxima.API_TOKENS_PER_OWNER - 2, revoked=False)
    assert create_token(api, name="hundredth", role="ADMINISTRATOR")["userErrors"] == []
    assert len(listed(api)) == maxima.API_TOKENS_PER_OWNER
    # All 100 unrevoked: refused.
    payload = create_token(api, name="one more", role="ADMINISTRATOR")
    assert refused(payload, "apiToken") == [("OUT_OF_RANGE", ["input"])]
    assert str(maxima.API_TOKENS_PER_OWNER) in payload["userErrors"][0]["message"]
    # Another owner's list is not this one.
    reseller_id = api.create_reseller("Reseller A")
    payload = create_token(api, name="for A", role="RESELLER", resellerId=reseller_id)
    assert payload["userErrors"] == []
    # Revoking one makes room: the creation drops it and keeps the record.
    victim = next(t for t in listed(api) if t["name"] == "seed 050")
    revoke(api, victim["id"])
    assert create_token(api, name="one more", role="ADMINISTRATOR")["userErrors"] == []
    names = [row["name"] for row in owner_tokens(settings, None)]
    assert len(names) == maxima.API_TOKENS_PER_OWNER
    assert "seed 050" not in names and names[-1] == "one more"
    events = api.data(EVENTS, {"id": victim["id"]})["auditEvents"]["nodes"]
    assert [(e["action"], e["actorRole"]) for e in events] == [
        ("DELETE", "ADMINISTRATOR"),
        ("REVOKE", "ADMINISTRATOR"),
    ]
    assert events[0]["changes"] == {"name": {"before": "seed 050", "after": None}}


def test_reseller_at_100_drops_its_oldest_revoked_tokens(api: Api, settings: Settings) -> None:
    a_id = api.create_reseller("Reseller A")
    b_id = api.create_reseller("Reseller B")
    old = seed_tokens(settings, a_id, maxima.API_TOKENS_PER_OWNER - 1, revoked=True)
    b_revoked = seed_tokens(settings, b_id, 10, revoked=True)
    token = api.reseller_token(a_id, "portal")  # the 100th
    assert len(listed(api, token)) == maxima.API_TOKENS_PER_OWNER
    # A refused creation drops nothing.
    payload = create_token(api, token, name="x" * 101, role="RESELLER", expiresAt=EXPIRY)
    assert refused(payload, "apiToken") == [("TOO_LONG", ["input", "name"])]
    assert len(owner_tokens(settings, a_id)) == maxima.API_TOKENS_PER_OWNER
    # Each creation drops the oldest revoked token, never more.
    for i in range(3):
        payload = create_token(api, token, name=f"new {i}", role="RESELLER", expiresAt=EXPIRY)
        assert payload["userErrors"] == []
    names = [row["name"] for row in owner_tokens(settings, a_id)]
    assert names == [*old[3:], "portal", "new 0", "new 1", "new 2"]
    # The reseller sees the record of the drop; another reseller's tokens are untouched.
    events = api.data(
        "{ auditEvents(first: 100) { nodes { action objectType objectId changes } } }", None, token
    )["auditEvents"]["nodes"]
    drops = [e for e in events if e["action"] == "DELETE"]
    assert [e["changes"]["name"]["before"] for e in drops] == [old[2], old[1], old[0]]
    assert all(e["objectType"] == "ApiToken" for e in drops)
    assert [row["name"] for row in owner_tokens(settings, b_id)] == b_revoked


def test_a_full_list_of_unrevoked_tokens_is_refused(api: Api, settings: Settings) -> None:
    """The administrator may give a reseller 100 unrevoked tokens; the 101st is refused.
    The reseller itself meets its 20 unrevoked first: one error, not two."""
    a_id = api.create_reseller("Reseller A")
    token = api.reseller_token(a_id, "portal")
    seed_tokens(settings, a_id, maxima.API_TOKENS_PER_OWNER - 1, revoked=False)
    payload = create_token(api, name="more", role="RESELLER", resellerId=a_id)
    assert refused(payload, "apiToken") == [("OUT_OF_RANGE", ["input"])]
    assert str(maxima.API_TOKENS_PER_OWNER) in payload["userErrors"][0]["message"]
    payload = create_token(api, token, name="more", role="RESELLER", expiresAt=EXPIRY)
    assert refused(payload, "apiToken") == [("OUT_OF_RANGE", ["input"])]
    assert str(maxima.UNREVOKED_RESELLER_TOKENS) in payload["userErrors"][0]["message"]
    assert len(owner_tokens(settings, a_id)) == maxima.API_TOKENS_PER_OWNER


def test_a_list_over_100_shrinks_back_to_100(api: Api, settings: Settings) -> None:
    """An owner holding more than 100 (written before the maximum held) gets back to
    exactly 100 with its next token, when enough of them are revoked."""
    a_id = api.create_reseller("Reseller A")
    old = seed_tokens(settings, a_id, 104, revoked=True)
    payload = create_token(api, name="new", role="RESELLER", resellerId=a_id)
    assert payload["userErrors"] == []
    names = [row["name"] for row in owner_tokens(settings, a_id)]
    assert names == [*old[5:], "new"]
