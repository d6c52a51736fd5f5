"""The API reference pages in Chromium with no network outside loopback: Playwright aborts every
request for another host, and /docs (Swagger UI) and /redoc (ReDoc) still render every operation
of /openapi.json from the vendored files, under their CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

from test_api_docs import METHODS, operations
from test_browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def _offline_page(browser, live_server):  # noqa: F811
    """A page whose every request outside the test server is aborted (and recorded)."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.left_loopback, page.console_errors = [], []

    def route(r):
        host = urlsplit(r.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            page.left_loopback.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.add_init_script(
        "window.__violations = []; document.addEventListener('securitypolicyviolation', "
        "e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI))"
    )
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.set_default_timeout(30_000)
    return context, page


def test_swagger_ui_lists_every_operation_offline(browser, live_server, client):  # noqa: F811
    expected = operations(client.get("/openapi.json").json())
    assert len(expected) >= 5
    context, page = _offline_page(browser, live_server)
    try:
        page.goto("/docs")
        page.locator(".opblock").nth(len(expected) - 1).wait_for()
        shown = {
            (
                b.locator(".opblock-summary-method").inner_text().strip(),
                b.locator(".opblock-summary-path").get_attribute("data-path"),
            )
            for b in page.locator(".opblock").all()
        }
        assert shown == expected
        assert page.locator(".info .title").inner_text().startswith("Paperwire")
        # an operation opens and shows its parameters, rendered from the document
        search = page.locator(".opblock-get", has=page.locator("[data-path='/api/search']"))
        search.locator(".opblock-summary").click()
        # the body renders after the click; wait for the row rather than sampling it at once
        q_row = search.locator("tr[data-param-name='q'][data-param-in='query']")
        q_row.wait_for(state="visible")
        assert q_row.locator(".parameter__name").inner_text().startswith("q")
        assert page.left_loopback == []  # nothing even tried to leave (no validator badge, no fonts)
        assert page.evaluate("window.__violations") == [] and page.console_errors == []
    finally:
        context.close()


def test_redoc_renders_and_searches_offline(browser, live_server, client):  # noqa: F811
    openapi = client.get("/openapi.json").json()
    expected = operations(openapi)
    context, page = _offline_page(browser, live_server)
    try:
        page.goto("/redoc")
        page.locator("h1", has_text="Paperwire").wait_for()
        sections = page.locator("[data-section-id*='operation/']")
        sections.nth(len(expected) - 1).wait_for(state="attached")
        ids = set(
            page.eval_on_selector_all(
                "[data-section-id*='operation/']", "els => els.map(e => e.getAttribute('data-section-id'))"
            )
        )
        op_ids = {op["operationId"] for item in openapi["paths"].values() for m, op in item.items() if m in METHODS}
        assert len(op_ids) == len(expected)
        assert {i.rsplit("operation/", 1)[1] for i in ids} == op_ids
        # its search runs in the blob: worker the CSP allows
        page.get_by_placeholder("Search...").fill("trending")
        results = page.locator("[data-role='search:results']")
        results.wait_for()
        assert "Trending" in results.inner_text()
        assert page.left_loopback == []
        # all that is refused: ReDoc's footer logo from its CDN (it then hides itself)
        violations = page.evaluate("window.__violations")
        assert all(v.startswith("img-src https://cdn.redoc.ly/") for v in violations), violations
        assert all("cdn.redoc.ly" in e for e in page.console_errors), page.console_errors
    finally:
        context.close()
