"""Magic-link sign-in (no passwords): request a link by email, then use it once.

* ``request_signin`` validates the address, applies the rate limits (per address and per client),
  stores a ``signin_tokens`` row with a random nonce and queues the mail in the outbox, all in one
  transaction. The link is ``{site}/signin/confirm?token=T`` where T is
  ``security.sign(settings, 'signin', {"nonce", "email", "next"})``: signed (a forged or edited
  token is refused), for this purpose only (a subscription token is refused), expiring after
  ``settings.signin_max_age`` seconds (PAPERWIRE_SIGNIN_MAX_AGE, default 15 minutes).
* ``complete_signin`` unsigns the token and, in one transaction, marks the nonce used (a link
  works once), creates the account on first sign-in (a reader), refuses a disabled account, sets
  last_signin_at and stores the new session.
* Non-disclosure: whatever the address's state (an account or not, disabled, suppressed) the
  caller gets the same outcome; a disabled account or a suppressed address simply gets no mail.
  Rate limits count every valid request the same way.

Accounts are keyed by the address lower-cased whole (``account_email``): mail systems treat the
part before @ case-insensitively in practice, and one person must not get two accounts because a
phone capitalised the first letter.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..mail.message import build_message, make_message_id
from ..security import BadToken, sign, unsign
from ..subscriptions.validate import normalise_email, rate_key
from .types import Account, SigninRefused

PURPOSE = "signin"
REQUESTS_PER_ADDRESS_PER_HOUR = 5  # sign-in mails to one address
REQUESTS_PER_CLIENT_PER_HOUR = 20  # sign-in requests from one client IP
HOUR = 3600.0
MAX_NEXT = 500  # longer "next" paths are replaced by '/'
KEEP_TOKENS = 86400  # signin_tokens rows are kept at least a day (longer if links live longer)

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
_mail_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


class SigninError(Exception):
    """A sign-in link that cannot be used; ``reason`` is 'expired', 'invalid', 'used' or
    'disabled', str(error) says what to do next."""

    MESSAGES = {
        "expired": "This sign-in link has expired. Ask for a new one: links work for {lifetime} after they are sent.",
        "invalid": "This sign-in link is not valid (it may have been cut short by your mail program). "
        "Ask for a new one.",
        "used": "This link was used already; ask for a new one.",
        "disabled": "This account is disabled and cannot sign in. Contact the site's curators.",
    }

    def __init__(self, reason: str, lifetime: str = ""):
        super().__init__(self.MESSAGES[reason].format(lifetime=lifetime or "a short time"))
        self.reason = reason


@dataclass(frozen=True)
class SigninLink:
    """What a valid sign-in token holds."""

    nonce: str
    email: str
    next_url: str


# -- small helpers ----------------------------------------------------------------------------


def account_email(value: Any) -> str:
    """The account identity of an address: validated like a subscriber's (InvalidInput), then
    lower-cased whole."""
    return normalise_email(value).lower()


def safe_next(value: Any) -> str:
    """``value`` when it is a path on this site, else '/': no open redirect. A path starts with
    one '/', has no scheme, host, backslash, whitespace or control characters, and does not lead
    back into the sign-in pages."""
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "/"  # browsers drop tabs and newlines: "/\t/evil.org" would become "//evil.org"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    if parts.path in ("/signin", "/signout") or parts.path.startswith("/signin/"):
        return "/"
    return value


def max_age(settings) -> int:
    age = settings.signin_max_age
    if age < 1:
        raise ValueError(f"PAPERWIRE_SIGNIN_MAX_AGE must be at least 1 second (it is {age})")
    return age


def lifetime(seconds: int) -> str:
    """'15 minutes', '1 hour', '30 seconds'."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def site_url(settings) -> str:
    return (settings.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def signin_url(settings, nonce: str, email: str, next_url: str) -> str:
    token = sign(settings, PURPOSE, {"nonce": nonce, "email": email, "next": next_url})
    return f"{site_url(settings)}/signin/confirm?{urlencode({'token': token})}"


def compose_signin(settings, email: str, url: str, nonce: str, account: Account | None) -> tuple[str, str, bytes]:
    """The sign-in mail: (kind, Message-ID, message bytes)."""
    context = {"url": url, "lifetime": lifetime(max_age(settings)), "new": account is None, "site": site_url(settings)}
    text = _mail_env.get_template("email_signin.txt").render(**context)
    html = _mail_env.get_template("email_signin.html").render(**context)
    message_id = make_message_id(settings, "signin", nonce)
    return (
        "signin",
        message_id,
        build_message(
            settings,
            to=email,
            subject="Sign in to Paperwire",
            text=text,
            html=html,
            message_id=message_id,
            headers={"Auto-Submitted": "auto-generated"},
        ),
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the flow ---------------------------------------------------------------------------------


def request_signin(
    store, settings, email: Any, *, client: str | None, next_url: Any = "/", now: float | None = None
) -> str:
    """Handle one "email me a sign-in link" request. Raises InvalidInput (a bad address) or
    RateLimited; either way nothing changed. Returns the outcome ('account' | 'new' | 'blocked')
    for logs and tests only: never show it to the client."""
    address = account_email(email)
    target = safe_next(next_url)
    now = time.time() if now is None else now
    limits = [(f"signin-address:{rate_key(address)}", REQUESTS_PER_ADDRESS_PER_HOUR, HOUR)]
    if client:
        limits.append((f"signin-client:{client[:100]}", REQUESTS_PER_CLIENT_PER_HOUR, HOUR))
    nonce = secrets.token_urlsafe(24)
    url = signin_url(settings, nonce, address, target)
    return store.accounts.queue_signin(
        email=address,
        nonce=nonce,
        limits=limits,
        now=now,
        compose=lambda account: compose_signin(settings, address, url, nonce, account),
        prune_before=signin_prune_before(settings, now),
    )


def signin_prune_before(settings, now: float) -> str:
    """Sign-in token rows created before this are past any use (the link expired long before);
    each sign-in request and the prune job (paperwire.retention) delete them."""
    return _iso(now - max(KEEP_TOKENS, 2 * max_age(settings)))


def read_link(settings, token: str | None) -> SigninLink:
    """The contents of a sign-in token that is genuine and not expired; SigninError otherwise.
    Does not look at the database (see peek_signin)."""
    age = max_age(settings)
    try:
        payload = unsign(settings, PURPOSE, token, age)
    except BadToken as e:
        raise SigninError("expired" if e.expired else "invalid", lifetime(age)) from None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("nonce", "email", "next")):
        raise SigninError("invalid")
    return SigninLink(payload["nonce"], payload["email"], safe_next(payload["next"]))


def peek_signin(store, settings, token: str | None) -> SigninLink:
    """What the confirmation page shows before the button is pressed: the link's address, if the
    link can still be used (SigninError otherwise). Changes nothing, so a mail scanner that
    fetches the link does not use it up."""
    link = read_link(settings, token)
    row = store.accounts.signin_token(link.nonce)
    if row is None or row.email != link.email:
        raise SigninError("invalid")
    if row.used_at is not None:
        raise SigninError("used")
    account = store.accounts.by_email(link.email)
    if account is not None and account.status != "active":
        raise SigninError("disabled")
    return link


def complete_signin(
    store, settings, token: str | None, *, session_hash: str | None = None, session_expires: str | None = None
) -> tuple[Account, str]:
    """Use a sign-in link: (the account, the local path to go to next). With ``session_hash``
    (see web.session.new_session_token) the session is created in the same transaction that
    uses the link. SigninError (nothing changed) for a bad, expired or used link or a disabled
    account."""
    link = read_link(settings, token)
    try:
        account = store.accounts.use_signin_token(
            link.nonce, link.email, session_hash=session_hash, session_expires=session_expires
        )
    except SigninRefused as e:
        raise SigninError({"unknown": "invalid"}.get(e.reason, e.reason)) from None
    return account, link.next_url


__all__ = [
    "HOUR",
    "PURPOSE",
    "REQUESTS_PER_ADDRESS_PER_HOUR",
    "REQUESTS_PER_CLIENT_PER_HOUR",
    "SigninError",
    "SigninLink",
    "account_email",
    "complete_signin",
    "compose_signin",
    "lifetime",
    "max_age",
    "peek_signin",
    "read_link",
    "request_signin",
    "safe_next",
    "signin_prune_before",
    "signin_url",
    "site_url",
]
