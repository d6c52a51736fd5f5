"""Storage interface: the retention part (see base.Store). What each kind of record keeps, and for
how long, is decided in paperwire/retention.py; these calls remove what it says is past that.
Times are ISO 8601 UTC strings ('2026-11-30T12:00:00Z'), as stored."""

from __future__ import annotations

from typing import Protocol


class RetentionStore(Protocol):
    def prune_outbox_bodies(self, created_before: str, now: str, *, batch: int = 1000) -> int:
        """Empty the body of every sent, failed or cancelled message created and finished before
        ``created_before`` (set body_pruned_at = ``now``; everything else about the row stays), in
        transactions of ``batch`` rows so that senders and web writes never wait long. Returns how
        many bodies were dropped."""
        ...

    def prune_pending_subscribers(self, updated_before: str) -> int:
        """Delete the subscribers still pending that never confirmed (confirmed_at IS NULL) and
        last asked before ``updated_before``, with their saved searches and their messages (the
        confirmation mails); none whose message a sender is sending. Returns how many."""
        ...

    def prune_signin_tokens(self, created_before: str) -> int: ...

    def prune_sessions(self, expired_before: str) -> int: ...

    def prune_rate_events(self, before: float) -> int:
        """Rate-limit events older than ``before`` (epoch seconds)."""
        ...
