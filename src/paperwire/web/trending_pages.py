"""Trending pages: /trending?window=today|week|month and /api/trending.

The ranking lives in paperwire.trending.ranking; this module only reads the parameters, asks for
one page of the list and renders it. Rankings are kept for ranking.CACHE_SECONDS per app
(app.state.trending_cache) so that page views do not score every candidate again.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from ..trending.ranking import RankCache, TrendingPage, trending
from ..trending.score import WINDOWS
from . import feed_links
from .cards import card_states
from .errors import refuse_param, responses
from .render import base_url, pagination, paper_path, render, url_with

router = APIRouter(include_in_schema=False)
api_router = APIRouter()

PAGE_SIZE = 25
MAX_PAGE = 400
MAX_LIMIT = 100
MAX_OFFSET = 10_000
WINDOW_LABELS = {"today": "Today", "week": "This week", "month": "This month"}
_CATEGORY = re.compile(r"^[A-Za-z][A-Za-z0-9.\-]{0,40}$")


def _cache(request: Request) -> RankCache:
    cache = getattr(request.app.state, "trending_cache", None)
    if cache is None:
        cache = request.app.state.trending_cache = RankCache()
    return cache


def _window(window: str) -> str:
    if window not in WINDOWS:
        raise refuse_param("window", f"Unknown window {window[:40]!r}: use today, week or month.")
    return window


def _categories(cat: str | None) -> list[str]:
    cats = [c for c in (cat or "").replace(",", " ").split() if c]
    bad = [c for c in cats if not _CATEGORY.match(c)]
    if bad or len(cats) > 20:
        raise refuse_param(
            "cat",
            f"Invalid category {bad[0][:40]!r}: use arXiv categories such as cs.CL or cs."
            if bad
            else "At most 20 categories.",
        )
    return cats


def ranked_page(request: Request, window: str, cat: str | None, limit: int, offset: int) -> TrendingPage:
    """One page of a trending list (the page, the API and the feed): 400 for a bad window or category."""
    return trending(
        request.app.state.store,
        _window(window),
        limit=limit,
        offset=offset,
        categories=_categories(cat),
        cache=_cache(request),
    )


@router.get("/trending")
def trending_page(
    request: Request, window: str = "today", page: int = Query(1, ge=1, le=MAX_PAGE), cat: str | None = None
):
    result = ranked_page(request, window, cat, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    if page > 1 and not result.entries:
        raise HTTPException(404, f"Page {page} of this list is empty.")
    states = card_states(request, [e.paper for e in result.entries])
    for e in result.entries:  # "new" and "featured" as the ranking sees them (relative to "as of")
        st = states.get(e.paper.id)
        if st is not None:
            states[e.paper.id] = {**st, "new": e.is_new, "featured": e.featured or st.get("featured", False)}
    feed = feed_links.trending(result.window, " ".join((cat or "").replace(",", " ").split()) or None)
    return render(
        request,
        "trending.html",
        {
            "alt_feeds": [feed],
            "feed": feed,
            "window": result.window,
            "labels": WINDOW_LABELS,
            "result": result,
            "entries": result.entries,
            "cards": states,
            "cat": cat or "",
            "half_life": f"{WINDOWS[result.window].half_life_hours:g}",
            "pager": pagination(
                result.total,
                page,
                PAGE_SIZE,
                lambda n: url_with("/trending", window=window, cat=cat, page=n if n > 1 else None),
            ),
        },
    )


class TrendingItemOut(BaseModel):
    rank: int
    id: str
    title: str
    url: str = Field(description="this paper's page on this site")
    upvotes: int = Field(description="local votes + imported (Hugging Face) upvotes")
    stars_gained: int = Field(description="GitHub stars the paper's repository gained inside the window")
    repo: str | None = Field(description="GitHub repository, owner/name")
    score: float = Field(description="trending score (docs/trending.md); only comparable within one list")
    featured: bool = Field(description="pinned by a curator (listed first)")
    new: bool = Field(description="listed within 24 hours of as_of")
    listed_at: str


class TrendingOut(BaseModel):
    window: str
    as_of: str = Field(description="the time the list is computed at: min(now, end of the latest listing day)")
    since: str
    total: int
    limit: int
    offset: int
    items: list[TrendingItemOut]


@api_router.get(
    "/trending",
    response_model=TrendingOut,
    responses=responses(400, 422),
    tags=["papers"],
    summary="Trending papers: today, this week or this month",
)
def trending_api(
    request: Request,
    window: str = Query("today", description="today, week or month (400 otherwise)", examples=["week"]),
    limit: int = Query(25, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    cat: str | None = Query(
        None,
        max_length=2000,
        examples=["cs.CL cs.LG"],
        description="arXiv categories (cs.CL, or a whole archive: cs), separated by commas or spaces; at most 20",
    ),
):
    result = ranked_page(request, window, cat, limit, offset)
    site = base_url(request)
    return TrendingOut(
        window=result.window,
        as_of=result.as_of_iso,
        since=result.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        total=result.total,
        limit=limit,
        offset=offset,
        items=[
            TrendingItemOut(
                rank=e.rank,
                id=e.paper.id,
                title=e.paper.title,
                url=site + paper_path(e.paper.id),
                upvotes=e.upvotes,
                stars_gained=e.stars_gained,
                repo=e.repo,
                score=round(e.score, 6),
                featured=e.featured,
                new=e.is_new,
                listed_at=e.reference_at,
            )
            for e in result.entries
        ],
    )
