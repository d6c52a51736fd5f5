"""Atom feeds: any search (/feeds/search.atom?q=...) and the latest day (/feeds/day.atom)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from lxml import etree

from ..models import Paper
from .render import base_url, paper_path, url_with

router = APIRouter(include_in_schema=False)

FEED_SIZE = 50
ATOM = "application/atom+xml; charset=utf-8"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
TAG = "tag:paperwire,2025:"  # feed and entry ids: stable, whatever host serves them
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str | None) -> str:
    """Text XML 1.0 can hold (lxml refuses control characters)."""
    return _XML_INVALID.sub("", text or "")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def entry_id(paper_id: str) -> str:
    return TAG + "paper/" + quote(paper_id, safe="/:.-_")


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_feed(*, feed_id: str, title: str, subtitle: str, self_url: str, alt_url: str,
               papers: list[Paper], base: str) -> bytes:
    """An Atom 1.0 document (RFC 4287), built with lxml so every text is escaped.

    (feedgen 1.0 drops rel/type from entry links, which would give an entry two 'alternate'
    links: invalid Atom. lxml directly is just as short.)
    """
    feed = etree.Element(ATOM_NS + "feed", nsmap={None: ATOM_NS[1:-1]})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "en")

    def sub(parent, tag: str, text: str | None = None, **attrs):
        el = etree.SubElement(parent, ATOM_NS + tag, {k: _x(v) for k, v in attrs.items() if v is not None})
        if text is not None:
            el.text = _x(text)
        return el

    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "subtitle", subtitle)
    sub(feed, "link", href=self_url, rel="self", type="application/atom+xml")
    sub(feed, "link", href=alt_url, rel="alternate", type="text/html")
    sub(feed, "generator", "Paperwire")
    feed_updated = sub(feed, "updated")
    newest = None
    for p in papers:
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(p.id))
        sub(entry, "title", p.title)
        updated = _when(p.updated) or _when(p.submitted) or _when(p.announced) or datetime.now(timezone.utc)
        sub(entry, "updated", _iso(updated))
        published = _when(p.submitted)
        if published:
            sub(entry, "published", _iso(published))
        for name in p.authors[:50] or ["Unknown"]:
            sub(sub(entry, "author"), "name", _x(name) or "Unknown")
        sub(entry, "link", href=base + paper_path(p.id), rel="alternate", type="text/html")
        if p.pdf_url:
            sub(entry, "link", href=p.pdf_url, rel="related", type="application/pdf", title="PDF")
        if p.code_url:
            sub(entry, "link", href=p.code_url, rel="related", title="Code")
        for c in p.categories:
            sub(entry, "category", term=c)
        sub(entry, "summary", p.abstract or p.title, type="text")
        newest = max(newest, updated) if newest else updated
    feed_updated.text = _iso(newest or datetime.now(timezone.utc))
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


@router.get("/feeds/search.atom")
def search_feed(request: Request, q: str = Query(..., min_length=1, max_length=500)):
    q = " ".join(q.split())
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, "Search is not available on this server yet.")
    results = engine.search(q, limit=FEED_SIZE, offset=0)
    base = base_url(request)
    body = build_feed(
        feed_id=TAG + "search?q=" + quote(q, safe=""),
        title=f"Paperwire: {q}", subtitle=f"Papers matching “{q}”",
        self_url=base + url_with("/feeds/search.atom", q=q), alt_url=base + url_with("/search", q=q),
        papers=[h.paper for h in results.hits], base=base,
    )
    return Response(body, media_type=ATOM)


@router.get("/feeds/day.atom")
def day_feed(request: Request):
    store = request.app.state.store
    day = store.latest_day()
    papers = store.papers_on_day(day, limit=500) if day else []
    base = base_url(request)
    body = build_feed(
        feed_id=TAG + "day", title="Paperwire: latest papers",
        subtitle=f"Papers listed on {day}" if day else "No papers yet",
        self_url=base + "/feeds/day.atom", alt_url=base + "/", papers=papers, base=base,
    )
    return Response(body, media_type=ATOM)
