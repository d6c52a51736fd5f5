"""Email subscriptions: subscribe (double opt-in), confirm, preferences, saved searches,
unsubscribe (page and RFC 8058 one-click), and the signed links every email carries.

Links. Every link holds a token signed with the site's secret (paperwire.security) for one
purpose, with the subscriber's id and ``token_version``:

* confirm      ``/subscribe/confirm?token=``       valid CONFIRM_MAX_AGE (48 h)
* preferences  ``/preferences?token=``             valid PREFERENCES_MAX_AGE (90 days)
* unsubscribe  ``/unsubscribe?token=`` and ``/unsubscribe/one-click?token=``  UNSUBSCRIBE_MAX_AGE (1 year)

Unsubscribing bumps ``token_version``: every link sent before stops working (a later subscribe
request sends a fresh confirmation). Changing the address is not offered: subscribe the new
address and unsubscribe the old one (an address change would bump ``token_version`` too).

The digest composer calls ``preferences_url``, ``unsubscribe_url`` and
``list_unsubscribe_headers`` for every message it builds.

Non-disclosure: ``subscribe`` returns nothing that depends on the address's state; a confirmed
address gets an "already subscribed" mail (with a preferences link) instead of a confirmation,
a bounced or suppressed one gets nothing. Rate limits count every accepted request the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..mail.message import build_message, make_message_id
from ..security import BadToken, sign, unsign
from . import lifecycle
from .types import RateLimited, SavedSearch, Subscriber, TooManySavedSearches
from .validate import (
    FREQUENCIES,
    MAX_QUERY,
    MAX_SAVED_SEARCHES,
    WEEKDAYS,
    InvalidInput,
    Preferences,
    normalise_email,
    normalise_query,
    one_line,
    parse_categories,
    parse_preferences,
    parse_strictness,
    rate_key,
)

CONFIRM_MAX_AGE = 48 * 3600
PREFERENCES_MAX_AGE = 90 * 86400
UNSUBSCRIBE_MAX_AGE = 365 * 86400

# (what, max events, window seconds)
MAILS_PER_ADDRESS_PER_DAY = 3  # confirmation / "already subscribed" mails to one address
REQUESTS_PER_CLIENT_PER_HOUR = 20  # subscribe requests from one client IP
DAY, HOUR = 86400.0, 3600.0

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"

_mail_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass
class LinkError(Exception):
    """A link that cannot be used: ``expired`` (too old) or not valid (forged, revoked, ...)."""

    expired: bool = False

    def __str__(self) -> str:
        return "the link has expired" if self.expired else "the link is not valid (any more)"


# -- links --------------------------------------------------------------------------------


def site_url(settings) -> str:
    return (settings.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def make_token(settings, purpose: str, subscriber: Subscriber) -> str:
    return sign(settings, purpose, [subscriber.id, subscriber.token_version])


def confirm_url(settings, subscriber: Subscriber) -> str:
    return f"{site_url(settings)}/subscribe/confirm?{urlencode({'token': make_token(settings, 'confirm', subscriber)})}"


def preferences_url(settings, subscriber: Subscriber) -> str:
    """The signed link to the subscriber's preferences page (put it in every email)."""
    return f"{site_url(settings)}/preferences?{urlencode({'token': make_token(settings, 'preferences', subscriber)})}"


def unsubscribe_url(settings, subscriber: Subscriber) -> str:
    """The signed link to the unsubscribe page (a button there; put it in every email)."""
    return f"{site_url(settings)}/unsubscribe?{urlencode({'token': make_token(settings, 'unsubscribe', subscriber)})}"


def one_click_url(settings, subscriber: Subscriber) -> str:
    """The RFC 8058 one-click endpoint (POST, body List-Unsubscribe=One-Click)."""
    return (
        f"{site_url(settings)}/unsubscribe/one-click?"
        f"{urlencode({'token': make_token(settings, 'unsubscribe', subscriber)})}"
    )


def list_unsubscribe_headers(settings, subscriber: Subscriber) -> dict[str, str]:
    """The List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058) headers for a message
    to ``subscriber``: pass them to build_message(headers=...).

    Only the one-click URL: Paperwire reads no incoming mail, so a mailto: address here would
    promise an unsubscribe that nobody carries out."""
    return {
        "List-Unsubscribe": f"<{one_click_url(settings, subscriber)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def read_token(settings, purpose: str, token: str | None, max_age: float) -> tuple[int, int]:
    """(subscriber id, token_version) from a link's token, else LinkError."""
    try:
        payload = unsign(settings, purpose, token, max_age)
    except BadToken as e:
        raise LinkError(expired=e.expired) from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in payload)
    ):
        raise LinkError()
    return payload[0], payload[1]


