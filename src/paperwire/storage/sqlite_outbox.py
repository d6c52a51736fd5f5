"""SQLite implementation of the outbox part of the storage interface (mixed into SQLiteStore).

Uses self.conn (per-thread connection) and self._write() (a BEGIN IMMEDIATE transaction) of
SQLiteStore; tables are created by migrations/sqlite/0002_subscriptions_and_mail.sql.
"""

from __future__ import annotations

import sqlite3

from ..models import utc_now


class SQLiteOutboxMixin:
    @staticmethod
    def _insert_outbox(c: sqlite3.Connection, *, kind: str, recipient: str, message_id: str, message: bytes,
                       subscriber_id: int | None = None) -> int | None:
        """Queue a message inside the caller's transaction. A message whose Message-ID is already
        queued is not queued again (returns None): composing twice never sends twice."""
        now = utc_now()
        cur = c.execute(
            "INSERT INTO outbox (kind, subscriber_id, recipient, message_id, message, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO NOTHING",
            (kind, subscriber_id, recipient, message_id, message, now, now),
        )
        return cur.lastrowid if cur.rowcount else None

    def enqueue_message(self, *, kind: str, recipient: str, message_id: str, message: bytes,
                        subscriber_id: int | None = None) -> int | None:
        with self._write() as c:
            return self._insert_outbox(c, kind=kind, recipient=recipient, message_id=message_id,
                                       message=message, subscriber_id=subscriber_id)
