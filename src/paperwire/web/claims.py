"""Authorship claims over HTTP: the "I wrote this paper" form on a paper's page and the curator's
approve / reject buttons on /curate. The routes only call paperwire.follows.claims."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse

from ..follows import claims
from ..follows.types import FollowError, FollowTargetNotFound
from .library import _back
from .render import paper_path
from .session import checked_form, require_account, require_curator

router = APIRouter(include_in_schema=False)
api_router = APIRouter()


@router.post("/papers/{paper_id:path}/claim")
async def claim(request: Request, paper_id: str):
    account = require_account(request)
    await checked_form(request)
    try:
        claims.claim(request.app.state.store, account, paper_id)
    except FollowTargetNotFound as e:
        raise HTTPException(404, str(e)) from None
    return RedirectResponse(_back(request, paper_path(paper_id)), status_code=303)


@router.post("/curate/claims/{claim_id}")
async def decide(request: Request, claim_id: int = Path(ge=1, le=2**62)):
    curator = require_curator(request)
    form = await checked_form(request)
    try:
        claims.decide(request.app.state.store, curator, claim_id, form.get("action", ""))
    except FollowError as e:
        raise HTTPException(400, str(e)) from None
    return RedirectResponse("/curate#claims", status_code=303)
