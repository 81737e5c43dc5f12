"""Trusted documents over HTTP (issue 10): ``{"documentId": "sha256:<hex>"}`` instead of
``query``, the BILLCLASS_DOCUMENTS modes for both roles, the per-worker cache (never a
parse per request, never paced as a new parse), tenancy as for ad-hoc queries, and the
metrics' operation label."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.models import trusted_document_table
from db.settings import Settings
from gql import admission, documents, limits
from gql.app import create_app
from gql.schema import graphql_schema
from gql.trusted import document_id, registrations
from tenancy import trusted_documents
from tests import test_cli
from tests.api_client import Api, World
from tests.databases import Databases
from tests.support.cli import run_as_cli
from tests.test_cli import Run

in_process = test_cli.in_process  # the fixture, shared

CLASS_NAMES = "query ClassNames { customerClasses(first: 100) { totalCount nodes { id name } } }"
VIEWER = "query WhoAmI { viewer { role } }"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "persisted-documents.json"


def register(database_url: str, *documents: str) -> list[str]:
    """Register documents as `billclass documents push` does (as the owner)."""
    found, problems = registrations(graphql_schema, {document_id(d): d for d in documents})
    assert not problems, problems

    async def work(conn: AsyncConnection) -> int:
        return await trusted_documents.register(conn, found)

    run_as_cli(Settings(database_url=Databases.owner_url(database_url)), work)
    return [document_id(d) for d in documents]


def unregister(database_url: str, *ids: str) -> None:
    async def work(conn: AsyncConnection) -> list[str]:
        return await trusted_documents.remove(conn, list(ids))

    assert run_as_cli(Settings(database_url=Databases.owner_url(database_url)), work) == []


def by_id(
    client: TestClient,
    token: str,
    doc_id: str,
    variables: dict[str, Any] | None = None,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {"documentId": doc_id, **extra}
    if variables is not None:
        body["variables"] = variables
    return client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


def adhoc(client: TestClient, token: str, query: str) -> httpx.Response:
    return client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )


def code_of(response: httpx.Response) -> str | None:
    body = response.json()
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


@pytest.fixture
def mode_client(settings: Settings) -> Iterator[Any]:
    """A client of an app on the same database with BILLCLASS_DOCUMENTS set to a mode."""
    opened: list[TestClient] = []

    def make(mode: str, **changes: Any) -> TestClient:
        app = create_app(settings.model_copy(update={"documents": mode, **changes}))
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


# --------------------------------------------------------------------------- the request


def test_a_registered_document_runs_by_its_id(
    client: TestClient, api: Api, database_url: str
) -> None:
    (doc_id,) = register(database_url, VIEWER)
    response = by_id(client, api.admin_token, doc_id)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"viewer": {"role": "ADMINISTRATOR"}}
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    named = by_id(client, api.admin_token, doc_id, operationName="WhoAmI")
    assert named.json()["data"] == {"viewer": {"role": "ADMINISTRATOR"}}


def test_an_unknown_id_is_persisted_document_not_found(client: TestClient, api: Api) -> None:
    response = by_id(client, api.admin_token, "sha256:" + "a" * 64)
    assert response.status_code == 200
    assert code_of(response) == "PERSISTED_DOCUMENT_NOT_FOUND"
    assert "data" not in response.json()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": VIEWER, "documentId": document_id(VIEWER)}, "not both"),
        ({"documentId": "sha256:XYZ"}, "64 lowercase hex"),
        ({"documentId": 12}, "64 lowercase hex"),
        ({"documentId": document_id(VIEWER).removeprefix("sha256:")}, "64 lowercase hex"),
        ({"variables": {}}, '"query" or "documentId"'),
    ],
)
def test_a_malformed_envelope_is_bad_request(
    client: TestClient, api: Api, body: dict[str, Any], message: str
) -> None:
    response = client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {api.admin_token}"}
    )
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"
    assert message in response.json()["errors"][0]["message"]


def test_a_registered_document_is_parsed_once_per_worker_and_never_paced(
    app: Starlette,
    client: TestClient,
    api: Api,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (doc_id,) = register(database_url, CLASS_NAMES)
    parses: list[str] = []
    real_prepare = documents.prepare

    def prepare(schema: Any, query: str) -> Any:
        parses.append(query)
        return real_prepare(schema, query)

    monkeypatch.setattr("gql.trusted.prepare", prepare)
    paced: list[object] = []
    real_parsing = admission.Admission.parsing

    def parsing(self: admission.Admission, principal: Any) -> Any:
        paced.append(principal)
        return real_parsing(self, principal)

    monkeypatch.setattr(admission.Admission, "parsing", parsing)
    adhoc_misses = app.state.endpoint.documents.misses
    for _ in range(5):
        response = by_id(client, api.admin_token, doc_id)
        assert response.status_code == 200 and code_of(response) is None, response.text
        assert response.json()["extensions"]["cost"]["requestedQueryCost"] == 100
    assert parses == [CLASS_NAMES]
    assert paced == []
    assert app.state.endpoint.documents.misses == adhoc_misses
    adhoc(client, api.admin_token, "query New { viewer { role } }")
    assert len(paced) == 1  # the spy sees a new ad-hoc document


def test_the_registry_is_read_once_per_worker_within_the_bound(
    client: TestClient, api: Api, database_url: str, sql_statements: list[str]
) -> None:
    """Within BILLCLASS_TOKEN_CACHE_SECONDS (5 s here) the worker answers from its cache:
    one read of the registry for any number of requests; a removed document is still
    served until the bound (README "Trusted documents")."""
    (doc_id,) = register(database_url, VIEWER)
    sql_statements.clear()
    for _ in range(4):
        assert code_of(by_id(client, api.admin_token, doc_id)) is None
    assert sum("trusted_document" in s for s in sql_statements) == 1
    unregister(database_url, doc_id)
    assert code_of(by_id(client, api.admin_token, doc_id)) is None


def test_an_unknown_id_is_looked_up_once_per_worker_within_the_bound(
    client: TestClient, api: Api, sql_statements: list[str]
) -> None:
    unknown = "sha256:" + "b" * 64
    sql_statements.clear()
    for _ in range(4):
        assert code_of(by_id(client, api.admin_token, unknown)) == "PERSISTED_DOCUMENT_NOT_FOUND"
    assert sum("trusted_document" in s for s in sql_statements) == 1


def test_registered_costs_are_reused_not_recomputed(
    client: TestClient, api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (doc_id,) = register(database_url, CLASS_NAMES)
    budgets: list[object] = []

    def operation_budget(*args: Any) -> Any:
        budgets.append(args)
        return limits.operation_budget(*args)

    monkeypatch.setattr("gql.endpoint.operation_budget", operation_budget)
    for name in (None, "ClassNames"):
        extra: dict[str, Any] = {} if name is None else {"operationName": name}
        response = by_id(client, api.admin_token, doc_id, **extra)
        assert response.json()["extensions"]["cost"]["requestedQueryCost"] == 100
    assert budgets == []
    adhoc(client, api.admin_token, "query Other { customerClasses(first: 3) { totalCount } }")
    assert len(budgets) == 1  # the spy sees the ad-hoc path


def test_a_document_with_budget_variables_is_costed_per_request(
    client: TestClient, api: Api, database_url: str
) -> None:
    text = "query Page($n: Int!) { customerClasses(first: $n) { totalCount } }"
    (doc_id,) = register(database_url, text)
    small = by_id(client, api.admin_token, doc_id, {"n": 2})
    assert small.json()["extensions"]["cost"]["requestedQueryCost"] == 2
    too_large = by_id(client, api.admin_token, doc_id, {"n": 500})
    assert code_of(too_large) == "PAGE_TOO_LARGE"


def test_a_removed_document_stops_at_once_with_no_token_cache(
    mode_client: Any, api: Api, database_url: str
) -> None:
    client = mode_client("open", token_cache_seconds=0)
    (doc_id,) = register(database_url, VIEWER)
    assert code_of(by_id(client, api.admin_token, doc_id)) is None
    unregister(database_url, doc_id)
    assert code_of(by_id(client, api.admin_token, doc_id)) == "PERSISTED_DOCUMENT_NOT_FOUND"
    register(database_url, VIEWER)
    assert code_of(by_id(client, api.admin_token, doc_id)) is None


def test_a_document_the_schema_no_longer_validates_is_refused_clearly(
    client: TestClient, api: Api, database_url: str
) -> None:
    text = "query Old { viewer { removedField } }"

    async def plant(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(trusted_document_table).values(
                id=document_id(text),
                document=text,
                operation_names=["Old"],
                requested_costs={"Old": [1, 0]},
                created_at=sa.func.now(),
            )
        )

    run_as_cli(Settings(database_url=Databases.owner_url(database_url)), plant)
    response = by_id(client, api.admin_token, document_id(text))
    assert response.status_code == 200
    assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
    assert "removedField" in response.json()["errors"][0]["message"]


def test_a_reseller_sees_only_its_own_data_through_a_registered_document(
    client: TestClient, world: World, database_url: str
) -> None:
    (doc_id,) = register(database_url, CLASS_NAMES)
    for tenant, other in ((world.a, world.b), (world.b, world.a)):
        by_document = by_id(client, tenant.token, doc_id).json()["data"]
        ad_hoc = adhoc(client, tenant.token, CLASS_NAMES).json()["data"]
        assert by_document == ad_hoc
        ids = {node["id"] for node in by_document["customerClasses"]["nodes"]}
        assert tenant.class_id in ids
        assert other.class_id not in ids and world.admin_class_id not in ids
    admin = by_id(client, world.admin_token, doc_id).json()["data"]
    assert {world.a.class_id, world.b.class_id, world.admin_class_id} <= {
        node["id"] for node in admin["customerClasses"]["nodes"]
    }


def test_rate_limits_still_apply_to_registered_documents(
    mode_client: Any, api: Api, database_url: str
) -> None:
    client = mode_client("open", rate_token_bucket=150, rate_token_restore=1)
    (doc_id,) = register(database_url, CLASS_NAMES)
    first = by_id(client, api.admin_token, doc_id)
    assert code_of(first) is None
    # the actual cost (a few classes) was refunded down to what was returned
    codes = [code_of(by_id(client, api.admin_token, doc_id)) for _ in range(60)]
    assert "THROTTLED" in codes


# --------------------------------------------------------------------------- the modes

# mode -> role -> (ad-hoc query allowed, registered document allowed)
MODES = {
    "open": {"ADMINISTRATOR": True, "RESELLER": True},
    "trusted-for-resellers": {"ADMINISTRATOR": True, "RESELLER": False},
    "trusted": {"ADMINISTRATOR": False, "RESELLER": False},
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("role", ["ADMINISTRATOR", "RESELLER"])
def test_every_mode_for_both_roles(
    mode_client: Any, world: World, database_url: str, mode: str, role: str
) -> None:
    client = mode_client(mode)
    (doc_id,) = register(database_url, VIEWER)
    token = world.admin_token if role == "ADMINISTRATOR" else world.a.token
    registered = by_id(client, token, doc_id)
    assert registered.status_code == 200
    assert registered.json()["data"] == {"viewer": {"role": role}}
    ad_hoc = adhoc(client, token, VIEWER)
    assert ad_hoc.status_code == 200
    if MODES[mode][role]:
        assert ad_hoc.json()["data"] == {"viewer": {"role": role}}
    else:
        assert code_of(ad_hoc) == "PERSISTED_DOCUMENT_REQUIRED"
        assert "data" not in ad_hoc.json()
        # the text of a registered document, sent as a query, is still an ad-hoc query
        assert code_of(adhoc(client, token, VIEWER)) == "PERSISTED_DOCUMENT_REQUIRED"


def test_settings_refuse_an_unknown_mode(database_url: str) -> None:
    with pytest.raises(ValueError, match="documents"):
        Settings(database_url=database_url, documents="closed")


# --------------------------------------------------------------------------- metrics


def _count(client: TestClient, token: str, operation: str) -> float:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if (
                sample.name == "billclass_requests_total"
                and sample.labels.get("operation") == operation
            ):
                total += sample.value
    return total


def test_registered_operation_names_label_the_metrics(
    client: TestClient, api: Api, database_url: str
) -> None:
    name = "TrustedMetricsProbe"
    text = f"query {name} {{ viewer {{ role }} }}"
    (doc_id,) = register(database_url, text)
    before_name = _count(client, api.admin_token, name)
    before_other = _count(client, api.admin_token, "other")
    for _ in range(2):
        assert code_of(by_id(client, api.admin_token, doc_id)) is None
    assert code_of(adhoc(client, api.admin_token, text)) is None  # same name, ad hoc
    assert _count(client, api.admin_token, name) - before_name == 2
    # the ad-hoc request, and the two /metrics reads are not GraphQL requests
    assert _count(client, api.admin_token, "other") - before_other == 1


# --------------------------------------------------------------------------- a tool chain


def test_a_codegen_manifest_pushed_with_the_cli_runs_over_http(
    in_process: Run, client: TestClient, world: World, database_url: str
) -> None:
    """tests/fixtures/persisted-documents.json is shaped as GraphQL Code Generator's
    client preset writes it (persistedDocuments: {"<sha256 hex>": "<printed document>"})."""
    manifest: dict[str, str] = json.loads(FIXTURE.read_text())
    env = {"BILLCLASS_MIGRATION_DATABASE_URL": Databases.owner_url(database_url)}
    pushed = in_process(database_url, "documents", "push", str(FIXTURE), env=env)
    assert pushed.returncode == 0, pushed.stderr
    ids = {re.split(r"[\s(]", text)[1]: f"sha256:{key}" for key, text in manifest.items()}
    viewer = by_id(client, world.a.token, ids["Viewer"]).json()
    assert viewer["data"] == {"viewer": {"role": "RESELLER", "tokenName": "Reseller A token"}}
    names = by_id(client, world.a.token, ids["ClassNames"]).json()["data"]["customerClasses"]
    assert world.a.class_id in {node["id"] for node in names["nodes"]}
    one = by_id(client, world.a.token, ids["CustomerClass"], {"id": world.a.class_id}).json()
    assert one["data"]["customerClass"]["id"] == world.a.class_id
    hidden = by_id(client, world.a.token, ids["CustomerClass"], {"id": world.b.class_id}).json()
    assert hidden["data"] == {"customerClass": None}
