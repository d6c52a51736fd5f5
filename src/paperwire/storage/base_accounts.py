"""Storage interface: accounts and sessions (see base.Store). Sign-in links (signin_tokens) are
added by paperwire.accounts' part of this interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

ROLES = ("reader", "curator")


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: str = "reader"      # reader | curator
    status: str = "active"    # active | disabled
    created_at: str = ""
    last_signin_at: str | None = None
    library_version: int = 0

    @property
    def is_curator(self) -> bool:
        return self.role == "curator" and self.status == "active"


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
