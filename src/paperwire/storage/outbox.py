"""The outbox: how every mail leaves Paperwire (tables from migrations/*/0002_subscriptions_and_mail.sql).

Whoever composes a message queues it in the same transaction as the state it belongs to
(``insert`` inside a ``store.transaction()``); senders (mail/sender.py) take due rows under a
lease, one at a time, and record the outcome. Times are epoch seconds (float) at this interface
and stored as utc_now() writes them ('2025-03-18T07:00:00Z', whole seconds), so they sort as
text. A time that must not come early (next_attempt_at, lease_until) is rounded up to the next
whole second, "now" is rounded down: a message is never taken before it is due, a lease never
ends early.

Claiming is the one place where the databases differ. SQLite's single writer makes "select due
rows, mark them sending" atomic. On PostgreSQL several senders claim at once, so the select
locks the rows it returns and passes over rows another sender has locked (the dialect's
``claim_lock``: ``FOR UPDATE SKIP LOCKED``): two senders never take the same row, and neither
waits for the other. A row a sender locked and leased no longer matches once that sender commits.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from ..mail.types import OutboxMessage
from ..models import utc_now
from .database import Database
from .subscribers import SubscriberStore

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
# leases that ran out (their sender died; few), then queued messages in due order: two
# index-ordered reads, no sort over the whole queue
_EXPIRED_LEASES = (
    f"SELECT {_CLAIM_COLUMNS} FROM outbox WHERE status = 'sending' AND next_attempt_at <= ? "
    "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, id LIMIT ?"
)
_DUE = f"SELECT {_CLAIM_COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
_STATUSES = ("queued", "sending", "sent", "failed", "cancelled")


def _ts(epoch: float, *, up: bool = False) -> str:
    secs = math.ceil(epoch) if up else math.floor(epoch)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_bytes(message) -> bytes:
    # SQLite hands back what was stored (bytes; text from old rows), PostgreSQL a memoryview
    return message.encode("utf-8") if isinstance(message, str) else bytes(message)


def normalise_address(address: str) -> str:
    """local@domain with the domain lower-cased (the form suppressions and subscribers use)."""
    address = address.strip()
    if "@" not in address:
        return address.lower()
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def insert_message(
    c, *, kind: str, recipient: str, message_id: str, message: bytes, subscriber_id: int | None = None
) -> int | None:
    """OutboxStore.insert on the connection of a transaction the caller holds (the digest run
    queues thousands in one; a savepoint each would cost)."""
    now = utc_now()
    row = c.execute(
        "INSERT INTO outbox (kind, subscriber_id, recipient, message_id, message, next_attempt_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO NOTHING RETURNING id",
        (kind, subscriber_id, recipient, message_id, _as_bytes(message), now, now),
    ).fetchone()
    return row[0] if row else None


# the states a message never leaves: its body is no longer needed to send it
_DONE = "('sent', 'failed', 'cancelled')"


class OutboxStore:
    def __init__(self, db: Database):
        self.db = db

    def insert(
        self, *, kind: str, recipient: str, message_id: str, message: bytes, subscriber_id: int | None = None
    ) -> int | None:
        """Queue one message (inside ``store.transaction()``: in that transaction). A message whose
        Message-ID is already queued is not queued again (None): composing twice never sends twice."""
        with self.db.write() as c:
            return insert_message(
                c, kind=kind, recipient=recipient, message_id=message_id, message=message, subscriber_id=subscriber_id
            )

    def count_for(self, subscriber_id: int) -> int:
        """Messages ever queued for the subscriber (numbers the next one's Message-ID)."""
        return self.db.value("SELECT count(*) FROM outbox WHERE subscriber_id=?", (subscriber_id,))

    def is_suppressed(self, email: str) -> bool:
        return self.db.one("SELECT 1 FROM suppressions WHERE lower(email)=lower(?)", (email,)) is not None

    # -- sending -----------------------------------------------------------------------
    def claim(self, *, limit: int = 1, lease_seconds: float = 300.0, now: float | None = None) -> list[OutboxMessage]:
        """In one write transaction: take up to ``limit`` due messages (queued with
        next_attempt_at <= now, or 'sending' whose lease has run out: its sender died), set them
        'sending' with lease_until = now + lease_seconds, and return them. Two senders never take
        the same row while its lease runs. Due messages to a suppressed address (and digests to
        a subscriber who unsubscribed or bounced) are cancelled instead of returned."""
        now = time.time() if now is None else now
        now_s, lease = _ts(now), _ts(now + lease_seconds, up=True)
        lock = self.db.dialect.claim_lock
        claimed: list[OutboxMessage] = []
        with self.db.write() as c:
            while len(claimed) < limit:
                rows = c.execute(_EXPIRED_LEASES + lock, (now_s, now_s, limit - len(claimed))).fetchall()
                if not rows:
                    rows = c.execute(_DUE + lock, (now_s, limit - len(claimed))).fetchall()
                if not rows:
                    break
                for r in rows:
                    if r["suppressed"] or r["unsubscribed"]:
                        # never sent: cancelled here, so the next round of the loop does not see it
                        why = "recipient is suppressed" if r["suppressed"] else "subscriber unsubscribed"
                        c.execute(
                            "UPDATE outbox SET status='cancelled', lease_until=NULL, last_error=? WHERE id=?",
                            (why, r["id"]),
                        )
                        continue
                    c.execute("UPDATE outbox SET status='sending', lease_until=? WHERE id=?", (lease, r["id"]))
                    claimed.append(
                        OutboxMessage(
                            id=r["id"],
                            kind=r["kind"],
                            subscriber_id=r["subscriber_id"],
                            recipient=r["recipient"],
                            message_id=r["message_id"],
                            message=_as_bytes(r["message"]),
                            attempts=r["attempts"],
                        )
                    )
        return claimed

    def has_due(self, *, now: float | None = None) -> bool:
        """Whether claim would find something (a cheap read; nothing is taken)."""
        now_s = _ts(time.time() if now is None else now)
        return (
            self.db.one(
                "SELECT 1 FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ? "
                "AND (status = 'queued' OR lease_until IS NULL OR lease_until <= ?) LIMIT 1",
                (now_s, now_s),
            )
            is not None
        )

    def next_due(self) -> float | None:
        """When the earliest queued or leased message becomes due (epoch seconds), None if none."""
        t = self.db.value(
            "SELECT min(t) FROM (SELECT min(next_attempt_at) AS t FROM outbox WHERE status = 'queued' UNION ALL "
            "SELECT min(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END) "
            "FROM outbox WHERE status = 'sending') AS due"
        )
        if t is None:
            return None
        try:
            return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return time.time()

    def mark_sent(self, outbox_id: int, *, now: float | None = None) -> None:
        """The server accepted the message: status 'sent', attempts + 1, sent_at."""
        with self.db.write() as c:
            c.execute(
                "UPDATE outbox SET status='sent', attempts=attempts+1, lease_until=NULL, sent_at=? "
                "WHERE id=? AND status != 'sent'",
                (_ts(time.time() if now is None else now), outbox_id),
            )

    def mark_retry(self, outbox_id: int, error: str, next_attempt_at: float, *, max_attempts: int | None = None) -> str:
        """A temporary failure: attempts + 1, last_error, back to 'queued' until next_attempt_at;
        'failed' instead once attempts reaches max_attempts. Returns the new status."""
        with self.db.write() as c:
            row = c.execute(
                "SELECT attempts, status FROM outbox WHERE id=?" + self.db.dialect.row_lock, (outbox_id,)
            ).fetchone()
            if row is None or row["status"] in ("sent", "cancelled", "failed"):
                return row["status"] if row else "missing"
            attempts = row["attempts"] + 1
            status = "failed" if max_attempts is not None and attempts >= max_attempts else "queued"
            c.execute(
                "UPDATE outbox SET status=?, attempts=?, last_error=?, next_attempt_at=?, lease_until=NULL WHERE id=?",
                (status, attempts, error[:2000], _ts(next_attempt_at, up=True), outbox_id),
            )
            return status

    def release(self, outbox_id: int, error: str | None = None) -> None:
        """Give a claimed message back untouched (no attempt counted): status 'queued', no lease."""
        with self.db.write() as c:
            c.execute(
                "UPDATE outbox SET status='queued', lease_until=NULL, last_error=coalesce(?, last_error) "
                "WHERE id=? AND status='sending'",
                (error, outbox_id),
            )

    def mark_failed(self, outbox_id: int, error: str) -> None:
        """A permanent failure about this message only (address not suppressed): 'failed'."""
        with self.db.write() as c:
            c.execute(
                "UPDATE outbox SET status='failed', attempts=attempts+1, last_error=?, lease_until=NULL "
                "WHERE id=? AND status != 'sent'",
                (error[:2000], outbox_id),
            )

    def mark_bounced(self, outbox_id: int, error: str) -> None:
        """A permanent failure for the recipient (SMTP 5xx): message 'failed', the address added to
        suppressions, its subscriber (if any) status 'bounced', and every queued message to a
        suppressed address cancelled; all in one transaction."""
        with self.db.write() as c:
            row = c.execute(
                "SELECT recipient, subscriber_id FROM outbox WHERE id=?" + self.db.dialect.row_lock, (outbox_id,)
            ).fetchone()
            if row is None:
                return
            c.execute(
                "UPDATE outbox SET status='failed', attempts=attempts+1, last_error=?, lease_until=NULL "
                "WHERE id=? AND status != 'sent'",
                (("bounced: " + error)[:2000], outbox_id),
            )
            c.execute(
                "INSERT INTO suppressions (email, reason, created_at) VALUES (?, ?, ?) ON CONFLICT(email) DO NOTHING",
                (normalise_address(row["recipient"]), ("bounce: " + error)[:500], utc_now()),
            )
            if row["subscriber_id"] is not None:
                SubscriberStore(self.db).mark_bounced(row["subscriber_id"])
            self.cancel_suppressed()

    def cancel_suppressed(self) -> int:
        """Cancel every queued message to a suppressed address; returns how many."""
        with self.db.write() as c:
            return c.execute(
                "UPDATE outbox SET status='cancelled', lease_until=NULL, "
                f"last_error='recipient is suppressed' WHERE status='queued' AND {_SUPPRESSED}"
            ).rowcount

    def cancel_queued_for(self, subscriber_id: int) -> int:
        """Cancel every message still queued for the subscriber (an unsubscribe is immediate)."""
        with self.db.write() as c:
            return c.execute(
                "UPDATE outbox SET status='cancelled', lease_until=NULL WHERE subscriber_id=? AND status='queued'",
                (subscriber_id,),
            ).rowcount

    def counts(self) -> dict[str, int]:
        """Messages per status (queued, sending, sent, failed, cancelled; 0 when none)."""
        counts = dict.fromkeys(_STATUSES, 0)
        for status, n in self.db.all("SELECT status, count(*) FROM outbox GROUP BY status"):
            counts[status] = n
        return counts

    def prune_bodies(self, created_before: str, now: str, *, batch: int = 1000) -> int:
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
