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

from .links import (
    CONFIRM_MAX_AGE,
    PREFERENCES_MAX_AGE,
    UNSUBSCRIBE_MAX_AGE,
    LinkError,
    confirm_url,
    list_unsubscribe_headers,
    make_token,
    one_click_url,
    preferences_url,
    read_token,
    site_url,
    subscriber_for,
    unsubscribe_url,
)
from .service import (
    MAILS_PER_ADDRESS_PER_DAY,
    REQUESTS_PER_CLIENT_PER_HOUR,
    add_saved_search,
    confirm,
    parse_subscribe,
    preferences_of,
    remove_saved_search,
    set_saved_search_strictness,
    subscribe,
    unsubscribe_token,
    update_preferences,
)
from .types import RateLimited, SavedSearch, Subscriber
from .validate import (
    FREQUENCIES,
    MAX_QUERY,
    MAX_SAVED_SEARCHES,
    WEEKDAYS,
    InvalidInput,
    Preferences,
    normalise_email,
    normalise_query,
    parse_categories,
    parse_preferences,
)

__all__ = [
    "MAILS_PER_ADDRESS_PER_DAY",
    "REQUESTS_PER_CLIENT_PER_HOUR",
    "make_token",
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
