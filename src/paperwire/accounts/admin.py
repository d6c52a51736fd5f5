"""Account administration for the `paperwire accounts` command: roles (reader, curator), disabling
an account (its sessions end at once), listing. Every change writes an audit_log row in the same
transaction (see storage SigninStore)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .signin import account_email
from .types import ROLES, Account


@dataclass(frozen=True)
class RoleChange:
    account: Account | None  # None: there is no such account (and none was created)
    previous: str | None  # the role before; None when the account was created now (or is missing)

    @property
    def created(self) -> bool:
        return self.account is not None and self.previous is None

    @property
    def changed(self) -> bool:
        return self.account is not None and self.previous != self.account.role


def set_role(store, email: Any, role: str, *, create: bool = True, actor_id: int | None = None) -> RoleChange:
    """Give the account for ``email`` this role (InvalidInput for a bad address, ValueError for an
    unknown role); the account is created when missing and ``create``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    account, previous = store.accounts.set_role(account_email(email), role, create=create, actor_id=actor_id)
    return RoleChange(account, previous)


def disable(store, email: Any, *, actor_id: int | None = None) -> tuple[Account | None, int]:
    """Disable the account (it cannot sign in; its sessions are deleted): (account or None when
    there is none, sessions deleted)."""
    return store.accounts.set_status(account_email(email), "disabled", actor_id=actor_id)


def enable(store, email: Any, *, actor_id: int | None = None) -> Account | None:
    return store.accounts.set_status(account_email(email), "active", actor_id=actor_id)[0]


def list_accounts(store, role: str | None = None) -> list[Account]:
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return store.accounts.list(role)


__all__ = ["RoleChange", "disable", "enable", "list_accounts", "set_role"]