def subscriber_for(
    store,
    settings,
    purpose: str,
    token: str | None,
    max_age: float,
    statuses: tuple[str, ...] = ("pending", "confirmed"),
) -> Subscriber:
    """The subscriber a link is for, if the link is current (its token_version) and the
    subscriber in one of ``statuses``; else LinkError."""
    sid, version = read_token(settings, purpose, token, max_age)
    sub = store.subscribers.get(sid)
    if sub is None or sub.token_version != version or sub.status not in statuses:
        raise LinkError()
    return sub


# -- mails --------------------------------------------------------------------------------


def _render_mail(name: str, **context) -> tuple[str, str]:
    return (
        _mail_env.get_template(f"{name}.txt").render(**context),
        _mail_env.get_template(f"{name}.html").render(**context),
    )


def compose_confirmation(
    settings, subscriber: Subscriber, n: int, saved: list[str] | None = None
) -> tuple[str, str, bytes]:
    """The double opt-in mail: (kind, Message-ID, message bytes)."""
    message_id = make_message_id(settings, "confirm", f"{subscriber.id}:{subscriber.token_version}:{n}")
    text, html = _render_mail(
        "email_confirm",
        url=confirm_url(settings, subscriber),
        hours=CONFIRM_MAX_AGE // 3600,
        subscriber=subscriber,
        weekdays=WEEKDAYS,
        saved=saved or [],
        site=site_url(settings),
    )
    return (
        "confirm",
        message_id,
        build_message(
            settings,
            to=subscriber.email,
            subject="Confirm your Paperwire subscription",
            text=text,
            html=html,
            message_id=message_id,
            headers={"Auto-Submitted": "auto-generated"},
        ),
    )


def compose_already_subscribed(settings, subscriber: Subscriber, n: int) -> tuple[str, str, bytes]:
    """For a subscribe request for an address that is confirmed already: a link to manage it."""
    message_id = make_message_id(settings, "manage", f"{subscriber.id}:{subscriber.token_version}:{n}")
    text, html = _render_mail(
        "email_confirm_already",
        preferences=preferences_url(settings, subscriber),
        unsubscribe=unsubscribe_url(settings, subscriber),
        site=site_url(settings),
    )
    headers = {"Auto-Submitted": "auto-generated", **list_unsubscribe_headers(settings, subscriber)}
    return (
        "manage",
        message_id,
        build_message(
            settings,
            to=subscriber.email,
            subject="You are already subscribed to Paperwire",
            text=text,
            html=html,
            message_id=message_id,
            headers=headers,
        ),
    )


# -- requests -----------------------------------------------------------------------------


@dataclass
class SubscribeRequest:
    email: str
    prefs: Preferences
    query: str | None
    strictness: str = "normal"  # of the saved search ``query``


def parse_subscribe(data: Mapping[str, Any], *, form: bool = False) -> SubscribeRequest:
    """Validate a whole subscribe request (all fields; errors for every bad field at once)."""
    errors: dict[str, str] = {}
    email = query = None
    prefs = Preferences()
    for name, value in data.items():  # header injection in any field, even ones we ignore
        if isinstance(value, str) and ("\r" in value or "\n" in value):
            errors[str(name)[:40]] = "must be one line (line breaks are not allowed)"
    try:
        email = normalise_email(data.get("email"))
    except InvalidInput as e:
        errors.update(e.errors)
    try:
        prefs = parse_preferences(data, checkbox_trending=form)
    except InvalidInput as e:
        errors.update(e.errors)
    raw_query = data.get("query")
    if raw_query not in (None, ""):
        try:
            query = normalise_query(raw_query)
        except InvalidInput as e:
            errors.update(e.errors)
    strictness = "normal"
    try:
        strictness = parse_strictness(data.get("strictness"))
    except InvalidInput as e:
        errors.update(e.errors)
    if errors:
        raise InvalidInput(errors)
    return SubscribeRequest(email, prefs, query, strictness)


def subscribe(
    store,
    settings,
    data: Mapping[str, Any] | SubscribeRequest,
    *,
    client: str | None,
    now: float | None = None,
    form: bool = False,
) -> str:
    """Handle one subscribe request. Raises InvalidInput (nothing changed) or RateLimited
    (nothing changed). Returns the outcome for logs and tests only: never show it to the client."""
    req = data if isinstance(data, SubscribeRequest) else parse_subscribe(data, form=form)
    now = time.time() if now is None else now
    limits = [(f"subscribe-address:{rate_key(req.email)}", MAILS_PER_ADDRESS_PER_DAY, DAY)]
    if client:
        limits.append((f"subscribe-client:{client[:100]}", REQUESTS_PER_CLIENT_PER_HOUR, HOUR))

    def compose(sub: Subscriber, n: int):
        if sub.status == "confirmed":
            return compose_already_subscribed(settings, sub, n)
        if sub.status == "pending":
            saved = [req.query] if req.query else []
            return compose_confirmation(settings, sub, n, saved)
        return None

    outcome, _ = lifecycle.request(
        store,
        email=req.email,
        prefs=req.prefs.as_dict(),
        query=req.query,
        limits=limits,
        now=now,
        compose=compose,
        max_saved=MAX_SAVED_SEARCHES,
        strictness=req.strictness,
    )
    return outcome


