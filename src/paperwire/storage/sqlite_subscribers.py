"""SQLite implementation of the subscribers part of the storage interface (mixed into SQLiteStore).

Uses self.conn (per-thread connection) and self._write() (a BEGIN IMMEDIATE transaction) of
SQLiteStore; tables are created by migrations/sqlite/0002_subscriptions_and_mail.sql.
"""

from __future__ import annotations


class SQLiteSubscriberMixin:
    pass
