"""Atom feeds parse back as valid Atom, with stable ids and links to the paper pages."""

from __future__ import annotations

import feedparser
from lxml import etree

from conftest_web import ARXIV_ID, XSS_ID, XSS_TITLE

ATOM_NS = "{http://www.w3.org/2005/Atom}"


def _atom(resp):
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = etree.fromstring(resp.content)
    assert root.tag == ATOM_NS + "feed"
    return root


def test_search_feed(client):
    r = client.get("/feeds/search.atom", params={"q": "execution feedback code"})
    root = _atom(r)
    assert root.findtext(ATOM_NS + "id").startswith("tag:paperwire,2025:search?q=")
    assert root.find(ATOM_NS + "updated") is not None
    entries = root.findall(ATOM_NS + "entry")
    assert 1 <= len(entries) <= 50
    for e in entries:  # the elements Atom requires, each present
        assert e.findtext(ATOM_NS + "id").startswith("tag:paperwire,2025:paper/")
        assert e.findtext(ATOM_NS + "title") and e.findtext(ATOM_NS + "updated")
        assert e.find(ATOM_NS + "author/" + ATOM_NS + "name") is not None
        alt = [link.get("href") for link in e.findall(ATOM_NS + "link") if link.get("rel") == "alternate"]
        assert len(alt) == 1 and alt[0].startswith("http://testserver/papers/")
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Paperwire: execution feedback code"
    ids = [e.id for e in parsed.entries]
    assert f"tag:paperwire,2025:paper/{ARXIV_ID}" in ids
    refine = next(e for e in parsed.entries if e.id.endswith(ARXIV_ID))
    assert [a.name for a in refine.authors][:2] == ["Ana Lima", "Bo Chen"]
    assert refine.link == f"http://testserver/papers/{ARXIV_ID}"
    assert refine.summary.startswith("We study how large language models")
    # same query, same ids: readers do not see duplicates
    again = feedparser.parse(client.get("/feeds/search.atom", params={"q": "execution feedback code"}).content)
    assert [e.id for e in again.entries] == ids


def test_day_feed_escapes_and_uses_base_url(client, web_app, web_settings):
    parsed = feedparser.parse(client.get("/feeds/day.atom").content)
    assert not parsed.bozo
    assert len(parsed.entries) == 65
    xss = next(e for e in parsed.entries if e.id.endswith(XSS_ID))
    assert xss.title == XSS_TITLE  # text, round-tripped exactly
    assert xss.link == f"http://testserver/papers/{XSS_ID}"
    web_app.state.settings = web_settings.with_(base_url="https://papers.example.org/")
    try:
        body = client.get("/feeds/day.atom").content
    finally:
        web_app.state.settings = web_settings
    parsed = feedparser.parse(body)
    assert parsed.entries[0].link.startswith("https://papers.example.org/papers/")
    assert any(
        link.href == "https://papers.example.org/feeds/day.atom" for link in parsed.feed.links if link.rel == "self"
    )


def test_feed_errors(client):
    assert client.get("/feeds/search.atom").status_code == 400  # q is required (an HTML 400 page)
    root = _atom(client.get("/feeds/search.atom", params={"q": "cat:q-bio.NC"}))  # matches nothing
    assert root.findall(ATOM_NS + "entry") == []
    assert root.findtext(ATOM_NS + "id") == "tag:paperwire,2025:search?q=cat%3Aq-bio.NC"
    # required even when empty, and not from the clock: the empty feed is the same document on every fetch
    assert root.findtext(ATOM_NS + "updated") == "1970-01-01T00:00:00Z"


# -- every list has a feed ------------------------------------------------------------------
PUBLIC_FEEDS = [
    "/feeds/day.atom",
    "/feeds/search.atom?q=execution+feedback+code",
    "/feeds/search.atom?q=cat%3Aq-bio.NC",
    "/feeds/trending.atom",
    "/feeds/trending.atom?window=week",
    "/feeds/trending.atom?window=month",
    "/feeds/trending.atom?window=month&cat=cs.CL",
    "/feeds/category/cs.CL.atom",
    "/feeds/category/cs.atom",
    "/feeds/category/hep-th.atom",
    "/feeds/author.atom?name=Ana+Lima",
    "/feeds/author.atom?name=Nobody+Atall",
]


def test_every_public_feed_is_valid_atom_and_stable(client):
    from atom_schema import assert_valid_atom

    bodies = {}
    for path in PUBLIC_FEEDS:
        r = client.get(path)
        _atom(r)
        bodies[path] = r.content
        parsed = feedparser.parse(r.content)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        # fetched again: the same document, byte for byte (ids, dates: nothing comes from the clock)
        assert client.get(path).content == r.content, path
    assert_valid_atom(bodies)


def _entry_ids(client, path) -> list[str]:
    return [e.id for e in feedparser.parse(client.get(path).content).entries]


