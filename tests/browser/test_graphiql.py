"""GraphiQL in a real browser (issue 9, item 1): headless Chromium (the Debian package,
/usr/bin/chromium) driven by Playwright opens /graphql of a real server with no network
beyond 127.0.0.1, takes a token, shows the schema in Docs without a manual re-fetch, runs
a query and shows its result, under the page's Content-Security-Policy without a
violation, and keeps the token out of localStorage.

CI (`.ci/run`, which sets CI=1) installs chromium; there a missing browser fails the test.
Elsewhere it is skipped, with the reason, when /usr/bin/chromium is absent. On failure a
screenshot goes to $BILLCLASS_ARTIFACTS_DIR (default tests/artifacts/, which CI keeps).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect, sync_playwright

from db.settings import Settings
from gql.graphiql import CONTENT_SECURITY_POLICY
from tests.conftest import cli_token
from tests.reliability.server import running_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path(os.environ.get("BILLCLASS_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(
    os.environ.get("BILLCLASS_ARTIFACTS_DIR", Path(__file__).resolve().parents[1] / "artifacts")
)
QUERY = "{ customerClasses(first: 1) { totalCount } }"
# Each violation the page reports, recorded before any of its own scripts run.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""

# Every URL the page's elements load (scripts, styles, images, frames).
LOADED_URLS = """
() => [...document.querySelectorAll("[src], link[href]")].map((element) =>
  element.src || element.href)
"""


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI installs the Debian chromium (.ci/run)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI runs this test")


@contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot of the failing page: {path}")
        raise


def test_graphiql_offline_with_a_token_docs_and_a_query(database_url: str) -> None:
    _require_chromium()
    admin = cli_token(Settings(database_url=database_url))
    with running_server(database_url, workers=1) as server:
        expected = httpx.post(
            server.url + "/graphql",
            json={"query": QUERY},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["data"]["customerClasses"]["totalCount"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                context = browser.new_context()
                outside: list[str] = []

                def local_only(route: Route) -> None:
                    if urlsplit(route.request.url).hostname == "127.0.0.1":
                        route.continue_()
                    else:
                        outside.append(route.request.url)
                        route.abort()

                context.route("**/*", local_only)
                context.add_init_script(RECORD_VIOLATIONS)
                page = context.new_page()
                console_errors: list[str] = []

                def on_console(message: ConsoleMessage) -> None:
                    if message.type == "error":
                        console_errors.append(message.text)

                page.on("console", on_console)
                page.on("pageerror", lambda error: console_errors.append(str(error)))
                with screenshot_on_failure(page, "graphiql"):
                    response = page.goto(server.url + "/graphql")
                    assert response is not None and response.ok
                    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
                    assert response.headers["x-frame-options"] == "DENY"
                    assert response.headers["referrer-policy"] == "no-referrer"
                    assert not re.search(r"https?://", response.text())

                    # Docs opened before the token: nothing to show yet.
                    page.get_by_label("Show Documentation Explorer").click()
                    docs = page.locator(".graphiql-doc-explorer")
                    expect(docs).to_be_visible()

                    page.get_by_label("Bearer token").fill(admin)
                    page.get_by_label("Bearer token").press("Enter")
                    # The schema arrives with the token: no Re-fetch was clicked.
                    expect(docs).to_contain_text("CustomerClassConnection", timeout=15_000)

                    page.evaluate(
                        "query => document.querySelector('.graphiql-query-editor .CodeMirror')"
                        ".CodeMirror.setValue(query)",
                        QUERY,
                    )
                    page.get_by_label("Execute query (Ctrl-Enter)").click()
                    expect(page.locator(".graphiql-response")).to_contain_text(
                        f'"totalCount": {expected}', timeout=15_000
                    )

                    # A dialog: GraphiQL adds <style> elements (gql/graphiql.py, STYLE_SRC).
                    page.get_by_label("Open settings dialog").click()
                    expect(page.get_by_role("dialog")).to_be_visible()
                    page.keyboard.press("Escape")
                    expect(page.get_by_role("dialog")).to_be_hidden()

                    assert outside == []
                    loaded = page.evaluate(LOADED_URLS)
                    assert loaded
                    for url in loaded:
                        assert url.startswith("data:") or urlsplit(url).hostname == "127.0.0.1"
                    assert page.evaluate("window.__violations") == []
                    assert [e for e in console_errors if "Content Security Policy" in e] == []
                    assert admin not in page.evaluate("JSON.stringify(window.localStorage)")
                    assert admin in page.evaluate("JSON.stringify(window.sessionStorage)")
                    # GraphiQL keeps its editors in sessionStorage, never the headers.
                    assert page.evaluate("window.localStorage.length") == 0
            finally:
                browser.close()
