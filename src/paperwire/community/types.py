"""What the community features store about papers: curator actions, a paper's community state,
day-list entries, curated papers and audit rows (returned by the store's community area)."""

from __future__ import annotations

from dataclasses import dataclass, field

CURATE_ACTIONS = ("feature", "unfeature", "hide", "unhide")


@dataclass(frozen=True)
class CommunityState:
    """What the pages show about a paper (defaults: a paper nobody has touched)."""

    upvotes: int = 0  # local votes + imported upvotes
    voted: bool = False  # by the account asked about
    featured: bool = False
    hidden: bool = False
    listed_day: str | None = None
    github_repo: str | None = None


@dataclass(frozen=True)
class ListedPaper:
    """One entry of a day list."""

    pk: int
    listed_at: str
    upvotes: int  # local votes + imported upvotes


@dataclass(frozen=True)
class CuratedPaper:
    """A featured or hidden paper, for the curators' page."""

    pk: int
    paper_id: str
    title: str
    at: str  # when it was featured / hidden


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor_id: int | None
    actor_email: str | None  # None for imports and deleted accounts
    action: str  # submit | merge | feature | unfeature | hide | unhide | role | import
    paper_pk: int | None
    paper_id: str | None
    detail: dict = field(default_factory=dict)
