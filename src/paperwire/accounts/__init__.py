"""Accounts: magic-link sign-in by email, roles (reader, curator), administration.

* signin.py  request a link (rate limits, outbox mail in the same transaction), read it without
             using it (the confirmation page), use it once (account + session in one transaction)
* admin.py   roles, disabling, listing (the `paperwire accounts` command)

HTTP lives in web/accounts.py, sessions and CSRF in web/session.py; docs/accounts.md describes
the flow.
"""

from __future__ import annotations

from ..subscriptions.types import RateLimited
from ..subscriptions.validate import InvalidInput
from .signin import (
    REQUESTS_PER_ADDRESS_PER_HOUR,
    REQUESTS_PER_CLIENT_PER_HOUR,
    SigninError,
    SigninLink,
    account_email,
    complete_signin,
    lifetime,
    max_age,
    peek_signin,
    read_link,
    request_signin,
    safe_next,
)

__all__ = [
    "InvalidInput",
    "REQUESTS_PER_ADDRESS_PER_HOUR",
    "REQUESTS_PER_CLIENT_PER_HOUR",
    "RateLimited",
    "SigninError",
    "SigninLink",
    "account_email",
    "complete_signin",
    "lifetime",
    "max_age",
    "peek_signin",
    "read_link",
    "request_signin",
    "safe_next",
]
