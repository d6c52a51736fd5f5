"""Storage interface: the community part (see base.Store): votes, day lists and submissions,
curation and its audit log. Owned by paperwire.community."""

from __future__ import annotations

from typing import Protocol

from ..community.types import AuditEntry, CommunityState, CuratedPaper, ListedPaper



class CommunityStore(Protocol):
    def community_state(self, pks: list[int], account_id: int | None = None) -> dict[int, CommunityState]:
        """State of each paper in ``pks`` that has any (papers missing from the answer have the
        defaults); ``voted`` says whether ``account_id`` voted for it."""
        ...

    def set_vote(self, account_id: int, pk: int, up: bool) -> int:
        """Add (``up``) or remove the account's vote for the paper, in one transaction that also
        keeps ``paper_community.upvotes`` = the number of votes rows; idempotent (voting twice is
        one vote). Returns the paper's new local vote count. KeyError for an unknown paper."""
        ...

    def submit_to_list(self, account_id: int, pk: int, day: str, now: str) -> tuple[str, str]:
        """Put the paper on ``day``'s list, submitted by the account, with the submitter's vote,
        and an audit row, all in one transaction. A paper already on a list is not listed again:
        the submitter's vote is added and the audit row says 'merge'. Returns
        ('listed' | 'merged', the day the paper is listed on)."""
        ...

    def day_list(self, day: str, *, include_hidden: bool = False, limit: int = 50,
                 offset: int = 0) -> list[ListedPaper]:
        """The papers on ``day``'s list, most upvoted first (local + imported), then by the time
        they were listed; hidden papers are left out unless ``include_hidden``."""
        ...

    def count_day_list(self, day: str, *, include_hidden: bool = False) -> int: ...

    def curate(self, actor_id: int, pk: int, action: str, note: str = "") -> bool:
        """Apply a curator action (one of CURATE_ACTIONS) and write its audit row in the same
        transaction. Returns False (and writes nothing) when it changes nothing (featuring a
        featured paper); ValueError for an unknown action, KeyError for an unknown paper."""
        ...

    def audit_log(self, limit: int = 100, paper_pk: int | None = None) -> list[AuditEntry]:
        """The latest audit rows, newest first (optionally of one paper)."""
        ...

    def featured_papers(self, limit: int = 100) -> list[CuratedPaper]:
        """Featured papers, most recently featured first."""
        ...

    def hidden_papers(self, limit: int = 100) -> list[CuratedPaper]:
        """Hidden papers, most recently hidden first."""
        ...

    def hidden_pks(self) -> frozenset[int]:
        """The pks of every hidden paper (one indexed lookup, read on every search: the engine
        leaves these out of its candidates and keys its results cache by them)."""
        ...
