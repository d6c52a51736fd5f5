"""HTML pages: the day listing (home), search, and the paper page."""

from __future__ import annotations

import logging
import re
from datetime import date

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from ..community import paper_for
from ..digest.preview import alert_preview
from ..follows.claims import claim_state
from ..library.bibtex import bibtex
from ..search.query import parse_query
from . import feed_links
from .cards import card_states
from .follows import target as follow_target
from .page_cache import fingerprint
from .render import base_url, clipped, pagination, paper_path, render, url_with
from .session import current_account

log = logging.getLogger("paperwire.web")
router = APIRouter(include_in_schema=False)

DAY_PAGE_SIZE = 25
SEARCH_PAGE_SIZE = 20
SIMILAR_COUNT = 8
MAX_QUERY_CHARS = 500
MAX_PAGE = 10_000
MAX_SEARCH_PAGE = 50  # 1,000 results: deeper pages cost the engine more and help nobody

# the operators the filter fields set; these tokens are replaced when the filter form is sent
_FILTER_TOKENS = re.compile(r"(?<!\S)(?:cat:\S+|after:\S+|since:\S+|before:\S+|until:\S+|has:code)(?!\S)", re.I)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def compose_query(q: str, cat: str | None, after: str | None, before: str | None, code: bool) -> str:
    """The query string the filter fields stand for: the free text plus cat:/after:/before:/has:code."""
    parts = [" ".join(_FILTER_TOKENS.sub(" ", q or "").split())]
    for c in (cat or "").replace(",", " ").split():
        parts.append(f"cat:{c}")
    if after and after.strip():
        parts.append(f"after:{after.strip()}")
    if before and before.strip():
        parts.append(f"before:{before.strip()}")
    if code:
        parts.append("has:code")
    return " ".join(p for p in parts if p)


def filters_of(q: str) -> dict:
    """The filter fields' values, read back from a query string (to pre-fill the form)."""
    out = {"cat": [], "after": "", "before": "", "code": False}
    for token in _FILTER_TOKENS.findall(q or ""):
        key, _, value = token.partition(":")
        key = key.lower()
        if key == "cat":
            out["cat"].append(value)
        elif key in ("after", "since"):
            out["after"] = value
        elif key in ("before", "until"):
            out["before"] = value
        else:
            out["code"] = True
    out["cat"] = " ".join(out["cat"])
    return out


def _valid_day(day: str) -> bool:
    if not _DAY.match(day):
        return False
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def _day_page(request: Request, day: str | None, page: int):
    store = request.app.state.store
    latest = store.papers.latest_day()
    day = day or latest
    if day is None:
        return render(request, "day.html", {"day": None, "papers": [], "total": 0, "latest": None})
    total = store.papers.count_on_day(day)
    if total == 0 and day != latest:
        raise HTTPException(404, f"No papers are listed on {day}.")
    papers = store.papers.on_day(day, limit=DAY_PAGE_SIZE, offset=(page - 1) * DAY_PAGE_SIZE)
    if page > 1 and not papers:
        raise HTTPException(404, f"Page {page} of {day} is empty.")
    prev_day, next_day = store.papers.neighbor_days(day)
    path = "/" if day == latest else f"/day/{day}"
    cards = card_states(request, papers)
    return render(
        request,
        "day.html",
        {
            "day": day,
            "latest": latest,
            "papers": papers,
            "total": total,
            "cards": cards,
            "first_rank": (page - 1) * DAY_PAGE_SIZE + 1,
            "prev_day": prev_day,
            "next_day": next_day,
            "pager": pagination(total, page, DAY_PAGE_SIZE, lambda n: url_with(path, page=n if n > 1 else None)),
        },
        cache_key=fingerprint(day, latest, page, total, prev_day, next_day, papers, cards),
    )


@router.get("/")
def home(request: Request, page: int = Query(1, ge=1, le=MAX_PAGE)):
    return _day_page(request, None, page)


@router.get("/day/{day}")
def day_listing(request: Request, day: str, page: int = Query(1, ge=1, le=MAX_PAGE)):
    if not _valid_day(day):
        raise HTTPException(404, f"{clipped(day)} is not a date like 2025-03-17.")
    return _day_page(request, day, page)


