"""Email subscription pages and API: subscribe, confirm, preferences, saved searches, unsubscribe
(page and RFC 8058 one-click), and the HTML page of a search's Atom feed.

Every state-changing form carries a CSRF token (paperwire.security: signed double-submit with an
HttpOnly SameSite=Strict cookie). The JSON API accepts application/json only (a cross-site form
cannot send that without a CORS preflight, which this site never allows). The one-click endpoint
is protected by its signed token alone, as RFC 8058 requires.

Non-disclosure: the subscribe answer (page or JSON) is the same for every valid address whatever
its state; see paperwire.subscriptions.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from .. import subscriptions as subs
from ..digest.preview import alert_preview
from ..security import CSRF_COOKIE, check_csrf
from ..subscriptions.types import RateLimited
from ..subscriptions.validate import (
    MAX_CATEGORIES,
    MAX_EMAIL,
    MAX_QUERY,
    WEEKDAYS,
    InvalidInput,
    Preferences,
    normalise_query,
    one_line,
    parse_strictness,
)
from .errors import error_response, item, responses
from .render import render, url_with

log = logging.getLogger("paperwire.web.subscribe")

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["subscriptions"])

MANAGE_COOKIE = "pw_manage"  # the preferences token of the last preferences page opened here
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)
SENT_MESSAGE = (
    "If this address can be subscribed, we have sent a message to it. Open the link in that "
    "message to confirm; nothing is sent before you do. No message after a few minutes? Check "
    "your spam folder, or subscribe again later."
)


# -- helpers ------------------------------------------------------------------------------


def _settings(request: Request):
    return request.app.state.settings


def _store(request: Request):
    return request.app.state.store


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _page(request: Request, name: str, context: dict | None = None, status_code: int = 200):
    """Render a page whose forms carry a CSRF token (render sets the CSRF cookie when missing)."""
    ctx = {"weekdays": WEEKDAYS, "zones": COMMON_ZONES, "max_query": MAX_QUERY, **(context or {})}
    resp = render(request, name, ctx, status_code=status_code)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _notice(request: Request, title: str, message: str, status_code: int, *, link: tuple[str, str] | None = None):
    resp = render(
        request,
        "subscribe_notice.html",
        {"title": title, "message": message, "link": link or ("/subscribe", "Subscribe again")},
        status_code=status_code,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _link_error(request: Request, e: subs.LinkError, what: str = "link"):
    if e.expired:
        msg = (
            f"This {what} has expired. Subscribe again with your address to get a new link "
            "(if you are subscribed already, the message we send has a fresh link to your preferences)."
        )
    else:
        msg = (
            f"This {what} is not valid any more (perhaps you unsubscribed, or a newer message replaced it). "
            "Subscribe again with your address to get a new link."
        )
    return _notice(request, "This link does not work", msg, 400)


async def _form(request: Request) -> dict[str, str]:
    # the body is at most PAPERWIRE_MAX_BODY_BYTES here: web/body_limit.py refused a larger one (413)
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _checked_form(request: Request):
    """The POSTed form once it carries a valid CSRF token, else the page that refuses it:
    returns (form, None) or (None, response)."""
    form = await _form(request)
    if not check_csrf(_settings(request), request.cookies.get(CSRF_COOKIE), form.get("csrf")):
        return None, _csrf_failed(request)
    return form, None


def _csrf_failed(request: Request):
    return _notice(
        request,
        "This form has expired",
        "For your safety the form could not be accepted (it was open too long, or cookies are "
        "blocked). Go back, reload the page and send it again.",
        403,
        link=("/subscribe", "Back to the subscribe page"),
    )


def _rate_message(e: RateLimited) -> str:
    if e.key.startswith("subscribe-address:"):
        return (
            "Too many subscribe requests for this address today. To protect its owner from unwanted "
            "mail, no more messages are sent to it for now: try again tomorrow, or look for the message "
            "we sent already."
        )
    return "Too many subscribe requests from your network. Try again in an hour."


def _prefs_context(request: Request, sub, token: str, **extra) -> dict:
    return {
        "sub": sub,
        "token": token,
        "prefs": subs.preferences_of(sub),
        "saved": _store(request).subscribers.saved_searches(sub.id),
        "max_saved": subs.MAX_SAVED_SEARCHES,
        "errors": {},
        "unsubscribe_token": subs.make_token(_settings(request), "unsubscribe", sub),
        **extra,
    }


def _manage_sub(request: Request, token: str | None):
    return subs.subscriber_for(_store(request), _settings(request), "preferences", token, subs.PREFERENCES_MAX_AGE)


# -- subscribe ----------------------------------------------------------------------------


@router.get("/subscribe")
def subscribe_page(request: Request, query: str = "", email: str = "", strictness: str = ""):
    values: dict = {}
    errors: dict = {}
    for name, raw in (("query", query), ("email", email)):
        if raw:
            try:
                values[name] = normalise_query(raw) if name == "query" else one_line(name, raw, 254)
            except InvalidInput as e:
                errors.update(e.errors)
    try:
        values["strictness"] = parse_strictness(strictness)
    except InvalidInput as e:
        errors.update(e.errors)
    manage = None
    token = request.cookies.get(MANAGE_COOKIE)
    if values.get("query") and token:
        try:
            sub = _manage_sub(request, token)
            if sub.status == "confirmed":
                manage = {"token": token}
        except subs.LinkError:
            pass
    return _page(
        request,
        "subscribe.html",
        {"values": values, "errors": errors, "prefs": Preferences(), "manage": manage},
        status_code=400 if errors else 200,
    )


@router.post("/subscribe")
async def subscribe_submit(request: Request):
    form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    try:
        outcome = subs.subscribe(_store(request), _settings(request), form, client=_client(request), form=True)
    except InvalidInput as e:
        values = {k: form.get(k, "") for k in ("email", "query", "strictness")}
        try:
            prefs = subs.parse_preferences(form, checkbox_trending=True)
        except InvalidInput:
            prefs = Preferences()
        return _page(
            request,
            "subscribe.html",
            {"values": values, "errors": e.errors, "prefs": prefs, "manage": None},
            status_code=400,
        )
    except RateLimited as e:
        return _notice(request, "Please wait", _rate_message(e), 429, link=("/", "Back to the latest papers"))
    log.info("subscribe request: %s", outcome)
    return render(request, "subscribe_sent.html", {"message": SENT_MESSAGE})


def _json_integer(value):
    """An integer as JSON Schema means it: 7 or 7.0, not "7" nor true."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not value.is_integer())
    ):  # NaN and Infinity are not either
        raise ValueError("must be a whole number")
    return int(value)


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class SubscriptionIn(BaseModel):
    """A subscribe request. Its types and bounds are checked here (422 when they do not hold); the
    rules the subscribe form shares (an address that can be mailed, a time zone that exists, arXiv
    category names, one-line text) are paperwire.subscriptions' (400)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"email": "reader@example.org"},
                {
                    "email": "reader@example.org",
                    "frequency": "weekly",
                    "send_hour": 8,
                    "send_weekday": 0,
                    "timezone": "Europe/Berlin",
                    "trending": False,
                    "categories": ["cs.CL", "cs.LG"],
                    "query": "retrieval augmented generation",
                },
            ]
        },
    )

    email: str = Field(
        max_length=MAX_EMAIL,
        json_schema_extra={"format": "email"},
        description="the address to subscribe; a confirmation link is mailed to it",
    )
    frequency: Literal["daily", "weekly"] = "daily"
    send_hour: JsonInt = Field(7, ge=0, le=23, description="the hour of the day the digest is sent, in timezone")
    send_weekday: JsonInt = Field(0, ge=0, le=6, description="for weekly digests: 0 (Monday) to 6 (Sunday)")
    timezone: str = Field("UTC", max_length=64, description="an IANA time zone name, e.g. Europe/Berlin")
    trending: bool = Field(True, description="include trending papers")
    categories: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        [], max_length=MAX_CATEGORIES, description="arXiv categories, e.g. cs.CL or hep-th"
    )
    query: str | None = Field(None, max_length=MAX_QUERY, description="a saved search sent with every digest")
    strictness: Literal["broad", "normal", "strict"] = Field(
        "normal",
        description="how strict the saved search's relevance bar is: broad sends anything that may "
        "match, normal papers that match, strict only clear matches",
    )


class SubscriptionAcceptedOut(BaseModel):
    status: Literal["accepted"]
    message: str = Field(description="what happens next, for people")


async def _json_body(request: Request) -> None:
    """Only application/json: a cross-site form cannot send it without a CORS preflight (the size
    is web/body_limit.py's); runs before the body is validated."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPException(415, "send a JSON body (Content-Type: application/json)")


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before asking again", "schema": {"type": "integer"}}}


@api_router.post(
    "/subscriptions",
    status_code=202,
    response_model=SubscriptionAcceptedOut,
    responses={**responses(400, 413, 415, 422, 429), 429: {**responses(429)[429], "headers": _RETRY_AFTER}},
    summary="Subscribe an address to email digests (double opt-in)",
)
async def api_subscribe(request: Request, body: SubscriptionIn, _: None = Depends(_json_body)):
    """Always 202 for a valid request, whatever the address's state (nothing tells whether it
    is subscribed already); the address gets a message with a link to confirm."""
    try:
        subs.subscribe(
            _store(request), _settings(request), body.model_dump(exclude_unset=True), client=_client(request)
        )
    except InvalidInput as e:
        return error_response(400, "invalid input", [item(["body", k], v) for k, v in e.errors.items()])
    except RateLimited as e:
        return error_response(429, _rate_message(e), headers={"Retry-After": str(int(e.window))})
    return {"status": "accepted", "message": SENT_MESSAGE}


# -- confirm ------------------------------------------------------------------------------


@router.get("/subscribe/confirm")
def confirm_page(request: Request, token: str = ""):
    try:
        subs.read_token(_settings(request), "confirm", token, subs.CONFIRM_MAX_AGE)
    except subs.LinkError as e:
        return _link_error(request, e, "confirmation link")
    # a button, not an automatic confirmation: mail scanners open links but do not press buttons
    return _page(request, "subscribe_confirm.html", {"token": token, "done": False})


@router.post("/subscribe/confirm")
async def confirm_submit(request: Request):
    form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    try:
        sub = subs.confirm(_store(request), _settings(request), form.get("token"))
    except subs.LinkError as e:
        return _link_error(request, e, "confirmation link")
    token = subs.make_token(_settings(request), "preferences", sub)
    return _page(request, "subscribe_confirm.html", {"done": True, "prefs_url": url_with("/preferences", token=token)})


# -- preferences --------------------------------------------------------------------------


def _remember(resp, request: Request, token: str):
    resp.set_cookie(
        MANAGE_COOKIE,
        token,
        max_age=subs.PREFERENCES_MAX_AGE,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https",
    )
    return resp


@router.get("/preferences")
def preferences_page(request: Request, token: str = ""):
    try:
        sub = _manage_sub(request, token)
    except subs.LinkError as e:
        return _link_error(request, e, "preferences link")
    return _remember(_page(request, "preferences.html", _prefs_context(request, sub, token)), request, token)


async def _prefs_post(request: Request, action):
    """A preferences form: ``action(store, sub, form)`` makes the change and says what it did."""
    form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    token = form.get("token")
    try:
        sub = _manage_sub(request, token)
    except subs.LinkError as e:
        return _link_error(request, e, "preferences link")
    try:
        notice = action(_store(request), sub, form)
    except InvalidInput as e:
        return _page(
            request,
            "preferences.html",
            _prefs_context(request, sub, token, errors=e.errors, bad_query=form.get("query", "")[:MAX_QUERY]),
            status_code=400,
        )
    except subs.LinkError as e:
        return _link_error(request, e, "preferences link")
    sub = _store(request).subscribers.get(sub.id)
    return _page(request, "preferences.html", _prefs_context(request, sub, token, notice=notice))


def _save_preferences(store, sub, form) -> str:
    subs.update_preferences(store, sub, form, form=True)
    return "Your preferences are saved."


def _add_search(store, sub, form) -> str:
    saved = subs.add_saved_search(store, sub, form.get("query"), form.get("strictness"))
    return f"Saved search added: “{saved.query}” ({saved.strictness})."


def _remove_search(store, sub, form) -> str:
    removed = subs.remove_saved_search(store, sub, form.get("search"))
    return "Saved search removed." if removed else "That saved search was removed already."


def _set_strictness(store, sub, form) -> str:
    saved = subs.set_saved_search_strictness(store, sub, form.get("search"), form.get("strictness"))
    return f"“{saved.query}” is now {saved.strictness}."


def _prefs_form(action):
    async def endpoint(request: Request):
        return await _prefs_post(request, action)

    return endpoint


# the preferences page's forms: one core call each, answered with the page and the call's notice
for _path, _action in (
    ("/preferences", _save_preferences),
    ("/preferences/searches/add", _add_search),
    ("/preferences/searches/remove", _remove_search),
    ("/preferences/searches/strictness", _set_strictness),
):
    router.add_api_route(_path, _prefs_form(_action), methods=["POST"], name=_action.__name__.lstrip("_"))


# -- unsubscribe --------------------------------------------------------------------------


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, token: str = ""):
    try:
        sub = subs.subscriber_for(
            _store(request),
            _settings(request),
            "unsubscribe",
            token,
            subs.UNSUBSCRIBE_MAX_AGE,
            statuses=("pending", "confirmed", "bounced"),
        )
    except subs.LinkError as e:
        if e.expired:
            return _link_error(request, e, "unsubscribe link")
        return _notice(
            request,
            "Nothing to do",
            "This unsubscribe link has been used already, or replaced by a newer one: "
            "if you unsubscribed, no more digests are sent to you.",
            200,
            link=("/subscribe", "Subscribe again"),
        )
    return _page(request, "subscribe_unsubscribe.html", {"token": token, "done": False, "sub": sub})


