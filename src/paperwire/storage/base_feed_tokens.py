"""Storage interface: the secret behind a reader's private feed URLs (see base.Store). Owned by
paperwire.accounts.feed_tokens, which makes the tokens; the store keeps a nonce and the token's
SHA-256 per account."""

from __future__ import annotations

from typing import Protocol

from .base_accounts import Account


class FeedTokenStore(Protocol):
    def feed_token_row(self, account_id: int) -> tuple[str, str] | None:
        """(nonce, token_hash) of the account's private feeds, None when it has none yet."""
        ...

    def put_feed_token(self, account_id: int, nonce: str, token_hash: str, *, replace: bool) -> tuple[str, str]:
        """Store a new (nonce, token_hash); without ``replace`` an existing row is kept (two first
        visits at once agree on one). Returns the row the account now has."""
        ...

    def feed_token_account(self, token_hash: str) -> Account | None:
        """The active account whose private feeds ``token_hash`` opens (None: unknown, reset, or a
        disabled account)."""
        ...
