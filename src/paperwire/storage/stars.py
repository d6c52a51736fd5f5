"""GitHub star counts: the time series ``repo_stars`` and each repository's latest state in
``repos`` (migrations/*/0006_github_stars.sql; see models.RepoState)."""

from __future__ import annotations

from ..models import STATUS_OK, RepoState, iso_datetime, utc_now
from .database import Database


class StarStore:
    def __init__(self, db: Database):
        self.db = db

    def record(
        self, repo: str, stars: int | None, etag: str | None, observed_at: str | None = None, status: str = STATUS_OK
    ) -> int | None:
        """Record one check of ``repo`` in one transaction: the latest state in ``repos`` and,
        for status 'ok', a point in the time series. ``stars`` None with status 'ok' means "not
        modified" (HTTP 304): the point repeats the stored count (ValueError when none is stored).
        Any other status stores no point and clears the count and ETag. An observation older
        than the stored one adds its point but leaves the latest state alone. A second point at
        the same second replaces the first. Returns the count recorded (None when none)."""
        observed = iso_datetime(observed_at) or utc_now()
        with self.db.write() as c:
            if status == STATUS_OK:
                if stars is None:  # 304: the count has not changed since the latest check
                    row = c.execute("SELECT stars FROM repos WHERE repo=?", (repo,)).fetchone()
                    if row is None or row[0] is None:
                        raise ValueError(f"{repo}: 'not modified' but no star count is stored to repeat")
                    stars = row[0]
                stars = int(stars)
                if stars < 0:
                    raise ValueError(f"{repo}: negative star count {stars}")
                c.execute(
                    "INSERT INTO repo_stars (repo, observed_at, stars) VALUES (?, ?, ?) "
                    "ON CONFLICT(repo, observed_at) DO UPDATE SET stars=excluded.stars",
                    (repo, observed, stars),
                )
            else:
                stars, etag = None, None
            c.execute(
                "INSERT INTO repos (repo, etag, stars, status, checked_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(repo) DO UPDATE SET etag=excluded.etag, stars=excluded.stars, "
                "status=excluded.status, checked_at=excluded.checked_at "
                "WHERE excluded.checked_at >= repos.checked_at",
                (repo, etag, stars, status, observed),
            )
        return stars

    def state(self, repo: str) -> RepoState | None:
        """The latest state of a repository, None if it was never checked."""
        row = self.db.one("SELECT repo, etag, stars, status, checked_at FROM repos WHERE repo=?", (repo,))
        return RepoState(*row) if row else None

    def latest(self, repos: list[str]) -> dict[str, int]:
        """The latest star count of each repository in ``repos`` that is 'ok' and has one (for the
        cards: one query per page)."""
        rows = self.db.rows_in(
            "SELECT repo, stars FROM repos WHERE status=? AND stars IS NOT NULL AND repo{}",
            sorted(set(repos)),
            (STATUS_OK,),
        )
        return {r[0]: r[1] for r in rows}

    def gained(self, repo: str, since_iso: str) -> int:
        """Stars gained since ``since_iso``: the latest point minus the last point at or before
        ``since_iso``. 0 when either is unknown (a repository first seen after ``since_iso``),
        when the repository is no longer 'ok', and when it lost stars (never negative)."""
        since = iso_datetime(since_iso)
        state = self.db.one("SELECT status FROM repos WHERE repo=?", (repo,))
        if state is None or state[0] != STATUS_OK:
            return 0
        latest = self.db.one("SELECT stars FROM repo_stars WHERE repo=? ORDER BY observed_at DESC LIMIT 1", (repo,))
        base = self.db.one(
            "SELECT stars FROM repo_stars WHERE repo=? AND observed_at<=? ORDER BY observed_at DESC LIMIT 1",
            (repo, since),
        )
        if latest is None or base is None:
            return 0
        return max(0, latest[0] - base[0])

    def gained_between(self, repos: list[str], since_iso: str, until_iso: str) -> dict[str, int]:
        """Stars each repository gained over the window, in one query: the last point at or
        before ``until_iso`` minus the last point at or before ``since_iso``; repositories
        without both points, no longer 'ok', or that lost stars are left out (gained 0)."""
        sql = (
            "SELECT r.repo, "
            "(SELECT s.stars FROM repo_stars s WHERE s.repo = r.repo AND s.observed_at <= ? "
            " ORDER BY s.observed_at DESC LIMIT 1) AS latest, "
            "(SELECT s.stars FROM repo_stars s WHERE s.repo = r.repo AND s.observed_at <= ? "
            " ORDER BY s.observed_at DESC LIMIT 1) AS base "
            "FROM repos r WHERE r.status = ? AND r.repo{}"
        )
        out: dict[str, int] = {}
        for repo, latest, base in self.db.rows_in(
            sql, sorted(set(r for r in repos if r)), (until_iso, since_iso, STATUS_OK)
        ):
            if latest is not None and base is not None and latest > base:
                out[repo] = latest - base
        return out
