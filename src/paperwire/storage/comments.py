"""Comments on papers and their reports (tables from migrations/*/0013_discussions.sql). The
rules (who may post, replies one level deep, rate limits, notifications, rendering) live in
community/comments.py; this area reads and writes rows, each write joining the caller's
``store.transaction()`` when there is one."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import utc_now
from .database import Database


@dataclass(frozen=True)
class CommentRow:
    id: int
    paper_pk: int
    parent_id: int | None
    account_id: int
    handle: str | None
    body: str
    status: str  # visible | deleted | hidden
    locked: bool
    created_at: str
    edited_at: str | None


_COLUMNS = (
    "c.id, c.paper_pk, c.parent_id, c.account_id, a.handle, c.body, c.status, c.locked, c.created_at, c.edited_at"
)
_FROM = "FROM comments c JOIN accounts a ON a.id = c.account_id"


def _row(r) -> CommentRow:
    return CommentRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9])


class CommentStore:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, paper_pk: int, parent_id: int | None, account_id: int, body: str) -> int:
        with self.db.write() as c:
            return c.execute(
                "INSERT INTO comments (paper_pk, parent_id, account_id, body, created_at) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id",
                (paper_pk, parent_id, account_id, body, utc_now()),
            ).fetchone()[0]

    def get(self, comment_id: int) -> CommentRow | None:
        row = self.db.one(f"SELECT {_COLUMNS} {_FROM} WHERE c.id=?", (comment_id,))
        return _row(row) if row else None

    def for_paper(self, paper_pk: int) -> list[CommentRow]:
        return [
            _row(r) for r in self.db.all(f"SELECT {_COLUMNS} {_FROM} WHERE c.paper_pk=? ORDER BY c.id", (paper_pk,))
        ]

    def set_body(self, comment_id: int, body: str) -> None:
        with self.db.write() as c:
            c.execute("UPDATE comments SET body=?, edited_at=? WHERE id=?", (body, utc_now(), comment_id))

    def set_status(self, comment_id: int, status: str) -> None:
        with self.db.write() as c:
            body = ", body=''" if status == "deleted" else ""
            c.execute(f"UPDATE comments SET status=?{body} WHERE id=?", (status, comment_id))

    def set_locked(self, comment_id: int, locked: bool) -> None:
        with self.db.write() as c:
            c.execute("UPDATE comments SET locked=? WHERE id=?", (1 if locked else 0, comment_id))

    def counts(self, paper_pks) -> dict[int, int]:
        """Visible comments per paper (papers with none are left out)."""
        rows = self.db.rows_in(
            "SELECT paper_pk, count(*) FROM comments WHERE status='visible' AND paper_pk{} GROUP BY paper_pk",
            set(paper_pks),
        )
        return {r[0]: r[1] for r in rows}

    def report(self, comment_id: int, account_id: int) -> bool:
        """False when this account reported it already."""
        with self.db.write() as c:
            row = c.execute(
                "INSERT INTO comment_reports (comment_id, account_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING comment_id",
                (comment_id, account_id, utc_now()),
            ).fetchone()
        return row is not None

    def resolve_reports(self, comment_id: int) -> None:
        with self.db.write() as c:
            c.execute(
                "UPDATE comment_reports SET resolved_at=? WHERE comment_id=? AND resolved_at IS NULL",
                (utc_now(), comment_id),
            )

    def reported(self, limit: int = 100) -> list[tuple[CommentRow, int, str]]:
        """Comments with open reports, most reported first: (comment, open reports, paper id)."""
        rows = self.db.all(
            f"SELECT {_COLUMNS}, n.reports, p.id {_FROM} "
            "JOIN (SELECT comment_id, count(*) AS reports FROM comment_reports WHERE resolved_at IS NULL "
            "GROUP BY comment_id) n ON n.comment_id = c.id JOIN papers p ON p.pk = c.paper_pk "
            "WHERE c.status='visible' ORDER BY n.reports DESC, c.id LIMIT ?",
            (limit,),
        )
        return [(_row(r), r[10], r[11]) for r in rows]
