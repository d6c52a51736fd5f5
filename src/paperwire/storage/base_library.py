"""Storage interface: a reader's library (saved papers, tags) and "not relevant" marks (see
base.Store). Owned by paperwire.library."""

from __future__ import annotations

from typing import Protocol


class LibraryStore(Protocol):
    def saved_pks(self, account_id: int, pks: list[int]) -> set[int]:
        """Which of ``pks`` the account has in its library."""
        ...
