"""Votes, day lists and submissions, curation and its audit log (tables from
migrations/*/0007_community.sql).

Every write first upserts the paper's ``paper_community`` row and only then reads or counts: on
SQLite the whole transaction is serialised anyway (BEGIN IMMEDIATE); on PostgreSQL that upsert
takes the row's lock, so two voters (or submitters) of one paper queue up and the count each of
them writes includes the other's committed vote."""

from __future__ import annotations

import json

from ..community.types import CURATE_ACTIONS, AuditEntry, CommunityState, CuratedPaper, ListedPaper
from ..models import utc_now
from .database import Database

# action -> (column, set it (True) or clear it (False))
_CURATE = {
    "feature": ("featured_at", True),
    "unfeature": ("featured_at", False),
    "hide": ("hidden_at", True),
    "unhide": ("hidden_at", False),
}
assert set(_CURATE) == set(CURATE_ACTIONS)


class CommunityStore:
    def __init__(self, db: Database):
        self.db = db

    # -- inside a write transaction ----------------------------------------------------------
    def _require_paper(self, c, pk: int) -> None:
        if c.execute("SELECT 1 FROM papers WHERE pk=?", (pk,)).fetchone() is None:
            raise KeyError(f"no paper with pk {pk}")

    @staticmethod
    def _lock_row(c, pk: int, now: str) -> None:
        c.execute(
            "INSERT INTO paper_community (paper_pk, updated_at) VALUES (?, ?) "
            "ON CONFLICT (paper_pk) DO UPDATE SET updated_at=excluded.updated_at",
            (pk, now),
        )

    @staticmethod
    def _add_vote(c, account_id: int, pk: int, now: str) -> None:
        c.execute(
            "INSERT INTO votes (account_id, paper_pk, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id, paper_pk) DO NOTHING",
            (account_id, pk, now),
        )

    @staticmethod
    def _recount(c, pk: int) -> int:
        count = c.execute("SELECT count(*) FROM votes WHERE paper_pk=?", (pk,)).fetchone()[0]
        c.execute("UPDATE paper_community SET upvotes=? WHERE paper_pk=?", (count, pk))
        return count

    def audit(self, actor_id: int | None, action: str, pk: int | None, detail: dict, now: str | None = None) -> None:
        """One audit_log row (curation, submissions, role and status changes, imports)."""
        with self.db.write() as c:
            c.execute(
                "INSERT INTO audit_log (at, actor_id, action, paper_pk, detail) VALUES (?, ?, ?, ?, ?)",
                (now or utc_now(), actor_id, action, pk, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
            )

    # -- votes ------------------------------------------------------------------------------
    def set_vote(self, account_id: int, pk: int, up: bool) -> int:
        """Add (``up``) or remove the account's vote for the paper, keeping
        ``paper_community.upvotes`` = the number of votes rows; idempotent (voting twice is one
        vote). Returns the paper's new local vote count. KeyError for an unknown paper."""
        now = utc_now()
        with self.db.write() as c:
            self._require_paper(c, pk)
            self._lock_row(c, pk, now)
            if up:
                self._add_vote(c, account_id, pk, now)
            else:
                c.execute("DELETE FROM votes WHERE account_id=? AND paper_pk=?", (account_id, pk))
            return self._recount(c, pk)

    def state(self, pks: list[int], account_id: int | None = None) -> dict[int, CommunityState]:
        """State of each paper in ``pks`` that has any (papers missing from the answer have the
        defaults); ``voted`` says whether ``account_id`` voted for it."""
        voted = (
            f"EXISTS (SELECT 1 FROM votes v WHERE v.paper_pk=pc.paper_pk AND v.account_id={int(account_id)})"
            if account_id is not None
            else "0"
        )
        rows = self.db.rows_in(
            "SELECT pc.paper_pk, pc.upvotes + pc.imported_upvotes, pc.featured_at, pc.hidden_at, "
            f"pc.listed_day, pc.github_repo, {voted} FROM paper_community pc WHERE pc.paper_pk{{}}",
            pks,
        )
        return {
            r[0]: CommunityState(
                upvotes=r[1],
                voted=bool(r[6]),
                featured=r[2] is not None,
                hidden=r[3] is not None,
                listed_day=r[4],
                github_repo=r[5],
            )
            for r in rows
        }

    # -- day lists and submissions ----------------------------------------------------------
    def submit_to_list(self, account_id: int, pk: int, day: str, now: str) -> tuple[str, str]:
        """Put the paper on ``day``'s list, submitted by the account, with the submitter's vote,
        and an audit row, all in one transaction. A paper already on a list is not listed again:
        the submitter's vote is added and the audit row says 'merge'. Returns
        ('listed' | 'merged', the day the paper is listed on)."""
        with self.db.write() as c:
            self._require_paper(c, pk)
            self._lock_row(c, pk, now)
            listed_day = c.execute("SELECT listed_day FROM paper_community WHERE paper_pk=?", (pk,)).fetchone()[0]
            if listed_day:
                status = "merged"
            else:
                status, listed_day = "listed", day
                c.execute(
                    "UPDATE paper_community SET listed_day=?, listed_at=?, submitted_by=? WHERE paper_pk=?",
                    (day, now, account_id, pk),
                )
            self._add_vote(c, account_id, pk, now)
            self._recount(c, pk)
            self.audit(account_id, "submit" if status == "listed" else "merge", pk, {"day": listed_day}, now)
        return status, listed_day

    def day_list(
        self, day: str, *, include_hidden: bool = False, limit: int = 50, offset: int = 0
    ) -> list[ListedPaper]:
        """The papers on ``day``'s list, most upvoted first (local + imported), then by the time
        they were listed; hidden papers are left out unless ``include_hidden``."""
        rows = self.db.all(
            "SELECT paper_pk, listed_at, upvotes + imported_upvotes AS total FROM paper_community "
            "WHERE listed_day=?"
            + ("" if include_hidden else " AND hidden_at IS NULL")
            + " ORDER BY total DESC, listed_at, paper_pk LIMIT ? OFFSET ?",
            (day, limit, offset),
        )
        return [ListedPaper(r[0], r[1], r[2]) for r in rows]

    def count_day_list(self, day: str, *, include_hidden: bool = False) -> int:
        return self.db.value(
            "SELECT count(*) FROM paper_community WHERE listed_day=?"
            + ("" if include_hidden else " AND hidden_at IS NULL"),
            (day,),
        )

    # -- curation ---------------------------------------------------------------------------
    def curate(self, actor_id: int, pk: int, action: str, note: str = "") -> bool:
        """Apply a curator action (one of CURATE_ACTIONS) and write its audit row in the same
        transaction. Returns False (and writes nothing) when it changes nothing (featuring a
        featured paper); ValueError for an unknown action, KeyError for an unknown paper."""
        if action not in _CURATE:
            raise ValueError(f"unknown curator action {action!r}; one of {', '.join(CURATE_ACTIONS)}")
        column, set_it = _CURATE[action]
        now = utc_now()
        with self.db.write() as c:
            self._require_paper(c, pk)
            row = c.execute(f"SELECT {column} FROM paper_community WHERE paper_pk=?", (pk,)).fetchone()
            if (row is not None and row[0] is not None) == set_it:
                return False
            self._lock_row(c, pk, now)
            c.execute(f"UPDATE paper_community SET {column}=? WHERE paper_pk=?", (now if set_it else None, pk))
            self.audit(actor_id, action, pk, {"note": note} if note else {}, now)
        return True

    def audit_log(self, limit: int = 100, paper_pk: int | None = None) -> list[AuditEntry]:
        """The latest audit rows, newest first (optionally of one paper)."""
        sql = (
            "SELECT a.id, a.at, a.actor_id, ac.email, a.action, a.paper_pk, p.id, a.detail FROM audit_log a "
            "LEFT JOIN accounts ac ON ac.id = a.actor_id LEFT JOIN papers p ON p.pk = a.paper_pk"
        )
        args: list = []
        if paper_pk is not None:
            sql += " WHERE a.paper_pk=?"
            args.append(paper_pk)
        rows = self.db.all(sql + " ORDER BY a.id DESC LIMIT ?", (*args, limit))
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}")) for r in rows]

    def _curated(self, column: str, limit: int) -> list[CuratedPaper]:
        rows = self.db.all(
            f"SELECT pc.paper_pk, p.id, p.title, pc.{column} FROM paper_community pc JOIN papers p ON p.pk = pc.paper_pk "
            f"WHERE pc.{column} IS NOT NULL ORDER BY pc.{column} DESC, pc.paper_pk DESC LIMIT ?",
            (limit,),
        )
        return [CuratedPaper(r[0], r[1], r[2], r[3]) for r in rows]

    def featured(self, limit: int = 100) -> list[CuratedPaper]:
        """Featured papers, most recently featured first."""
        return self._curated("featured_at", limit)

    def hidden(self, limit: int = 100) -> list[CuratedPaper]:
        """Hidden papers, most recently hidden first."""
        return self._curated("hidden_at", limit)

    def hidden_pks(self) -> frozenset[int]:
        """The pks of every hidden paper (read on every search: the engine leaves these out of its
        candidates and keys its results cache by them), from the partial index paper_community_hidden."""
        pks = frozenset(r[0] for r in self.db.all("SELECT paper_pk FROM paper_community WHERE hidden_at IS NOT NULL"))
        # the same set as last time is handed back as the same object: the caches keyed by it (the
        # engine's results, "for you") then share one copy, and its hash is computed once
        last = getattr(self.db, "_hidden_last", None)
        if last == pks:
            return last
        self.db._hidden_last = pks
        return pks
