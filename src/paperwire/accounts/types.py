"""What an account is: roles, statuses, the account row, a sign-in link's row, and why a link is
refused. Storage returns and raises these; the rules live in signin.py and admin.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import PaperwireError

ROLES = ("reader", "curator")
STATUSES = ("active", "disabled")


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: str = "reader"  # reader | curator
    status: str = "active"  # active | disabled
    created_at: str = ""
    last_signin_at: str | None = None
    library_version: int = 0
    handle: str | None = None  # the name others see (accounts/handles.py); never the address

    @property
    def is_curator(self) -> bool:
        return self.role == "curator" and self.status == "active"


@dataclass(frozen=True)
class SigninToken:
    """One emailed sign-in link's row: the link's signed token carries ``nonce``."""

    nonce: str
    email: str
    created_at: str
    used_at: str | None = None


class SigninRefused(PaperwireError):
    """A sign-in link that cannot be used; nothing was changed. ``reason``: 'unknown' (no such
    link, or not for this address), 'used' (used already) or 'disabled' (the account is)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# compose(account or None when the address has none yet) -> (kind, message_id, message bytes);
# called inside the write transaction that queues the sign-in link
SigninComposer = Callable[["Account | None"], "tuple[str, str, bytes]"]
