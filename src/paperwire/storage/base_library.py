"""Storage interface: a reader's library (saved papers, tags) and "not relevant" marks (see
base.Store). Owned by paperwire.library, which validates tag names before calling it.

Every call that changes a library, its tags or its "not relevant" marks bumps
``accounts.library_version`` in the same transaction: the "for you" feed caches on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..errors import PaperwireError
from ..models import Paper

MAX_TAGS_PER_ACCOUNT = 50


class LibraryError(PaperwireError, ValueError):
    """A library change that cannot be made (too many tags, unknown paper); the message says why.
    Nothing was changed."""


@dataclass
class LibraryEntry:
    pk: int
    paper: Paper
    saved_at: str
    tags: list[str] = field(default_factory=list)


class LibraryStore(Protocol):
    def saved_pks(self, account_id: int, pks: list[int]) -> set[int]:
        """Which of ``pks`` the account has in its library."""
        ...

    def save_to_library(self, account_id: int, pk: int, tags: list[str] | tuple = ()) -> bool:
        """Save a paper (True when it was not saved yet) and file it under ``tags`` too (added to
        the tags it has). LibraryError for an unknown paper or more than MAX_TAGS_PER_ACCOUNT tags."""
        ...

    def remove_from_library(self, account_id: int, pk: int) -> bool:
        """Remove a paper and its tags; True when it was saved."""
        ...

    def set_tags(self, account_id: int, pk: int, tags: list[str]) -> None:
        """Replace a saved paper's tags (LibraryError when it is not saved, or too many tags)."""
        ...

    def add_tag(self, account_id: int, pk: int, tag: str) -> None: ...

    def remove_tag(self, account_id: int, pk: int, tag: str) -> None: ...

    def library(self, account_id: int, tag: str | None = None, limit: int = 50,
                offset: int = 0) -> list[LibraryEntry]:
        """Saved papers (under ``tag`` when given), newest saved first."""
        ...

    def library_count(self, account_id: int, tag: str | None = None) -> int: ...

    def library_tags(self, account_id: int) -> list[tuple[str, int]]:
        """The account's tags with how many papers each holds, by name."""
        ...

    def library_pks(self, account_id: int, tag: str | None = None) -> list[int]:
        """Every saved paper (under ``tag``), newest saved first."""
        ...

    def mark_not_relevant(self, account_id: int, pk: int, tag: str = "") -> bool:
        """Remember a paper as a negative example of a feed (tag '' = the merged feed);
        True when it was not marked yet. LibraryError for an unknown paper."""
        ...

    def not_relevant_pks(self, account_id: int, tag: str = "") -> set[int]:
        """The papers marked not relevant for the feed of ``tag`` ('' = merged)."""
        ...

    def upvoted_pks(self, account_id: int) -> list[int]:
        """The papers the account upvoted (the community's votes table), newest first."""
        ...

    def recent_pks(self, limit: int, since_day: str | None = None, before_day: str | None = None) -> list[int]:
        """The newest papers by listing day (on or after ``since_day`` and before ``before_day`` when
        given), at most ``limit``."""
        ...
