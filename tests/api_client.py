"""GraphQL over HTTP for tests: requests, error helpers and a reusable two-tenant world."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2 as httpx

CLASS_FIELDS = "id name version managedBy isDefault sharedWithResellers"


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """A response body without ``extensions.cost`` (SPEC §7), which every authenticated
    GraphQL response carries: for comparing the rest of the body whole."""
    rest = dict(body)
    extensions = dict(rest.pop("extensions"))
    assert "cost" in extensions, body
    del extensions["cost"]
    if extensions:
        rest["extensions"] = extensions
    return rest


T = TypeVar("T")


def shown(value: T | None) -> T:
    """The value of a nullable field that the caller must see (a visible object)."""
    assert value is not None, "hidden or missing"
    return value


class GraphQLFailure(AssertionError):
    pass


@dataclass
class Tenant:
    """A reseller with its token, as a test's point of view."""

    name: str
    id: str
    token: str
    class_id: str = ""
    customer_id: str = ""


@dataclass
class World:
    admin_token: str
    a: Tenant
    b: Tenant
    admin_class_id: str = ""
    shared_class_id: str = ""
    default_class_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def ids(self) -> list[str]:
        """The global IDs of every object the world made, visible or not to each side."""
        return [
            self.a.id,
            self.a.class_id,
            self.a.customer_id,
            self.b.id,
            self.b.class_id,
            self.b.customer_id,
            self.admin_class_id,
            self.shared_class_id,
            self.default_class_id,
        ]


class Api:
    """GraphQL requests to the app through ``client`` (a TestClient in process, an
    httpx.Client against a server), as the administrator unless a token is given."""

    def __init__(self, client: httpx.Client, admin_token: str) -> None:
        self.client = client
        self.admin_token = admin_token

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return self.client.post("/graphql", json=body, headers=headers)

    def run(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The whole response body (status 200 asserted)."""
        response = self.post(query, variables, token)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The data of a request that must succeed without any error."""
        body = self.run(query, variables, token)
        if body.get("errors"):
            raise GraphQLFailure(body["errors"])
        found: dict[str, Any] = body["data"]
        return found

    def error_code(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> str:
        body = self.run(query, variables, token)
        assert body.get("errors"), body
        found: str = body["errors"][0]["extensions"]["code"]
        return found

    def mutate(
        self,
        name: str,
        input_: dict[str, Any],
        token: str | None = None,
        selection: str = "",
        input_type: str | None = None,
    ) -> dict[str, Any]:
        """Run one mutation; returns its payload (userErrors included, not asserted)."""
        input_type = input_type or name[0].upper() + name[1:] + "Input"
        query = (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) {{"
            f" {selection} userErrors {{ field message code }} }} }}"
        )
        found: dict[str, Any] = self.data(query, {"input": input_}, token)[name]
        return found

    def ok(
        self,
        name: str,
        input_: dict[str, Any],
        token: str | None = None,
        selection: str = "",
        input_type: str | None = None,
    ) -> dict[str, Any]:
        payload = self.mutate(name, input_, token, selection, input_type)
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload

    # ------------------------------------------------------------------ factories

    def create_customer(self, token: str | None = None, **input_: Any) -> str:
        input_.setdefault("currencyCode", "USD")
        payload = self.ok("createCustomer", input_, token, "customer { id }")
        found: str = payload["customer"]["id"]
        return found

    def create_reseller(
        self, name: str, parent_id: str | None = None, token: str | None = None
    ) -> str:
        data: dict[str, Any] = {"name": name, "customerType": "RESELLER", "currencyCode": "USD"}
        if parent_id:
            data["parentId"] = parent_id
        return self.create_customer(token, **data)

    def create_class(self, token: str | None = None, **input_: Any) -> str:
        payload = self.ok("createCustomerClass", input_, token, "customerClass { id }")
        found: str = payload["customerClass"]["id"]
        return found

    def create_token(self, token: str | None = None, **input_: Any) -> str:
        payload = self.ok("createApiToken", input_, token, "secret apiToken { id }")
        found: str = payload["secret"]
        return found

    def reseller_token(self, reseller_id: str, name: str) -> str:
        return self.create_token(
            name=name, role="RESELLER", resellerId=reseller_id, expiresAt="2099-01-01T00:00:00Z"
        )

    def default_class_id(self) -> str:
        nodes = self.data(
            '{ customerClasses(filter: {nameContains: "default"}) { nodes { id isDefault } } }'
        )["customerClasses"]["nodes"]
        found: str = next(n["id"] for n in nodes if n["isDefault"])
        return found

    def world(self) -> World:
        """Administrator classes (one shared), resellers A and B with a class and a
        customer each, and their tokens."""
        tenants = []
        for name in ("Reseller A", "Reseller B"):
            reseller_id = self.create_reseller(name)
            token = self.reseller_token(reseller_id, f"{name} token")
            tenant = Tenant(name=name, id=reseller_id, token=token)
            tenant.class_id = self.create_class(token, name=f"{name} class", currencyCode="USD")
            tenant.customer_id = self.create_customer(
                token, name=f"{name} customer", customerClassId=tenant.class_id
            )
            tenants.append(tenant)
        world = World(admin_token=self.admin_token, a=tenants[0], b=tenants[1])
        world.admin_class_id = self.create_class(name="Admin private", currencyCode="USD")
        world.shared_class_id = self.create_class(
            name="Admin shared", currencyCode="USD", sharedWithResellers=True
        )
        world.default_class_id = self.default_class_id()
        return world