@router.get("/search")
def search(
    request: Request,
    q: str = "",
    page: int = Query(1, ge=1, le=MAX_SEARCH_PAGE),
    f: str | None = None,
    cat: str | None = None,
    after: str | None = None,
    before: str | None = None,
    code: str | None = None,
):
    if f:  # the filter form was sent: fold its fields into the query and show a clean URL
        composed = compose_query(q, cat, after, before, bool(code))
        return RedirectResponse(url_with("/search", q=composed), status_code=303)
    q = " ".join(q.split())
    context = {"q": q, "filters": filters_of(q), "results": None, "errors": [], "hits": []}
    if not q:
        return render(request, "search.html", context)
    if len(q) > MAX_QUERY_CHARS:
        context["errors"] = [f"The query is too long ({len(q)} characters; at most {MAX_QUERY_CHARS})."]
        return render(request, "search.html", context, status_code=400)
    engine = request.app.state.engine
    if engine is None:
        context["unavailable"] = True
        return render(request, "search.html", context, status_code=503)
    offset = (page - 1) * SEARCH_PAGE_SIZE
    results = engine.search(q, limit=SEARCH_PAGE_SIZE, offset=offset)
    cards = card_states(request, [h.paper for h in results.hits])
    context.update(
        results=results,
        hits=results.hits,
        cards=cards,
        errors=list(results.query.errors),
        first_rank=offset + 1,
        feed_url=url_with("/feeds/search.atom", q=q),
        alt_feeds=feed_links.of_search(q),
        follow_target=_follow_of_search(request, q),
        pager=pagination(
            results.total, page, SEARCH_PAGE_SIZE, lambda n: url_with("/search", q=q, page=n if n > 1 else None)
        ),
        page=page,
        preview=alert_preview(engine, request.app.state.store, q) if page == 1 and not results.query.errors else None,
    )
    return render(
        request,
        "search.html",
        context,
        cache_key=fingerprint(
            q,
            page,
            results.total,
            results.mode,
            results.query,
            context["hits"],
            cards,
            context["errors"],
            context["preview"],
        ),
    )


def _follow_of_search(request: Request, q: str) -> dict | None:
    """A search for one category or one author (what chips and names link to) offers Follow."""
    for f in feed_links.of_search(q):
        if f.url.startswith("/feeds/category/"):
            return follow_target(request, "category", parse_query(q).categories[0])
        return follow_target(request, "author", parse_query(q).authors[0])
    return None


def _get_paper_or_404(request: Request, paper_id: str):
    # a hidden paper is "not found" for readers; curators open it (the page says it is hidden)
    paper = paper_for(request.app.state.store, paper_id, current_account(request))
    if paper is None:
        raise HTTPException(404, f"There is no paper {clipped(paper_id)} here.")
    return paper


@router.get("/papers/{paper_id:path}/bibtex")
def paper_bibtex(request: Request, paper_id: str):
    paper = _get_paper_or_404(request, paper_id)
    return PlainTextResponse(
        bibtex(paper, url=base_url(request) + paper_path(paper.id)), media_type="application/x-bibtex; charset=utf-8"
    )


@router.get("/papers/{paper_id:path}")
def paper_page(request: Request, paper_id: str):
    paper = _get_paper_or_404(request, paper_id)
    viewer = current_account(request)
    similar, similar_error = [], False
    engine = request.app.state.engine
    if engine is not None:
        try:
            similar = [h for h in engine.similar(paper.id, k=SIMILAR_COUNT) if h.paper.id != paper.id]
        except Exception:  # similar papers are a bonus: the page still shows the paper
            log.exception("similar papers for %s", paper.id)
            similar_error = True
    return render(
        request,
        "paper.html",
        {
            "paper": paper,
            "similar": similar,
            "similar_error": similar_error,
            "state": card_states(request, [paper])[paper.id],
            "search_available": engine is not None,
            "bibtex": bibtex(paper, url=base_url(request) + paper_path(paper.id)),
            "follow": follow_target(request, "paper", paper.id),
            "claim": claim_state(request.app.state.store, viewer.id, paper.id) if viewer else None,
        },
    )
