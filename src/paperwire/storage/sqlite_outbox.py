"""SQLite implementation of the outbox part of the storage interface (mixed into SQLiteStore).

Uses self.conn (per-thread connection) and self._write() (a BEGIN IMMEDIATE transaction) of
SQLiteStore; tables are created by migrations/sqlite/0002_subscriptions_and_mail.sql.

Times are stored as utc_now() writes them ('2025-03-18T07:00:00Z', whole seconds), so they sort
as text. A time that must not come early (next_attempt_at, lease_until) is rounded up to the next
whole second, "now" is rounded down: a message is never taken before it is due, a lease never
ends early.
"""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import datetime, timezone

from ..models import utc_now
from ..mail.types import OutboxMessage

# a recipient is suppressed if the suppressions table holds it in any letter case (conservative:
# suppressions hold addresses as subscriptions.validate.normalise_email writes them)
_SUPPRESSED = "lower(outbox.recipient) IN (SELECT lower(email) FROM suppressions)"
# a digest for someone who unsubscribed since it was queued is not sent either
_UNSUBSCRIBED = (
    "(outbox.kind = 'digest' AND outbox.subscriber_id IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM subscribers sub WHERE sub.id = outbox.subscriber_id AND sub.status IN ('unsubscribed', 'bounced')))"
)


_CLAIM_COLUMNS = (
    "id, kind, subscriber_id, recipient, message_id, message, attempts, "
    f"{_SUPPRESSED} AS suppressed, {_UNSUBSCRIBED} AS unsubscribed"
)


