"""SQLite implementation of the GitHub stars part of the storage interface (mixed into
SQLiteStore); tables from migrations/sqlite/0006_github_stars.sql. See base_stars.py."""

from __future__ import annotations

from ..models import iso_datetime, utc_now
from .base_stars import STATUS_OK, RepoState


class SQLiteStarsMixin:
    def record_stars(self, repo: str, stars: int | None, etag: str | None,
                     observed_at: str | None = None, status: str = STATUS_OK) -> int | None:
        observed = iso_datetime(observed_at) or utc_now()
        with self._write() as c:
            return self._record_stars_in(c, repo, stars, etag, observed, status)

    @staticmethod
    def _record_stars_in(c, repo: str, stars: int | None, etag: str | None, observed: str,
                         status: str = STATUS_OK) -> int | None:
        """record_stars inside a transaction the caller holds (the Hugging Face import records
        its star snapshots in the transaction of its batch)."""
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

    def repo_state(self, repo: str) -> RepoState | None:
        row = self.conn.execute(
            "SELECT repo, etag, stars, status, checked_at FROM repos WHERE repo=?", (repo,)
        ).fetchone()
        return RepoState(*row) if row else None

    def repo_stars(self, repos: list[str]) -> dict[str, int]:
        rows = self._rows_in(
            f"SELECT repo, stars FROM repos WHERE status='{STATUS_OK}' AND stars IS NOT NULL AND repo IN ({{}})",
            sorted(set(repos)))
        return {r[0]: r[1] for r in rows}

    def stars_gained(self, repo: str, since_iso: str) -> int:
        since = iso_datetime(since_iso)
        c = self.conn
        state = c.execute("SELECT status FROM repos WHERE repo=?", (repo,)).fetchone()
        if state is None or state[0] != STATUS_OK:
            return 0
        latest = c.execute(
            "SELECT stars FROM repo_stars WHERE repo=? ORDER BY observed_at DESC LIMIT 1", (repo,)
        ).fetchone()
        base = c.execute(
            "SELECT stars FROM repo_stars WHERE repo=? AND observed_at<=? ORDER BY observed_at DESC LIMIT 1",
            (repo, since),
        ).fetchone()
        if latest is None or base is None:
            return 0
        return max(0, latest[0] - base[0])
