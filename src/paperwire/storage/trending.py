"""What the trending ranking reads (candidates, a cache version, the latest active day) and the
rows a Hugging Face import writes (paper_community's imported part, its audit entry); tables
from migrations/*/0007_community.sql and 0006_github_stars.sql. The import's policy (which papers
to store, when a paper counts as newly listed) is trending/hf_import.py's."""

from __future__ import annotations

import json

from ..trending.records import TrendingCandidate
from .database import Database


class TrendingStore:
    def __init__(self, db: Database):
        self.db = db

    def candidates(
        self, since_iso: str, until_iso: str, categories: list[str] | None = None
    ) -> list[TrendingCandidate]:
        """Papers listed (paper_community.listed_day) or announced on a day of the window whose
        reference time lies in [since_iso, until_iso]; hidden papers excluded. ``categories``:
        only papers in one of them ('cs' matches 'cs.*')."""
        since_day, until_day = since_iso[:10], until_iso[:10]
        rows = self.db.all(
            "WITH c(pk) AS (SELECT pk FROM papers WHERE announced BETWEEN ? AND ? "
            "  UNION SELECT paper_pk FROM paper_community WHERE listed_day BETWEEN ? AND ?) "
            "SELECT p.pk, p.categories, p.code_url, "
            "  coalesce(pc.listed_at, p.announced || 'T00:00:00Z') AS ref, "
            "  coalesce(pc.upvotes, 0) + coalesce(pc.imported_upvotes, 0) AS votes, "
            "  pc.github_repo, pc.featured_at "
            "FROM c JOIN papers p ON p.pk = c.pk LEFT JOIN paper_community pc ON pc.paper_pk = c.pk "
            "WHERE pc.hidden_at IS NULL",
            (since_day, until_day, since_day, until_day),
        )
        wanted = [c for c in (categories or []) if c]
        out = []
        for pk, cats, code_url, ref, votes, repo, featured_at in rows:
            if not (since_iso <= ref <= until_iso):
                continue
            if wanted:
                mine = json.loads(cats or "[]")
                if not any(c == w or c.startswith(w + ".") for c in mine for w in wanted):
                    continue
            out.append(TrendingCandidate(pk, ref, int(votes), repo, code_url, featured_at is not None))
        return out

    def version(self) -> tuple:
        """A cheap value that changes whenever a ranking could: votes, imports, curation, star
        points, papers (the trending cache's key, so a vote shows at once)."""
        community = self.db.one(
            "SELECT max(updated_at), count(*), sum(upvotes), sum(imported_upvotes), "
            "count(hidden_at), count(featured_at) FROM paper_community"
        )
        stars = self.db.one("SELECT max(observed_at), count(*) FROM repo_stars")
        return (*community, *stars, self.db.value("SELECT max(seq) FROM papers"))

    def latest_listing_day(self) -> str | None:
        """The latest day with community activity: the latest day list, or the announced day of
        a paper with a community row (votes, imports); with none, the latest announced day."""
        active = self.db.value(
            "SELECT max(d) FROM (SELECT max(listed_day) AS d FROM paper_community "
            "UNION ALL SELECT max(p.announced) FROM papers p JOIN paper_community pc ON pc.paper_pk = p.pk) AS t"
        )
        if active is not None:
            return active
        return self.db.value("SELECT max(announced) FROM papers")

    # -- the Hugging Face import's writes (inside its transaction) ----------------------
    def sources(self, paper_ids: list[str]) -> dict[str, str]:
        """papers.source of each stored paper in ``paper_ids``."""
        return {r[0]: r[1] for r in self.db.rows_in("SELECT id, source FROM papers WHERE id{}", paper_ids)}

    def listed_days(self, pks: list[int]) -> dict[int, str | None]:
        """paper_community.listed_day of each paper in ``pks`` that has a community row."""
        return {
            r[0]: r[1]
            for r in self.db.rows_in("SELECT paper_pk, listed_day FROM paper_community WHERE paper_pk{}", pks)
        }

    def put_imported(
        self, pk: int, listed_day: str, listed_at: str, upvotes: int, github_repo: str | None, now: str
    ) -> None:
        """The paper's imported community data: imported_upvotes set (importing twice changes
        nothing; local ``upvotes`` never touched), listed_day/listed_at only when the paper is on
        no day list yet, github_repo when none is set; updated_at only when something changed."""
        with self.db.write() as c:
            # old values on the right-hand side: listed_at follows listed_day only when unlisted
            c.execute(
                "INSERT INTO paper_community (paper_pk, listed_day, listed_at, imported_upvotes, github_repo, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(paper_pk) DO UPDATE SET "
                "imported_upvotes=excluded.imported_upvotes, "
                "listed_day=coalesce(paper_community.listed_day, excluded.listed_day), "
                "listed_at=CASE WHEN paper_community.listed_day IS NULL THEN excluded.listed_at "
                "ELSE paper_community.listed_at END, "
                "github_repo=coalesce(paper_community.github_repo, excluded.github_repo), "
                "updated_at=CASE WHEN paper_community.imported_upvotes <> excluded.imported_upvotes "
                "OR paper_community.listed_day IS NULL "
                "OR (paper_community.github_repo IS NULL AND excluded.github_repo IS NOT NULL) "
                "THEN excluded.updated_at ELSE paper_community.updated_at END",
                (pk, listed_day, listed_at, int(upvotes), github_repo, now),
            )

    def log_import(self, detail: dict, now: str) -> None:
        """The import's audit_log row (no actor, no paper)."""
        with self.db.write() as c:
            c.execute(
                "INSERT INTO audit_log (at, actor_id, action, paper_pk, detail) VALUES (?, NULL, 'import', NULL, ?)",
                (now, json.dumps(detail)),
            )
