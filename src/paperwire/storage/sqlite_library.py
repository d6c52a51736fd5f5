"""SQLite implementation of the library part of the storage interface (mixed into SQLiteStore);
tables from migrations/sqlite/0007_community.sql. See base_library.py."""

from __future__ import annotations


class SQLiteLibraryMixin:
    pass
