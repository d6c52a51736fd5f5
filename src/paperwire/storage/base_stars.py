"""Storage interface: the GitHub stars part (see base.Store).

Star counts are a time series: every check of a repository adds a point (repo, observed_at,
stars), a "304 not modified" one included, so the stars gained over a window are computable.
``repos`` holds the latest state of each repository: the ETag for the next conditional request,
the latest count, and a status. Times are ISO 8601 UTC text ('2026-11-25T14:00:00Z').
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

STATUS_OK = "ok"
STATUS_GONE = "gone"              # 404 / 410: deleted, renamed away without a redirect, or private
STATUS_UNAVAILABLE = "unavailable"  # 451 (legal takedown) or 403 "access blocked"


@dataclass(frozen=True)
class RepoState:
    repo: str              # 'owner/name', lower case
    etag: str | None       # for If-None-Match on the next check
    stars: int | None      # the latest count; None once the repository is gone
    status: str            # STATUS_OK | STATUS_GONE | STATUS_UNAVAILABLE
    checked_at: str        # the latest observation


class StarsStore(Protocol):
    def record_stars(self, repo: str, stars: int | None, etag: str | None,
                     observed_at: str | None = None, status: str = STATUS_OK) -> int | None:
        """Record one check of ``repo`` in one transaction: the latest state in ``repos`` and,
        for status 'ok', a point in the time series. ``stars`` None with status 'ok' means "not
        modified" (HTTP 304): the point repeats the stored count (ValueError when none is stored).
        Any other status stores no point and clears the count and ETag. An observation older
        than the stored one adds its point but leaves the latest state alone. A second point at
        the same second replaces the first. Returns the count recorded (None when none)."""
        ...

    def repo_state(self, repo: str) -> RepoState | None:
        """The latest state of a repository, None if it was never checked."""
        ...

    def repo_stars(self, repos: list[str]) -> dict[str, int]:
        """The latest star count of each repository in ``repos`` that is 'ok' and has one (for the
        cards: one query per page)."""
        ...

    def stars_gained(self, repo: str, since_iso: str) -> int:
        """Stars gained since ``since_iso``: the latest point minus the last point at or before
        ``since_iso``. 0 when either is unknown (a repository first seen after ``since_iso``),
        when the repository is no longer 'ok', and when it lost stars (never negative)."""
        ...
