"""The cache of rendered anonymous pages (web/page_cache.py): a page is reused only while what it
shows is the same; a vote, a new paper or a curator's hide shows on the very next request; every
visitor gets their own CSRF token; signed-in readers are never served from it. A real database (SQLite, then PostgreSQL),
the real lexical index, TestClient."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings, sign_in
from paperwire.models import Paper, utc_now, validated
from paperwire.security import CSRF_COOKIE, check_csrf
from paperwire.web.page_cache import CSRF_PLACEHOLDER, PageCache
from paperwire.web.session import SESSION_COOKIE

TODAY = utc_now()[:10]
META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
COUNTS = re.compile(r'<span class="vote-count">(\d+)</span>')


def paper(i: int, title: str | None = None) -> Paper:
    return validated(
        Paper(
            id=f"local:c{i}",
            title=title or f"Caching paper number {i}",
            source="test",
            abstract="How rendered pages are kept and thrown away.",
            submitted=utc_now(),
            announced=TODAY,
        )
    )


@pytest.fixture
def env(tmp_path, db_url):
    from paperwire.search.indexer import Indexer
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url)
    store = open_store(settings.database_url)
    store.papers.upsert([paper(i) for i in range(3)])
    Indexer(store, settings).sync_lexical()
    app = create_app(settings, store=store, background=False)
    app.state.engine.reload()
    with TestClient(app) as client:
        yield settings, store, app, client
    store.close()


def anon_get(app, path: str) -> tuple[str, str]:
    """A first-time visitor (own client, no cookies): (html, the CSRF cookie it was given)."""
    with TestClient(app) as c:
        r = c.get(path)
        assert r.status_code == 200
        return r.text, c.cookies.get(CSRF_COOKIE)


def test_home_reused_with_each_visitors_own_csrf_token(env):
    settings, store, app, _ = env
    cache: PageCache = app.state.page_cache
    html1, cookie1 = anon_get(app, "/")
    html2, cookie2 = anon_get(app, "/")
    assert (cache.misses, cache.hits) == (1, 1)
    assert cookie1 != cookie2
    token1, token2 = META.search(html1).group(1), META.search(html2).group(1)
    assert check_csrf(settings, cookie1, token1) and check_csrf(settings, cookie2, token2)
    assert not check_csrf(settings, cookie1, token2)  # each page carries its own visitor's token
    assert CSRF_PLACEHOLDER not in html1 + html2
    assert html1.replace(token1, "T") == html2.replace(token2, "T")


def test_a_vote_shows_on_the_next_anonymous_request(env):
    settings, store, app, client = env
    html, _ = anon_get(app, "/")
    assert COUNTS.findall(html) == ["0", "0", "0"]
    anon_get(app, "/")  # now served from the cache
    _, session = sign_in(store, "voter@example.org")
    client.cookies.set(SESSION_COOKIE, session)
    token = META.search(client.get("/").text).group(1)
    r = client.post("/papers/local:c1/vote", data={"csrf": token, "action": "up"}, follow_redirects=False)
    assert r.status_code == 303
    html, _ = anon_get(app, "/")
    assert sorted(COUNTS.findall(html)) == ["0", "0", "1"]


def test_a_new_paper_and_a_hidden_one_show_on_the_next_request(env):
    settings, store, app, _ = env
    html, _ = anon_get(app, "/")
    assert "Fresh caching result" not in html
    store.papers.upsert([paper(9, "Fresh caching result")])
    html, _ = anon_get(app, "/")
    assert "Fresh caching result" in html
    curator = store.accounts.ensure("curator@example.org", "curator")
    assert store.community.curate(curator.id, store.papers.pks_for(["local:c9"])["local:c9"], "hide")
    html, _ = anon_get(app, "/")
    assert "Fresh caching result" not in html


def test_signed_in_pages_are_never_cached(env):
    settings, store, app, client = env
    _, session = sign_in(store, "reader@example.org")
    client.cookies.set(SESSION_COOKIE, session)
    for _ in range(2):
        r = client.get("/")
        assert "reader@example.org" in r.text or "Sign out" in r.text
        assert r.headers["cache-control"] == "private, no-store"
    assert len(app.state.page_cache) == 0 and app.state.page_cache.hits == 0


def test_search_pages_follow_the_index(env):
    settings, store, app, _ = env
    from paperwire.search.indexer import Indexer

    html, _ = anon_get(app, "/search?q=caching")
    assert {f"paper number {i}" in html for i in range(3)} == {True} and "paper number seven" not in html
    anon_get(app, "/search?q=caching")
    assert app.state.page_cache.hits == 1
    store.papers.upsert([paper(7, "Caching paper number seven")])
    Indexer(store, settings).sync_lexical()
    app.state.engine.reload()
    html, _ = anon_get(app, "/search?q=caching")
    assert "paper number seven" in html


def test_size_zero_turns_it_off(tmp_path, db_url):
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url).with_(page_cache=0)
    store = open_store(settings.database_url)
    store.papers.upsert([paper(1)])
    app = create_app(settings, store=store, background=False)
    try:
        anon_get(app, "/")
        anon_get(app, "/")
        assert len(app.state.page_cache) == 0 and app.state.page_cache.hits == 0
    finally:
        store.close()


def test_engine_results_cache_follows_the_bm25_commit(env):
    """The engine's results are keyed by the BM25 index's seq (committed with the papers): a
    repeated search is served from the cache, a search after new papers were indexed is not."""
    settings, store, app, _ = env
    from paperwire.search.indexer import Indexer

    engine = app.state.engine
    first = engine.search("caching", limit=10)
    again = engine.search("caching", limit=10)
    assert [h.paper.id for h in again.hits] == [h.paper.id for h in first.hits] and len(engine._results) == 1
    store.papers.upsert([paper(8, "Caching paper number eight")])
    Indexer(store, settings).sync_lexical()
    engine.lexical.reload()  # what SearchEngine.reload does within a second; the key comes from the index itself
    after = engine.search("caching", limit=10)
    assert "local:c8" in {h.paper.id for h in after.hits} and len(engine._results) == 2