@router.post("/unsubscribe")
async def unsubscribe_submit(request: Request):
    form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    token = form.get("token")
    try:
        subs.read_token(_settings(request), "unsubscribe", token, subs.UNSUBSCRIBE_MAX_AGE)
    except subs.LinkError as e:
        return _link_error(request, e, "unsubscribe link")
    subs.unsubscribe_token(_store(request), _settings(request), token)  # idempotent
    resp = _page(request, "subscribe_unsubscribe.html", {"done": True})
    resp.delete_cookie(
        MANAGE_COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )  # as _remember set it
    return resp


@router.post("/unsubscribe/one-click")
async def unsubscribe_one_click(request: Request, token: str = ""):
    """RFC 8058: the mail client POSTs ``List-Unsubscribe=One-Click``; the signed token in the URL
    is the only protection possible. Always the same 200 answer (idempotent, reveals nothing)."""
    body = await request.body()  # bounded by web/body_limit.py
    one_click = b"List-Unsubscribe=One-Click" in body
    if not one_click and request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        try:  # RFC 8058 3.1: the POST content SHOULD be multipart/form-data (urlencoded MAY be used)
            one_click = (await request.form()).get("List-Unsubscribe") == "One-Click"
        except Exception:
            one_click = False
    if not one_click:
        return PlainTextResponse("Expected the body List-Unsubscribe=One-Click (RFC 8058).\n", status_code=400)
    try:
        subs.unsubscribe_token(_store(request), _settings(request), token)
    except Exception:  # never tell the client anything about the address
        log.exception("one-click unsubscribe")
    return PlainTextResponse("You are unsubscribed.\n", status_code=200, headers={"Cache-Control": "no-store"})


# -- the page of a search's Atom feed ------------------------------------------------------


@router.get("/feeds/search")
def search_feed_page(request: Request, q: str = ""):
    q = " ".join(q.split())
    if not q:
        return RedirectResponse("/search", status_code=303)
    if len(q) > MAX_QUERY:
        return _notice(
            request,
            "That did not work",
            f"The query is too long ({len(q)} characters; at most {MAX_QUERY}).",
            400,
            link=("/search", "Search again"),
        )
    engine = request.app.state.engine
    preview = alert_preview(engine, _store(request), q) if engine is not None else None
    return render(
        request, "subscribe_feed.html", {"q": q, "feed_url": url_with("/feeds/search.atom", q=q), "preview": preview}
    )
