"""Subscribe requests: validation, rate limits, the non-disclosing subscribe, confirm,
preferences, saved searches and unsubscribing, over the store and the lifecycle rules."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import lifecycle
from .links import CONFIRM_MAX_AGE, PREFERENCES_MAX_AGE, UNSUBSCRIBE_MAX_AGE, LinkError, read_token
from .mails import compose_already_subscribed, compose_confirmation
from .types import SavedSearch, Subscriber, TooManySavedSearches
from .validate import (
    MAX_SAVED_SEARCHES,
    InvalidInput,
    Preferences,
    normalise_email,
    normalise_query,
    one_line,
    parse_preferences,
    parse_strictness,
    rate_key,
)

# (what, max events, window seconds)
MAILS_PER_ADDRESS_PER_DAY = 3  # confirmation / "already subscribed" mails to one address
REQUESTS_PER_CLIENT_PER_HOUR = 20  # subscribe requests from one client IP
DAY, HOUR = 86400.0, 3600.0

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
