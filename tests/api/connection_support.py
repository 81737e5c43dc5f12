"""Walking the customerClasses, customers and auditEvents connections both ways
(first/after and last/before, any orderBy), for the connection tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.api_client import Api

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@dataclass(frozen=True)
class Listing:
    """One root connection: its field, the types of its filter arguments, its default
    order and the node fields its tests read."""

    root: str
    arguments: str  # e.g. "$filter: CustomerFilter" (declared and passed as is)
    order_type: str
    default_order: str
    node_fields: str

    def query(self) -> str:
        names = ", ".join(
            f"{part.split(':')[0].strip()[1:]}: {part.split(':')[0].strip()}"
            for part in self.arguments.split(",")
        )
        return f"""
query($first: Int! = 50, $after: String, $last: Int, $before: String, {self.arguments},
      $orderBy: {self.order_type}! = {self.default_order}) {{
  {self.root}(first: $first, after: $after, last: $last, before: $before, {names},
              orderBy: $orderBy) {{
    totalCount
    {PAGE_INFO}
    edges {{ cursor node {{ id }} }}
    nodes {{ {self.node_fields} }}
  }}
}}"""

    def page(self, api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
        variables = {key: value for key, value in args.items() if value is not None}
        found: dict[str, Any] = api.data(self.query(), variables, token)[self.root]
        return found

    def error(self, api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
        variables = {key: value for key, value in args.items() if value is not None}
        body = api.run(self.query(), variables, token)
        assert body.get("errors"), body
        assert body.get("data") is None, body
        found: dict[str, Any] = body["errors"][0]
        return found


CLASSES = Listing(
    root="customerClasses",
    arguments="$filter: CustomerClassFilter",
    order_type="CustomerClassOrder",
    default_order="{field: NAME, direction: ASC}",
    node_fields="id name",
)
CUSTOMERS = Listing(
    root="customers",
    arguments="$filter: CustomerFilter",
    order_type="CustomerOrder",
    default_order="{field: NAME, direction: ASC}",
    node_fields="id name createdAt",
)
EVENTS = Listing(
    root="auditEvents",
    arguments="$objectId: ID",
    order_type="AuditEventOrder",
    default_order="{field: AT, direction: DESC}",
    node_fields="id at objectId",
)


def ids(page: dict[str, Any]) -> list[str]:
    return [node["id"] for node in page["nodes"]]


def walk_forward(
    listing: Listing, api: Api, token: str | None, size: int, **args: Any
) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = listing.page(api, token, first=size, after=after, **args)
        info = page["pageInfo"]
        edges = page["edges"]
        assert [e["node"]["id"] for e in edges] == ids(page)
        assert info["hasPreviousPage"] is (after is not None)
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
        seen.extend(ids(page))
        if not info["hasNextPage"]:
            assert len(edges) <= size
            return seen
        assert len(edges) == size
        after = info["endCursor"]
    raise AssertionError("too many pages")


def walk_backward(
    listing: Listing, api: Api, token: str | None, size: int, **args: Any
) -> list[str]:
    seen: list[str] = []
    before = None
    for _ in range(100):
        # first is ignored once last is given.
        page = listing.page(api, token, first=1, last=size, before=before, **args)
        info = page["pageInfo"]
        edges = page["edges"]
        assert [e["node"]["id"] for e in edges] == ids(page)
        assert info["hasNextPage"] is (before is not None)
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
        seen[:0] = ids(page)
        if not info["hasPreviousPage"]:
            return seen
        assert len(edges) == size
        before = info["startCursor"]
    raise AssertionError("too many pages")
