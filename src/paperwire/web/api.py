"""The JSON API under /api; its OpenAPI document is at /openapi.json (browsable at /docs)."""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date as Date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field

from ..community import comments, paper_for
from ..models import Paper
from ..subscriptions.types import RateLimited
from .errors import error_response, item, refuse_param, responses
from .render import base_url, clipped, paper_path
from .session import checked_form, current_account, require_account

log = logging.getLogger("paperwire.web")
router = APIRouter()

MAX_LIMIT = 100
MAX_OFFSET = 1_000  # deeper result pages cost the engine more and help nobody
MAX_QUERY_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _calendar_date(value: str | None) -> str | None:
    """A YYYY-MM-DD that is a day of the calendar (2025-02-30 is refused like 2025-2-3)."""
    if value is not None:
        Date.fromisoformat(value)  # ValueError -> 422, like a value that misses the pattern
    return value


def search_text(q: str) -> str:
    """The query as searched: control characters are spaces, runs of spaces one."""
    return " ".join(_CONTROL.sub(" ", q).split())


class PaperOut(BaseModel):
    id: str = Field(description="arXiv id without version (2503.11731, hep-th/9901001) or source:local-id")
    title: str
    authors: list[str]
    abstract: str
    categories: list[str]
    primary_category: str | None
    submitted: str | None = Field(description="first version, ISO 8601 UTC")
    updated: str | None = Field(description="latest version, ISO 8601 UTC")
    announced: str | None = Field(description="the day the paper is listed under, YYYY-MM-DD")
    abs_url: str | None
    pdf_url: str | None
    code_url: str | None
    url: str = Field(description="this paper's page on this site")


class PaperDetailOut(PaperOut):
    version: int | None
    doi: str | None
    journal_ref: str | None
    comments: str | None


class HitOut(PaperOut):
    score: float = Field(description="relevance, higher is better (only comparable within one response)")


class SearchOut(BaseModel):
    query: str
    mode: str = Field(
        description="'hybrid' (meaning + words), 'lexical' (words only, embeddings pending) or 'browse' (filters only)"
    )
    total: int = Field(description="number of matching papers (an estimate for free-text queries)")
    limit: int
    offset: int
    took_ms: float
    errors: list[str] = Field(
        description="parts of the query that could not be understood (the rest was still searched)"
    )
    results: list[HitOut]


class DayOut(BaseModel):
    date: str | None
    total: int
    limit: int
    offset: int
    previous_date: str | None
    next_date: str | None
    results: list[PaperOut]


class SimilarOut(BaseModel):
    id: str
    results: list[HitOut]


class HealthOut(BaseModel):
    status: str
    papers: int
    embeddings: int
    latest_date: str | None
    search: bool = Field(description="whether the search engine is loaded")
    pending: dict[str, int] | None = Field(description="changes not yet indexed: {'lexical': n, 'embed': n}")


def _paper(request: Request, p: Paper, detail: bool = False, score: float | None = None) -> dict:
    d = {
        "id": p.id,
        "title": p.title,
        "authors": p.authors,
        "abstract": p.abstract,
        "categories": p.categories,
        "primary_category": p.primary_category,
        "submitted": p.submitted,
        "updated": p.updated,
        "announced": p.announced,
        "abs_url": p.abs_url,
        "pdf_url": p.pdf_url,
        "code_url": p.code_url,
        "url": base_url(request) + paper_path(p.id),
    }
    if detail:
        d.update(version=p.version, doi=p.doi, journal_ref=p.journal_ref, comments=p.comments)
    if score is not None:
        d["score"] = round(float(score), 6)
    return d


def _engine(request: Request):
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, "search is not available on this server yet")
    return engine


@router.get(
    "/search",
    response_model=SearchOut,
    responses=responses(400, 422, 503),
    tags=["search"],
    summary="Search papers by meaning and words",
)
def api_search(
    request: Request,
    q: str = Query(
        ...,
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        examples=["language models", 'author:"Ana Lima" has:code'],
        description='free text, "quoted phrases", author:name, cat:cs.CL, after:YYYY-MM-DD, '
        "before:YYYY-MM-DD, has:code. A q of nothing but spaces and control "
        "characters is refused (400).",
    ),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    q = search_text(q)
    if not q:
        raise refuse_param("q", "q is empty")
    results = _engine(request).search(q, limit=limit, offset=offset)
    return {
        "query": q,
        "mode": results.mode,
        "total": results.total,
        "limit": limit,
        "offset": offset,
        "took_ms": round(results.took_ms, 2),
        "errors": list(results.query.errors),
        "results": [_paper(request, h.paper, score=h.score) for h in results.hits],
    }


@router.get(
    "/papers",
    response_model=DayOut,
    responses=responses(422),
    tags=["papers"],
    summary="The papers listed on a day (default: the latest day)",
)
def api_papers(
    request: Request,
    date: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            json_schema_extra={"format": "date"},
            examples=["2025-03-17"],
            description="a day of the calendar, YYYY-MM-DD",
        ),
        AfterValidator(_calendar_date),
    ] = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=100_000),
):
    store = request.app.state.store
    day = date or store.papers.latest_day()
    if day is None:
        return {
            "date": None,
            "total": 0,
            "limit": limit,
            "offset": offset,
            "previous_date": None,
            "next_date": None,
            "results": [],
        }
    prev_day, next_day = store.papers.neighbor_days(day)
    return {
        "date": day,
        "total": store.papers.count_on_day(day),
        "limit": limit,
        "offset": offset,
        "previous_date": prev_day,
        "next_date": next_day,
        "results": [_paper(request, p) for p in store.papers.on_day(day, limit=limit, offset=offset)],
    }


