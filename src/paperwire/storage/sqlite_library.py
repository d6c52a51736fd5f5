"""SQLite implementation of the library part of the storage interface (mixed into SQLiteStore);
tables from migrations/sqlite/0007_community.sql. See base_library.py."""

from __future__ import annotations


class SQLiteLibraryMixin:
    def saved_pks(self, account_id: int, pks: list[int]) -> set[int]:
        rows = self._rows_in(f"SELECT paper_pk FROM library WHERE account_id={int(account_id)} AND paper_pk IN ({{}})", pks)
        return {r[0] for r in rows}
