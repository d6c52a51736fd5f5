"""A reader's private feeds: "for you" (merged and per tag) and the library, at URLs with a secret
token shown on the library page (and in an OPML file of all of them); "reset" (a CSRF-checked
form) makes every old URL answer 404. Only the token's hash is stored. Real database (SQLite, then
PostgreSQL), the real search engine and embeddings (conftest_web), TestClient."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from atom_schema import assert_valid_atom
from conftest import csrf_for, sign_in
from conftest_web import ARXIV_ID, OLD_ID
from paperwire import library as lib
from paperwire.web.session import SESSION_COOKIE

FEED_URL = re.compile(r'/feeds/private/([A-Za-z0-9_-]{43})/(?:for-you|library|following)\.atom(?:\?tag=[^"&]*)?')


@pytest.fixture
def reader(web_app, web_store):
    """(client, account): a fresh signed-in reader who saved three papers, two under 'programs'."""
    account, cookie = sign_in(web_store, f"feeds-{uuid.uuid4().hex[:8]}@example.org")
    seed = [p.id for p in web_store.papers.on_day(web_store.papers.latest_day(), limit=3)]
    lib.save(web_store, account.id, ARXIV_ID, ["programs"])
    lib.save(web_store, account.id, seed[1], ["programs"])
    lib.save(web_store, account.id, OLD_ID)
    c = TestClient(web_app)
    c.cookies.set(SESSION_COOKIE, cookie)
    return c, account


def _feed_urls(html: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).replace("&amp;", "&") for m in FEED_URL.finditer(html)))


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _private(client, path):
    """Fetch a private feed as a feed reader would: no cookies."""
    anon = TestClient(client.app)
    return anon.get(path)


def test_library_page_shows_private_feeds_that_work_without_signing_in(reader):
    client, account = reader
    page = client.get("/library").text
    urls = _feed_urls(page)
    assert any(u.endswith("/for-you.atom") for u in urls) and any(u.endswith("/library.atom") for u in urls)
    doc = etree.fromstring(page.encode(), etree.HTMLParser())
    alternates = [link.get("href") for link in doc.xpath("//head/link[@rel='alternate']")]
    assert any(h.endswith("/library.atom") for h in alternates) and any(h.endswith("/for-you.atom") for h in alternates)
    library = _private(client, next(u for u in urls if u.endswith("/library.atom")))
    assert library.status_code == 200 and library.headers["content-type"].startswith("application/atom+xml")
    assert library.headers["cache-control"].startswith("private") and library.headers["x-robots-tag"] == "noindex"
    parsed = feedparser.parse(library.content)
    saved = [e.paper.id for e in client.app.state.store.library.entries(account.id)]
    assert [e.id for e in parsed.entries] == [f"tag:paperwire,2025:paper/{i}" for i in saved]  # newest saved first
    assert parsed.feed.title == "Paperwire: your library"
    # the same token on every visit
    assert _feed_urls(client.get("/library").text) == urls


def test_for_you_and_tag_feeds(reader):
    client, account = reader
    store = client.app.state.store
    token = FEED_URL.search(client.get("/library").text).group(1)
    merged = _private(client, f"/feeds/private/{token}/for-you.atom")
    tagged = _private(client, f"/feeds/private/{token}/for-you.atom?tag=programs")
    lib_tag = _private(client, f"/feeds/private/{token}/library.atom?tag=programs")
    for r in (merged, tagged, lib_tag):
        assert r.status_code == 200
    from paperwire.recommend.feed import feed_for_account

    expected = [r.paper.id for r in feed_for_account(store, account.id, limit=50)]
    got = feedparser.parse(merged.content)
    assert expected and [e.id for e in got.entries] == [f"tag:paperwire,2025:paper/{i}" for i in expected]
    assert got.entries[0].summary.startswith("Because you saved “")
    tag_expected = [r.paper.id for r in feed_for_account(store, account.id, tag="programs", limit=50)]
    assert [e.id for e in feedparser.parse(tagged.content).entries] == [
        f"tag:paperwire,2025:paper/{i}" for i in tag_expected
    ]
    assert feedparser.parse(tagged.content).feed.title == "Paperwire: for you (programs)"
    assert {e.id.rsplit("/", 1)[-1] for e in feedparser.parse(lib_tag.content).entries} >= {ARXIV_ID}
    assert len(feedparser.parse(lib_tag.content).entries) == 2
    # the /for-you page names its feed
    page = client.get("/for-you?tag=programs").text
    assert f'href="/feeds/private/{token}/for-you.atom?tag=programs"' in page
    assert_valid_atom({"for-you": merged.content, "for-you?tag": tagged.content, "library?tag": lib_tag.content})
    # re-rendered: the same ids and dates
    assert _private(client, f"/feeds/private/{token}/library.atom?tag=programs").content == lib_tag.content
    assert _private(client, f"/feeds/private/{token}/for-you.atom?tag=bad,tag").status_code == 400


def test_reset_makes_old_urls_404(reader):
    client, account = reader
    store = client.app.state.store
    old = _feed_urls(client.get("/library").text)
    csrf = csrf_for(client, "/library")
    # without a CSRF token nothing changes
    assert client.post("/library/feeds/reset", data={}).status_code == 403
    assert all(_private(client, u).status_code == 200 for u in old)
    r = client.post("/library/feeds/reset", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/library#feeds"
    new = _feed_urls(client.get("/library").text)
    assert new and set(new).isdisjoint(old)
    for u in old:
        gone = _private(client, u)
        assert gone.status_code == 404 and "reset" in gone.text, u
    assert all(_private(client, u).status_code == 200 for u in new)
    # only a hash is stored: the token itself is nowhere in the table
    token = FEED_URL.search(new[0]).group(1)
    rows = [
        tuple(map(str, r)) for r in store.conn.execute("SELECT * FROM feed_tokens WHERE account_id=?", (account.id,))
    ]
    assert len(rows) == 1 and not any(token in v for v in rows[0])


def test_unknown_malformed_and_disabled_tokens_404(reader):
    client, account = reader
    store = client.app.state.store
    url = _feed_urls(client.get("/library").text)[0]
    token = FEED_URL.search(url).group(1)
    for bad in ("x" * 43, token[:-1], token + "A", "..", "%00" * 10, "a" * 5000):
        assert _private(client, f"/feeds/private/{bad}/library.atom").status_code == 404, bad
    assert _private(client, f"/feeds/private/{token}/nothing.atom").status_code == 404
    store.accounts.set_status(account.email, "disabled")
    try:
        assert _private(client, url).status_code == 404
    finally:
        store.accounts.set_status(account.email, "active")
    assert _private(client, url).status_code == 200


def test_opml_lists_every_private_feed(reader):
    client, account = reader
    r = client.get("/library/feeds.opml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-opml")
    assert r.headers["cache-control"] == "private, no-store"
    root = etree.fromstring(r.content)
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("body/outline")
    titles = [o.get("text") for o in outlines]
    assert titles == [
        "Paperwire: for you",
        "Paperwire: for you (programs)",
        "Paperwire: your library",
        "Paperwire: your library (programs)",
        "Paperwire: following",
    ]
    page_urls = set(_feed_urls(client.get("/library").text))
    bodies = {}
    for o in outlines:
        assert o.get("type") == "rss" and o.get("htmlUrl").startswith("http://testserver/")
        path = _path(o.get("xmlUrl"))
        feed = _private(client, path)
        assert feed.status_code == 200 and not feedparser.parse(feed.content).bozo, path
        bodies[o.get("text")] = feed.content
    assert page_urls <= {_path(o.get("xmlUrl")) for o in outlines}  # the page's feeds are all in it
    assert_valid_atom(bodies)
    # signed out: no OPML, no reset
    anon = TestClient(client.app)
    assert anon.get("/library/feeds.opml", follow_redirects=False).status_code == 303
    assert anon.post("/library/feeds/reset", data={}, follow_redirects=False).status_code in (303, 403)


def test_tokens_are_per_reader(reader, web_store, web_app):
    client, account = reader
    mine = FEED_URL.search(client.get("/library").text).group(1)
    other, cookie = sign_in(web_store, f"other-{uuid.uuid4().hex[:8]}@example.org")
    c2 = TestClient(web_app)
    c2.cookies.set(SESSION_COOKIE, cookie)
    theirs = FEED_URL.search(c2.get("/library").text).group(1)
    assert theirs != mine
    assert feedparser.parse(_private(client, f"/feeds/private/{theirs}/library.atom").content).entries == []
