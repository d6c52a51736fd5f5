"""What trending reads and writes through the store: the candidates a ranking scores, and the
rows and outcome of a Hugging Face import batch (star states: models.RepoState)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Paper

HF_SOURCE = "hf-daily"  # papers.source of the papers a Hugging Face import stored


@dataclass(frozen=True)
class TrendingCandidate:
    """A paper that may be on a trending list: what the score needs, and the curation flags."""

    pk: int
    reference_at: str  # listed_at, else the announced day at 00:00 UTC
    upvotes: int  # local votes + imported upvotes
    github_repo: str | None  # paper_community.github_repo, else None (see code_url)
    code_url: str | None  # the paper's code link (a GitHub URL gives the repository too)
    featured: bool


@dataclass
class HFImportRow:
    """One Hugging Face daily-papers item to store (sources.hf_daily.HFRecord without its location)."""

    paper: Paper
    listed_day: str  # YYYY-MM-DD
    listed_at: str  # ISO 8601 UTC
    upvotes: int  # HF's count: stored as imported_upvotes (local votes are separate)
    github_repo: str | None  # 'owner/name', lower case
    github_stars: int | None  # a star point for github_repo at listed_at


@dataclass
class HFImportResult:
    inserted: int = 0  # papers new to the database
    updated: int = 0  # papers an earlier import stored, changed since
    unchanged: int = 0  # papers stored already, the same (or kept: a richer source stored them)
    listed: int = 0  # papers put on a day list by this batch
    star_points: int = 0
    duplicates: list[str] | None = None  # ids this run already wrote earlier (same paper twice in the input)
