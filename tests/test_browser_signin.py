"""Signing in with a magic link in a real browser (Debian's Chromium via Playwright) against a real
uvicorn server, with the mail going through the app's own sender to a real SMTP server
(tests/smtp_sink.py, its own process): from a paper page to /signin, type the address, read the
mail at the SMTP server, open its link, press the button, land back on the paper page signed in,
sign out."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from conftest_web import ARXIV_ID
from test_browser import ARGS, BROWSER_MARKS, CHROMIUM

pytestmark = BROWSER_MARKS

EMAIL = "browser.reader@example.org"


@pytest.fixture
def signin_server(tmp_path, db_url):
    """(base URL, settings, store, sink): a real server over a database holding the hand-made test
    papers, mail settings pointing at a running SMTP sink."""
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    from conftest import make_settings
    from conftest_web import _free_port, extra_papers, serving
    from paperwire.models import validated
    from paperwire.storage import open_store
    from paperwire.web.app import create_app
    from smtp_sink import SmtpSink

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with SmtpSink(tmp_path / "sink.db") as sink:
        settings = make_settings(tmp_path, db_url).with_(
            base_url=base,
            port=port,
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            smtp_security="none",
            smtp_timeout=10.0,
            mail_from="Paperwire <signin@paperwire.test>",
            scheduler=False,
        )
        store = open_store(settings.database_url)
        store.papers.upsert([validated(p) for p in extra_papers()])
        try:
            from paperwire.search.indexer import Indexer

            Indexer(store, settings).sync_lexical()  # words only: the paper page's similar papers
        except ImportError:
            pass
        app = create_app(settings, store=store, background=False)
        try:
            with serving(app, port):
                yield base, settings, store, sink
        finally:
            store.close()


def test_magic_link_signin_from_a_paper_page_and_sign_out(signin_server):
    from playwright.sync_api import expect, sync_playwright

    from paperwire.mail.sender import run_sender

    base, settings, store, sink = signin_server
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(base_url=base)
        page = context.new_page()
        console_errors = []
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.set_default_timeout(10_000)
        try:
            page.goto(f"/papers/{ARXIV_ID}")
            account_nav = page.get_by_role("navigation", name="Account")
            account_nav.get_by_role("link", name="Sign in").click()
            page.wait_for_url(re.compile(r"/signin\?next="))
            page.get_by_label("Email address").fill(EMAIL)
            page.get_by_role("button", name="Email me a sign-in link").click()
            page.get_by_role("heading", name="Check your inbox").wait_for()
            assert store.accounts.by_email(EMAIL) is None

            # the app's sender delivers the queued mail to the SMTP server
            assert run_sender(settings, store, once=True).sent == 1
            assert sink.wait_for(1, timeout=10) == 1
            [(rcpt, raw)] = sink.messages()
            msg = message_from_bytes(raw, policy=default_policy)
            assert rcpt == EMAIL and msg["Subject"] == "Sign in to Paperwire"
            text = msg.get_body(preferencelist=("plain",)).get_content()
            [link] = re.findall(r"https?://\S+/signin/confirm\?token=\S+", text)
            assert link.startswith(base + "/signin/confirm?token=")

            page.goto(link)
            button = page.get_by_role("button", name=f"Sign in as {EMAIL}")
            button.wait_for()
            assert store.accounts.by_email(EMAIL) is None  # opening the link alone signs nobody in
            button.click()
            page.wait_for_url(f"{base}/papers/{ARXIV_ID}")
            expect(account_nav.get_by_role("button", name="Sign out")).to_be_visible()
            assert store.accounts.by_email(EMAIL).last_signin_at is not None
            [cookie] = [c for c in context.cookies() if c["name"] == "pw_session"]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

            account_nav.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{base}/")
            expect(account_nav.get_by_role("link", name="Sign in")).to_be_visible()
            assert [c for c in context.cookies() if c["name"] == "pw_session"] == []
            assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0

            assert console_errors == []

            # the same link a second time: used already (a 400 page, which Chromium logs)
            page.goto(link)
            page.get_by_role("heading", name="This link does not work").wait_for()
            assert "used already" in page.locator("main").inner_text()
        finally:
            context.close()
            browser.close()
    assert time.monotonic() - started < 20
