"""Community pages and actions: upvote / un-upvote, submit a paper to today's list,
and the curators' page and actions. The routes translate HTTP into calls to paperwire.community.

Every POST needs a signed-in account (anonymous visitors are sent to sign in: a redirect for a
form, 401 JSON with the sign-in URL for a script) and a CSRF token (form field or
X-CSRF-Token header, session.checked_form). Forms answer with a redirect back to the page they
came from (a local Referer only) so the pages work without JavaScript; static/vote.js asks for
JSON instead and updates the count in place.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from .. import community
from ..community.submit import MAX_INPUT_CHARS
from .cards import card_states
from .errors import error_response
from .render import paper_path, render
from .session import SignInRequired, checked_form, current_account, require_curator, wants_json

router = APIRouter(include_in_schema=False)
api_router = APIRouter()

LIST_SHOWN = 100
AUDIT_SHOWN = 100


def _store(request: Request):
    return request.app.state.store


def local_referer(request: Request) -> str | None:
    """The path (and query) of the Referer when it is a page of this site, else None."""
    ref = request.headers.get("referer")
    if not ref or len(ref) > 2000:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.headers.get("host"):
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + ("?" + parts.query if parts.query else "")


def _signed_in(request: Request, back: str):
    """The account, or SignInRequired that brings the reader back to ``back`` (a local path)."""
    account = current_account(request)
    if account is None:
        raise SignInRequired(back)
    return account


def _error(request: Request, status: int, message: str):
    if wants_json(request):
        return error_response(status, message)
    raise HTTPException(status, message)


# -- votes ------------------------------------------------------------------------------------


@router.post("/papers/{paper_id:path}/vote")
async def vote(request: Request, paper_id: str):
    back = local_referer(request) or paper_path(paper_id)
    account = _signed_in(request, back)
    form = await checked_form(request)
    action = form.get("action", "up")
    if action not in ("up", "down"):
        return _error(request, 400, "The action must be 'up' or 'down'.")
    try:
        result = community.vote(_store(request), account.id, paper_id, up=action == "up")
    except community.UnknownPaper as e:
        return _error(request, 404, str(e))
    if wants_json(request):
        return JSONResponse(
            {"paper_id": result.paper_id, "upvotes": result.upvotes, "voted": result.voted},
            headers={"Cache-Control": "no-store"},
        )
    return RedirectResponse(back, status_code=303)


# -- submissions ------------------------------------------------------------------------------


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _submit_page(
    request: Request,
    *,
    text: str = "",
    error: str | None = None,
    result: community.Submission | None = None,
    status_code: int = 200,
):
    store = _store(request)
    day = _today()
    entries = store.community.day_list(day, limit=LIST_SHOWN)
    papers = store.papers.get_many([e.pk for e in entries])
    listed = [(papers[e.pk], e) for e in entries if e.pk in papers]
    resp = render(
        request,
        "submit.html",
        {
            "day": day,
            "listed": listed,
            "cards": card_states(request, [p for p, _ in listed]),
            "text": text,
            "error": error,
            "result": result,
        },
        status_code=status_code,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/submit")
def submit_form(request: Request):
    return _submit_page(request)


_LOOKUP_THREADS = 8
_lookup_limiters: dict[int, anyio.CapacityLimiter] = {}


def _lookup_limiter() -> anyio.CapacityLimiter:
    """The threads arXiv look-ups run on (one limiter per event loop: a limiter belongs to its loop)."""
    import asyncio

    key = id(asyncio.get_running_loop())
    if key not in _lookup_limiters:
        _lookup_limiters[key] = anyio.CapacityLimiter(_LOOKUP_THREADS)
    return _lookup_limiters[key]


@router.post("/submit")
async def submit(request: Request):
    account = _signed_in(request, "/submit")
    form = await checked_form(request)
    text = form.get("paper", "")
    settings = request.app.state.settings
    try:
        # the arXiv look-up blocks for up to ~35 s: off the event loop, and on threads of its own, so
        # that slow look-ups never hold the few request threads (PAPERWIRE_WEB_THREADS) pages run on
        result = await anyio.to_thread.run_sync(
            functools.partial(community.submit, _store(request), settings, account.id, text), limiter=_lookup_limiter()
        )
    except community.SubmitError as e:
        return _submit_page(request, text=text[:MAX_INPUT_CHARS], error=str(e), status_code=e.status)
    return _submit_page(request, result=result)


# -- curation ---------------------------------------------------------------------------------


@router.get("/curate")
def curate_page(request: Request):
    require_curator(request)
    store = _store(request)
    resp = render(
        request,
        "curate.html",
        {
            "featured": store.community.featured(),
            "hidden": store.community.hidden(),
            "audit": store.community.audit_log(AUDIT_SHOWN),
            "claims": store.follows.claims(status="pending"),
        },
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/papers/{paper_id:path}/curate")
async def curate(request: Request, paper_id: str):
    back = local_referer(request) or "/curate"
    _signed_in(request, back)
    actor = require_curator(request)
    form = await checked_form(request)
    try:
        changed = community.curate(_store(request), actor, paper_id, form.get("action", ""), form.get("note", ""))
    except community.CurateError as e:
        return _error(request, e.status, str(e))
    except community.UnknownPaper as e:
        return _error(request, 404, str(e))
    if wants_json(request):
        return JSONResponse({"paper_id": paper_id, "changed": changed})
    return RedirectResponse(back, status_code=303)
