"""What a follow is, shared by the store, the web layer and the digest."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("author", "category", "paper")
MAX_FOLLOWS_PER_ACCOUNT = 500


class FollowError(ValueError):
    """A follow that cannot be made (bad kind or value, too many follows)."""


class FollowTargetNotFound(LookupError):
    """No such follow for this reader, or no such paper."""


@dataclass
class Follow:
    id: int
    kind: str
    value: str
    key: str
    created_at: str
    paper_pk: int | None = None
    notify_comments: bool = False


@dataclass
class Claim:
    id: int
    account_id: int
    email: str
    paper_id: str
    paper_title: str
    status: str
    created_at: str
    decided_at: str | None = None
