"""Private feeds in a real browser (Debian's Chromium via Playwright) against a real uvicorn server:
the library page shows the reader's feed addresses and names them as alternates; a feed reader
(plain HTTP, no cookies) reads them; "Reset feed addresses" gives new ones and the old ones answer
404. Also the trending page's feed link. Real database (SQLite, then PostgreSQL), conftest_web."""

from __future__ import annotations

import uuid

import feedparser
import httpx

from conftest import sign_in
from conftest_web import ARXIV_ID
from paperwire import library as lib
from test_browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def test_library_feeds_and_reset(browser, live_server, web_store):  # noqa: F811
    from paperwire.web.session import SESSION_COOKIE

    account, cookie = sign_in(web_store, f"browser-feeds-{uuid.uuid4().hex[:8]}@example.org")
    lib.save(web_store, account.id, ARXIV_ID, ["programs"])
    context = browser.new_context(base_url=live_server)
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live_server}])
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.set_default_timeout(15_000)
    try:
        page.goto("/library")
        section = page.get_by_role("region", name="Your private feeds")
        assert section.is_visible()
        library_box = section.get_by_role("textbox", name="Address of Paperwire: your library")
        old = library_box.input_value()
        assert old.startswith(live_server + "/feeds/private/") and old.endswith("/library.atom")
        alternates = page.eval_on_selector_all(
            "head link[rel=alternate][type='application/atom+xml']", "els => els.map(e => e.href)"
        )
        assert old in alternates
        # a feed reader: no cookies
        feed = httpx.get(old)
        assert feed.status_code == 200
        assert [e.id for e in feedparser.parse(feed.content).entries] == [f"tag:paperwire,2025:paper/{ARXIV_ID}"]

        section.get_by_role("button", name="Reset feed addresses").click()
        page.wait_for_url(f"{live_server}/library#feeds")
        new = (
            page.get_by_role("region", name="Your private feeds")
            .get_by_role("textbox", name="Address of Paperwire: your library")
            .input_value()
        )
        assert new != old and new.endswith("/library.atom")
        assert httpx.get(old).status_code == 404
        assert httpx.get(new).status_code == 200
        assert errors == []
    finally:
        context.close()


def test_trending_page_links_its_feed(browser, live_server):  # noqa: F811
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    try:
        page.goto("/trending?window=month")
        link = page.get_by_role("link", name="Atom feed").first
        href = link.get_attribute("href")
        assert href == "/feeds/trending.atom?window=month"
        parsed = feedparser.parse(httpx.get(live_server + href).content)
        shown = page.locator("ol.trending article.card h2.title").all_inner_texts()
        assert [e.title for e in parsed.entries][: len(shown)] == shown
    finally:
        context.close()
