"""DataLoaders, created per request so their caches never cross tenants or requests.

Every nested field that needs another row (a class's managing reseller, a customer's
class, a template, a count) goes through one of these, so a page of N rows costs one
query per kind of related row, not one per row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from tenancy import (
    audit,
    catalogs,
    class_history,
    customer_classes,
    customers,
    pagination,
    tokens,
    webhooks,
)
from tenancy.principal import Principal

K = TypeVar("K")
# A class's history page: (class key, first, the decoded after cursor).
HistoryKey = tuple[int, int, tuple[datetime, int] | None]
V = TypeVar("V")


def _by_key(
    fetch: Callable[[list[K]], Awaitable[dict[K, V]]], default: Any = None
) -> DataLoader[K, V]:
    async def load(keys: Sequence[K]) -> list[V]:
        found = await fetch(list(keys))
        return [found.get(key, default) for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """The request's loaders, each created on first use (most requests need few)."""

    def __init__(self, conn: AsyncConnection, principal: Principal) -> None:
        self._conn = conn
        self._principal = principal
        self._made: dict[str, DataLoader[Any, Any]] = {}

    def reset(self) -> None:
        """Forget everything loaded: each mutation field starts from the database."""
        self._made.clear()

    def _loader(
        self,
        name: str,
        fetch: Callable[[list[Any]], Awaitable[dict[Any, Any]]],
        default: Any = None,
    ) -> DataLoader[Any, Any]:
        loader = self._made.get(name)
        if loader is None:
            loader = self._made[name] = _by_key(fetch, default)
        return loader

    @property
    def classes(self) -> DataLoader[int, Any]:
        conn, principal = self._conn, self._principal
        return self._loader(
            "classes", lambda keys: customer_classes.visible_classes(conn, principal, keys)
        )

    @property
    def routed_classes(self) -> DataLoader[tuple[int, int], Any]:
        """Classes by (key, tenant) of a routed global ID (``tenancy.ids``)."""
        conn, principal = self._conn, self._principal
        return self._loader(
            "routed_classes",
            lambda routes: customer_classes.visible_routed_classes(conn, principal, routes),
        )

    @property
    def customers(self) -> DataLoader[int, Any]:
        conn, principal = self._conn, self._principal
        return self._loader(
            "customers", lambda keys: customers.visible_customers(conn, principal, keys)
        )

    @property
    def customer_counts(self) -> DataLoader[int, int]:
        conn, principal = self._conn, self._principal
        return self._loader(
            "customer_counts",
            lambda keys: customer_classes.customer_counts(conn, principal, keys),
            0,
        )

    @property
    def class_customers(self) -> DataLoader[tuple[int, int, str | None], pagination.Page]:
        loader = self._made.get("class_customers")
        if loader is None:
            loader = self._made["class_customers"] = DataLoader(load_fn=self._class_customers)
        return loader

    @property
    def histories(
        self,
    ) -> DataLoader[HistoryKey, class_history.HistoryPage | None]:
        """A page of each class's history, keyed by (class, first, decoded after)."""
        loader = self._made.get("histories")
        if loader is None:
            loader = self._made["histories"] = DataLoader(load_fn=self._class_history)
        return loader

    @property
    def history_counts(self) -> DataLoader[int, int]:
        conn, principal = self._conn, self._principal
        return self._loader(
            "history_counts",
            lambda keys: class_history.history_counts(conn, principal, keys),
            0,
        )

    @property
    def events(self) -> DataLoader[int, Any]:
        conn, principal = self._conn, self._principal
        return self._loader("events", lambda keys: audit.visible_events(conn, principal, keys))

    @property
    def tokens(self) -> DataLoader[int, Any]:
        conn, principal = self._conn, self._principal
        return self._loader("tokens", lambda keys: tokens.visible_tokens(conn, principal, keys))

    @property
    def subscriptions(self) -> DataLoader[int, Any]:
        conn, principal = self._conn, self._principal
        return self._loader(
            "subscriptions", lambda keys: webhooks.visible_subscriptions(conn, principal, keys)
        )

    @property
    def deliveries(self) -> DataLoader[int, Any]:
        conn, principal = self._conn, self._principal
        return self._loader(
            "deliveries", lambda keys: webhooks.visible_deliveries(conn, principal, keys)
        )

    @property
    def settings_classes(self) -> DataLoader[int, Any]:
        """The class behind a visible customer's effective settings, even when the class
        itself is hidden from the caller (a reseller's own record)."""
        conn, principal = self._conn, self._principal
        return self._loader(
            "settings_classes",
            lambda keys: customer_classes.classes_of_visible_customers(conn, principal, keys),
        )

    def catalog(self, type_name: str) -> DataLoader[int, Any]:
        conn = self._conn
        return self._loader(
            f"catalog:{type_name}", lambda keys: catalogs.entries_by_key(conn, type_name, keys)
        )

    async def _class_history(
        self, keys: Sequence[HistoryKey]
    ) -> list[class_history.HistoryPage | None]:
        pages: dict[HistoryKey, class_history.HistoryPage] = {}
        by_args: dict[tuple[int, tuple[datetime, int] | None], list[int]] = {}
        for class_key, first, after in keys:
            by_args.setdefault((first, after), []).append(class_key)
        for (first, after), class_keys in by_args.items():
            found = await class_history.history_pages(
                self._conn, self._principal, class_keys, first=first, after=after
            )
            for class_key, page in found.items():
                pages[(class_key, first, after)] = page
        return [pages.get(key) for key in keys]

    async def _class_customers(
        self, keys: Sequence[tuple[int, int, str | None]]
    ) -> list[pagination.Page]:
        pages: dict[tuple[int, int, str | None], pagination.Page] = {}
        by_args: dict[tuple[int, str | None], list[int]] = {}
        for class_key, first, after in keys:
            by_args.setdefault((first, after), []).append(class_key)
        for (first, after), class_keys in by_args.items():
            found = await customers.customers_of_classes(
                self._conn, self._principal, class_keys, first=first, after=after
            )
            for class_key, page in found.items():
                pages[(class_key, first, after)] = page
        return [pages[key] for key in keys]
