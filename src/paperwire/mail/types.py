"""A message as a sender takes it from the outbox (see mail/sender.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class OutboxMessage:
    id: int
    kind: str
    subscriber_id: int | None
    recipient: str  # the envelope recipient (RCPT TO)
    message_id: str  # the Message-ID header inside ``message``, stable across retries
    message: bytes  # the complete RFC 5322 message
    attempts: int  # attempts made before this one
