"""Where each Atom feed lives, and which feeds a page offers (its <link rel="alternate">).

One place for the feed URLs, so the pages' alternate links, the feeds' own self links, the library
page's feed section and the OPML file cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from ..search.query import parse_query
from .render import url_with

ATOM_TYPE = "application/atom+xml"
WINDOW_NAMES = {"today": "today", "week": "this week", "month": "this month"}


@dataclass(frozen=True)
class FeedLink:
    title: str
    url: str  # path on this site (feeds: the Atom document)
    html_url: str = ""  # the page the feed follows


def trending(window: str, cat: str | None = None) -> FeedLink:
    name = WINDOW_NAMES.get(window, window)
    title = f"Paperwire: trending {name}" + (f" in {cat}" if cat else "")
    return FeedLink(
        title,
        url_with("/feeds/trending.atom", window=window, cat=cat or None),
        url_with("/trending", window=window, cat=cat or None),
    )


def category(cat: str) -> FeedLink:
    return FeedLink(
        f"Paperwire: new in {cat}", f"/feeds/category/{quote(cat, safe='')}.atom", url_with("/search", q=f"cat:{cat}")
    )


def author(name: str) -> FeedLink:
    return FeedLink(
        f"Paperwire: papers by {name}",
        url_with("/feeds/author.atom", name=name),
        url_with("/search", q=f'author:"{name}"'),
    )


def search(q: str) -> FeedLink:
    return FeedLink(f"Paperwire: {q}", url_with("/feeds/search.atom", q=q), url_with("/search", q=q))


def for_you(token: str, tag: str | None = None) -> FeedLink:
    return FeedLink(
        "Paperwire: for you" + (f" ({tag})" if tag else ""),
        url_with(f"/feeds/private/{token}/for-you.atom", tag=tag),
        url_with("/for-you", tag=tag),
    )


def library(token: str, tag: str | None = None) -> FeedLink:
    return FeedLink(
        "Paperwire: your library" + (f" ({tag})" if tag else ""),
        url_with(f"/feeds/private/{token}/library.atom", tag=tag),
        url_with("/library", tag=tag),
    )


def following(token: str) -> FeedLink:
    return FeedLink("Paperwire: following", f"/feeds/private/{token}/following.atom", "/following")


def reader_feeds(token: str, tags: list[str]) -> list[FeedLink]:
    """Every private feed of a reader: "for you" merged and per tag, the library whole and per tag,
    and what they follow."""
    return (
        [for_you(token)]
        + [for_you(token, t) for t in tags]
        + [library(token)]
        + [library(token, t) for t in tags]
        + [following(token)]
    )


_ONLY_OPERATOR = re.compile(r'^\s*(?:cat|category|author|au|by):(?:"[^"]*"|\S+)\s*$', re.I)


def of_search(q: str) -> list[FeedLink]:
    """Besides a search's own feed: when the query is one category or one author (what category
    chips and author names link to), that category's or that author's feed."""
    if not _ONLY_OPERATOR.match(q or ""):
        return []
    pq = parse_query(q)
    if pq.errors:
        return []
    if len(pq.categories) == 1 and not pq.authors:
        return [category(pq.categories[0])]
    if len(pq.authors) == 1 and not pq.categories:
        return [author(pq.authors[0])]
    return []


__all__ = [
    "ATOM_TYPE",
    "FeedLink",
    "author",
    "category",
    "of_search",
    "following",
    "for_you",
    "library",
    "reader_feeds",
    "search",
    "trending",
]
