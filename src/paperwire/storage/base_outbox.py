"""Storage interface: the outbox part (see base.Store).

The outbox is how every mail leaves Paperwire. Whoever composes a message queues it in the same
transaction as the state it belongs to; senders (mail/sender.py) take due rows with a lease, one
at a time, and record the outcome. Times are epoch seconds (float) at this interface.
"""

from __future__ import annotations

from typing import Protocol

from ..mail.types import OutboxMessage


class OutboxStore(Protocol):
    def enqueue_message(self, *, kind: str, recipient: str, message_id: str, message: bytes,
                        subscriber_id: int | None = None) -> int | None:
        """Queue one message in its own transaction (None when that Message-ID is queued already).
        Implementations also offer _insert_outbox(conn, ...) for callers that queue a message in
        the same transaction as the state it belongs to."""
        ...

    def claim_outbox(self, *, limit: int = 1, lease_seconds: float = 300.0,
                     now: float | None = None) -> list["OutboxMessage"]:
        """In one write transaction: take up to ``limit`` due messages (queued with
        next_attempt_at <= now, or 'sending' whose lease has run out: its sender died), set them
        'sending' with lease_until = now + lease_seconds, and return them. Two senders never take
        the same row while its lease runs. Due messages to a suppressed address (and digests to
        a subscriber who unsubscribed or bounced) are cancelled instead of returned."""
        ...

    def has_due_outbox(self, *, now: float | None = None) -> bool:
        """Whether claim_outbox would find something (a cheap read; nothing is taken)."""
        ...

    def next_outbox_due(self) -> float | None:
        """When the earliest queued or leased message becomes due (epoch seconds), None if none."""
        ...

    def mark_sent(self, outbox_id: int, *, now: float | None = None) -> None:
        """The server accepted the message: status 'sent', attempts + 1, sent_at."""
        ...

    def mark_retry(self, outbox_id: int, error: str, next_attempt_at: float, *,
                   max_attempts: int | None = None) -> str:
        """A temporary failure: attempts + 1, last_error, back to 'queued' until next_attempt_at;
        'failed' instead once attempts reaches max_attempts. Returns the new status."""
        ...

    def release_outbox(self, outbox_id: int, error: str | None = None) -> None:
        """Give a claimed message back untouched (no attempt counted): status 'queued', no lease."""
        ...

    def mark_failed(self, outbox_id: int, error: str) -> None:
        """A permanent failure about this message only (address not suppressed): 'failed'."""
        ...

    def mark_bounced(self, outbox_id: int, error: str) -> None:
        """A permanent failure for the recipient (SMTP 5xx): message 'failed', the address added to
        suppressions, its subscriber (if any) status 'bounced', and every queued message to a
        suppressed address cancelled; all in one transaction."""
        ...

    def cancel_suppressed(self) -> int:
        """Cancel every queued message to a suppressed address; returns how many."""
        ...

    def outbox_counts(self) -> dict[str, int]:
        """Messages per status (queued, sending, sent, failed, cancelled; 0 when none)."""
        ...
