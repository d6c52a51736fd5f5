"""Upvotes: one per account and paper, taken back with an un-vote."""

from __future__ import annotations

from dataclasses import dataclass

from .common import UnknownPaper, pk_of


@dataclass(frozen=True)
class VoteResult:
    paper_id: str
    upvotes: int  # what the pages show: local votes + imported upvotes
    voted: bool  # whether the account now votes for the paper


def vote(store, account_id: int, paper_id: str, up: bool = True) -> VoteResult:
    """Vote for the paper (``up``) or take the vote back. Idempotent: voting twice is one vote,
    un-voting without a vote changes nothing. UnknownPaper for an id not stored here."""
    pk = pk_of(store, paper_id)
    try:
        store.community.set_vote(account_id, pk, up)
    except KeyError:  # deleted between the look-up and the vote
        raise UnknownPaper(paper_id) from None
    state = store.community.state([pk], account_id).get(pk)
    return VoteResult(paper_id, state.upvotes if state else 0, bool(state and state.voted))
