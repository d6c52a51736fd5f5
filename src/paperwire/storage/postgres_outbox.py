"""PostgreSQL implementation of the outbox part of the storage interface (mixed into
PostgresStore); the same behaviour as sqlite_outbox.py (times as the same ISO text, rounded the
same way), tables from migrations/postgres/0002_subscriptions_and_mail.sql. It subclasses the
SQLite mixin and overrides only what differs (the portable methods run as they are).

Claiming: SQLite's single writer makes "select due rows, mark them sending" atomic. Here several
senders claim at once, so the select locks the rows it returns (FOR UPDATE) and passes over rows
another sender has locked (SKIP LOCKED): two senders never take the same row, and neither waits
for the other. A row a sender locked and leased no longer matches once that sender commits.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import psycopg

from ..models import utc_now
from ..mail.types import OutboxMessage
from .sqlite_outbox import _CLAIM_COLUMNS, _SUPPRESSED, SQLiteOutboxMixin, _ts, normalise_address


class PostgresOutboxMixin(SQLiteOutboxMixin):
    @staticmethod
    def _insert_outbox(c: psycopg.Connection, *, kind: str, recipient: str, message_id: str, message: bytes,
                       subscriber_id: int | None = None) -> int | None:
        """Queue a message inside the caller's transaction (None when that Message-ID is queued
        already: composing twice never sends twice)."""
        now = utc_now()
        if isinstance(message, str):
            message = message.encode("utf-8")
        row = c.execute(
            "INSERT INTO outbox (kind, subscriber_id, recipient, message_id, message, next_attempt_at, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT(message_id) DO NOTHING RETURNING id",
            (kind, subscriber_id, recipient, message_id, bytes(message), now, now),
        ).fetchone()
        return row[0] if row else None

    # -- sending -----------------------------------------------------------------------
    def claim_outbox(self, *, limit: int = 1, lease_seconds: float = 300.0,
                     now: float | None = None) -> list[OutboxMessage]:
        now = time.time() if now is None else now
        now_s = _ts(now)
        lease = _ts(now + lease_seconds, up=True)
        claimed: list[OutboxMessage] = []
        with self._write() as c:
            while len(claimed) < limit:
                # leases that ran out (their sender died; few), then queued messages in due order
                rows = c.execute(
                    f"SELECT {_CLAIM_COLUMNS} FROM outbox WHERE status = 'sending' AND next_attempt_at <= %s "
                    "AND (lease_until IS NULL OR lease_until <= %s) ORDER BY next_attempt_at, id LIMIT %s "
                    "FOR UPDATE OF outbox SKIP LOCKED",
                    (now_s, now_s, limit - len(claimed)),
                ).fetchall()
                if not rows:
                    rows = c.execute(
                        f"SELECT {_CLAIM_COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt_at <= %s "
                        "ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE OF outbox SKIP LOCKED",
                        (now_s, limit - len(claimed)),
                    ).fetchall()
                if not rows:
                    break
                for r in rows:
                    if r["suppressed"] or r["unsubscribed"]:
                        # never sent: cancelled here, so the next round of the loop does not see it
                        why = "recipient is suppressed" if r["suppressed"] else "subscriber unsubscribed"
                        c.execute("UPDATE outbox SET status='cancelled', lease_until=NULL, last_error=%s WHERE id=%s",
                                  (why, r["id"]))
                        continue
                    c.execute("UPDATE outbox SET status='sending', lease_until=%s WHERE id=%s", (lease, r["id"]))
                    claimed.append(OutboxMessage(
                        id=r["id"], kind=r["kind"], subscriber_id=r["subscriber_id"], recipient=r["recipient"],
                        message_id=r["message_id"], message=bytes(r["message"]), attempts=r["attempts"],
                    ))
        return claimed

    def has_due_outbox(self, *, now: float | None = None) -> bool:
        now_s = _ts(time.time() if now is None else now)
        row = self._one(
            "SELECT 1 FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= %s "
            "AND (status = 'queued' OR lease_until IS NULL OR lease_until <= %s) LIMIT 1",
            (now_s, now_s),
        )
        return row is not None

    def next_outbox_due(self) -> float | None:
        t = self._value(
            "SELECT min(t) FROM ("
            "SELECT min(next_attempt_at) AS t FROM outbox WHERE status = 'queued' UNION ALL "
            "SELECT min(greatest(next_attempt_at, coalesce(lease_until, ''))) FROM outbox WHERE status = 'sending'"
            ") AS due"
        )
        if t is None:
            return None
        try:
            return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            return time.time()

    def mark_retry(self, outbox_id: int, error: str, next_attempt_at: float, *,
                   max_attempts: int | None = None) -> str:
        with self._write() as c:
            row = c.execute("SELECT attempts, status FROM outbox WHERE id=%s FOR UPDATE", (outbox_id,)).fetchone()
            if row is None or row["status"] in ("sent", "cancelled", "failed"):
                return row["status"] if row else "missing"
            attempts = row["attempts"] + 1
            status = "failed" if max_attempts is not None and attempts >= max_attempts else "queued"
            c.execute(
                "UPDATE outbox SET status=%s, attempts=%s, last_error=%s, next_attempt_at=%s, lease_until=NULL "
                "WHERE id=%s",
                (status, attempts, error[:2000], _ts(next_attempt_at, up=True), outbox_id),
            )
            return status

    def mark_bounced(self, outbox_id: int, error: str) -> None:
        now = utc_now()
        with self._write() as c:
            row = c.execute("SELECT recipient, subscriber_id FROM outbox WHERE id=%s FOR UPDATE",
                            (outbox_id,)).fetchone()
            if row is None:
                return
            c.execute(
                "UPDATE outbox SET status='failed', attempts=attempts+1, last_error=%s, lease_until=NULL "
                "WHERE id=%s AND status != 'sent'",
                (("bounced: " + error)[:2000], outbox_id),
            )
            c.execute("INSERT INTO suppressions (email, reason, created_at) VALUES (%s, %s, %s) "
                      "ON CONFLICT(email) DO NOTHING",
                      (normalise_address(row["recipient"]), ("bounce: " + error)[:500], now))
            if row["subscriber_id"] is not None:
                c.execute("UPDATE subscribers SET status='bounced', bounced_at=%s, updated_at=%s WHERE id=%s",
                          (now, now, row["subscriber_id"]))
            self._cancel_suppressed(c)

    @staticmethod
    def _cancel_suppressed(c: psycopg.Connection) -> int:
        return c.execute(
            "UPDATE outbox SET status='cancelled', lease_until=NULL, last_error='recipient is suppressed' "
            f"WHERE status='queued' AND {_SUPPRESSED}"
        ).rowcount

    def outbox_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in ("queued", "sending", "sent", "failed", "cancelled")}
        for status, n in self._all("SELECT status, count(*) FROM outbox GROUP BY status"):
            counts[status] = n
        return counts
