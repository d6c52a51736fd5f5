"""Follow buttons in a real browser (Debian's Chromium via Playwright) against a real uvicorn
server over a real database (SQLite, then PostgreSQL): follow an author from their page, a
category from its search page and a paper from its page (plain CSRF forms, no script needed),
see them on /following, and unfollow from there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import sign_in
from test_browser import BROWSER_MARKS
from test_follows import PAPERS, _paper

pytestmark = BROWSER_MARKS


@pytest.fixture
def follow_server(tmp_path, db_url):
    from conftest import make_settings
    from conftest_web import serving
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url)
    store = open_store(settings.database_url)
    store.papers.upsert([_paper(r) for r in PAPERS])
    indexer = Indexer(store, settings)
    indexer.sync_lexical()
    engine = SearchEngine(store, settings)
    engine.reload()
    app = create_app(settings, store=store, engine=engine, indexer=indexer, background=False)
    with serving(app) as base:
        yield base, store
    store.close()


def test_follow_and_unfollow_with_the_buttons(browser, follow_server):
    from paperwire.web.session import SESSION_COOKIE

    base, store = follow_server
    account, cookie = sign_in(store, "browser-follower@example.org")
    context = browser.new_context(base_url=base)
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/authors/Emmy%20Noether")
        page.get_by_role("button", name="Follow", exact=True).click()
        expect(page.get_by_role("button", name="Following", exact=True)).to_be_visible()
        assert page.url == base + "/authors/Emmy%20Noether"  # back where the button was

        page.goto("/search?q=cat%3Ahep-ph")
        page.get_by_role("button", name="Follow", exact=True).click()
        expect(page.get_by_role("button", name="Following", exact=True)).to_be_visible()

        page.goto("/papers/2503.00004")
        page.get_by_role("button", name="Follow", exact=True).click()
        expect(page.get_by_role("button", name="Following", exact=True)).to_be_visible()

        assert [(f.kind, f.value) for f in store.follows.list(account.id)] == [
            ("paper", "2503.00004"),
            ("category", "hep-ph"),
            ("author", "Emmy Noether"),
        ]
        page.goto("/following")
        authors = page.locator("section", has=page.get_by_role("heading", name="Authors"))
        expect(authors.get_by_role("link", name="Emmy Noether")).to_be_visible()
        papers = page.locator("section", has=page.get_by_role("heading", name="Papers"))
        expect(papers.get_by_role("link", name="Parsing morphologically rich languages")).to_be_visible()
        authors.get_by_role("button", name="Following").click()
        expect(page.get_by_role("heading", name="Authors")).to_be_visible()
        expect(
            page.locator("section", has=page.get_by_role("heading", name="Authors")).get_by_text("None yet.")
        ).to_be_visible()
        assert [f.kind for f in store.follows.list(account.id)] == ["paper", "category"]
    finally:
        context.close()
