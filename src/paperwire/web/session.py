"""Who is signed in, and the checks every state-changing request makes.

* The session cookie ``pw_session`` holds a random token (HttpOnly, SameSite=Lax, Secure over
  TLS); the database stores only its SHA-256 (``sessions``), so signing out deletes the row and a
  leaked database cannot be turned into cookies.
* CSRF: the signed double-submit of paperwire.security. Forms carry ``csrf`` (every page gets it
  in its template context, see render.render); scripts send the same token in the
  ``X-CSRF-Token`` header.

The web layer uses ``current_account`` / ``require_account`` / ``require_curator`` and
``checked_form``; the sign-in flow itself is paperwire.accounts + web/accounts.py.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, Request

from ..accounts.types import Account
from ..security import CSRF_COOKIE, check_csrf

SESSION_COOKIE = "pw_session"
SESSION_DAYS = 30
_UNSET = object()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_session_token(days: int = SESSION_DAYS) -> tuple[str, str, str]:
    """(cookie value, its hash to store, expiry) of a new session, for code that stores the
    session inside its own transaction (sign-in: paperwire.accounts.complete_signin)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token), _iso(datetime.now(UTC) + timedelta(days=days))


def new_session(store, account_id: int, days: int = SESSION_DAYS) -> str:
    """Create a session for the account; returns the cookie value (never stored)."""
    token, token_hash, expires_at = new_session_token(days)
    store.accounts.create_session(account_id, token_hash, expires_at)
    return token


def set_session_cookie(request: Request, response, token: str, days: int = SESSION_DAYS) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(request: Request, response) -> None:
    # the same flags as when it was set: a deletion without Secure / HttpOnly is itself a
    # cookie a page script could see, and over https browsers may ignore it
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def current_account(request: Request) -> Account | None:
    """The signed-in account, or None (looked up once per request)."""
    cached = getattr(request.state, "account", _UNSET)
    if cached is not _UNSET:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    account = None
    if token and len(token) <= 200:
        account = request.app.state.store.accounts.session_account(hash_token(token), _iso(datetime.now(UTC)))
    request.state.account = account
    return account


class SignInRequired(HTTPException):
    """Raised by require_account; the app answers pages with a redirect to /signin?next=..."""

    def __init__(self, next_url: str):
        super().__init__(401, "Sign in to do that.")
        self.next_url = next_url


def require_account(request: Request) -> Account:
    account = current_account(request)
    if account is None:
        path = request.url.path + (("?" + request.url.query) if request.url.query else "")
        if request.method != "GET":
            path = request.headers.get("referer") or "/"
        raise SignInRequired(path)
    return account


def require_curator(request: Request) -> Account:
    account = require_account(request)
    if not account.is_curator:
        raise HTTPException(403, "Only curators can do that.")
    return account


async def checked_form(request: Request) -> dict[str, str]:
    """The POSTed form (urlencoded or multipart) once it carries a valid CSRF token (field ``csrf``
    or header ``X-CSRF-Token``); HTTPException 403 otherwise. Its size was bounded before any route
    ran (web/body_limit.py: 413)."""
    ctype = request.headers.get("content-type", "")
    form: dict[str, str] = {}
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        data = await request.form()
        form = {k: v for k, v in data.items() if isinstance(v, str)}
    token = form.get("csrf") or request.headers.get("x-csrf-token")
    if not check_csrf(request.app.state.settings, request.cookies.get(CSRF_COOKIE), token):
        raise HTTPException(403, "This form has expired or cookies are blocked: reload the page and try again.")
    return form


def wants_json(request: Request) -> bool:
    """A script asking (fetch with Accept: application/json) rather than a form post."""
    return "application/json" in request.headers.get("accept", "")


__all__ = [
    "SESSION_COOKIE",
    "SignInRequired",
    "checked_form",
    "clear_session_cookie",
    "current_account",
    "hash_token",
    "new_session",
    "new_session_token",
    "require_account",
    "require_curator",
    "set_session_cookie",
    "wants_json",
]
