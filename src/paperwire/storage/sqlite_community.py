"""SQLite implementation of the community part of the storage interface (mixed into SQLiteStore);
tables from migrations/sqlite/0007_community.sql. See base_community.py."""

from __future__ import annotations


class SQLiteCommunityMixin:
    pass
