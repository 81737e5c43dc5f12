"""GraphiQL over HTTP (issue 9, item 1): the page and its vendored assets are served by
the service, same-origin, with strict security headers; the vendored files are the ones
VERSIONS records and the wheel ships them. The page in a browser: tests/browser."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gql import graphiql

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
ROOT = Path(__file__).resolve().parents[2]
GQL = ROOT / "gql"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _assert_security_headers(headers: Mapping[str, str]) -> None:
    assert headers["content-security-policy"] == CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"


def _page(client: TestClient) -> str:
    response = client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    return response.text


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/graphiql/[^"]+)"', page)


def test_the_page_has_strict_security_headers(client: TestClient) -> None:
    response = client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    _assert_security_headers(response.headers)
    assert response.headers["cache-control"] == "no-cache"


def test_the_page_has_no_inline_script_no_inline_style_and_no_external_url(
    client: TestClient,
) -> None:
    page = _page(client)
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.IGNORECASE)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) == 4
    for attributes, body in scripts:
        assert re.search(r'\bsrc="/graphiql/', attributes), attributes
        assert body.strip() == ""
    assert not re.search(r"\son[a-z]+\s*=", page, re.IGNORECASE)  # no event handler attribute
    assert not re.search(r"\sstyle\s*=|<style", page, re.IGNORECASE)
    for name in ("react.production.min.js", "graphiql.min.css", "page.js"):
        assert f"/graphiql/{name}?v=" in page, name


def test_the_token_field_is_in_no_form(client: TestClient) -> None:
    """Submitted before page.js runs (or if it failed), a form would send the token in a
    URL (GET /graphql?token=...), into the history and access logs."""
    page = _page(client)
    assert 'id="token"' in page
    assert "<form" not in page.lower()


def test_every_asset_of_the_page_is_served_same_origin_and_cacheable(
    client: TestClient,
) -> None:
    urls = _asset_urls(_page(client))
    assert sorted(url.split("?")[0].removeprefix("/graphiql/") for url in urls) == sorted(
        graphiql.ASSET_FILES
    )
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        name = url.split("?")[0].removeprefix("/graphiql/")
        assert response.content == graphiql.ASSET_FILES[name].read_bytes()
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        assert response.headers["content-type"] == f"{kind}; charset=utf-8"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        _assert_security_headers(response.headers)
        version = url.split("?v=")[1]
        assert version == hashlib.sha256(response.content).hexdigest()[:16]


@pytest.mark.parametrize("query", ["", "?v=0123456789abcdef"])
def test_an_asset_asked_for_by_another_version_is_not_kept(client: TestClient, query: str) -> None:
    response = client.get("/graphiql/page.js" + query)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "name", ["update.sh", "VERSIONS", "index.html", "LICENSE.react", "vendor/VERSIONS", "x.js"]
)
def test_only_the_named_assets_are_served(client: TestClient, name: str) -> None:
    response = client.get("/graphiql/" + name)
    assert response.status_code == 404
    assert response.headers["x-content-type-options"] == "nosniff"


def test_assets_are_read_only(client: TestClient) -> None:
    assert client.post("/graphiql/page.js").status_code == 405
    assert client.head("/graphiql/page.js").status_code == 200


def _versions() -> list[list[str]]:
    lines = (graphiql.VENDOR / "VERSIONS").read_text().splitlines()
    return [line.split() for line in lines if line and not line.startswith("#")]


def test_the_vendored_files_are_the_pinned_ones_with_their_licences() -> None:
    rows = _versions()
    names = {row[0] for row in rows}
    assert names == {path.name for path in graphiql.VENDOR.iterdir()} - {"VERSIONS"}
    assert {"LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"} <= names
    for name, package, _source, sha256 in rows:
        assert re.fullmatch(r"(graphiql|react|react-dom)@\d+\.\d+\.\d+", package), package
        body = (graphiql.VENDOR / name).read_bytes()
        assert hashlib.sha256(body).hexdigest() == sha256, f"{name} is not what npm served"
    for name in ("LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"):
        assert "MIT License" in (graphiql.VENDOR / name).read_text()


def test_the_wheel_ships_every_graphiql_file() -> None:
    """pyproject's package data names every file gql/graphiql.py reads."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        patterns = tomllib.load(file)["tool"]["setuptools"]["package-data"]["gql"]
    needed = [
        *graphiql.ASSET_FILES.values(),
        graphiql.STATIC / "index.html",
        *graphiql.VENDOR.iterdir(),
    ]
    for path in needed:
        relative = path.relative_to(GQL).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative
