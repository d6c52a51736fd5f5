"""Subscribing in a real browser (Debian's Chromium via Playwright, same launch as
test_browser.py) against a real uvicorn server: subscribe on the page, follow the link in the
queued confirmation message, confirm, open preferences, add a saved search, unsubscribe."""

from __future__ import annotations

import re

import pytest

from test_browser import ARGS, BROWSER_MARKS, CHROMIUM
from test_subscriptions_web import link_in, outbox, parse_mail

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def sub_server(tmp_path_factory, db_urls):

    from conftest import make_settings
    from conftest_web import serving
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    root = tmp_path_factory.mktemp("subscribe")
    settings = make_settings(root, db_urls(root / "paperwire.db"))
    store = open_store(settings.database_url)
    app = create_app(settings, store=store, background=False)
    with serving(app) as base:
        yield base, store
    store.close()


def test_subscribe_confirm_manage_unsubscribe(sub_server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    base, store = sub_server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(base_url=base)
        page = context.new_page()
        console_errors = []
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.set_default_timeout(15_000)
        try:
            page.goto("/")
            page.get_by_role("link", name="Subscribe", exact=True).click()
            page.wait_for_url(re.compile(r"/subscribe$"))
            page.get_by_label("Email address").fill("browser@example.org")
            page.get_by_label("How often").select_option("weekly")
            page.get_by_label("Day (weekly digests)").select_option("Friday")
            page.get_by_label("Time zone").fill("Europe/Berlin")
            page.get_by_role("button", name="Subscribe").click()
            page.get_by_role("heading", name="Check your inbox").wait_for()
            sub = store.subscribers.by_email("browser@example.org")
            assert sub.status == "pending" and sub.frequency == "weekly" and sub.send_weekday == 4
            assert sub.timezone == "Europe/Berlin"

            [row] = outbox(store)
            page.goto(link_in(parse_mail(row), "/subscribe/confirm"))
            page.get_by_role("button", name="Confirm my subscription").click()
            page.get_by_role("heading", name="You are subscribed").wait_for()
            assert store.subscribers.get(sub.id).status == "confirmed"

            page.get_by_role("link", name="Manage your preferences and saved searches").click()
            page.wait_for_url(re.compile(r"/preferences\?token="))
            assert "browser@example.org" in page.locator("main").inner_text()
            page.get_by_label("New saved search").fill("retrieval augmented generation")
            page.get_by_role("button", name="Add search").click()
            page.locator("ul.saved-searches li").first.wait_for()
            assert "retrieval augmented generation" in page.locator("ul.saved-searches").inner_text()
            assert [s.query for s in store.subscribers.saved_searches(sub.id)] == ["retrieval augmented generation"]

            page.get_by_role("button", name="Unsubscribe from all digests").click()
            page.get_by_role("heading", name="You are unsubscribed").wait_for()
            assert store.subscribers.get(sub.id).status == "unsubscribed"
            assert len(outbox(store)) == 1  # only the confirmation was ever queued
            assert console_errors == []
        finally:
            context.close()
            browser.close()
