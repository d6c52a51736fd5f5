"""SQLite implementation of the trending part of the storage interface (mixed into SQLiteStore);
tables from migrations/sqlite/0007_community.sql (paper_community, audit_log) and
0006_github_stars.sql (repo_stars, repos). See base_trending.py."""

from __future__ import annotations

import json

from ..models import utc_now
from .base_stars import STATUS_OK
from .base_trending import HFImportResult, HFImportRow, TrendingCandidate

HF_SOURCE = "hf-daily"


class SQLiteTrendingMixin:
    def apply_hf_import(self, rows: list[HFImportRow], *, run_id: int | None = None,
                        errors: list[tuple[str, str]] | None = None) -> HFImportResult:
        result = HFImportResult(duplicates=[])
        now = utc_now()
        with self._write() as c:
            ids = [r.paper.id for r in rows]
            sources = {}
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                sources.update(c.execute(f"SELECT id, source FROM papers WHERE id IN ({','.join('?' * len(chunk))})",
                                         chunk).fetchall())
            # a paper another source stored (arXiv: categories, versions) is richer: leave it alone
            mine = [r.paper for r in rows if sources.get(r.paper.id, HF_SOURCE) == HF_SOURCE]
            up = self.papers.upsert(mine, run_id=run_id)
            result.inserted, result.updated = up.inserted, up.updated
            result.unchanged = up.unchanged + (len(rows) - len(mine))
            result.duplicates = list(up.duplicates)
            dup = set(up.duplicates)
            pks: dict[str, int] = {}
            listed: dict[int, str | None] = {}
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                marks = ",".join("?" * len(chunk))
                pks.update(c.execute(f"SELECT id, pk FROM papers WHERE id IN ({marks})", chunk).fetchall())
            for i in range(0, len(pks), 500):
                chunk = list(pks.values())[i:i + 500]
                listed.update(c.execute(
                    f"SELECT paper_pk, listed_day FROM paper_community WHERE paper_pk IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall())
            for r in rows:
                if r.paper.id in dup or r.paper.id not in pks:
                    continue
                pk = pks[r.paper.id]
                if listed.get(pk) is None:
                    result.listed += 1
                    listed[pk] = r.listed_day
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
                    (pk, r.listed_day, r.listed_at, int(r.upvotes), r.github_repo, now),
                )
                if r.github_repo and r.github_stars is not None:
                    self._record_stars_in(c, r.github_repo, int(r.github_stars), None, r.listed_at, STATUS_OK)
                    result.star_points += 1
            if rows:
                c.execute("INSERT INTO audit_log (at, actor_id, action, paper_pk, detail) VALUES (?, NULL, 'import', NULL, ?)",
                          (now, json.dumps({"source": HF_SOURCE, "items": len(rows), "run_id": run_id,
                                            "inserted": result.inserted, "listed": result.listed})))
            if errors and run_id is not None:
                self.papers.add_errors(run_id, errors)
        return result

    def trending_candidates(self, since_iso: str, until_iso: str,
                            categories: list[str] | None = None) -> list[TrendingCandidate]:
        since_day, until_day = since_iso[:10], until_iso[:10]
        rows = self.conn.execute(
            "WITH c(pk) AS (SELECT pk FROM papers WHERE announced BETWEEN ? AND ? "
            "  UNION SELECT paper_pk FROM paper_community WHERE listed_day BETWEEN ? AND ?) "
            "SELECT p.pk, p.categories, p.code_url, "
            "  coalesce(pc.listed_at, p.announced || 'T00:00:00Z') AS ref, "
            "  coalesce(pc.upvotes, 0) + coalesce(pc.imported_upvotes, 0) AS votes, "
            "  pc.github_repo, pc.featured_at "
            "FROM c JOIN papers p ON p.pk = c.pk LEFT JOIN paper_community pc ON pc.paper_pk = c.pk "
            "WHERE pc.hidden_at IS NULL",
            (since_day, until_day, since_day, until_day),
        ).fetchall()
        wanted = [c for c in (categories or []) if c]
        out = []
        for pk, cats, code_url, ref, votes, repo, featured_at in rows:
            if not (since_iso <= ref <= until_iso):
                continue
            if wanted:
                # filtered here rather than with json_each (SQLite-only), so the query stays portable
                mine = json.loads(cats or "[]")
                if not any(c == w or c.startswith(w + ".") for c in mine for w in wanted):
                    continue
            out.append(TrendingCandidate(pk, ref, int(votes), repo, code_url, featured_at is not None))
        return out

    def stars_gained_between(self, repos: list[str], since_iso: str, until_iso: str) -> dict[str, int]:
        repos = sorted(set(r for r in repos if r))
        out: dict[str, int] = {}
        sql = (
            "SELECT r.repo, "
            "(SELECT s.stars FROM repo_stars s WHERE s.repo = r.repo AND s.observed_at <= ? "
            " ORDER BY s.observed_at DESC LIMIT 1) AS latest, "
            "(SELECT s.stars FROM repo_stars s WHERE s.repo = r.repo AND s.observed_at <= ? "
            " ORDER BY s.observed_at DESC LIMIT 1) AS base "
            "FROM repos r WHERE r.status = ? AND r.repo IN ({})"
        )
        for i in range(0, len(repos), 500):
            chunk = repos[i:i + 500]
            for repo, latest, base in self.conn.execute(sql.format(",".join("?" * len(chunk))),
                                                        [until_iso, since_iso, STATUS_OK, *chunk]):
                if latest is not None and base is not None and latest > base:
                    out[repo] = latest - base
        return out

    def trending_version(self) -> tuple:
        c = self.conn
        community = c.execute("SELECT max(updated_at), count(*), sum(upvotes), sum(imported_upvotes), "
                              "count(hidden_at), count(featured_at) FROM paper_community").fetchone()
        stars = c.execute("SELECT max(observed_at), count(*) FROM repo_stars").fetchone()
        papers = c.execute("SELECT max(seq) FROM papers").fetchone()
        return (*community, *stars, *papers)

    def latest_listing_day(self) -> str | None:
        # days with community activity: a day list, or a paper someone voted on (any row)
        active = self.conn.execute(
            "SELECT max(d) FROM (SELECT max(listed_day) AS d FROM paper_community "
            "UNION ALL SELECT max(p.announced) FROM papers p JOIN paper_community pc ON pc.paper_pk = p.pk) AS t"
        ).fetchone()[0]
        if active is not None:
            return active
        return self.conn.execute("SELECT max(announced) FROM papers").fetchone()[0]
