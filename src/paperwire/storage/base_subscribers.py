"""Storage interface: the subscribers part (see base.Store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from ..errors import PaperwireError


@dataclass
class Subscriber:
    id: int
    email: str
    status: str  # pending | confirmed | unsubscribed | bounced
    frequency: str = "daily"  # daily | weekly
    send_hour: int = 7  # 0..23 in `timezone`
    send_weekday: int = 0  # weekly: 0 = Monday
    timezone: str = "UTC"
    trending: bool = True
    categories: list[str] = field(default_factory=list)
    token_version: int = 0  # bumped on unsubscribe: every link sent before stops working
    created_at: str = ""
    updated_at: str = ""
    confirmed_at: str | None = None
    unsubscribed_at: str | None = None
    bounced_at: str | None = None


@dataclass
class SavedSearch:
    id: int
    subscriber_id: int
    query: str
    created_at: str
    strictness: str = "normal"  # broad | normal | strict: the relevance bar (paperwire.search.match)


# the preference columns a caller may set (values already validated by paperwire.subscriptions)
PREFERENCE_FIELDS = ("frequency", "send_hour", "send_weekday", "timezone", "trending", "categories")


class RateLimited(PaperwireError):
    """A sliding-window limit is reached; nothing was changed."""

    def __init__(self, key: str, limit: int, window: float):
        super().__init__(f"rate limit {key!r}: {limit} per {window:g}s")
        self.key, self.limit, self.window = key, limit, window


class TooManySavedSearches(Exception):
    """The subscriber already has the most saved searches allowed; nothing was changed."""


# compose(subscriber_after_the_change, n) -> (kind, message_id, message bytes) or None; called
# inside the write transaction, n = 1 + messages of that subscriber already in the outbox
Composer = Callable[[Subscriber, int], "tuple[str, str, bytes] | None"]


class SubscriberStore(Protocol):
    def get_subscriber(self, subscriber_id: int) -> Subscriber | None: ...
    def get_subscriber_by_email(self, email: str) -> Subscriber | None: ...
    def list_subscribers(self, status: str = "confirmed") -> list[Subscriber]: ...
    def saved_searches(self, subscriber_id: int) -> list[SavedSearch]: ...
    def count_saved_searches(self, subscriber_id: int) -> int: ...

    def request_subscription(self, *, email: str, prefs: dict, query: str | None,
                             limits: list[tuple[str, int, float]], now: float,
                             compose: Composer, max_saved: int,
                             strictness: str = "normal") -> tuple[str, int | None]:
        """One subscribe request, in one transaction: check and record the rate ``limits``
        ((key, max events, window seconds); RateLimited and no change when one is reached), then
        by the address's state: new -> pending row; pending/unsubscribed -> pending with these
        prefs (+ ``query`` as a saved search with ``strictness``); confirmed -> unchanged; bounced or suppressed ->
        unchanged, no mail. ``compose`` builds the mail to queue (outbox) in the same transaction.
        Returns (outcome, outbox id): outcome is 'created' | 'pending' | 'resubscribed' |
        'confirmed' | 'blocked'."""
        ...

    def confirm_subscriber(self, subscriber_id: int, token_version: int) -> Subscriber | None:
        """pending -> confirmed (idempotent for confirmed); None when the version is stale or the
        subscriber is unsubscribed/bounced/gone."""
        ...

    def update_preferences(self, subscriber_id: int, token_version: int, prefs: dict) -> Subscriber | None: ...
    def add_saved_search(self, subscriber_id: int, token_version: int, query: str, *,
                         max_saved: int, strictness: str = "normal") -> SavedSearch | None:
        """None when the version is stale; TooManySavedSearches at the limit; an existing
        identical query keeps its place and takes this ``strictness``."""
        ...

    def set_saved_search_strictness(self, subscriber_id: int, token_version: int, search_id: int,
                                    strictness: str) -> SavedSearch | None:
        """The saved search with its new strictness; None when the version is stale or the
        search is not this subscriber's."""
        ...

    def remove_saved_search(self, subscriber_id: int, token_version: int, search_id: int) -> bool: ...

    def unsubscribe(self, subscriber_id: int, token_version: int) -> bool:
        """Status unsubscribed, token_version + 1 (every link sent so far stops working), queued
        outbox messages for the subscriber cancelled. False when the version is stale."""
        ...
