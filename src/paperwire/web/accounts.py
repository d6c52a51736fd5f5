"""Sign-in pages: /signin, /signin/confirm, /signout. They translate HTTP into calls on
paperwire.accounts; sessions and CSRF are web/session.py's.

* POST /signin answers the same "check your inbox" page for every valid address (account or
  not, disabled, suppressed): nothing here reveals whether an address has an account.
* GET /signin/confirm only shows a button (mail scanners that fetch links must not use them up);
  POST /signin/confirm uses the link, creates the session and redirects to the link's ``next``,
  which is always a path on this site (accounts.safe_next).
* Every POST goes through checked_form (CSRF token + size); every answer is Cache-Control: no-store.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from .. import accounts
from ..accounts import InvalidInput, RateLimited, SigninError
from .render import render
from .session import (
    SESSION_COOKIE,
    checked_form,
    clear_session_cookie,
    hash_token,
    new_session_token,
    set_session_cookie,
)

log = logging.getLogger("paperwire.web.accounts")

router = APIRouter(include_in_schema=False)
api_router = APIRouter()


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _page(request: Request, name: str, context: dict, status_code: int = 200):
    lifetime = accounts.lifetime(accounts.max_age(request.app.state.settings))
    return _no_store(render(request, name, {"lifetime": lifetime, **context}, status_code=status_code))


def _problem(request: Request, error: SigninError):
    return _page(request, "signin_confirm.html", {"problem": str(error), "next": "/"}, status_code=400)


def _next(request: Request, value) -> str:
    """``next`` as a local path: a full URL of this very site (require_account passes the Referer
    for a POST) becomes its path; everything else goes through accounts.safe_next."""
    if isinstance(value, str) and "://" in value[:12]:
        own = {str(request.base_url).rstrip("/"), (request.app.state.settings.base_url or "").rstrip("/")} - {""}
        for origin in own:
            if value.startswith(origin + "/"):
                value = value[len(origin) :]
                break
    return accounts.safe_next(value)


def _rate_message(e: RateLimited) -> str:
    if e.key.startswith("signin-address:"):
        return (
            "Too many sign-in links were asked for this address in the last hour. Use the newest message "
            "we sent, or try again in an hour."
        )
    return "Too many sign-in requests from your network. Try again in an hour."


@router.get("/signin")
def signin_page(request: Request, next: str = "/"):
    return _page(request, "signin.html", {"next": _next(request, next), "email": "", "errors": {}})


@router.post("/signin")
async def signin_submit(request: Request):
    form = await checked_form(request)
    next_url = _next(request, form.get("next"))
    try:
        outcome = accounts.request_signin(
            request.app.state.store,
            request.app.state.settings,
            form.get("email"),
            client=_client(request),
            next_url=next_url,
        )
    except InvalidInput as e:
        return _page(
            request,
            "signin.html",
            {"next": next_url, "email": (form.get("email") or "")[:254], "errors": e.errors},
            status_code=400,
        )
    except RateLimited as e:
        resp = _no_store(
            render(
                request,
                "subscribe_notice.html",
                {
                    "title": "Please wait",
                    "message": _rate_message(e),
                    "link": ("/", "Back to the latest papers"),
                },
                status_code=429,
            )
        )
        resp.headers["Retry-After"] = str(int(e.window))
        return resp
    log.info("sign-in request: %s", outcome)
    return _page(request, "signin_sent.html", {})


@router.get("/signin/confirm")
def signin_confirm_page(request: Request, token: str = ""):
    try:
        link = accounts.peek_signin(request.app.state.store, request.app.state.settings, token)
    except SigninError as e:
        return _problem(request, e)
    resp = _page(request, "signin_confirm.html", {"problem": None, "token": token, "email": link.email})
    resp.headers["Referrer-Policy"] = "no-referrer"  # the URL holds the token
    return resp


@router.post("/signin/confirm")
async def signin_confirm(request: Request):
    form = await checked_form(request)
    cookie, token_hash, expires_at = new_session_token()
    try:
        _, next_url = accounts.complete_signin(
            request.app.state.store,
            request.app.state.settings,
            form.get("token"),
            session_hash=token_hash,
            session_expires=expires_at,
        )
    except SigninError as e:
        return _problem(request, e)
    old = request.cookies.get(SESSION_COOKIE)
    if old and len(old) <= 200:  # signing in again replaces the session this browser had
        request.app.state.store.accounts.delete_session(hash_token(old))
    resp = RedirectResponse(next_url, status_code=303)
    set_session_cookie(request, resp, cookie)
    return _no_store(resp)


@router.post("/signout")
async def signout(request: Request):
    await checked_form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) <= 200:
        request.app.state.store.accounts.delete_session(hash_token(token))
    resp = RedirectResponse("/", status_code=303)
    clear_session_cookie(request, resp)
    return _no_store(resp)
