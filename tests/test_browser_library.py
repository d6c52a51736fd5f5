"""The library and "for you" in a real browser (Debian's Chromium via Playwright) against a real
uvicorn server: save a paper from the day listing without a reload, file it under a tag, open its
"for you" feed, see "Because you saved", press "Not relevant" (the entry goes without a reload),
and download the CSV export. A real database (SQLite, then PostgreSQL) with the 64 seed papers and their shipped embeddings."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from conftest import sign_in
from test_browser import ARGS, BROWSER_MARKS, CHROMIUM

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def lib_server(tmp_path_factory, db_urls):
    from conftest import make_settings
    from conftest_web import serving
    from paperwire.demo import attach_demo_vectors, demo_paths
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    root = tmp_path_factory.mktemp("library-browser")
    settings = make_settings(root, db_urls(root / "paperwire.db"))
    store = open_store(settings.database_url)
    seed = next(p for p in demo_paths() if p.name == "seed_papers.jsonl")
    run_ingest(store, JsonlSource(seed, id_prefix="demo"), progress=False)
    assert attach_demo_vectors(store, settings) == 64
    app = create_app(settings, store=store, background=False)
    with serving(app) as base:
        yield base, store
    store.close()


def test_save_tag_for_you_not_relevant_and_export(lib_server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    from paperwire.web.session import SESSION_COOKIE

    base, store = lib_server
    account, cookie = sign_in(store, "browser-reader@example.org")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(base_url=base, accept_downloads=True)
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base}])
        page = context.new_page()
        console_errors = []
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.set_default_timeout(15_000)
        try:
            # save the first paper of today's listing, without a reload
            page.goto("/")
            page.evaluate("window.__noReload = 1")
            card = page.locator("article.card").first
            title = card.locator("h2.title").inner_text()
            card.get_by_role("button", name="Save").click()
            page.wait_for_selector("article.card >> nth=0 >> button.save-button[aria-pressed=true]")
            assert page.evaluate("window.__noReload") == 1
            [entry] = store.library.entries(account.id)
            assert entry.paper.title == title

            # file it under a tag on the library page
            page.get_by_role("link", name="Library", exact=True).click()
            page.wait_for_url(re.compile(r"/library$"))
            page.get_by_role("textbox", name="Tags (comma-separated)").fill("optimisation, reading group")
            page.get_by_role("button", name="Save tags").click()
            page.get_by_role("link", name=re.compile(r"^optimisation")).first.wait_for()
            assert store.library.entries(account.id)[0].tags == ["optimisation", "reading group"]

            # its "for you" feed explains every pick with the saved paper
            page.goto("/for-you")
            page.get_by_role("link", name=re.compile(r"^optimisation")).click()
            page.wait_for_url(re.compile(r"/for-you\?tag=optimisation$"))
            recs = page.locator("li.rec")
            n = recs.count()
            assert n >= 5
            assert recs.first.locator(".because").inner_text() == f"Because you saved {title}"
            victim = recs.first.locator("h2.title").inner_text()
            page.evaluate("window.__noReload = 2")
            recs.first.get_by_role("button", name="Not relevant").click()
            expect(recs).to_have_count(n - 1)  # a locator wait: string predicates need eval, which the CSP forbids
            assert page.evaluate("window.__noReload") == 2
            assert victim not in page.locator("main").inner_text()
            assert len(store.library.not_relevant_pks(account.id, "optimisation")) == 1

            # the CSV export downloads and holds the saved paper with its tags
            page.goto("/library")
            with page.expect_download() as info:
                page.get_by_role("link", name="Export CSV").click()
            download = info.value
            assert download.suggested_filename == "paperwire-library.csv"
            rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
            assert [(r["title"], r["tags"]) for r in rows] == [(title, "optimisation; reading group")]
            assert console_errors == []
        finally:
            browser.close()
