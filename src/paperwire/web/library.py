"""The reader's library and "for you" pages: save / remove a paper, file it under tags, export
the library (BibTeX, CSV), the per-tag and merged "for you" feeds and their "not relevant" button.

Every route needs a signed-in account; every POST goes through checked_form (size + CSRF). The
routes only translate HTTP into calls to paperwire.library and paperwire.recommend.feed.
Scripts (static/library.js) post the same forms with ``Accept: application/json`` and get JSON.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from .. import library as lib
from ..accounts.feed_tokens import feed_token, reset_feed_token
from ..library import export
from ..library.core import feed_tag
from ..recommend.feed import feed_for_account
from . import feed_links
from .cards import card_states
from .errors import error_response, refuse_param, responses
from .opml import build_opml
from .render import base_url, pagination, paper_path, render, url_with
from .session import checked_form, current_account, require_account, wants_json

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["library"])

LIBRARY_PAGE_SIZE = 25
FOR_YOU_SIZE = 20
MAX_PAGE = 10_000


def _tag_param(tag: str | None) -> str | None:
    """A ?tag= value: None for none, else the valid tag (400 otherwise)."""
    try:
        return feed_tag(tag) or None
    except lib.LibraryError as e:
        raise refuse_param("tag", str(e)) from None


def _back(request: Request, default: str) -> str:
    """Where a form post returns to: the referring page when it is on this site, else ``default``."""
    ref = request.headers.get("referer")
    if ref:
        parts = urlsplit(ref)
        if parts.netloc == request.url.netloc and parts.path.startswith("/") and not parts.path.startswith("//"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return default


def _answer(request: Request, data: dict, default_back: str):
    if wants_json(request):
        return JSONResponse(data)
    return RedirectResponse(_back(request, default_back), status_code=303)


def _failed(request: Request, e: Exception):
    """LibraryError -> 400, NotFound -> 404; JSON for scripts, the error page otherwise."""
    status = 404 if isinstance(e, lib.NotFound) else 400
    if wants_json(request):
        return error_response(status, str(e))
    raise HTTPException(status, str(e))


def _url_for(request: Request):
    root = base_url(request)
    return lambda p: root + paper_path(p.id)


# -- saving and tags ----------------------------------------------------------------------
@router.post("/library/save")
async def save(request: Request):
    account = require_account(request)
    form = await checked_form(request)
    store = request.app.state.store
    action = form.get("action", "save")
    paper_id = form.get("paper_id", "").strip()
    try:
        if action == "save":
            lib.save(store, account.id, paper_id, form.get("tags"))
            saved = True
        elif action == "remove":
            lib.remove(store, account.id, paper_id)
            saved = False
        else:
            raise lib.LibraryError("action must be save or remove")
    except (lib.LibraryError, lib.NotFound) as e:
        return _failed(request, e)
    return _answer(request, {"saved": saved, "paper_id": paper_id}, "/library")


@router.post("/library/tags")
async def tags(request: Request):
    """Replace a saved paper's tags with the comma-separated ``tags`` field."""
    account = require_account(request)
    form = await checked_form(request)
    paper_id = form.get("paper_id", "").strip()
    try:
        clean = lib.set_tags(request.app.state.store, account.id, paper_id, form.get("tags", ""))
    except (lib.LibraryError, lib.NotFound) as e:
        return _failed(request, e)
    return _answer(request, {"paper_id": paper_id, "tags": clean}, "/library")


