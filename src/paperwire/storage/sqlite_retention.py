"""The retention part of the storage interface (base_retention.py), in SQL both databases run:
mixed into SQLiteStore, and into PostgresStore through postgres_retention.py (PGConnection takes
the ``?`` placeholders)."""

from __future__ import annotations

# the states a message never leaves: its body is no longer needed to send it
_DONE = "('sent', 'failed', 'cancelled')"


class SQLiteRetentionMixin:
    @staticmethod
    def _serialise_with_subscribe(c) -> None:
        """Make a subscribe request for the same address wait until the deletion is committed
        (SQLite's single writer does; PostgresRetentionMixin takes the subscribe lock)."""

    def prune_outbox_bodies(self, created_before: str, now: str, *, batch: int = 1000) -> int:
        total = 0
        while True:
            with self._write() as c:
                # created_at < cut first: the partial index outbox_bodies finds the candidates
                n = c.execute(
                    "UPDATE outbox SET message=?, body_pruned_at=? WHERE id IN ("
                    " SELECT id FROM outbox WHERE body_pruned_at IS NULL AND created_at < ?"
                    f" AND status IN {_DONE} AND coalesce(sent_at, created_at) < ? ORDER BY id LIMIT ?)",
                    (b"", now, created_before, created_before, batch)).rowcount
            total += n
            if n < batch:
                return total

    def prune_pending_subscribers(self, updated_before: str) -> int:
        with self._write() as c:
            self._serialise_with_subscribe(c)
            ids = [r[0] for r in c.execute(
                "SELECT id FROM subscribers s WHERE status='pending' AND confirmed_at IS NULL AND updated_at < ?"
                " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subscriber_id = s.id AND o.status = 'sending')"
                " AND NOT EXISTS (SELECT 1 FROM digests d WHERE d.subscriber_id = s.id)",
                (updated_before,)).fetchall()]
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                marks = ", ".join("?" * len(chunk))
                c.execute(f"DELETE FROM outbox WHERE subscriber_id IN ({marks})", chunk)
                c.execute(f"DELETE FROM saved_searches WHERE subscriber_id IN ({marks})", chunk)
                c.execute(f"DELETE FROM sent_papers WHERE subscriber_id IN ({marks})", chunk)
                c.execute(f"DELETE FROM subscribers WHERE id IN ({marks})", chunk)
            return len(ids)

    def prune_signin_tokens(self, created_before: str) -> int:
        with self._write() as c:
            return c.execute("DELETE FROM signin_tokens WHERE created_at < ?", (created_before,)).rowcount

    def prune_sessions(self, expired_before: str) -> int:
        with self._write() as c:
            return c.execute("DELETE FROM sessions WHERE expires_at < ?", (expired_before,)).rowcount

    def prune_rate_events(self, before: float) -> int:
        with self._write() as c:
            return c.execute("DELETE FROM rate_events WHERE at < ?", (before,)).rowcount