def _get(request: Request, paper_id: str) -> Paper:
    # a hidden paper: 404 as for an unknown id, except to a signed-in curator
    paper = paper_for(request.app.state.store, paper_id, current_account(request))
    if paper is None:
        raise HTTPException(404, f"no paper with id {clipped(paper_id)}")
    return paper


# registered before /papers/{id} because ids may hold '/': the longer pattern must win
@router.get(
    "/papers/{paper_id:path}/similar",
    response_model=SimilarOut,
    responses=responses(404, 422, 503),
    tags=["papers"],
    summary="Papers similar in meaning to a paper",
)
def api_similar(
    request: Request,
    paper_id: str = Path(..., examples=["2503.11731", "hep-th/9901001"]),
    limit: int = Query(10, ge=1, le=MAX_LIMIT),
):
    paper = _get(request, paper_id)
    hits = [h for h in _engine(request).similar(paper.id, k=limit) if h.paper.id != paper.id]
    return {"id": paper.id, "results": [_paper(request, h.paper, score=h.score) for h in hits[:limit]]}


class CommentOut(BaseModel):
    id: int
    parent: int | None = Field(None, description="the thread's first comment, for a reply")
    author: str | None = Field(None, description="the author's handle (null once deleted)")
    body: str | None = Field(None, description="Markdown as written (null once deleted)")
    body_html: str | None = Field(None, description="the body as sanitised HTML; math left as $...$ for KaTeX")
    created: str
    edited: str | None = None
    deleted: bool = False
    locked: bool = False


class CommentsOut(BaseModel):
    results: list[CommentOut]


class CommentIn(BaseModel):
    body: str = Field(..., min_length=1, max_length=10_000, description="Markdown, at most 10 kB")
    parent: int | None = Field(None, ge=1, le=2**62, description="reply to this comment")


@router.get(
    "/papers/{paper_id:path}/comments",
    response_model=CommentsOut,
    responses=responses(404, 422),
    tags=["comments"],
    summary="A paper's comments, each thread's first comment followed by its replies",
)
def api_comments(request: Request, paper_id: str = Path(..., examples=["2503.11731"])):
    paper = _get(request, paper_id)
    store = request.app.state.store
    pk = store.papers.pks_for([paper.id])[paper.id]
    return {"results": comments.flat(comments.threads(store, pk))}


@router.post(
    "/papers/{paper_id:path}/comments",
    status_code=201,
    response_model=CommentOut,
    responses=responses(400, 401, 403, 404, 413, 415, 422, 429),
    tags=["comments"],
    summary="Comment on a paper, or reply (session + X-CSRF-Token)",
)
async def api_comment(request: Request, body: CommentIn, paper_id: str = Path(..., examples=["2503.11731"])):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPException(415, "send a JSON body (Content-Type: application/json)")
    account = require_account(request)
    await checked_form(request)
    paper = _get(request, paper_id)
    store, settings = request.app.state.store, request.app.state.settings
    pk = store.papers.pks_for([paper.id])[paper.id]
    try:
        cid = comments.post(store, settings, account, pk, paper.id, body.body, body.parent)
    except comments.CommentError as e:
        return error_response(e.status, str(e), [item(["body", "body"], str(e))])
    except RateLimited as e:
        resp = error_response(429, "too many comments: wait a while")
        resp.headers["Retry-After"] = str(int(e.window))
        return resp
    c = store.comments.get(cid)
    return JSONResponse(comments.comment_out(c), status_code=201)


@router.get(
    "/papers/{paper_id:path}",
    response_model=PaperDetailOut,
    responses=responses(404, 422),
    tags=["papers"],
    summary="One paper",
)
def api_paper(request: Request, paper_id: str = Path(..., examples=["2503.11731", "hep-th/9901001"])):
    return _paper(request, _get(request, paper_id), detail=True)


# one thread of its own, not one of the PAPERWIRE_WEB_THREADS every other route shares: a health
# check must answer while slow requests hold them all, or a monitor restarts a busy server that
# is fine (an executor, not an anyio limiter: it is bound to no event loop)
_HEALTH_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paperwire-health")


@router.get(
    "/health",
    response_model=HealthOut,
    responses=responses(),
    tags=["service"],
    summary="Counts and pending index work",
)
async def api_health(request: Request):
    return await asyncio.get_running_loop().run_in_executor(_HEALTH_THREAD, _health, request)


def _health(request: Request) -> dict:
    store = request.app.state.store
    indexer = request.app.state.indexer
    pending = None
    if indexer is not None:
        try:
            pending = {k: int(v) for k, v in indexer.pending().items()}
        except Exception:
            log.exception("indexer.pending()")
    return {
        "status": "ok",
        "papers": store.papers.count(),
        "embeddings": store.papers.count_embeddings(),
        "latest_date": store.papers.latest_day(),
        "search": request.app.state.engine is not None,
        "pending": pending,
    }
