"""What a subscriber is: the subscriber row, a saved search, the preference fields, and why a
request was refused. Storage returns and raises these; the rules are in lifecycle.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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


# the preference columns a caller may set (values already validated by subscriptions.validate)
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
