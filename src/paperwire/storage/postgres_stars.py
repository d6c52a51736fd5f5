"""PostgreSQL implementation of the GitHub stars part of the storage interface (mixed into
PostgresStore); the same behaviour as sqlite_stars.py, tables from
migrations/postgres/0006_github_stars.sql. See base_stars.py."""

from __future__ import annotations

from ..models import iso_datetime, utc_now
from .base_stars import STATUS_OK, RepoState


class PostgresStarsMixin:
    def record_stars(self, repo: str, stars: int | None, etag: str | None,
                     observed_at: str | None = None, status: str = STATUS_OK) -> int | None:
        observed = iso_datetime(observed_at) or utc_now()
        with self._write() as c:
            return self._record_stars_in(c, repo, stars, etag, observed, status)

    @staticmethod
    def _record_stars_in(c, repo: str, stars: int | None, etag: str | None, observed: str,
                         status: str = STATUS_OK) -> int | None:
        """record_stars inside a transaction the caller holds (as SQLiteStarsMixin's)."""
        if status == STATUS_OK:
            if stars is None:  # 304: the count has not changed since the latest check
                row = c.execute("SELECT stars FROM repos WHERE repo=%s", (repo,)).fetchone()
                if row is None or row[0] is None:
                    raise ValueError(f"{repo}: 'not modified' but no star count is stored to repeat")
                stars = row[0]
            stars = int(stars)
            if stars < 0:
                raise ValueError(f"{repo}: negative star count {stars}")
            c.execute(
                "INSERT INTO repo_stars (repo, observed_at, stars) VALUES (%s, %s, %s) "
                "ON CONFLICT(repo, observed_at) DO UPDATE SET stars=excluded.stars",
                (repo, observed, stars),
            )
        else:
            stars, etag = None, None
        c.execute(
            "INSERT INTO repos (repo, etag, stars, status, checked_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT(repo) DO UPDATE SET etag=excluded.etag, stars=excluded.stars, "
            "status=excluded.status, checked_at=excluded.checked_at "
            "WHERE excluded.checked_at >= repos.checked_at",
            (repo, etag, stars, status, observed),
        )
        return stars

    def repo_state(self, repo: str) -> RepoState | None:
        row = self._one("SELECT repo, etag, stars, status, checked_at FROM repos WHERE repo=%s", (repo,))
        return RepoState(*row) if row else None

    def stars_gained(self, repo: str, since_iso: str) -> int:
        since = iso_datetime(since_iso)
        # one statement: one snapshot, so the three reads agree with each other
        row = self._one(
            "SELECT (SELECT status FROM repos WHERE repo=%s), "
            "(SELECT stars FROM repo_stars WHERE repo=%s ORDER BY observed_at DESC LIMIT 1), "
            "(SELECT stars FROM repo_stars WHERE repo=%s AND observed_at<=%s ORDER BY observed_at DESC LIMIT 1)",
            (repo, repo, repo, since),
        )
        status, latest, base = row
        if status != STATUS_OK or latest is None or base is None:
            return 0
        return max(0, latest - base)