# -- the library page and its exports -----------------------------------------------------
@router.get("/library")
def library_page(
    request: Request, tag: str | None = Query(None, max_length=200), page: int = Query(1, ge=1, le=MAX_PAGE)
):
    account = require_account(request)
    store = request.app.state.store
    tag = _tag_param(tag)
    total = store.library.count(account.id, tag)
    entries = store.library.entries(account.id, tag=tag, limit=LIBRARY_PAGE_SIZE, offset=(page - 1) * LIBRARY_PAGE_SIZE)
    if not entries and page > 1:
        raise HTTPException(404, f"Page {page} of your library is empty.")
    token = feed_token(store, request.app.state.settings, account.id)
    feeds = [feed_links.library(token, tag), feed_links.for_you(token, tag)]
    if tag:
        feeds += [feed_links.library(token), feed_links.for_you(token)]
    feeds.append(feed_links.following(token))
    return render(
        request,
        "library.html",
        {
            "alt_feeds": feeds,
            "feeds": feeds,
            "base": base_url(request),
            "cards": card_states(request, [e.paper for e in entries]),
            "tag": tag,
            "tags": store.library.tags(account.id),
            "entries": entries,
            "total": total,
            "all_total": store.library.count(account.id) if tag else total,
            "pager": pagination(
                total, page, LIBRARY_PAGE_SIZE, lambda n: url_with("/library", tag=tag, page=n if n > 1 else None)
            ),
            "first_rank": (page - 1) * LIBRARY_PAGE_SIZE + 1,
        },
    )


def _export_name(tag: str | None, ext: str) -> str:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in tag or "")
    return f"paperwire-library{'-' + safe if safe else ''}.{ext}"