def test_trending_feed_is_the_trending_list(client):
    for window in ("today", "week", "month"):
        ranked = client.get("/api/trending", params={"window": window, "limit": 50}).json()["items"]
        ids = _entry_ids(client, f"/feeds/trending.atom?window={window}")
        assert ids == [f"tag:paperwire,2025:paper/{i['id']}" for i in ranked], window
    month = feedparser.parse(client.get("/feeds/trending.atom?window=month").content)
    assert month.feed.title == "Paperwire: trending this month"
    assert month.feed.link.endswith("/trending?window=month")
    assert len(month.entries) > 0
    r = client.get("/feeds/trending.atom", params={"window": "year"})
    assert r.status_code == 400 and "today, week or month" in r.text


def test_category_feed_newest_first_in_that_category(client):
    parsed = feedparser.parse(client.get("/feeds/category/cs.CL.atom").content)
    assert parsed.feed.title == "Paperwire: new in cs.CL"
    assert 0 < len(parsed.entries) <= 50
    assert f"tag:paperwire,2025:paper/{ARXIV_ID}" in [e.id for e in parsed.entries]
    for e in parsed.entries:
        assert "cs.CL" in [t.term for t in e.tags], e.id
    whole = feedparser.parse(client.get("/feeds/category/cs.atom").content)  # cs = every cs.*
    assert len(whole.entries) >= len(parsed.entries)
    assert all(any(t.term.startswith("cs.") for t in e.tags) for e in whole.entries)
    old = feedparser.parse(client.get("/feeds/category/hep-th.atom").content)
    assert [e.id for e in old.entries] == ["tag:paperwire,2025:paper/hep-th/9901001"]
    for bad in ("/feeds/category/cs%20CL.atom", "/feeds/category/1cs.atom", "/feeds/category/a.b.c.atom"):
        assert client.get(bad).status_code == 400, bad


def test_author_feed_lists_that_authors_papers(client):
    parsed = feedparser.parse(client.get("/feeds/author.atom", params={"name": "Ana  Lima"}).content)
    assert parsed.feed.title == "Paperwire: papers by Ana Lima"
    assert [e.id for e in parsed.entries] == [f"tag:paperwire,2025:paper/{ARXIV_ID}"]
    # quotes cannot break out of the author:"..." operator; the name is the same feed
    same = feedparser.parse(client.get("/feeds/author.atom", params={"name": 'Ana" Lima'}).content)
    assert [e.id for e in same.entries] == [e.id for e in parsed.entries] and same.feed.id == parsed.feed.id
    assert feedparser.parse(client.get("/feeds/author.atom", params={"name": "Nobody Atall"}).content).entries == []
    assert client.get("/feeds/author.atom").status_code == 400
    assert client.get("/feeds/author.atom", params={"name": '"'}).status_code == 400
    assert client.get("/feeds/author.atom", params={"name": "x" * 201}).status_code == 400


def _alternates(html: bytes) -> list[tuple[str, str]]:
    doc = etree.fromstring(html, etree.HTMLParser())
    return [
        (link.get("title"), link.get("href"))
        for link in doc.xpath("//head/link[@rel='alternate']")
        if link.get("type") == "application/atom+xml"
    ]


def test_list_pages_name_their_feeds(client):
    cases = {
        "/trending?window=week": "/feeds/trending.atom?window=week",
        "/trending?window=month&cat=cs.CL": "/feeds/trending.atom?window=month&cat=cs.CL",
        "/search?q=cat%3Acs.CL": "/feeds/category/cs.CL.atom",
        "/search?q=author%3A%22Ana+Lima%22": "/feeds/author.atom?name=Ana+Lima",
        "/search?q=feedback": "/feeds/search.atom?q=feedback",
    }
    for page, feed in cases.items():
        links = _alternates(client.get(page).content)
        assert feed in [href for _, href in links], (page, links)
        assert _atom(client.get(feed)) is not None
    # a search that is not one category or one author offers only its own feed (and the day's)
    mixed = [href for _, href in _alternates(client.get("/search?q=cat%3Acs.CL+feedback").content)]
    assert mixed == ["/feeds/day.atom", "/feeds/search.atom?q=cat%3Acs.CL+feedback"]


def test_feeds_answer_304_to_a_reader_that_has_them(client):
    for path in ("/feeds/day.atom", "/feeds/trending.atom?window=month", "/feeds/category/cs.CL.atom"):
        first = client.get(path)
        etag = first.headers["etag"]
        assert etag.startswith('W/"')
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        # another feed's tag (or a stale one) gets the whole feed
        other = client.get(path, headers={"If-None-Match": 'W/"0000", W/"1111"'})
        assert other.status_code == 200 and other.content == first.content
    assert client.get("/feeds/day.atom").headers["etag"] != client.get("/feeds/category/cs.CL.atom").headers["etag"]
