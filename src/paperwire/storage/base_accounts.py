"""Storage interface: accounts and sessions (see base.Store). Sign-in links (signin_tokens) are
added by paperwire.accounts' part of this interface."""

from __future__ import annotations

from typing import Protocol

from ..accounts.types import Account, SigninComposer, SigninToken


class AccountStore(Protocol):
    def get_account(self, account_id: int) -> Account | None: ...
    def get_account_by_email(self, email: str) -> Account | None: ...

    def ensure_account(self, email: str, role: str | None = None) -> Account:
        """The account for ``email`` (already normalised), created as a reader when missing;
        with ``role``, that role is set (ValueError for a role not in ROLES)."""
        ...

    def create_session(self, account_id: int, token_hash: str, expires_at: str) -> None: ...

    def session_account(self, token_hash: str, now: str) -> Account | None:
        """The active account of an unexpired session (None for unknown, expired, or a
        disabled account)."""
        ...

    def delete_session(self, token_hash: str) -> None: ...


# -- sign-in links and account administration (paperwire.accounts) ---------------------------

class SigninStore(Protocol):
    def queue_signin(self, *, email: str, nonce: str, limits: list[tuple[str, int, float]], now: float,
                     compose: SigninComposer, prune_before: str) -> str:
        """One sign-in request, in one transaction: check and record the rate ``limits`` (as
        request_subscription does: RateLimited and no change when one is reached); then, unless the
        address is suppressed or its account disabled (outcome 'blocked', nothing queued), store a
        signin_tokens row for ``nonce`` and queue compose(account)'s mail in the outbox. Rows
        created before ``prune_before`` are deleted. Returns 'account' | 'new' | 'blocked' (for logs
        and tests only: never show it to the client)."""
        ...

    def signin_token(self, nonce: str) -> SigninToken | None: ...

    def use_signin_token(self, nonce: str, email: str, *, session_hash: str | None = None,
                         session_expires: str | None = None) -> Account:
        """In one transaction: mark the link used (SigninRefused 'unknown' / 'used' otherwise),
        create the account on first sign-in (a reader), refuse a disabled one (SigninRefused
        'disabled'), set last_signin_at, and with ``session_hash`` create that session."""
        ...

    def list_accounts(self, role: str | None = None) -> list[Account]: ...

    def set_account_role(self, email: str, role: str, *, create: bool = True,
                         actor_id: int | None = None) -> tuple[Account | None, str | None]:
        """Set the role of the account for ``email`` (created when missing and ``create``), with an
        audit_log row (action 'role') when it changed, in one transaction. Returns (account or None
        when missing and not created, the previous role or None when it was created/missing)."""
        ...

    def set_account_status(self, email: str, status: str, *,
                           actor_id: int | None = None) -> tuple[Account | None, int]:
        """active | disabled; disabling deletes every session of the account. An audit_log row
        (action 'disable' / 'enable') when it changed. Returns (account or None when there is none,
        the number of sessions deleted)."""
        ...