def _export(request: Request, tag: str | None, ext: str, media_type: str, write) -> Response:
    """The signed-in reader's library (or one tag of it) as a download made by ``write``."""
    account = require_account(request)
    tag = _tag_param(tag)
    text = write(export.all_entries(request.app.state.store, account.id, tag), url_for=_url_for(request))
    return Response(
        text,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{_export_name(tag, ext)}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/library/export.bib")
def export_bib(request: Request, tag: str | None = Query(None, max_length=200)):
    return _export(request, tag, "bib", "application/x-bibtex; charset=utf-8", export.to_bibtex)


@router.get("/library/export.csv")
def export_csv(request: Request, tag: str | None = Query(None, max_length=200)):
    return _export(request, tag, "csv", "text/csv; charset=utf-8", export.to_csv)


# -- private feeds ----------------------------------------------------------------------------
@router.get("/library/feeds.opml")
def feeds_opml(request: Request):
    """Every private feed of the reader ("for you" and library, merged and per tag) for a feed reader."""
    account = require_account(request)
    store = request.app.state.store
    token = feed_token(store, request.app.state.settings, account.id)
    feeds = feed_links.reader_feeds(token, [t for t, _ in store.library.tags(account.id)])
    body = build_opml("Paperwire: your feeds", feeds, base_url(request))
    return Response(
        body,
        media_type="text/x-opml; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="paperwire-feeds.opml"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/library/feeds/reset")
async def reset_feeds(request: Request):
    """New private feed URLs; the old ones answer 404 from now on."""
    account = require_account(request)
    await checked_form(request)
    token = reset_feed_token(request.app.state.store, request.app.state.settings, account.id)
    if wants_json(request):
        root = base_url(request)
        return JSONResponse({"reset": True, "feeds": [root + f.url for f in feed_links.reader_feeds(token, [])]})
    return RedirectResponse("/library#feeds", status_code=303)


# -- for you ------------------------------------------------------------------------------
@router.get("/for-you")
def for_you(request: Request, tag: str | None = Query(None, max_length=200)):
    account = current_account(request)
    if account is None:  # the nav shows "For you" to everyone: say what to do instead of a bare redirect
        return render(request, "for_you.html", {"signed_in": False, "tag": None, "tags": [], "recs": []})
    store = request.app.state.store
    tag = _tag_param(tag)
    recs = feed_for_account(store, account.id, tag=tag, limit=FOR_YOU_SIZE, settings=request.app.state.settings)
    feed = feed_links.for_you(feed_token(store, request.app.state.settings, account.id), tag)
    return render(
        request,
        "for_you.html",
        {
            "signed_in": True,
            "alt_feeds": [feed],
            "feed": feed,
            "tag": tag,
            "tags": store.library.tags(account.id),
            "recs": recs,
            "cards": card_states(request, [r.paper for r in recs]),
            "library_total": store.library.count(account.id),
            "tag_total": store.library.count(account.id, tag) if tag else None,
        },
    )


@router.post("/for-you/not-relevant")
async def not_relevant(request: Request):
    account = require_account(request)
    form = await checked_form(request)
    paper_id = form.get("paper_id", "").strip()
    tag = form.get("tag") or None
    try:
        lib.mark_not_relevant(request.app.state.store, account.id, paper_id, tag)
    except (lib.LibraryError, lib.NotFound) as e:
        return _failed(request, e)
    return _answer(
        request, {"not_relevant": True, "paper_id": paper_id, "tag": tag or ""}, url_with("/for-you", tag=tag)
    )


# -- JSON -----------------------------------------------------------------------------------
def _paper_json(request: Request, p) -> dict:
    return {
        "id": p.id,
        "title": p.title,
        "authors": p.authors,
        "day": p.day,
        "categories": p.categories,
        "url": base_url(request) + paper_path(p.id),
    }


class LibraryPaperOut(BaseModel):
    id: str
    title: str
    authors: list[str]
    day: str | None = Field(description="the day the paper is listed under, YYYY-MM-DD")
    categories: list[str]
    url: str = Field(description="this paper's page on this site")


class SavedPaperOut(LibraryPaperOut):
    saved_at: str = Field(description="when it was saved, ISO 8601 UTC")
    tags: list[str]


class TagCountOut(BaseModel):
    tag: str
    count: int


class LibraryOut(BaseModel):
    total: int = Field(description="saved papers (under the tag, when one is given)")
    tags: list[TagCountOut] = Field(description="every tag of the library and how many papers it holds")
    results: list[SavedPaperOut]


class BecauseOut(BaseModel):
    id: str
    title: str | None
    kind: Literal["upvoted", "saved"]


class RecommendationOut(LibraryPaperOut):
    score: float = Field(description="higher is better (only comparable within one response)")
    because: BecauseOut | None = Field(description="the saved or upvoted paper closest to this one")


class ForYouOut(BaseModel):
    tag: str | None
    results: list[RecommendationOut]


@api_router.get(
    "/library",
    response_model=LibraryOut,
    responses=responses(400, 401, 422),
    summary="The signed-in reader's saved papers (optionally under one tag)",
)
def api_library(
    request: Request,
    tag: str | None = Query(None, max_length=200, examples=["code"]),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
):
    account = require_account(request)
    store = request.app.state.store
    tag = _tag_param(tag)
    entries = store.library.entries(account.id, tag=tag, limit=limit, offset=offset)
    return {
        "total": store.library.count(account.id, tag),
        "tags": [{"tag": t, "count": n} for t, n in store.library.tags(account.id)],
        "results": [{**_paper_json(request, e.paper), "saved_at": e.saved_at, "tags": e.tags} for e in entries],
    }


@api_router.get(
    "/for-you",
    response_model=ForYouOut,
    responses=responses(400, 401, 422),
    summary="The signed-in reader's recommendations (merged, or for one tag)",
)
def api_for_you(
    request: Request,
    tag: str | None = Query(None, max_length=200, examples=["code"]),
    limit: int = Query(20, ge=1, le=50),
):
    account = require_account(request)
    tag = _tag_param(tag)
    recs = feed_for_account(
        request.app.state.store, account.id, tag=tag, limit=limit, settings=request.app.state.settings
    )
    return {
        "tag": tag,
        "results": [
            {
                **_paper_json(request, r.paper),
                "score": r.score,
                "because": {
                    "id": r.because_id,
                    "title": r.because_title,
                    "kind": "upvoted" if r.because_upvoted else "saved",
                }
                if r.because_id
                else None,
            }
            for r in recs
        ],
    }
