"""SQLite implementation of the library part of the storage interface (mixed into SQLiteStore);
tables from migrations/sqlite/0007_community.sql. See base_library.py."""

from __future__ import annotations

from ..models import utc_now
from .base_library import MAX_TAGS_PER_ACCOUNT, LibraryEntry, LibraryError


class SQLiteLibraryMixin:
    def saved_pks(self, account_id: int, pks: list[int]) -> set[int]:
        rows = self._rows_in(f"SELECT paper_pk FROM library WHERE account_id={int(account_id)} AND paper_pk IN ({{}})", pks)
        return {r[0] for r in rows}

    # -- helpers (run inside a write transaction) ---------------------------------------
    @staticmethod
    def _bump_library_version(c, account_id: int) -> None:
        """First statement of every library write: besides keying the "for you" cache, it locks the
        account's row, so on PostgreSQL (READ COMMITTED, where this mixin runs too) two writes to one
        library take turns and the tag limit checked at their end holds."""
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
        c.executemany("INSERT INTO library_tags (account_id, paper_pk, tag) VALUES (?, ?, ?) "
                      "ON CONFLICT DO NOTHING", [(account_id, pk, t) for t in tags])

    @staticmethod
    def _is_saved(c, account_id: int, pk: int) -> bool:
        return c.execute("SELECT 1 FROM library WHERE account_id=? AND paper_pk=?", (account_id, pk)).fetchone() is not None

    # -- changes -----------------------------------------------------------------------
    def save_to_library(self, account_id: int, pk: int, tags=()) -> bool:
        with self._write() as c:
            self._bump_library_version(c, account_id)
            self._check_paper(c, pk)
            new = c.execute("INSERT INTO library (account_id, paper_pk, created_at) VALUES (?, ?, ?) "
                            "ON CONFLICT DO NOTHING", (account_id, pk, utc_now())).rowcount == 1
            if tags:
                self._add_tags(c, account_id, pk, tags)
                self._check_tag_limit(c, account_id)
        return new

    def remove_from_library(self, account_id: int, pk: int) -> bool:
        with self._write() as c:
            self._bump_library_version(c, account_id)
            c.execute("DELETE FROM library_tags WHERE account_id=? AND paper_pk=?", (account_id, pk))
            gone = c.execute("DELETE FROM library WHERE account_id=? AND paper_pk=?", (account_id, pk)).rowcount == 1
        return gone

    def set_tags(self, account_id: int, pk: int, tags) -> None:
        with self._write() as c:
            self._bump_library_version(c, account_id)
            if not self._is_saved(c, account_id, pk):
                raise LibraryError("save the paper to your library before filing it under tags")
            c.execute("DELETE FROM library_tags WHERE account_id=? AND paper_pk=?", (account_id, pk))
            self._add_tags(c, account_id, pk, tags)
            self._check_tag_limit(c, account_id)

    def add_tag(self, account_id: int, pk: int, tag: str) -> None:
        with self._write() as c:
            self._bump_library_version(c, account_id)
            if not self._is_saved(c, account_id, pk):
                raise LibraryError("save the paper to your library before filing it under tags")
            self._add_tags(c, account_id, pk, [tag])
            self._check_tag_limit(c, account_id)

    def remove_tag(self, account_id: int, pk: int, tag: str) -> None:
        with self._write() as c:
            self._bump_library_version(c, account_id)
            c.execute("DELETE FROM library_tags WHERE account_id=? AND paper_pk=? AND tag=?", (account_id, pk, tag))

    def mark_not_relevant(self, account_id: int, pk: int, tag: str = "") -> bool:
        with self._write() as c:
            self._bump_library_version(c, account_id)
            self._check_paper(c, pk)
            new = c.execute("INSERT INTO not_relevant (account_id, paper_pk, tag, created_at) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT DO NOTHING", (account_id, pk, tag, utc_now())).rowcount == 1
        return new

    # -- reads -------------------------------------------------------------------------
    def _library_rows(self, account_id: int, tag: str | None, limit: int | None, offset: int = 0):
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
        return self.conn.execute(sql, args).fetchall()

    def library(self, account_id: int, tag: str | None = None, limit: int = 50, offset: int = 0) -> list[LibraryEntry]:
        rows = self._library_rows(account_id, tag, limit, offset)
        pks = [r[0] for r in rows]
        papers = self.papers.get_many(pks)
        tags: dict[int, list[str]] = {pk: [] for pk in pks}
        for r in self._rows_in(f"SELECT paper_pk, tag FROM library_tags WHERE account_id={int(account_id)} "
                               "AND paper_pk IN ({}) ORDER BY tag", pks):
            tags[r[0]].append(r[1])
        return [LibraryEntry(pk, papers[pk], saved_at, tags[pk]) for pk, saved_at in rows if pk in papers]

    def library_count(self, account_id: int, tag: str | None = None) -> int:
        if tag is None:
            return self.conn.execute("SELECT count(*) FROM library WHERE account_id=?", (account_id,)).fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM library_tags WHERE account_id=? AND tag=?",
                                 (account_id, tag)).fetchone()[0]

    def library_tags(self, account_id: int) -> list[tuple[str, int]]:
        rows = self.conn.execute("SELECT tag, count(*) FROM library_tags WHERE account_id=? GROUP BY tag",
                                 (account_id,)).fetchall()
        return sorted(((r[0], r[1]) for r in rows), key=lambda t: (t[0].lower(), t[0]))

    def library_pks(self, account_id: int, tag: str | None = None) -> list[int]:
        return [r[0] for r in self._library_rows(account_id, tag, None)]

    def not_relevant_pks(self, account_id: int, tag: str = "") -> set[int]:
        rows = self.conn.execute("SELECT paper_pk FROM not_relevant WHERE account_id=? AND tag=?", (account_id, tag))
        return {r[0] for r in rows}

    def upvoted_pks(self, account_id: int) -> list[int]:
        rows = self.conn.execute("SELECT paper_pk FROM votes WHERE account_id=? ORDER BY created_at DESC, paper_pk DESC",
                                 (account_id,))
        return [r[0] for r in rows]

    def recent_pks(self, limit: int, since_day: str | None = None, before_day: str | None = None) -> list[int]:
        rows = self.conn.execute("SELECT pk FROM papers WHERE announced >= ? AND announced < ? "
                                 "ORDER BY announced DESC, pk DESC LIMIT ?",
                                 (since_day or "0000", before_day or "9999", limit))
        return [r[0] for r in rows]
