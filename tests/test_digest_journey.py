"""The email-digest acceptance journey, end to end, with real parts: a real uvicorn server over a
real database (SQLite, then PostgreSQL) holding the 64 seed papers (real word and vector indexes, the real embedding
model), settings read from PAPERWIRE_* variables, a real SMTP server (tests/smtp_sink.py, its own
process) and headless Chromium (Debian's, through Playwright). The scheduler is off
(PAPERWIRE_SCHEDULER=0): the test runs the digests and the sender itself, at chosen times.

subscribe on /subscribe -> confirmation mail at the SMTP server -> confirm in the browser ->
digest run + sender -> digest mail (multipart/alternative, links to paper pages, List-Unsubscribe,
stable Message-ID) -> preferences link from the digest, change them -> RFC 8058 one-click
unsubscribe -> the next run sends nothing to that address."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from urllib.parse import urlsplit

import pytest

from test_browser import ARGS, CHROMIUM
from test_subscriptions_web import _prefs_page

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM} (apt install chromium)"
)

EMAIL = "journey@example.org"
QUERY = "code generation with execution feedback"
UTC = UTC


def _parse(data: bytes):
    return message_from_bytes(data, policy=default_policy)


def _text(msg, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def _link(text: str, path: str) -> str:
    found = re.findall(r"https?://[^\s<>\"']+", text)
    links = [u for u in found if urlsplit(u).path == path]
    assert links, f"no link to {path} in the mail: {found}"
    return links[0].replace("&amp;", "&")


@pytest.fixture
def journey(request, tmp_path, seed_path, monkeypatch, db_url):
    """(base URL, settings, store, indexer, engine, sink), everything configured through the
    environment the way `paperwire serve` reads it."""
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")

    from conftest import ingest_seed
    from conftest_web import _free_port, serving
    from paperwire.config import load_settings
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.storage import open_store
    from paperwire.web.app import create_app
    from smtp_sink import SmtpSink

    port = _free_port()
    sink = SmtpSink(tmp_path / "sink.db").start()
    request.addfinalizer(lambda: sink.__exit__(None, None, None))
    env = {
        "PAPERWIRE_DATA_DIR": str(tmp_path),
        "PAPERWIRE_DATABASE_URL": db_url,
        "PAPERWIRE_INDEX_DIR": str(tmp_path / "paperwire.db.index"),
        "PAPERWIRE_HOST": "127.0.0.1",
        "PAPERWIRE_PORT": str(port),
        "PAPERWIRE_BASE_URL": f"http://127.0.0.1:{port}",
        "PAPERWIRE_SMTP_HOST": "127.0.0.1",
        "PAPERWIRE_SMTP_PORT": str(sink.port),
        "PAPERWIRE_SMTP_SECURITY": "none",
        "PAPERWIRE_SMTP_TIMEOUT": "10",
        "PAPERWIRE_SCHEDULER": "0",
        "PAPERWIRE_MAIL_FROM": "Paperwire <digest@paperwire.test>",
    }
    for name in (
        "PAPERWIRE_EMBED_MODEL",
        "PAPERWIRE_SECRET_KEY",
        "PAPERWIRE_SMTP_USER",
        "PAPERWIRE_SMTP_PASSWORD",
        "PAPERWIRE_DIGEST_SEND_EMPTY",
        "PAPERWIRE_MAIL_RATE",
        "PAPERWIRE_MAIL_MAX_ATTEMPTS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.scheduler is False and settings.smtp_port == sink.port
    assert settings.base_url == f"http://127.0.0.1:{port}"

    store = open_store(settings.database_url)
    ingest_seed(store, seed_path)
    indexer = Indexer(store, settings)
    indexer.sync(progress=False)
    engine = SearchEngine(store, settings, embedder=indexer.embedder)
    engine.reload()
    app = create_app(settings, store=store, engine=engine, indexer=indexer, background=False)
    try:
        with serving(app, port):
            yield settings.base_url, settings, store, indexer, engine, sink
    finally:
        store.close()


@pytest.mark.browser
@needs_chromium
def test_subscribe_confirm_digest_manage_one_click_unsubscribe(journey):
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    import httpx

    from paperwire.digest.compose import digest_message_id
    from paperwire.digest.run import run_digests
    from paperwire.mail.sender import run_sender
    from paperwire.models import Paper, validated

    base, settings, store, indexer, engine, sink = journey
    # the first digest is tomorrow's (whoever confirms after today's send time gets the next one)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    digest_at = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 30, tzinfo=UTC)  # after 08:00 Berlin

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(base_url=base)
        page = context.new_page()
        console_errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.set_default_timeout(15_000)
        try:
            # 1. subscribe on the site, with a saved search
            page.goto("/subscribe")
            page.get_by_label("Email address").fill(EMAIL)
            page.get_by_label("Saved search (optional)").fill(QUERY)
            page.get_by_label("How often").select_option("daily")
            page.get_by_label("Hour").select_option("8")
            page.get_by_label("Time zone").fill("Europe/Berlin")
            page.get_by_role("button", name="Subscribe").click()
            page.get_by_role("heading", name="Check your inbox").wait_for()
            sub = store.subscribers.by_email(EMAIL)
            assert sub is not None and sub.status == "pending"
            assert (sub.frequency, sub.send_hour, sub.timezone) == ("daily", 8, "Europe/Berlin")
            assert [s.query for s in store.subscribers.saved_searches(sub.id)] == [QUERY]
            assert sink.count() == 0  # nothing is sent by the web process itself

            # 2. the confirmation mail arrives at the SMTP server; confirm in the browser
            counts = run_sender(settings, store, once=True)
            assert counts.sent == 1, counts
            assert sink.wait_for(1, timeout=10) == 1
            [(rcpt, raw)] = sink.messages()
            assert rcpt == EMAIL
            confirm_mail = _parse(raw)
            assert confirm_mail["To"] == EMAIL
            assert "Confirm" in confirm_mail["Subject"]
            confirm_link = _link(_text(confirm_mail, "plain"), "/subscribe/confirm")
            assert confirm_link.startswith(base + "/")
            # nothing is due before confirming
            assert run_digests(store, settings, engine, now=digest_at, progress=False)["due"] == 0
            page.goto(confirm_link)
            assert store.subscribers.get(sub.id).status == "pending"  # opening the link is not enough
            page.get_by_role("button", name="Confirm my subscription").click()
            page.get_by_role("heading", name="You are subscribed").wait_for()
            assert store.subscribers.get(sub.id).status == "confirmed"

            # 3. a digest run after the send hour + the sender -> the digest at the SMTP server
            counts = run_digests(store, settings, engine, now=digest_at, progress=False)
            assert counts["due"] == 1 and counts["queued"] == 1 and counts["errors"] == 0, counts
            assert counts["papers"] > 0
            assert run_sender(settings, store, once=True).sent == 1
            assert sink.wait_for(2, timeout=10) == 2
            rcpt, raw = sink.messages()[1]
            assert rcpt == EMAIL
            digest = _parse(raw)
            assert digest.get_content_type() == "multipart/alternative"
            assert [pt.get_content_type() for pt in digest.iter_parts()] == ["text/plain", "text/html"]
            m = re.search(r"\b(\d+) new papers? for you", digest["Subject"])
            assert m, digest["Subject"]
            n = int(m.group(1))
            assert n == counts["papers"]
            html, text = _text(digest, "html"), _text(digest, "plain")
            paper_links = set(re.findall(re.escape(base) + r"/papers/[^\s\"'<>]+", html))
            assert len(paper_links) == n, (n, paper_links)
            for url in paper_links:  # every paper link opens that paper's page on the site
                r = httpx.get(url.replace("&amp;", "&"), timeout=10)
                assert r.status_code == 200, url
            assert set(re.findall(re.escape(base) + r"/papers/[^\s\"'<>]+", text)) == paper_links
            period = tomorrow.isoformat()
            assert digest["Message-ID"] == digest_message_id(settings, sub.id, period)
            assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            list_unsub = str(digest["List-Unsubscribe"])
            one_click = re.search(r"<(https?://[^>]+)>", list_unsub)
            assert one_click and "mailto:" not in list_unsub, list_unsub
            one_click_url = one_click.group(1)
            assert urlsplit(one_click_url).path == "/unsubscribe/one-click"
            assert one_click_url.startswith(base + "/")
            # Message-ID stable: composing the same period again queues nothing, sends nothing
            again = run_digests(store, settings, engine, now=digest_at + timedelta(minutes=5), progress=False)
            assert again["queued"] == 0 and again["due"] == 0, again
            assert run_sender(settings, store, once=True).sent == 0
            assert sink.count() == 2
            assert [mid for _, mid in sink.received()][1] == digest["Message-ID"]

            # 4. the preferences link from the digest: switch to weekly and add a category
            page.goto(_link(html, "/preferences"))
            assert EMAIL in page.locator("main").inner_text()
            assert QUERY in page.locator("ul.saved-searches").inner_text()
            page.get_by_label("How often").select_option("weekly")
            page.get_by_label("arXiv categories").fill("cs.LG")
            page.get_by_role("button", name="Save preferences").click()
            page.get_by_text("Your preferences are saved.").wait_for()
            changed = store.subscribers.get(sub.id)
            assert changed.frequency == "weekly" and list(changed.categories) == ["cs.LG"]
            assert changed.status == "confirmed"
            page.reload()
            assert page.get_by_label("How often").input_value() == "weekly"
            assert page.get_by_label("arXiv categories").input_value() == "cs.LG"
            assert console_errors == []
        finally:
            context.close()
            browser.close()

    # 5. RFC 8058 one-click: what a mail client does with List-Unsubscribe-Post
    r = httpx.post(
        one_click_url,
        content=b"List-Unsubscribe=One-Click",
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert store.subscribers.get(sub.id).status == "unsubscribed"
    # the links in mails sent before stop working
    assert httpx.get(_link(html, "/preferences"), timeout=10).status_code == 400

    # a new paper that matches the saved search and the category, listed a week later: it would
    # be in the next weekly digest, but no digest goes to an unsubscribed address
    later = digest_at + timedelta(days=8)
    store.papers.upsert(
        [
            validated(
                Paper(
                    id="local:journey-new",
                    source="test",
                    title="Code Generation with Execution Feedback from Unit Tests",
                    abstract="Large language models generate code, run it, and repair it using execution feedback.",
                    authors=["Test Author"],
                    categories=["cs.LG"],
                    submitted=later.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    announced=later.date().isoformat(),
                ),
                now=later,
            )
        ]
    )  # a week on, when it is not in the future
    indexer.sync(progress=False)
    engine.reload()
    final = run_digests(store, settings, engine, now=later, progress=False)
    assert final["subscribers"] == 0 and final["due"] == 0 and final["queued"] == 0, final
    assert run_sender(settings, store, once=True).sent == 0
    time.sleep(0.2)
    assert sink.count() == 2


def test_one_click_as_multipart_form_data(sub_env):
    """RFC 8058 3.1: the POST content SHOULD be multipart/form-data (and MAY be urlencoded); both work."""
    import httpx

    from paperwire import subscriptions as subs

    settings, store, client = sub_env
    _prefs_page(client, store)
    sub = store.subscribers.by_email("reader@example.org")
    assert sub.status == "confirmed"
    u = urlsplit(subs.one_click_url(settings, sub))
    req = httpx.Request("POST", "http://x/", files={"List-Unsubscribe": (None, "One-Click")})
    body, ctype = req.read(), req.headers["Content-Type"]
    assert ctype.startswith("multipart/form-data") and b"List-Unsubscribe=One-Click" not in body
    r = client.post(f"{u.path}?{u.query}", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 200, r.text
    assert store.subscribers.get(sub.id).status == "unsubscribed"
    # a multipart body without the pair is still refused
    bad = httpx.Request("POST", "http://x/", files={"List-Unsubscribe": (None, "Maybe")})
    r = client.post(f"{u.path}?{u.query}", content=bad.read(), headers={"Content-Type": bad.headers["Content-Type"]})
    assert r.status_code == 400
