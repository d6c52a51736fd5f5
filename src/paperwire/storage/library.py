"""A reader's library (saved papers, tags), "not relevant" marks, and the secret behind the
reader's private feed URLs (a nonce and the token's SHA-256 per account); tables from
migrations/*/0007_community.sql and 0011_feed_tokens.sql. paperwire.library validates tag names
before calling; paperwire.accounts.feed_tokens makes the tokens.

Every call that changes a library, its tags or its "not relevant" marks bumps
``accounts.library_version`` in the same transaction: the "for you" feed caches on it."""

from __future__ import annotations

from ..accounts.types import Account
from ..library.core import MAX_TAGS_PER_ACCOUNT, LibraryEntry, LibraryError
from ..models import utc_now
from .database import Database

_ACCOUNT_COLUMNS = ", ".join(
    f"a.{c}" for c in ("id", "email", "role", "status", "created_at", "last_signin_at", "library_version", "handle")
)
_NOT_SAVED = "save the paper to your library before filing it under tags"


class LibraryStore:
    def __init__(self, db: Database, papers):
        self.db = db
        self._papers = papers

    def saved_pks(self, account_id: int, pks: list[int]) -> set[int]:
        """Which of ``pks`` the account has in its library."""
        return {
            r[0]
            for r in self.db.rows_in(
                "SELECT paper_pk FROM library WHERE account_id=? AND paper_pk{}", pks, (account_id,)
            )
        }

    # -- helpers (inside a write transaction) -------------------------------------------
    @staticmethod
    def _bump_version(c, account_id: int) -> None:
        """First statement of every library write: besides keying the "for you" cache, it locks the
        account's row, so on PostgreSQL (READ COMMITTED) two writes to one library take turns
        and the tag limit checked at their end holds."""
        c.execute("UPDATE accounts SET library_version = library_version + 1 WHERE id=?", (account_id,))

    @staticmethod
    def _check_paper(c, pk: int) -> None:
        if c.execute("SELECT 1 FROM papers WHERE pk=?", (pk,)).fetchone() is None:
            raise LibraryError(f"no paper with pk {pk}")

    @staticmethod
    def _check_tag_limit(c, account_id: int) -> None:
        n = c.execute("SELECT count(DISTINCT tag) FROM library_tags WHERE account_id=?", (account_id,)).fetchone()[0]
        if n > MAX_TAGS_PER_ACCOUNT:
            raise LibraryError(f"a library holds at most {MAX_TAGS_PER_ACCOUNT} tags; remove one before adding another")

    @staticmethod
    def _add_tags(c, account_id: int, pk: int, tags) -> None:
        c.executemany(
            "INSERT INTO library_tags (account_id, paper_pk, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(account_id, pk, t) for t in tags],
        )

    @staticmethod
    def _require_saved(c, account_id: int, pk: int) -> None:
        if c.execute("SELECT 1 FROM library WHERE account_id=? AND paper_pk=?", (account_id, pk)).fetchone() is None:
            raise LibraryError(_NOT_SAVED)

    # -- changes -----------------------------------------------------------------------
    def save(self, account_id: int, pk: int, tags=()) -> bool:
        """Save a paper (True when it was not saved yet) and file it under ``tags`` too (added to
        the tags it has). LibraryError for an unknown paper or more than MAX_TAGS_PER_ACCOUNT tags."""
        with self.db.write() as c:
            self._bump_version(c, account_id)
            self._check_paper(c, pk)
            new = (
                c.execute(
                    "INSERT INTO library (account_id, paper_pk, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (account_id, pk, utc_now()),
                ).rowcount
                == 1
            )
            if tags:
                self._add_tags(c, account_id, pk, tags)
                self._check_tag_limit(c, account_id)
        return new

    def remove(self, account_id: int, pk: int) -> bool:
        """Remove a paper and its tags; True when it was saved."""
        with self.db.write() as c:
            self._bump_version(c, account_id)
            c.execute("DELETE FROM library_tags WHERE account_id=? AND paper_pk=?", (account_id, pk))
            return c.execute("DELETE FROM library WHERE account_id=? AND paper_pk=?", (account_id, pk)).rowcount == 1

    def set_tags(self, account_id: int, pk: int, tags) -> None:
        """Replace a saved paper's tags (LibraryError when it is not saved, or too many tags)."""
        with self.db.write() as c:
            self._bump_version(c, account_id)
            self._require_saved(c, account_id, pk)
            c.execute("DELETE FROM library_tags WHERE account_id=? AND paper_pk=?", (account_id, pk))
            self._add_tags(c, account_id, pk, tags)
            self._check_tag_limit(c, account_id)

    def add_tag(self, account_id: int, pk: int, tag: str) -> None:
        with self.db.write() as c:
            self._bump_version(c, account_id)
            self._require_saved(c, account_id, pk)
            self._add_tags(c, account_id, pk, [tag])
            self._check_tag_limit(c, account_id)

    def remove_tag(self, account_id: int, pk: int, tag: str) -> None:
        with self.db.write() as c:
            self._bump_version(c, account_id)
            c.execute("DELETE FROM library_tags WHERE account_id=? AND paper_pk=? AND tag=?", (account_id, pk, tag))

    def mark_not_relevant(self, account_id: int, pk: int, tag: str = "") -> bool:
        """Remember a paper as a negative example of a feed (tag '' = the merged feed);
        True when it was not marked yet. LibraryError for an unknown paper."""
        with self.db.write() as c:
            self._bump_version(c, account_id)
            self._check_paper(c, pk)
            return (
                c.execute(
                    "INSERT INTO not_relevant (account_id, paper_pk, tag, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (account_id, pk, tag, utc_now()),
                ).rowcount
                == 1
            )

    # -- reads -------------------------------------------------------------------------
    def _rows(self, account_id: int, tag: str | None, limit: int | None, offset: int = 0):
        sql = "SELECT l.paper_pk, l.created_at FROM library l"
        args: list = []
        if tag is not None:
            sql += " JOIN library_tags t ON t.account_id = l.account_id AND t.paper_pk = l.paper_pk AND t.tag = ?"
            args.append(tag)
        sql += " WHERE l.account_id = ? ORDER BY l.created_at DESC, l.paper_pk DESC"
        args.append(account_id)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return self.db.all(sql, args)

    def entries(self, account_id: int, tag: str | None = None, limit: int = 50, offset: int = 0) -> list[LibraryEntry]:
        """Saved papers (under ``tag`` when given), newest saved first."""
        rows = self._rows(account_id, tag, limit, offset)
        pks = [r[0] for r in rows]
        papers = self._papers.get_many(pks)
        tags: dict[int, list[str]] = {pk: [] for pk in pks}
        for r in self.db.rows_in(
            "SELECT paper_pk, tag FROM library_tags WHERE account_id=? AND paper_pk{} ORDER BY tag", pks, (account_id,)
        ):
            tags[r[0]].append(r[1])
        return [LibraryEntry(pk, papers[pk], saved_at, tags[pk]) for pk, saved_at in rows if pk in papers]

    def count(self, account_id: int, tag: str | None = None) -> int:
        if tag is None:
            return self.db.value("SELECT count(*) FROM library WHERE account_id=?", (account_id,))
        return self.db.value("SELECT count(*) FROM library_tags WHERE account_id=? AND tag=?", (account_id, tag))

    def tags(self, account_id: int) -> list[tuple[str, int]]:
        """The account's tags with how many papers each holds, by name."""
        rows = self.db.all("SELECT tag, count(*) FROM library_tags WHERE account_id=? GROUP BY tag", (account_id,))
        return sorted(((r[0], r[1]) for r in rows), key=lambda t: (t[0].lower(), t[0]))

    def pks(self, account_id: int, tag: str | None = None) -> list[int]:
        """Every saved paper (under ``tag``), newest saved first."""
        return [r[0] for r in self._rows(account_id, tag, None)]

    def not_relevant_pks(self, account_id: int, tag: str = "") -> set[int]:
        """The papers marked not relevant for the feed of ``tag`` ('' = merged)."""
        rows = self.db.all("SELECT paper_pk FROM not_relevant WHERE account_id=? AND tag=?", (account_id, tag))
        return {r[0] for r in rows}

    def upvoted_pks(self, account_id: int) -> list[int]:
        """The papers the account upvoted (the community's votes table), newest first."""
        rows = self.db.all(
            "SELECT paper_pk FROM votes WHERE account_id=? ORDER BY created_at DESC, paper_pk DESC", (account_id,)
        )
        return [r[0] for r in rows]

    def recent_pks(self, limit: int, since_day: str | None = None, before_day: str | None = None) -> list[int]:
        """The newest papers by listing day (on or after ``since_day`` and before ``before_day`` when
        given), at most ``limit``: the "for you" feed's candidates."""
        rows = self.db.all(
            "SELECT pk FROM papers WHERE announced >= ? AND announced < ? ORDER BY announced DESC, pk DESC LIMIT ?",
            (since_day or "0000", before_day or "9999", limit),
        )
        return [r[0] for r in rows]

    # -- private feed tokens -----------------------------------------------------------
    def feed_token(self, account_id: int) -> tuple[str, str] | None:
        """(nonce, token_hash) of the account's private feeds, None when it has none yet."""
        row = self.db.one("SELECT nonce, token_hash FROM feed_tokens WHERE account_id=?", (account_id,))
        return (row[0], row[1]) if row else None

    def put_feed_token(self, account_id: int, nonce: str, token_hash: str, *, replace: bool) -> tuple[str, str]:
        """Store a new (nonce, token_hash); without ``replace`` an existing row is kept (two first
        visits at once agree on one). Returns the row the account now has."""
        action = (
            "DO UPDATE SET nonce=excluded.nonce, token_hash=excluded.token_hash, created_at=excluded.created_at"
            if replace
            else "DO NOTHING"
        )
        with self.db.write() as c:
            c.execute(
                "INSERT INTO feed_tokens (account_id, nonce, token_hash, created_at) VALUES (?, ?, ?, ?) "
                f"ON CONFLICT (account_id) {action}",
                (account_id, nonce, token_hash, utc_now()),
            )
            row = c.execute("SELECT nonce, token_hash FROM feed_tokens WHERE account_id=?", (account_id,)).fetchone()
        return row[0], row[1]

    def feed_token_account(self, token_hash: str) -> Account | None:
        """The active account whose private feeds ``token_hash`` opens (None: unknown, reset, or a
        disabled account)."""
        row = self.db.one(
            f"SELECT {_ACCOUNT_COLUMNS} FROM feed_tokens t JOIN accounts a ON a.id = t.account_id "
            "WHERE t.token_hash=? AND a.status='active'",
            (token_hash,),
        )
        return Account(*row) if row else None
