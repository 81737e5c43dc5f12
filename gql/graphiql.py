"""GraphiQL, served by the service itself: the page (GET /graphql from a browser) and its
assets under /graphiql/, same-origin, with no external URL (issue 9, README "GraphiQL").

The assets are a pinned, vendored build of graphiql, react and react-dom
(static/graphiql/vendor/, fetched by static/graphiql/update.sh, sums in its VERSIONS)
plus the page's own script and style. Only the files named here are served. Each is
linked with its content hash (``?v=``), so a browser may keep it for a year: a new
build is a new URL.

Every response carries a strict Content-Security-Policy: scripts and connections only to
this origin, no inline script, no framing. Two allowances, both for GraphiQL itself:
``data:`` fonts and images (its stylesheet embeds its fonts and icons as data URLs) and
``style-src 'unsafe-inline'`` (see STYLE_SRC).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

STATIC = Path(__file__).parent / "static" / "graphiql"
VENDOR = STATIC / "vendor"
PREFIX = "/graphiql/"

# GraphiQL's dialogs (settings, short keys) add <style> elements at run time (Radix UI's
# scroll lock, react-remove-scroll-bar), with content computed in the browser (the
# scrollbar's width), so no hash can name them: without 'unsafe-inline' Chromium blocks
# them and reports a violation (tests/browser/test_graphiql.py opens a dialog). Inline
# style cannot run script, and img-src/font-src/connect-src keep CSS from reaching out.
STYLE_SRC = "style-src 'self' 'unsafe-inline'"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        STYLE_SRC,
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# The page may change with the token field's code; the assets never do under one URL.
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"

MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str  # the start of the body's sha256, the ?v= of its URL

    @property
    def url_suffix(self) -> str:
        return f"?v={self.version}"


def _asset(path: Path) -> Asset:
    body = path.read_bytes()
    return Asset(body, MEDIA_TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:16])


# Served names (the URL under PREFIX) and their files: the allowlist.
ASSET_FILES = {
    "react.production.min.js": VENDOR / "react.production.min.js",
    "react-dom.production.min.js": VENDOR / "react-dom.production.min.js",
    "graphiql.min.js": VENDOR / "graphiql.min.js",
    "graphiql.min.css": VENDOR / "graphiql.min.css",
    "page.js": STATIC / "page.js",
    "page.css": STATIC / "page.css",
}
ASSETS = {name: _asset(path) for name, path in ASSET_FILES.items()}


def _page() -> str:
    page = (STATIC / "index.html").read_text()
    for name, asset in ASSETS.items():
        page = page.replace("{" + name + "}", PREFIX + name + asset.url_suffix)
    return page


PAGE = _page()


def page_response() -> Response:
    return HTMLResponse(PAGE, headers={**SECURITY_HEADERS, "Cache-Control": PAGE_CACHE})


async def asset(request: Request) -> Response:
    """GET /graphiql/{name}: one of ASSETS, cached for a year when asked for by its current
    URL (an old ?v= gets today's file, not to be kept)."""
    found = ASSETS.get(request.path_params["name"])
    if found is None:
        return PlainTextResponse("Not Found", status_code=404, headers=SECURITY_HEADERS)
    fresh = request.query_params.get("v") == found.version
    return Response(
        found.body,
        media_type=found.media_type,
        headers={**SECURITY_HEADERS, "Cache-Control": ASSET_CACHE if fresh else PAGE_CACHE},
    )
