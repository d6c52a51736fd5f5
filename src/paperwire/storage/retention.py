"""Deleting what paperwire.retention says is no longer needed: sent messages' bodies, subscribers
that never confirmed, spent sign-in links, expired sessions, old rate-limit events."""

from __future__ import annotations

from .database import LOCK_SUBSCRIBE, Database

# the states a message never leaves: its body is no longer needed to send it
_DONE = "('sent', 'failed', 'cancelled')"


class RetentionStore:
    def __init__(self, db: Database):
        self.db = db

    def prune_outbox_bodies(self, created_before: str, now: str, *, batch: int = 1000) -> int:
        """Empty the body of every sent, failed or cancelled message created and finished before
        ``created_before`` (set body_pruned_at = ``now``; everything else about the row stays), in
        transactions of ``batch`` rows so that senders and web writes never wait long. Returns how
        many bodies were dropped."""
        total = 0
        while True:
            with self.db.write() as c:
                # created_at < cut first: the partial index outbox_bodies finds the candidates
                n = c.execute(
                    "UPDATE outbox SET message=?, body_pruned_at=? WHERE id IN ("
                    " SELECT id FROM outbox WHERE body_pruned_at IS NULL AND created_at < ?"
                    f" AND status IN {_DONE} AND coalesce(sent_at, created_at) < ? ORDER BY id LIMIT ?)",
                    (b"", now, created_before, created_before, batch),
                ).rowcount
            total += n
            if n < batch:
                return total

    def prune_pending_subscribers(self, updated_before: str) -> int:
        """Delete the subscribers still pending that never confirmed (confirmed_at IS NULL) and
        last asked before ``updated_before``, with their saved searches and their messages (the
        confirmation mails); none whose message a sender is sending. Returns how many."""
        with self.db.write() as c:
            # a subscribe request for the same address, running at once, would otherwise update a
            # row that is being deleted
            self.db.serialize(c, LOCK_SUBSCRIBE)
            ids = [
                r[0]
                for r in c.execute(
                    "SELECT id FROM subscribers s WHERE status='pending' AND confirmed_at IS NULL AND updated_at < ?"
                    " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subscriber_id = s.id AND o.status = 'sending')"
                    " AND NOT EXISTS (SELECT 1 FROM digests d WHERE d.subscriber_id = s.id)",
                    (updated_before,),
                ).fetchall()
            ]
            for sql in (
                "DELETE FROM outbox WHERE subscriber_id{}",
                "DELETE FROM saved_searches WHERE subscriber_id{}",
                "DELETE FROM sent_papers WHERE subscriber_id{}",
                "DELETE FROM subscribers WHERE id{}",
            ):
                self.db.execute_in(c, sql, ids)
            return len(ids)

    def prune_signin_tokens(self, created_before: str) -> int:
        with self.db.write() as c:
            return c.execute("DELETE FROM signin_tokens WHERE created_at < ?", (created_before,)).rowcount

    def prune_sessions(self, expired_before: str) -> int:
        with self.db.write() as c:
            return c.execute("DELETE FROM sessions WHERE expires_at < ?", (expired_before,)).rowcount

    def prune_rate_events(self, before: float) -> int:
        """Rate-limit events older than ``before`` (epoch seconds)."""
        with self.db.write() as c:
            return c.execute("DELETE FROM rate_events WHERE at < ?", (before,)).rowcount
