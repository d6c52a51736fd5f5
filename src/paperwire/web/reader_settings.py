"""A signed-in reader's own settings: the handle others see (chosen once) and which kinds of
notification are mailed (/settings/notifications). The routes only call accounts.handles and
the notify store; every POST goes through checked_form (size + CSRF)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ..accounts.handles import HANDLE_MAX, HANDLE_MIN, HandleError, choose
from ..accounts.types import Account
from ..notify.kinds import KINDS
from .render import render
from .session import checked_form, require_account

router = APIRouter(include_in_schema=False)
api_router = APIRouter()


def _page(request: Request, account: Account, *, notice=None, problem=None, status_code=200):
    muted = request.app.state.store.notify.muted(account.id)
    kinds = [(k, k.name not in muted) for k in KINDS.values()]
    resp = render(
        request,
        "reader_settings.html",
        {
            "kinds": kinds,
            "notice": notice,
            "problem": problem,
            "handle_min": HANDLE_MIN,
            "handle_max": HANDLE_MAX,
            "me": request.app.state.store.accounts.get(account.id),
        },
        status_code=status_code,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/settings/notifications")
def settings_page(request: Request):
    account = require_account(request)
    notice = {"handle": "Your handle is set.", "saved": "Saved."}.get(request.query_params.get("done", ""))
    return _page(request, account, notice=notice)


@router.post("/settings/handle")
async def settings_handle(request: Request):
    account = require_account(request)
    form = await checked_form(request)
    try:
        choose(request.app.state.store, account.id, form.get("handle"))
    except HandleError as e:
        return _page(request, account, problem=str(e), status_code=400)
    return RedirectResponse("/settings/notifications?done=handle", status_code=303)


@router.post("/settings/notifications")
async def settings_notifications(request: Request):
    account = require_account(request)
    form = await checked_form(request)
    muted = {name for name in KINDS if form.get(f"kind-{name}") != "on"}
    request.app.state.store.notify.set_muted(account.id, muted, tuple(KINDS))
    return RedirectResponse("/settings/notifications?done=saved", status_code=303)
