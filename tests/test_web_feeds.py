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
        alt = [l.get("href") for l in e.findall(ATOM_NS + "link") if l.get("rel") == "alternate"]
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
    assert any(l.href == "https://papers.example.org/feeds/day.atom" for l in parsed.feed.links if l.rel == "self")


def test_feed_errors(client):
    assert client.get("/feeds/search.atom").status_code == 400  # q is required (an HTML 400 page)
    root = _atom(client.get("/feeds/search.atom", params={"q": "cat:q-bio.NC"}))  # matches nothing
    assert root.findall(ATOM_NS + "entry") == []
    assert root.findtext(ATOM_NS + "id") == "tag:paperwire,2025:search?q=cat%3Aq-bio.NC"
    assert root.findtext(ATOM_NS + "updated")  # required even when empty
