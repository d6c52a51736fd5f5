"""Author pages, follows and the reader's "Following" page; the /api/follows operations.

The routes only translate HTTP into calls to paperwire.authors and paperwire.follows. Every POST
carries the CSRF token (a form field, or X-CSRF-Token from scripts and API clients).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.feed_tokens import feed_token
from ..authors.names import MAX_NAME_CHARS
from ..authors.page import author_page
from ..follows import core as follows
from ..follows.types import FollowError, FollowTargetNotFound
from . import feed_links
from .cards import card_states
from .errors import error_response, item, responses
from .library import _back
from .render import paper_path, render, url_with
from .session import checked_form, current_account, require_account, wants_json

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["follows"])


def target(request: Request, kind: str, value: str) -> dict:
    """What a Follow button needs: the thing and the signed-in reader's follow of it."""
    account = current_account(request)
    follow = follows.following(request.app.state.store, account.id, kind, value) if account else None
    return {"kind": kind, "value": value, "follow": follow}


@router.get("/authors/{name:path}")
def author(request: Request, name: str):
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise HTTPException(404, f"An author's name has 1 to {MAX_NAME_CHARS} characters.")
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, "Search is not set up on this server yet.")
    page = author_page(engine, name)
    feed = feed_links.author(page.name)
    return render(
        request,
        "author.html",
        {
            "page": page,
            "feed": feed,
            "alt_feeds": [feed],
            "cards": card_states(request, page.papers),
            "target": target(request, "author", page.name),
        },
    )


@router.post("/follows")
async def follow_form(request: Request):
    """The Follow / Unfollow buttons: ``kind``, ``value``, ``action`` (follow | unfollow)."""
    account = require_account(request)
    form = await checked_form(request)
    store = request.app.state.store
    kind, value = form.get("kind", ""), form.get("value", "")
    try:
        if form.get("action", "follow") == "unfollow":
            found = follows.following(store, account.id, kind, value)
            if found is not None:
                follows.unfollow(store, account.id, found.id)
            data = {"following": False, "kind": kind, "value": value}
        else:
            f, _ = follows.follow(store, account, kind, value)
            data = {"following": True, "id": f.id, "kind": f.kind, "value": f.value}
    except (FollowError, FollowTargetNotFound) as e:
        status = 404 if isinstance(e, FollowTargetNotFound) else 400
        if wants_json(request):
            return error_response(status, str(e))
        raise HTTPException(status, str(e)) from None
    if wants_json(request):
        return JSONResponse(data)
    return RedirectResponse(_back(request, "/following"), status_code=303)


@router.get("/following")
def following_page(request: Request):
    account = require_account(request)
    store = request.app.state.store
    rows = store.follows.list(account.id)
    papers = {f.paper_pk: f.value for f in rows if f.kind == "paper" and f.paper_pk}
    titles = {p.id: p.title for p in store.papers.get_many(list(papers)).values()}
    feed = feed_links.following(feed_token(store, request.app.state.settings, account.id))
    return render(request, "follows.html", {"follows": rows, "titles": titles, "feed": feed, "alt_feeds": [feed]})


# -- JSON -----------------------------------------------------------------------------------
class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["author", "category", "paper"]
    value: str = Field(
        min_length=1,
        max_length=MAX_NAME_CHARS,
        description="an author's name, an arXiv category (cs.CL) or a paper id",
        examples=["Yann LeCun"],
    )


class FollowOut(BaseModel):
    id: int
    kind: Literal["author", "category", "paper"]
    value: str = Field(description="as followed: the name TeX-decoded, the category, the paper's id")
    created: str = Field(description="when, ISO 8601 UTC")
    url: str = Field(description="the page of what is followed, on this site")


class FollowsOut(BaseModel):
    results: list[FollowOut]


def _url(f) -> str:
    if f.kind == "author":
        return "/authors/" + quote(f.value, safe="")
    if f.kind == "category":
        return url_with("/search", q=f"cat:{f.value}")
    return paper_path(f.value)


def _out(f) -> dict:
    return {"id": f.id, "kind": f.kind, "value": f.value, "created": f.created_at, "url": _url(f)}


async def _json_body(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPException(415, "send a JSON body (Content-Type: application/json)")


@api_router.get(
    "/follows", response_model=FollowsOut, responses=responses(401), summary="What the signed-in reader follows"
)
def api_follows(request: Request):
    account = require_account(request)
    return {"results": [_out(f) for f in request.app.state.store.follows.list(account.id)]}


@api_router.post(
    "/follows",
    status_code=201,
    response_model=FollowOut,
    responses={
        **responses(400, 401, 403, 404, 413, 415, 422),
        200: {"model": FollowOut, "description": "Already followed"},
    },
    summary="Follow an author, a category or a paper (session + X-CSRF-Token)",
)
async def api_follow(request: Request, body: FollowIn, _: None = Depends(_json_body)):
    account = require_account(request)
    await checked_form(request)
    try:
        f, new = follows.follow(request.app.state.store, account, body.kind, body.value)
    except FollowError as e:
        return error_response(400, str(e), [item(["body", "value"], str(e))])
    except FollowTargetNotFound as e:
        return error_response(404, str(e), [item(["body", "value"], str(e))])
    return JSONResponse(_out(f), status_code=201 if new else 200)


@api_router.delete(
    "/follows/{follow_id}",
    status_code=204,
    responses=responses(401, 403, 404, 422),
    summary="Stop following (session + X-CSRF-Token)",
)
async def api_unfollow(request: Request, follow_id: int = Path(ge=1, le=2**62)):
    account = require_account(request)
    await checked_form(request)
    try:
        follows.unfollow(request.app.state.store, account.id, follow_id)
    except FollowTargetNotFound as e:
        return error_response(404, str(e))
    return JSONResponse(None, status_code=204)
