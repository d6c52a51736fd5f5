"""The secret in a reader's private feed URLs (/feeds/private/{token}/...): feed readers cannot
sign in, so the URL itself is the credential, and "reset" must make every old URL fail.

A token is HMAC-SHA256(secret key, account id + a random nonce), base64url; the database keeps the
nonce and the token's SHA-256 only. The library page and the OPML file can therefore show the
same URLs on every visit (recomputed from the nonce), a copy of the database alone opens no feed,
and a reset (a new nonce) makes the old token's hash unknown: its URLs answer 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from ..security import secret_key

TOKEN_CHARS = 43  # 32 bytes, base64url without padding
_TOKEN = re.compile(rf"^[A-Za-z0-9_-]{{{TOKEN_CHARS}}}$")


def _derive(settings, account_id: int, nonce: str) -> str:
    mac = hmac.new(
        secret_key(settings).encode(), f"paperwire.feed-token|{account_id}|{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new(store, settings, account_id: int, *, replace: bool) -> str:
    nonce = secrets.token_urlsafe(24)
    token = _derive(settings, account_id, nonce)
    kept_nonce, _ = store.library.put_feed_token(account_id, nonce, token_hash(token), replace=replace)
    return token if kept_nonce == nonce else _derive(settings, account_id, kept_nonce)


def feed_token(store, settings, account_id: int) -> str:
    """The account's current token, made on first use."""
    row = store.library.feed_token(account_id)
    if row is None:
        return _new(store, settings, account_id, replace=False)
    nonce, stored_hash = row
    token = _derive(settings, account_id, nonce)
    if not hmac.compare_digest(token_hash(token), stored_hash):
        # the secret key changed since: the stored URLs cannot work any more, so issue new ones
        return _new(store, settings, account_id, replace=True)
    return token


def reset_feed_token(store, settings, account_id: int) -> str:
    """A new token; every URL with the old one stops working."""
    return _new(store, settings, account_id, replace=True)


def account_for_token(store, token: str):
    """The active account a URL's token belongs to, or None (malformed, reset, unknown, disabled)."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    return store.library.feed_token_account(token_hash(token))


__all__ = ["account_for_token", "feed_token", "reset_feed_token", "token_hash"]
