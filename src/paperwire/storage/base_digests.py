"""Storage interface: the digests part (see base.Store)."""

from __future__ import annotations

from typing import Iterator, Protocol

from ..digest.types import DigestRecord, DigestSubscriber


class DigestStore(Protocol):
    def iter_digest_subscribers(self, batch: int = 1000) -> Iterator[list[DigestSubscriber]]:
        """Confirmed subscribers, in id order, a batch at a time, with their latest digest's time."""
        ...

    def recorded_digests(self, pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of these (subscriber id, period) pairs have a digests row."""
        ...

    def count_confirmed_subscribers(self) -> int: ...

    def saved_search_queries(self, subscriber_ids: list[int]) -> dict[int, list[str]]:
        """Each subscriber's saved-search queries, oldest first."""
        ...

    def saved_search_alerts(self, subscriber_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
        """Each subscriber's saved searches as (query, strictness), oldest first."""
        ...

    def sent_paper_pks(self, subscriber_ids: list[int], min_pk: int = 0) -> dict[int, set[int]]:
        """The paper pks (>= min_pk) each subscriber has been sent already."""
        ...

    def record_digests(self, records: list[DigestRecord]) -> list[int | None]:
        """Write every record in ONE transaction: digests row + sent_papers rows + outbox row per
        record. A record whose (subscriber, period) is already recorded is skipped whole (-1 in the
        result); otherwise the outbox id (None when nothing was queued)."""
        ...

    def min_pk_since(self, since: str) -> int:
        """The smallest pk of a paper listed on or after ``since`` (a bound for sent_paper_pks)."""
        ...

    def latest_listed_papers(self, since: str, categories: list[str], limit: int) -> list:
        """The newest papers of the latest listing day on or after ``since`` (in ``categories``,
        by prefix, when given): (pk, Paper) pairs."""
        ...
