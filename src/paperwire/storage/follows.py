"""Follows and authorship claims (tables from migrations/*/0014_follows.sql). paperwire.follows
validates and normalises what a reader asks for before calling."""

from __future__ import annotations

from ..follows.types import MAX_FOLLOWS_PER_ACCOUNT, Claim, Follow, FollowError
from ..models import utc_now
from .database import Database

_COLUMNS = "id, kind, value, value_key, created_at, paper_pk, notify_comments"


def _follow(r) -> Follow:
    return Follow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]))


class FollowStore:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        account_id: int,
        kind: str,
        value: str,
        key: str,
        *,
        paper_pk: int | None = None,
        seen_version: str | None = None,
        seen_code: str | None = None,
        notify_comments: bool = False,
    ) -> tuple[Follow, bool]:
        """The follow (made now, True; or the one the reader already had, False)."""
        with self.db.write() as c:
            # lock the account's row so two concurrent follows cannot pass the limit together
            c.execute("UPDATE accounts SET library_version = library_version WHERE id=?", (account_id,))
            row = c.execute(
                f"SELECT {_COLUMNS} FROM follows WHERE account_id=? AND kind=? AND value_key=?",
                (account_id, kind, key),
            ).fetchone()
            if row is not None:
                return _follow(row), False
            n = c.execute("SELECT count(*) FROM follows WHERE account_id=?", (account_id,)).fetchone()[0]
            if n >= MAX_FOLLOWS_PER_ACCOUNT:
                raise FollowError(f"a reader follows at most {MAX_FOLLOWS_PER_ACCOUNT} things; unfollow one first")
            row = c.execute(
                "INSERT INTO follows (account_id, kind, value, value_key, paper_pk, notify_comments, seen_version,"
                f" seen_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (account_id, kind, value, key, paper_pk, int(notify_comments), seen_version, seen_code, utc_now()),
            ).fetchone()
            return _follow(row), True

    def list(self, account_id: int, kind: str | None = None) -> list[Follow]:
        sql = f"SELECT {_COLUMNS} FROM follows WHERE account_id=?"
        args: tuple = (account_id,)
        if kind:
            sql += " AND kind=?"
            args += (kind,)
        return [_follow(r) for r in self.db.all(sql + " ORDER BY created_at DESC, id DESC", args)]

    def get(self, account_id: int, kind: str, key: str) -> Follow | None:
        r = self.db.one(
            f"SELECT {_COLUMNS} FROM follows WHERE account_id=? AND kind=? AND value_key=?", (account_id, kind, key)
        )
        return _follow(r) if r else None

    def delete(self, account_id: int, follow_id: int) -> bool:
        """False when the reader has no follow with this id (someone else's counts as none)."""
        with self.db.write() as c:
            cur = c.execute("DELETE FROM follows WHERE id=? AND account_id=?", (follow_id, account_id))
            return cur.rowcount > 0

    def set_notify_comments(self, account_id: int, follow_id: int, on: bool) -> bool:
        with self.db.write() as c:
            cur = c.execute(
                "UPDATE follows SET notify_comments=? WHERE id=? AND account_id=? AND kind='paper'",
                (int(on), follow_id, account_id),
            )
            return cur.rowcount > 0

    # -- paper follows: what changed since the reader was last told -------------------------
    def paper_followers(self, paper_pk: int) -> list[tuple[int, int, str | None, str | None, bool]]:
        """(follow id, account id, seen version, seen code, notify_comments) of the active
        accounts following a paper."""
        return [
            (r[0], r[1], r[2], r[3], bool(r[4]))
            for r in self.db.all(
                "SELECT f.id, f.account_id, f.seen_version, f.seen_code, f.notify_comments FROM follows f "
                "JOIN accounts a ON a.id = f.account_id WHERE f.kind='paper' AND f.paper_pk=? AND a.status='active' "
                "ORDER BY f.id",
                (paper_pk,),
            )
        ]

    # what a paper follow compares: its version and its code link, the paper's own or the
    # repository the Hugging Face import found (paper_community.github_repo)
    _STATE = (
        "SELECT p.version, coalesce(p.code_url, CASE WHEN pc.github_repo IS NOT NULL "
        "THEN 'https://github.com/' || pc.github_repo END) FROM papers p "
        "LEFT JOIN paper_community pc ON pc.paper_pk = p.pk"
    )

    def paper_state(self, paper_pk: int) -> tuple[str | None, str | None]:
        r = self.db.one(self._STATE + " WHERE p.pk=?", (paper_pk,))
        return (str(r[0]) if r and r[0] is not None else None, r[1] if r else None)

    def paper_changes(self, limit: int = 1000) -> list[tuple]:
        """(follow id, account email, paper id, title, version, code, seen version, seen code) of
        paper follows whose paper changed since the reader was told; active accounts and papers
        no curator hid only."""
        sql = (
            "SELECT f.id, a.email, p.id, p.title, p.version, "
            "coalesce(p.code_url, CASE WHEN pc.github_repo IS NOT NULL THEN 'https://github.com/' || pc.github_repo END), "
            "f.seen_version, f.seen_code FROM follows f JOIN accounts a ON a.id = f.account_id "
            "JOIN papers p ON p.pk = f.paper_pk LEFT JOIN paper_community pc ON pc.paper_pk = p.pk "
            "WHERE f.kind='paper' AND a.status='active' AND pc.hidden_at IS NULL ORDER BY f.id"
        )
        out = []
        for r in self.db.all(sql):
            version = str(r[4]) if r[4] is not None else None
            if version != r[6] or (r[5] or None) != r[7]:
                out.append((r[0], r[1], r[2], r[3], version, r[5], r[6], r[7]))
                if len(out) >= limit:
                    break
        return out

    def mark_seen(self, follow_id: int, version: str | None, code: str | None) -> None:
        """Inside the caller's transaction (the one that queues the notification)."""
        with self.db.write() as c:
            c.execute("UPDATE follows SET seen_version=?, seen_code=? WHERE id=?", (version, code, follow_id))

    # -- claims -----------------------------------------------------------------------------
    _CLAIM = (
        "SELECT c.id, c.account_id, a.email, p.id, p.title, c.status, c.created_at, c.decided_at "
        "FROM paper_claims c JOIN accounts a ON a.id = c.account_id JOIN papers p ON p.pk = c.paper_pk"
    )

    def claim(self, account_id: int, paper_pk: int) -> tuple[int, bool]:
        """(claim id, True when new). A rejected claim is not reopened by claiming again."""
        with self.db.write() as c:
            row = c.execute(
                "INSERT INTO paper_claims (account_id, paper_pk, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (account_id, paper_pk) DO NOTHING RETURNING id",
                (account_id, paper_pk, utc_now()),
            ).fetchone()
            if row is not None:
                return row[0], True
            old = c.execute(
                "SELECT id FROM paper_claims WHERE account_id=? AND paper_pk=?", (account_id, paper_pk)
            ).fetchone()
            return old[0], False

    def claims(self, *, status: str | None = None, account_id: int | None = None, limit: int = 200) -> list[Claim]:
        where, args = [], []
        if status:
            where.append("c.status=?")
            args.append(status)
        if account_id is not None:
            where.append("c.account_id=?")
            args.append(account_id)
        sql = self._CLAIM + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY c.id DESC LIMIT ?"
        return [Claim(*r) for r in self.db.all(sql, (*args, limit))]

    def decide(self, claim_id: int, curator_id: int, status: str) -> tuple[int, int] | None:
        """Set a pending claim's outcome; (account id, paper pk), or None when it was not pending."""
        with self.db.write() as c:
            row = c.execute(
                "UPDATE paper_claims SET status=?, decided_at=?, decided_by=? WHERE id=? AND status='pending' "
                "RETURNING account_id, paper_pk",
                (status, utc_now(), curator_id, claim_id),
            ).fetchone()
            return (row[0], row[1]) if row else None


__all__ = ["FollowStore"]
