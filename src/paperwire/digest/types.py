"""What the digest run reads about a subscriber and what it writes per digest."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DigestSubscriber:
    """What the digest scheduler and composer need to know about one confirmed subscriber."""

    id: int
    email: str
    frequency: str = "daily"  # daily | weekly
    send_hour: int = 7
    send_weekday: int = 0  # 0 = Monday
    timezone: str = "UTC"
    trending: bool = True
    categories: list[str] = field(default_factory=list)
    token_version: int = 0
    confirmed_at: str | None = None  # ISO 8601 UTC
    last_digest_at: str | None = None  # created_at of the latest digests row (ISO 8601 UTC), None: none yet
    recorded: set[str] = field(default_factory=set)  # periods known to have a digests row (schedule.due_period)


@dataclass
class DigestRecord:
    """One subscriber's digest for one period, written in one transaction with its sent_papers
    rows and its outbox row (message None: nothing to send, the digests row alone is written)."""

    subscriber_id: int
    period: str
    paper_pks: list[int]
    created_at: str
    recipient: str | None = None
    message_id: str | None = None
    message: bytes | None = None
