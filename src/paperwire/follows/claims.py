"""Authorship claims: a signed-in reader says they wrote a paper; a curator approves or rejects
it. The claim and each decision go into the audit log in the same transaction as the change, so
the log never misses one nor records one that did not happen. Only approved claims show (the
profile page, "author" beside the reader's name)."""

from __future__ import annotations

from ..community.curate import paper_for
from .types import FollowError, FollowTargetNotFound

DECISIONS = {"approve": "approved", "reject": "rejected"}


def claim(store, account, paper_id: str) -> tuple[int, bool]:
    """(claim id, True when new); FollowTargetNotFound for a paper this reader cannot open."""
    paper = paper_for(store, (paper_id or "").strip(), account)
    if paper is None:
        raise FollowTargetNotFound(f"there is no paper {paper_id[:60]!r} here")
    pk = store.papers.pks_for([paper.id])[paper.id]
    with store.transaction():
        claim_id, new = store.follows.claim(account.id, pk)
        if new:
            store.community.audit(account.id, "claim", pk, {"claim": claim_id})
    return claim_id, new


def decide(store, curator, claim_id: int, action: str) -> bool:
    """Approve or reject a pending claim (False: it was not pending). FollowError for a reader
    who is not a curator or an unknown action."""
    if not curator.is_curator:
        raise FollowError("only curators decide claims")
    status = DECISIONS.get(action)
    if status is None:
        raise FollowError("action must be approve or reject")
    with store.transaction():
        decided = store.follows.decide(claim_id, curator.id, status)
        if decided is None:
            return False
        account_id, pk = decided
        store.community.audit(curator.id, f"claim-{action}", pk, {"claim": claim_id, "account": account_id})
    return True


def claim_state(store, account_id: int, paper_id: str) -> str | None:
    """pending | approved | rejected for this reader's claim of the paper, None without one."""
    for c in store.follows.claims(account_id=account_id):
        if c.paper_id == paper_id:
            return c.status
    return None


def claimed_papers(store, account_id: int) -> list:
    """The papers a curator confirmed this reader wrote, newest claim first."""
    return [c for c in store.follows.claims(status="approved", account_id=account_id)]


__all__ = ["claim", "claim_state", "claimed_papers", "decide"]
