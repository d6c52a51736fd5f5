"""SQLite implementation of the trending part of the storage interface (mixed into SQLiteStore);
tables from migrations/sqlite/0007_community.sql. See base_trending.py."""

from __future__ import annotations


class SQLiteTrendingMixin:
    pass
