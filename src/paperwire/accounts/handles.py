"""Reader handles: the one name a reader is shown by (comments, mentions, /users/{handle});
an address is never shown. Chosen once; unique in any letter case."""

from __future__ import annotations

import re

from ..errors import PaperwireError

HANDLE_MIN, HANDLE_MAX = 3, 30
# letters, digits, _ and -, starting with a letter or digit: safe in a URL path and after "@"
HANDLE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# names that would read as the site speaking, or clash with paths
RESERVED = frozenset({"admin", "administrator", "curator", "curators", "paperwire", "root", "staff", "system"})


class HandleError(PaperwireError, ValueError):
    """A handle that cannot be used; the message says why and what to choose instead."""


def validate(raw) -> str:
    """The handle as given, or HandleError."""
    if not isinstance(raw, str):
        raise HandleError("choose a handle")
    handle = raw.strip()
    if not HANDLE_MIN <= len(handle) <= HANDLE_MAX:
        raise HandleError(f"a handle is {HANDLE_MIN} to {HANDLE_MAX} characters long")
    if not HANDLE_RE.fullmatch(handle):
        raise HandleError("a handle holds only letters, digits, _ and -, and starts with a letter or digit")
    if handle.lower() in RESERVED:
        raise HandleError("that handle is reserved; choose another")
    return handle


def choose(store, account_id: int, raw) -> str:
    """Give the account its handle (validated); HandleError when it is taken or one was chosen."""
    handle = validate(raw)
    outcome = store.accounts.set_handle(account_id, handle)
    if outcome == "taken":
        raise HandleError("that handle is taken; choose another")
    if outcome == "set":
        raise HandleError("you have chosen your handle already")
    return handle
