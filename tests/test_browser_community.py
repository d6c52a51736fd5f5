"""Upvoting and submitting in a real browser (Debian's Chromium via Playwright, launched as in
test_browser.py) against a real uvicorn server whose arXiv API is the local test server serving
recorded responses: the vote changes in place without a page reload and persists; un-voting;
an anonymous click leads to sign-in; a paper submitted by its URL appears on today's list."""

from __future__ import annotations

import re

import pytest

from arxiv_server import DATA, ArxivServer, recorded_reply
from arxiv_server import make_settings as arxiv_settings
from test_browser import ARGS, BROWSER_MARKS, CHROMIUM
from test_community import add_papers

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def community_server(tmp_path_factory, db_urls):
    """(base URL, store, arXiv test server): a fresh database with the hand-made papers and three
    more listed today."""
    from conftest_web import serving
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    with ArxivServer() as srv:
        root = tmp_path_factory.mktemp("community")
        settings = arxiv_settings(root, srv, database_url=db_urls(root / "paperwire.db"))
        store = open_store(settings.database_url)
        add_papers(store, n=3)
        app = create_app(settings, store=store, background=False)
        with serving(app) as base:
            yield base, store, srv
        store.close()


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield browser
        browser.close()


def new_page(chromium, base, store, email: str | None):
    """A page in a fresh browser context, signed in as ``email`` (a session made with
    conftest.sign_in) or anonymous."""
    from conftest import sign_in
    from paperwire.web.session import SESSION_COOKIE

    context = chromium.new_context(base_url=base, viewport={"width": 1200, "height": 900})
    account = None
    if email:
        account, cookie = sign_in(store, email)
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base}])
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.set_default_timeout(10_000)
    return context, page, account


def card_of(page, paper_id: str):
    return page.locator("article.card", has=page.locator(f'form.vote[action="/papers/{paper_id}/vote"]'))


def test_upvote_on_the_listing_without_reload_then_unvote(chromium, community_server):
    base, store, _ = community_server
    context, page, account = new_page(chromium, base, store, "voter@example.org")
    pk = store.papers.pks_for(["local:p1"])["local:p1"]
    try:
        page.goto("/")
        card = card_of(page, "local:p1")
        button = card.get_by_role("button", name=re.compile("Upvote"))
        count = card.locator(".vote-count")
        assert count.inner_text() == "0" and button.get_attribute("aria-pressed") == "false"
        page.evaluate("window.__marker = 'same page'")

        button.click()
        page.wait_for_function(
            "() => document.querySelector('form.vote[action=\"/papers/local:p1/vote\"] .vote-count').textContent === '1'"
        )
        assert button.get_attribute("aria-pressed") == "true"
        assert page.evaluate("window.__marker") == "same page"  # no reload happened
        assert store.community.state([pk], account.id)[pk].voted

        page.reload()
        card = card_of(page, "local:p1")
        button = card.get_by_role("button", name=re.compile("Upvote"))
        assert card.locator(".vote-count").inner_text() == "1"  # persisted
        assert button.get_attribute("aria-pressed") == "true"
        assert page.evaluate("window.__marker") is None

        page.evaluate("window.__marker = 'again'")
        button.click()  # un-upvote
        page.wait_for_function(
            "() => document.querySelector('form.vote[action=\"/papers/local:p1/vote\"] .vote-count').textContent === '0'"
        )
        assert button.get_attribute("aria-pressed") == "false"
        assert page.evaluate("window.__marker") == "again"
        state = store.community.state([pk], account.id).get(pk)
        assert state is not None and not state.voted and state.upvotes == 0
        assert page.console_errors == []
    finally:
        context.close()


def test_anonymous_vote_leads_to_sign_in(chromium, community_server):
    base, store, _ = community_server
    context, page, _ = new_page(chromium, base, store, None)
    pk = store.papers.pks_for(["local:p2"])["local:p2"]
    try:
        page.goto("/")
        card_of(page, "local:p2").get_by_role("button", name=re.compile("Upvote")).click()
        page.wait_for_url(re.compile(r"/signin\?next="))
        assert store.community.state([pk]) == {}
    finally:
        context.close()


@pytest.mark.skipif(not (DATA / "arxiv-api-atom").exists(), reason="the recorded arXiv responses are not here")
def test_submit_a_paper_by_url_and_see_it_on_todays_list(chromium, community_server):
    base, store, srv = community_server
    srv.route("/api/query", lambda req: recorded_reply(f"id_{req.query['id_list']}_s0_m100_"))
    context, page, account = new_page(chromium, base, store, "submitter@example.org")
    try:
        page.goto("/")
        page.get_by_role("link", name="Submit", exact=True).click()
        page.wait_for_url(re.compile(r"/submit$"))
        page.get_by_label("arXiv id or URL").fill("https://arxiv.org/abs/1707.08567v1")
        page.get_by_role("button", name="Submit", exact=True).click()
        status = page.get_by_role("status")
        status.wait_for()
        assert status.inner_text().startswith("Listed:")
        paper = store.papers.get("1707.08567")
        assert paper is not None and paper.title in status.inner_text()
        todays = page.locator("section.daylist")
        assert todays.get_by_role("link", name=paper.title).count() == 1
        # the submitter's vote is on it, shown pressed
        card = card_of(page, "1707.08567")
        assert card.locator(".vote-count").inner_text() == "1"
        assert card.get_by_role("button", name=re.compile("Upvote")).get_attribute("aria-pressed") == "true"
        assert [r.query["id_list"] for r in srv.requests("/api/query")] == ["1707.08567"]

        # the same paper again, by its PDF link: merged, still listed once
        page.get_by_label("arXiv id or URL").fill("arxiv.org/pdf/1707.08567.pdf")
        page.get_by_role("button", name="Submit", exact=True).click()
        page.get_by_text("Already listed:").wait_for()
        assert page.locator("section.daylist").get_by_role("link", name=paper.title).count() == 1
        assert len(srv.requests("/api/query")) == 1  # known now: arXiv is not asked again
        assert page.console_errors == []
    finally:
        context.close()
