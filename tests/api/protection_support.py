"""Helpers for the HTTP, authentication, limits and token tests: direct database access
as the command line does it (for facts the API does not show, such as the stored hash),
an app with its own settings, and SQL recording."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.models import event_table, token_table
from db.settings import Settings
from gql.app import create_app
from tenancy.principal import CLI
from tenancy.scoping import changeable, visible
from tests.api_client import Api
from tests.support.cli import run_as_cli


def token_rows(settings: Settings) -> list[dict[str, Any]]:
    async def work(conn: Any) -> list[dict[str, Any]]:
        result = await conn.execute(visible(sa.select(token_table), CLI))
        return [dict(row._mapping) for row in result]

    return run_as_cli(settings, work)


def audit_rows(settings: Settings) -> list[dict[str, Any]]:
    async def work(conn: Any) -> list[dict[str, Any]]:
        result = await conn.execute(visible(sa.select(event_table), CLI))
        return [dict(row._mapping) for row in result]

    return run_as_cli(settings, work)


def set_token_expiry(settings: Settings, name: str, when: datetime) -> None:
    """Make a token expire (the API only accepts future expiries)."""

    async def work(conn: Any) -> None:
        statement = token_table.update().where(token_table.c.name == name).values(expires_at=when)
        result = await conn.execute(changeable(statement, CLI))
        assert result.rowcount == 1

    run_as_cli(settings, work)


class AppApi(Api):
    """An Api that also holds its app (to record the app's SQL)."""

    def __init__(self, client: TestClient, admin_token: str, app: Starlette) -> None:
        super().__init__(client, admin_token)
        self.app = app


@contextmanager
def app_with(settings: Settings, admin_token: str, **overrides: Any) -> Iterator[AppApi]:
    """An app of its own, with settings overrides (e.g. token_cache_seconds=0)."""
    own = Settings(database_url=settings.database_url, **overrides)
    app = create_app(own)
    with TestClient(app) as client:
        yield AppApi(client, admin_token, app)


def post_raw(
    api: Api,
    content: bytes | str,
    content_type: str = "application/json",
    token: str | None = None,
    **headers: str,
) -> Any:
    sent = {"Content-Type": content_type, **headers}
    if token != "":
        sent["Authorization"] = f"Bearer {token or api.admin_token}"
    return api.client.post("/graphql", content=content, headers=sent)


def top_error(response: Any, status: int = 200) -> dict[str, Any]:
    """The single top-level error of a refused request (no data executed)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body.get("data") is None, body
    assert len(body["errors"]) >= 1, body
    found: dict[str, Any] = body["errors"][0]
    return found
