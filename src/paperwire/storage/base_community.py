"""Storage interface: the community part (see base.Store): votes, day lists and submissions,
curation and its audit log. Owned by paperwire.community."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommunityState:
    """What the pages show about a paper (defaults: a paper nobody has touched)."""
    upvotes: int = 0            # local votes + imported upvotes
    voted: bool = False         # by the account asked about
    featured: bool = False
    hidden: bool = False
    listed_day: str | None = None
    github_repo: str | None = None


class CommunityStore(Protocol):
    def community_state(self, pks: list[int], account_id: int | None = None) -> dict[int, CommunityState]:
        """State of each paper in ``pks`` that has any (papers missing from the answer have the
        defaults); ``voted`` says whether ``account_id`` voted for it."""
        ...
