"""Storage interface: what the trending ranking and the Hugging Face import need (see
base.Store). Owned by paperwire.trending."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..models import Paper


@dataclass
class HFImportRow:
    """One Hugging Face daily-papers item to store (sources.hf_daily.HFRecord without its location)."""

    paper: Paper
    listed_day: str            # YYYY-MM-DD
    listed_at: str             # ISO 8601 UTC
    upvotes: int               # HF's count: stored as imported_upvotes (local votes are separate)
    github_repo: str | None    # 'owner/name', lower case
    github_stars: int | None   # a star point for github_repo at listed_at


@dataclass
class HFImportResult:
    inserted: int = 0          # papers new to the database
    updated: int = 0           # papers an earlier import stored, changed since
    unchanged: int = 0         # papers stored already, the same (or kept: a richer source stored them)
    listed: int = 0            # papers put on a day list by this batch
    star_points: int = 0
    duplicates: list[str] | None = None  # ids this run already wrote earlier (same paper twice in the input)


@dataclass(frozen=True)
class TrendingCandidate:
    """A paper that may be on a trending list: what the score needs, and the curation flags."""

    pk: int
    reference_at: str          # listed_at, else the announced day at 00:00 UTC
    upvotes: int               # local votes + imported upvotes
    github_repo: str | None    # paper_community.github_repo, else None (see code_url)
    code_url: str | None       # the paper's code link (a GitHub URL gives the repository too)
    featured: bool


class TrendingStore(Protocol):
    def apply_hf_import(self, rows: list[HFImportRow], *, run_id: int | None = None,
                        errors: list[tuple[str, str]] | None = None) -> HFImportResult:
        """Store one batch of imported items in ONE transaction: the papers (through the normal
        upsert; a paper another source stored is left as it is), their community rows
        (imported_upvotes SET to the imported value, so importing twice changes nothing; local
        ``upvotes`` never touched; listed_day/listed_at only when the paper is on no day list
        yet; github_repo when none is set), a star point per repository at ``listed_at`` with
        the snapshot count (record_stars semantics), and the batch's bad items (``errors``)."""
        ...

    def trending_candidates(self, since_iso: str, until_iso: str,
                            categories: list[str] | None = None) -> list[TrendingCandidate]:
        """Papers listed (paper_community.listed_day) or announced on a day of the window whose
        reference time lies in [since_iso, until_iso]; hidden papers excluded. ``categories``:
        only papers in one of them ('cs' matches 'cs.*')."""
        ...

    def stars_gained_between(self, repos: list[str], since_iso: str, until_iso: str) -> dict[str, int]:
        """Stars each repository gained over the window, in one query: the last point at or
        before ``until_iso`` minus the last point at or before ``since_iso``; repositories
        without both points, no longer 'ok', or that lost stars are left out (gained 0)."""
        ...

    def trending_version(self) -> tuple:
        """A cheap value that changes whenever a ranking could: votes, imports, curation, star
        points, papers (the trending cache's key, so a vote shows at once)."""
        ...

    def latest_listing_day(self) -> str | None:
        """The latest day with community activity: the latest day list, or the announced day of
        a paper with a community row (votes, imports); with none, the latest announced day."""
        ...
