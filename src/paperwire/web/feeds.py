"""Atom feeds (RFC 4287) of every list: a search, the latest day, trending, a category, an author,
and a reader's private "for you" and library feeds (a URL with a secret token: feed readers do not
sign in; accounts/feed_tokens.py). Where each lives: feed_links.py."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from lxml import etree

from ..accounts.feed_tokens import account_for_token
from ..follows.feed import following_papers
from ..library import LibraryError
from ..library.core import feed_tag
from ..models import Paper
from ..recommend.feed import feed_for_account
from . import feed_links
from .render import base_url, paper_path
from .trending_pages import ranked_page

router = APIRouter(include_in_schema=False)

FEED_SIZE = 50
ATOM = "application/atom+xml; charset=utf-8"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TAG = "tag:paperwire,2025:"  # feed and entry ids: stable, whatever host serves them
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CATEGORY = re.compile(r"^[A-Za-z][A-Za-z\-]{0,20}(?:\.[A-Za-z][A-Za-z\-]{0,20})?$")  # cs.CL or cs
MAX_AUTHOR_CHARS = 200
# a private feed is the reader's own: no shared cache may keep it, no search engine index it
PRIVATE_HEADERS = {"Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@dataclass
class Entry:
    """A paper in a feed; ``updated`` (when it joined this list, e.g. saved) and ``note`` (put
    before the abstract) where the list has them."""

    paper: Paper
    updated: datetime | None = None
    note: str | None = None


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
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def entry_id(paper_id: str) -> str:
    return TAG + "paper/" + quote(paper_id, safe="/:.-_")


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_feed(
    *, feed_id: str, title: str, subtitle: str, self_url: str, alt_url: str, papers: list[Paper | Entry], base: str
) -> bytes:
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
    for item in papers:
        e = item if isinstance(item, Entry) else Entry(item)
        p = e.paper
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(p.id))
        sub(entry, "title", p.title)
        # from the paper's own dates, never the clock: the same paper reads the same on every fetch
        updated = e.updated or _when(p.updated) or _when(p.submitted) or _when(p.announced) or _when(p.day) or EPOCH
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
        summary = p.abstract or p.title
        sub(entry, "summary", f"{e.note}\n\n{summary}" if e.note else summary, type="text")
        newest = max(newest, updated) if newest else updated
    # an empty list has no instant of its own; the clock would make each fetch a new document (and
    # defeat the ETag), so it reads as the epoch until a paper joins it
    feed_updated.text = _iso(newest or EPOCH)
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _atom(request: Request, body: bytes, headers: dict | None = None) -> Response:
    """The feed, with an ETag of its bytes: a feed is the same document until its list changes, so
    a reader polling with If-None-Match gets an empty 304 instead. Weak, because the same tag
    covers the gzipped and the plain bytes."""
    etag = 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {**(headers or {}), "ETag": etag}
    wanted = request.headers.get("if-none-match", "")
    if wanted and (wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ATOM, headers=headers)


def _feed(request: Request, link: feed_links.FeedLink, feed_id: str, subtitle: str, papers) -> bytes:
    base = base_url(request)
    return build_feed(
        feed_id=TAG + feed_id,
        title=link.title,
        subtitle=subtitle,
        self_url=base + link.url,
        alt_url=base + link.html_url,
        papers=papers,
        base=base,
    )


def _engine(request: Request):
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, "Search is not available on this server yet.")
    return engine


@router.get("/feeds/search.atom")
def search_feed(request: Request, q: str = Query(..., min_length=1, max_length=500)):
    q = " ".join(q.split())
    results = _engine(request).search(q, limit=FEED_SIZE, offset=0)
    return _atom(
        request,
        _feed(
            request,
            feed_links.search(q),
            "search?q=" + quote(q, safe=""),
            f"Papers matching “{q}”",
            [h.paper for h in results.hits],
        ),
    )


@router.get("/feeds/day.atom")
def day_feed(request: Request):
    store = request.app.state.store
    day = store.papers.latest_day()
    papers = store.papers.on_day(day, limit=500) if day else []
    link = feed_links.FeedLink("Paperwire: latest papers", "/feeds/day.atom", "/")
    return _atom(request, _feed(request, link, "day", f"Papers listed on {day}" if day else "No papers yet", papers))


@router.get("/feeds/trending.atom")
def trending_feed(
    request: Request, window: str = Query("today", max_length=20), cat: str | None = Query(None, max_length=500)
):
    result = ranked_page(request, window, cat, FEED_SIZE, 0)
    cats = " ".join(c for c in (cat or "").replace(",", " ").split())
    return _atom(
        request,
        _feed(
            request,
            feed_links.trending(result.window, cats or None),
            f"trending/{result.window}" + (f"?cat={quote(cats, safe='')}" if cats else ""),
            f"Trending papers, {feed_links.WINDOW_NAMES[result.window]}: votes and GitHub stars gained",
            [e.paper for e in result.entries],
        ),
    )


@router.get("/feeds/category/{cat}.atom")
def category_feed(request: Request, cat: str):
    if not _CATEGORY.match(cat):
        raise HTTPException(400, f"{cat[:40]!r} is not an arXiv category; use one like cs.CL (or cs for all of cs.*).")
    results = _engine(request).search(f"cat:{cat}", limit=FEED_SIZE, offset=0)  # filters only: newest first
    return _atom(
        request,
        _feed(
            request,
            feed_links.category(cat),
            "category/" + quote(cat, safe=""),
            f"The newest papers in {cat}",
            [h.paper for h in results.hits],
        ),
    )


@router.get("/feeds/author.atom")
def author_feed(request: Request, name: str = Query(..., min_length=1, max_length=MAX_AUTHOR_CHARS)):
    # quotes would end the author:"..." operator early; whitespace runs are one space in names
    name = " ".join(name.replace('"', " ").split())
    if not name:
        raise HTTPException(400, "name needs an author's name, e.g. name=Yann LeCun.")
    results = _engine(request).search(f'author:"{name}"', limit=FEED_SIZE, offset=0)
    return _atom(
        request,
        _feed(
            request,
            feed_links.author(name),
            "author?name=" + quote(name.lower(), safe=""),
            f"The newest papers by {name}",
            [h.paper for h in results.hits],
        ),
    )


# -- a reader's private feeds ---------------------------------------------------------------
def _reader(request: Request, token: str):
    account = account_for_token(request.app.state.store, token)
    if account is None:  # never says whether the token once existed
        raise HTTPException(404, "There is no feed at this address; its owner may have reset their feed links.")
    return account


def _tag(tag: str | None) -> str | None:
    try:
        return feed_tag(tag) or None
    except LibraryError as e:
        raise HTTPException(400, str(e)) from None


@router.get("/feeds/private/{token}/for-you.atom")
def for_you_feed(request: Request, token: str, tag: str | None = Query(None, max_length=200)):
    account = _reader(request, token)
    tag = _tag(tag)
    recs = feed_for_account(
        request.app.state.store, account.id, tag=tag, limit=FEED_SIZE, settings=request.app.state.settings
    )
    entries = [
        Entry(
            r.paper,
            note=(
                f"Because you {'upvoted' if r.because_upvoted else 'saved'} “{r.because_title}”."
                if r.because_title
                else None
            ),
        )
        for r in recs
    ]
    return _atom(
        request,
        _feed(
            request,
            feed_links.for_you(token, tag),
            f"for-you/{account.id}" + (f"?tag={quote(tag, safe='')}" if tag else ""),
            "New papers like the ones you saved" + (f" under “{tag}”" if tag else ""),
            entries,
        ),
        PRIVATE_HEADERS,
    )


@router.get("/feeds/private/{token}/library.atom")
def library_feed(request: Request, token: str, tag: str | None = Query(None, max_length=200)):
    account = _reader(request, token)
    tag = _tag(tag)
    saved = request.app.state.store.library.entries(account.id, tag=tag, limit=FEED_SIZE, offset=0)
    entries = [Entry(e.paper, updated=_when(e.saved_at)) for e in saved]
    return _atom(
        request,
        _feed(
            request,
            feed_links.library(token, tag),
            f"library/{account.id}" + (f"?tag={quote(tag, safe='')}" if tag else ""),
            "Papers you saved, newest first" + (f", under “{tag}”" if tag else ""),
            entries,
        ),
        PRIVATE_HEADERS,
    )


@router.get("/feeds/private/{token}/following.atom")
def following_feed(request: Request, token: str):
    account = _reader(request, token)
    found = following_papers(request.app.state.store, _engine(request), account.id, limit=FEED_SIZE)
    return _atom(
        request,
        _feed(
            request,
            feed_links.following(token),
            f"following/{account.id}",
            "New papers by the authors and in the categories you follow",
            [Entry(f.paper, note=f"You follow this: {f.reason}.") for f in found],
        ),
        PRIVATE_HEADERS,
    )