def _ts(epoch: float, *, up: bool = False) -> str:
    secs = math.ceil(epoch) if up else math.floor(epoch)
    return datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_address(address: str) -> str:
    """local@domain with the domain lower-cased (the form suppressions and subscribers use)."""
    address = address.strip()
    if "@" not in address:
        return address.lower()
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


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

    # -- sending -----------------------------------------------------------------------
    def claim_outbox(self, *, limit: int = 1, lease_seconds: float = 300.0,
                     now: float | None = None) -> list[OutboxMessage]:
        now = time.time() if now is None else now
        now_s = _ts(now)
        lease = _ts(now + lease_seconds, up=True)
        claimed: list[OutboxMessage] = []
        with self._write() as c:
            while len(claimed) < limit:
                # two index-ordered reads (no sort over the whole queue): leases that ran out
                # (their sender died; few), then queued messages in due order
                rows = c.execute(
                    f"SELECT {_CLAIM_COLUMNS} FROM outbox WHERE status = 'sending' AND next_attempt_at <= ? "
                    "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, id LIMIT ?",
                    (now_s, now_s, limit - len(claimed)),
                ).fetchall()
                if not rows:
                    rows = c.execute(
                        f"SELECT {_CLAIM_COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? "
                        "ORDER BY next_attempt_at, id LIMIT ?",
                        (now_s, limit - len(claimed)),
                    ).fetchall()
                if not rows:
                    break
                for r in rows:
                    if r["suppressed"] or r["unsubscribed"]:
                        # never sent: cancelled here, so the next round of the loop does not see it
                        why = "recipient is suppressed" if r["suppressed"] else "subscriber unsubscribed"
                        c.execute("UPDATE outbox SET status='cancelled', lease_until=NULL, last_error=? WHERE id=?",
                                  (why, r["id"]))
                        continue
                    c.execute("UPDATE outbox SET status='sending', lease_until=? WHERE id=?", (lease, r["id"]))
                    message = r["message"]
                    claimed.append(OutboxMessage(
                        id=r["id"], kind=r["kind"], subscriber_id=r["subscriber_id"], recipient=r["recipient"],
                        message_id=r["message_id"],
                        message=message.encode("utf-8") if isinstance(message, str) else bytes(message),
                        attempts=r["attempts"],
                    ))
        return claimed

    def has_due_outbox(self, *, now: float | None = None) -> bool:
        now_s = _ts(time.time() if now is None else now)
        row = self.conn.execute(
            "SELECT 1 FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ? "
            "AND (status = 'queued' OR lease_until IS NULL OR lease_until <= ?) LIMIT 1",
            (now_s, now_s),
        ).fetchone()
        return row is not None

    def next_outbox_due(self) -> float | None:
        row = self.conn.execute(
            "SELECT min(t) FROM ("
            "SELECT min(next_attempt_at) AS t FROM outbox WHERE status = 'queued' UNION ALL "
            "SELECT min(max(next_attempt_at, coalesce(lease_until, ''))) FROM outbox WHERE status = 'sending')"
        ).fetchone()
        if not row or row[0] is None:
            return None
        try:
            return datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            return time.time()

    def mark_sent(self, outbox_id: int, *, now: float | None = None) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE outbox SET status='sent', attempts=attempts+1, lease_until=NULL, sent_at=? "
                "WHERE id=? AND status != 'sent'",
                (_ts(time.time() if now is None else now), outbox_id),
            )

    def mark_retry(self, outbox_id: int, error: str, next_attempt_at: float, *,
                   max_attempts: int | None = None) -> str:
        with self._write() as c:
            row = c.execute("SELECT attempts, status FROM outbox WHERE id=?", (outbox_id,)).fetchone()
            if row is None or row["status"] in ("sent", "cancelled", "failed"):
                return row["status"] if row else "missing"
            attempts = row["attempts"] + 1
            status = "failed" if max_attempts is not None and attempts >= max_attempts else "queued"
            c.execute(
                "UPDATE outbox SET status=?, attempts=?, last_error=?, next_attempt_at=?, lease_until=NULL WHERE id=?",
                (status, attempts, error[:2000], _ts(next_attempt_at, up=True), outbox_id),
            )
            return status

    def release_outbox(self, outbox_id: int, error: str | None = None) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE outbox SET status='queued', lease_until=NULL, last_error=coalesce(?, last_error) "
                "WHERE id=? AND status='sending'",
                (error, outbox_id),
            )

    def mark_failed(self, outbox_id: int, error: str) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE outbox SET status='failed', attempts=attempts+1, last_error=?, lease_until=NULL "
                "WHERE id=? AND status != 'sent'",
                (error[:2000], outbox_id),
            )

    def mark_bounced(self, outbox_id: int, error: str) -> None:
        now = utc_now()
        with self._write() as c:
            row = c.execute("SELECT recipient, subscriber_id FROM outbox WHERE id=?", (outbox_id,)).fetchone()
            if row is None:
                return
            c.execute(
                "UPDATE outbox SET status='failed', attempts=attempts+1, last_error=?, lease_until=NULL "
                "WHERE id=? AND status != 'sent'",
                (("bounced: " + error)[:2000], outbox_id),
            )
            c.execute("INSERT INTO suppressions (email, reason, created_at) VALUES (?, ?, ?) "
                      "ON CONFLICT(email) DO NOTHING",
                      (normalise_address(row["recipient"]), ("bounce: " + error)[:500], now))
            if row["subscriber_id"] is not None:
                c.execute("UPDATE subscribers SET status='bounced', bounced_at=?, updated_at=? WHERE id=?",
                          (now, now, row["subscriber_id"]))
            self._cancel_suppressed(c)

    @staticmethod
    def _cancel_suppressed(c: sqlite3.Connection) -> int:
        return c.execute(
            "UPDATE outbox SET status='cancelled', lease_until=NULL, last_error='recipient is suppressed' "
            f"WHERE status='queued' AND {_SUPPRESSED}"
        ).rowcount

    def cancel_suppressed(self) -> int:
        with self._write() as c:
            return self._cancel_suppressed(c)

    def outbox_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in ("queued", "sending", "sent", "failed", "cancelled")}
        for status, n in self.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"):
            counts[status] = n
        return counts
