"""What the digest run reads (confirmed subscribers, their saved searches, the papers they were
sent) and writes (a digests row, its sent_papers rows and its outbox row, in one transaction);
tables from migrations/*/0002_subscriptions_and_mail.sql."""

from __future__ import annotations

import json
from collections.abc import Iterator

from ..digest.types import DigestRecord, DigestSubscriber
from .database import Database
from .outbox import insert_message
from .papers import PAPER_COLUMNS, row_to_paper

_PAIRS_PER_QUERY = 300  # (subscriber, period) pairs: 600 parameters, below SQLite's oldest limit


def _categories(text: str | None) -> list[str]:
    try:
        cats = json.loads(text or "[]")
    except ValueError:
        return []
    return [c for c in cats if isinstance(c, str)] if isinstance(cats, list) else []


class DigestStore:
    def __init__(self, db: Database):
        self.db = db

    def iter_subscribers(self, batch: int = 1000) -> Iterator[list[DigestSubscriber]]:
        """Confirmed subscribers, in id order, a batch at a time, with their latest digest's time."""
        last = 0
        while True:
            rows = self.db.all(
                "SELECT s.id, s.email, s.frequency, s.send_hour, s.send_weekday, s.timezone, s.trending, "
                "s.categories, s.token_version, s.confirmed_at, "
                "(SELECT max(d.created_at) FROM digests d WHERE d.subscriber_id = s.id) AS last_digest_at "
                "FROM subscribers s WHERE s.status = 'confirmed' AND s.id > ? ORDER BY s.id LIMIT ?",
                (last, batch),
            )
            if not rows:
                return
            last = rows[-1][0]
            yield [
                DigestSubscriber(
                    id=r[0],
                    email=r[1],
                    frequency=r[2],
                    send_hour=r[3],
                    send_weekday=r[4],
                    timezone=r[5],
                    trending=bool(r[6]),
                    categories=_categories(r[7]),
                    token_version=r[8],
                    confirmed_at=r[9],
                    last_digest_at=r[10],
                )
                for r in rows
            ]

    def recorded(self, pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of these (subscriber id, period) pairs have a digests row."""
        found: set[tuple[int, str]] = set()
        for i in range(0, len(pairs), _PAIRS_PER_QUERY):
            chunk = pairs[i : i + _PAIRS_PER_QUERY]
            rows = self.db.all(
                "SELECT d.subscriber_id, d.period FROM digests d JOIN (VALUES "
                + ", ".join("(?, ?)" for _ in chunk)
                + ") AS p ON d.subscriber_id = p.column1 AND d.period = p.column2",
                [v for pair in chunk for v in pair],
            )
            found.update((r[0], r[1]) for r in rows)
        return found

    def count_confirmed(self) -> int:
        return self.db.value("SELECT count(*) FROM subscribers WHERE status = 'confirmed'")

    def saved_search_queries(self, subscriber_ids: list[int]) -> dict[int, list[str]]:
        """Each subscriber's saved-search queries, oldest first."""
        return {sid: [q for q, _ in alerts] for sid, alerts in self.saved_search_alerts(subscriber_ids).items()}

    def saved_search_alerts(self, subscriber_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
        """Each subscriber's saved searches as (query, strictness), oldest first."""
        out: dict[int, list[tuple[str, str]]] = {}
        for sid, query, strictness in self.db.rows_in(
            "SELECT subscriber_id, query, strictness FROM saved_searches WHERE subscriber_id{} "
            "ORDER BY subscriber_id, id",
            subscriber_ids,
        ):
            out.setdefault(sid, []).append((query, strictness))
        return out

    def sent_paper_pks(self, subscriber_ids: list[int], min_pk: int = 0) -> dict[int, set[int]]:
        """The paper pks (>= min_pk) each subscriber has been sent already."""
        out: dict[int, set[int]] = {}
        for sid, pk in self.db.rows_in(
            "SELECT subscriber_id, paper_pk FROM sent_papers WHERE paper_pk >= ? AND subscriber_id{}",
            subscriber_ids,
            (min_pk,),
        ):
            out.setdefault(sid, set()).add(pk)
        return out

    def record(self, records: list[DigestRecord]) -> list[int | None]:
        """Write every record in ONE transaction: digests row + sent_papers rows + outbox row per
        record. A record whose (subscriber, period) is already recorded is skipped whole (-1 in the
        result); otherwise the outbox id (None when nothing was queued)."""
        results: list[int | None] = []
        with self.db.write() as c:
            for r in records:
                # on PostgreSQL ON CONFLICT waits for a concurrent run inserting the same key, then
                # skips: the (subscriber, period) pair is recorded exactly once
                if (
                    c.execute(
                        "INSERT INTO digests (subscriber_id, period, outbox_id, papers, created_at) "
                        "VALUES (?, ?, NULL, ?, ?) ON CONFLICT(subscriber_id, period) DO NOTHING RETURNING 1",
                        (r.subscriber_id, r.period, len(r.paper_pks), r.created_at),
                    ).fetchone()
                    is None
                ):
                    results.append(-1)  # recorded already (another run got there first)
                    continue
                outbox_id = None
                if r.message is not None:
                    outbox_id = insert_message(
                        c,
                        kind="digest",
                        recipient=r.recipient,
                        message_id=r.message_id,
                        message=r.message,
                        subscriber_id=r.subscriber_id,
                    )
                    if outbox_id is not None:
                        c.execute(
                            "UPDATE digests SET outbox_id=? WHERE subscriber_id=? AND period=?",
                            (outbox_id, r.subscriber_id, r.period),
                        )
                if r.paper_pks:
                    c.executemany(
                        "INSERT INTO sent_papers (subscriber_id, paper_pk, period) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [(r.subscriber_id, pk, r.period) for pk in r.paper_pks],
                    )
                results.append(outbox_id)
        return results

    def min_pk_since(self, since: str) -> int:
        """The smallest pk of a paper listed on or after ``since`` (a bound for sent_paper_pks)."""
        v = self.db.value("SELECT min(pk) FROM papers WHERE announced >= ?", (since,))
        return v if v is not None else 1 << 62

    def latest_listed_papers(self, since: str, categories: list[str], limit: int) -> list:
        """The newest papers of the latest listing day on or after ``since`` (in ``categories``,
        by prefix, when given): (pk, Paper) pairs."""
        d = self.db.dialect
        cat_sql, args = "", []
        if categories:
            cat_sql = (
                f" AND EXISTS (SELECT 1 FROM {d.json_values('papers.categories')} WHERE "
                + " OR ".join(f"value = ? OR value {d.ilike} ? || '.%'" for _ in categories)
                + ")"
            )
            for c in categories:
                args += [c, c]
        day = self.db.value(f"SELECT max(announced) FROM papers WHERE announced >= ?{cat_sql}", [since, *args])
        if day is None:
            return []
        rows = self.db.all(
            f"SELECT pk, {PAPER_COLUMNS} FROM papers WHERE announced = ?{cat_sql} "
            f"ORDER BY submitted DESC{d.nulls_last}, pk DESC LIMIT ?",
            [day, *args, limit],
        )
        return [(r["pk"], row_to_paper(r)) for r in rows]