def confirm(store, settings, token: str | None) -> Subscriber:
    sid, version = read_token(settings, "confirm", token, CONFIRM_MAX_AGE)
    sub = lifecycle.confirm(store, sid, version)
    if sub is None:
        raise LinkError()
    return sub


def preferences_of(sub: Subscriber) -> Preferences:
    return Preferences(
        frequency=sub.frequency,
        send_hour=sub.send_hour,
        send_weekday=sub.send_weekday,
        timezone=sub.timezone,
        trending=sub.trending,
        categories=list(sub.categories),
    )


def update_preferences(store, sub: Subscriber, data: Mapping[str, Any], *, form: bool = False) -> Subscriber:
    prefs = parse_preferences(data, base=preferences_of(sub), checkbox_trending=form)
    updated = lifecycle.update_preferences(store, sub.id, sub.token_version, prefs.as_dict())
    if updated is None:
        raise LinkError()
    return updated


def add_saved_search(store, sub: Subscriber, query: Any, strictness: Any = None) -> SavedSearch:
    errors: dict[str, str] = {}
    q = level = None
    try:
        q = normalise_query(query)
    except InvalidInput as e:
        errors.update(e.errors)
    try:
        level = parse_strictness(strictness)
    except InvalidInput as e:
        errors.update(e.errors)
    if errors:
        raise InvalidInput(errors)
    try:
        saved = lifecycle.add_saved_search(
            store, sub.id, sub.token_version, q, max_saved=MAX_SAVED_SEARCHES, strictness=level
        )
    except TooManySavedSearches:
        raise InvalidInput(
            {"query": f"you have {MAX_SAVED_SEARCHES} saved searches already, the most allowed; remove one first"}
        ) from None
    if saved is None:
        raise LinkError()
    return saved


def _search_id(search_id: Any) -> int:
    try:
        return int(one_line("search", str(search_id), limit=20))
    except ValueError:
        raise InvalidInput({"search": "is not a saved search"}) from None


def set_saved_search_strictness(store, sub: Subscriber, search_id: Any, strictness: Any) -> SavedSearch:
    """Change one saved search's strictness; InvalidInput when it is not theirs."""
    sid = _search_id(search_id)
    level = parse_strictness(strictness)
    saved = lifecycle.set_saved_search_strictness(store, sub.id, sub.token_version, sid, level)
    if saved is None:
        current = store.subscribers.get(sub.id)
        if current is None or current.token_version != sub.token_version:
            raise LinkError()
        raise InvalidInput({"search": "is not a saved search"})
    return saved


def remove_saved_search(store, sub: Subscriber, search_id: Any) -> bool:
    return lifecycle.remove_saved_search(store, sub.id, sub.token_version, _search_id(search_id))


def unsubscribe_token(store, settings, token: str | None) -> bool:
    """Unsubscribe the subscriber a current unsubscribe (or preferences) link is for. Idempotent:
    a used link (its version bumped) returns False and changes nothing."""
    for purpose, age in (("unsubscribe", UNSUBSCRIBE_MAX_AGE), ("preferences", PREFERENCES_MAX_AGE)):
        try:
            sid, version = read_token(settings, purpose, token, age)
        except LinkError:
            continue
        return lifecycle.unsubscribe(store, sid, version)
    return False


__all__ = [
    "CONFIRM_MAX_AGE",
    "FREQUENCIES",
    "InvalidInput",
    "LinkError",
    "MAX_QUERY",
    "MAX_SAVED_SEARCHES",
    "PREFERENCES_MAX_AGE",
    "Preferences",
    "RateLimited",
    "SavedSearch",
    "Subscriber",
    "UNSUBSCRIBE_MAX_AGE",
    "WEEKDAYS",
    "add_saved_search",
    "confirm",
    "confirm_url",
    "list_unsubscribe_headers",
    "normalise_email",
    "normalise_query",
    "one_click_url",
    "parse_categories",
    "parse_preferences",
    "parse_subscribe",
    "preferences_of",
    "preferences_url",
    "read_token",
    "remove_saved_search",
    "set_saved_search_strictness",
    "site_url",
    "subscribe",
    "subscriber_for",
    "unsubscribe_token",
    "unsubscribe_url",
    "update_preferences",
]
