"""The subscriber state machine, written once over a transaction the store hands it:

    (none) --request--> pending --confirm--> confirmed
    pending / unsubscribed --request--> pending (new preferences; a confirmation mail)
    confirmed --request--> confirmed (unchanged: a third party must not change anything)
    bounced, or a suppressed address --request--> unchanged, no mail ("blocked")
    any --unsubscribe--> unsubscribed (bounced stays bounced), every link sent so far revoked

Changes through a link (confirm, preferences, saved searches) need the link's token_version to
be the subscriber's current one and the subscriber pending or confirmed. Each function is one
transaction: the subscriber's row is locked first, and a subscribe request is serialised with
every other by the rate-limit check it starts with (its counts and "is this address known?"
are read before they are written).
"""

from __future__ import annotations

from .types import Composer, SavedSearch, Subscriber, TooManySavedSearches

ACTIVE = ("pending", "confirmed")


def request(
    store,
    *,
    email: str,
    prefs: dict,
    query: str | None,
    limits: list[tuple[str, int, float]],
    now: float,
    compose: Composer,
    max_saved: int,
    strictness: str = "normal",
) -> tuple[str, int | None]:
    """One subscribe request: check and record the rate ``limits`` ((key, max events, window
    seconds); RateLimited and no change when one is reached), then move the address's state (see
    above), ``query`` becoming a saved search, and queue ``compose``'s mail in the outbox. Returns
    (outcome, outbox id): outcome is 'created' | 'pending' | 'resubscribed' | 'confirmed' | 'blocked'."""
    with store.transaction():
        store.rate_limits.check(limits, now)
        sub = store.subscribers.by_email(email, lock=True)
        if store.outbox.is_suppressed(email) or (sub is not None and sub.status == "bounced"):
            return "blocked", None
        if sub is None:
            sub, outcome = store.subscribers.create(email, prefs), "created"
        elif sub.status == "confirmed":
            outcome = "confirmed"
        else:
            outcome = "pending" if sub.status == "pending" else "resubscribed"
            sub = store.subscribers.update(sub.id, prefs, status="pending")
        if query and outcome != "confirmed":
            try:
                store.subscribers.save_search(sub.id, query, max_saved=max_saved, strictness=strictness)
            except TooManySavedSearches:
                pass  # the answer must not depend on the address's state: skip the query silently
        composed = compose(sub, store.outbox.count_for(sub.id) + 1)
        if composed is None:
            return outcome, None
        kind, message_id, message = composed
        return outcome, store.outbox.insert(
            kind=kind, recipient=sub.email, message_id=message_id, message=message, subscriber_id=sub.id
        )


def confirm(store, subscriber_id: int, token_version: int) -> Subscriber | None:
    """pending -> confirmed (idempotent for confirmed); None when the version is stale or the
    subscriber is unsubscribed/bounced/gone."""
    with store.transaction():
        sub = store.subscribers.current(subscriber_id, token_version)
        if sub is None or sub.status not in ACTIVE:
            return None
        return store.subscribers.update(sub.id, {}, status="confirmed") if sub.status == "pending" else sub


def update_preferences(store, subscriber_id: int, token_version: int, prefs: dict) -> Subscriber | None:
    with store.transaction():
        sub = store.subscribers.current(subscriber_id, token_version)
        if sub is None or sub.status not in ACTIVE:
            return None
        return store.subscribers.update(sub.id, prefs) if prefs else sub


def add_saved_search(
    store, subscriber_id: int, token_version: int, query: str, *, max_saved: int, strictness: str = "normal"
) -> SavedSearch | None:
    """None when the version is stale; TooManySavedSearches at the limit; an existing identical
    query keeps its place and takes this ``strictness``."""
    with store.transaction():
        sub = store.subscribers.current(subscriber_id, token_version)
        if sub is None or sub.status not in ACTIVE:
            return None
        return store.subscribers.save_search(sub.id, query, max_saved=max_saved, strictness=strictness)


def set_saved_search_strictness(
    store, subscriber_id: int, token_version: int, search_id: int, strictness: str
) -> SavedSearch | None:
    """The saved search with its new strictness; None when the version is stale or the search is
    not this subscriber's."""
    with store.transaction():
        sub = store.subscribers.current(subscriber_id, token_version)
        if sub is None or sub.status not in ACTIVE:
            return None
        return store.subscribers.set_strictness(sub.id, search_id, strictness)


def remove_saved_search(store, subscriber_id: int, token_version: int, search_id: int) -> bool:
    with store.transaction():
        if store.subscribers.current(subscriber_id, token_version) is None:
            return False
        return store.subscribers.remove_search(subscriber_id, search_id)


def unsubscribe(store, subscriber_id: int, token_version: int) -> bool:
    """Unsubscribed, token_version + 1 (every link sent so far stops working), queued outbox
    messages for the subscriber cancelled: effective immediately. False when the version is stale."""
    with store.transaction():
        if store.subscribers.current(subscriber_id, token_version) is None:
            return False
        store.subscribers.end(subscriber_id)
        store.outbox.cancel_queued_for(subscriber_id)
        return True
