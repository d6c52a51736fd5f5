"""Storage interface: the outbox part (see base.Store)."""

from __future__ import annotations

from typing import Protocol


class OutboxStore(Protocol):
    def enqueue_message(self, *, kind: str, recipient: str, message_id: str, message: bytes,
                        subscriber_id: int | None = None) -> int | None:
        """Queue one message in its own transaction (None when that Message-ID is queued already).
        Implementations also offer _insert_outbox(conn, ...) for callers that queue a message in
        the same transaction as the state it belongs to."""
        ...
