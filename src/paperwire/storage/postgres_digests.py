"""PostgreSQL implementation of the digests part of the storage interface (mixed into
PostgresStore); the same behaviour as sqlite_digests.py, tables from
migrations/postgres/0002_subscriptions_and_mail.sql."""

from __future__ import annotations

import json
from typing import Iterator

from ..digest.types import DigestRecord, DigestSubscriber


class PostgresDigestMixin:
    def iter_digest_subscribers(self, batch: int = 1000) -> Iterator[list[DigestSubscriber]]:
        last = 0
        while True:
            rows = self._all(
                "SELECT s.id, s.email, s.frequency, s.send_hour, s.send_weekday, s.timezone, s.trending, "
                "s.categories, s.token_version, s.confirmed_at, "
                "(SELECT max(d.created_at) FROM digests d WHERE d.subscriber_id = s.id) AS last_digest_at "
                "FROM subscribers s WHERE s.status = 'confirmed' AND s.id > %s ORDER BY s.id LIMIT %s",
                (last, batch),
            )
            if not rows:
                return
            last = rows[-1][0]
            subs = []
            for r in rows:
                try:
                    cats = json.loads(r[7] or "[]")
                    cats = [c for c in cats if isinstance(c, str)] if isinstance(cats, list) else []
                except ValueError:
                    cats = []
                subs.append(DigestSubscriber(
                    id=r[0], email=r[1], frequency=r[2], send_hour=r[3], send_weekday=r[4], timezone=r[5],
                    trending=bool(r[6]), categories=cats, token_version=r[8], confirmed_at=r[9],
                    last_digest_at=r[10]))
            yield subs

    def recorded_digests(self, pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
        if not pairs:
            return set()
        rows = self._all(
            "SELECT d.subscriber_id, d.period FROM digests d "
            "JOIN unnest(%s::bigint[], %s::text[]) AS p(sid, period) ON d.subscriber_id = p.sid AND d.period = p.period",
            ([sid for sid, _ in pairs], [period for _, period in pairs]),
        )
        return {(r[0], r[1]) for r in rows}

    def count_confirmed_subscribers(self) -> int:
        return self._value("SELECT count(*) FROM subscribers WHERE status = 'confirmed'")

    def saved_search_queries(self, subscriber_ids: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for sid, query in self._all(
            "SELECT subscriber_id, query FROM saved_searches WHERE subscriber_id = ANY(%s) ORDER BY subscriber_id, id",
            (list(subscriber_ids),),
        ):
            out.setdefault(sid, []).append(query)
        return out

    def saved_search_alerts(self, subscriber_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
        out: dict[int, list[tuple[str, str]]] = {}
        for sid, query, strictness in self._all(
            "SELECT subscriber_id, query, strictness FROM saved_searches WHERE subscriber_id = ANY(%s) "
            "ORDER BY subscriber_id, id",
            (list(subscriber_ids),),
        ):
            out.setdefault(sid, []).append((query, strictness))
        return out

    def sent_paper_pks(self, subscriber_ids: list[int], min_pk: int = 0) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for sid, pk in self._all(
            "SELECT subscriber_id, paper_pk FROM sent_papers WHERE subscriber_id = ANY(%s) AND paper_pk >= %s",
            (list(subscriber_ids), min_pk),
        ):
            out.setdefault(sid, set()).add(pk)
        return out

    def record_digests(self, records: list[DigestRecord]) -> list[int | None]:
        results: list[int | None] = []
        with self._write() as c:
            for r in records:
                # ON CONFLICT waits for a concurrent run inserting the same key, then skips: the
                # (subscriber, period) pair is recorded exactly once, as under SQLite's one writer
                row = c.execute(
                    "INSERT INTO digests (subscriber_id, period, outbox_id, papers, created_at) "
                    "VALUES (%s, %s, NULL, %s, %s) ON CONFLICT(subscriber_id, period) DO NOTHING RETURNING 1",
                    (r.subscriber_id, r.period, len(r.paper_pks), r.created_at),
                ).fetchone()
                if row is None:  # recorded already (another run got there first)
                    results.append(-1)
                    continue
                outbox_id = None
                if r.message is not None:
                    outbox_id = self._insert_outbox(c, kind="digest", recipient=r.recipient, message_id=r.message_id,
                                                    message=r.message, subscriber_id=r.subscriber_id)
                    if outbox_id is not None:
                        c.execute("UPDATE digests SET outbox_id=%s WHERE subscriber_id=%s AND period=%s",
                                  (outbox_id, r.subscriber_id, r.period))
                if r.paper_pks:
                    with c.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO sent_papers (subscriber_id, paper_pk, period) VALUES (%s, %s, %s) "
                            "ON CONFLICT DO NOTHING",
                            [(r.subscriber_id, pk, r.period) for pk in r.paper_pks],
                        )
                results.append(outbox_id)
        return results

    def min_pk_since(self, since: str) -> int:
        v = self._value("SELECT min(pk) FROM papers WHERE announced >= %s", (since,))
        return v if v is not None else 1 << 62

    def latest_listed_papers(self, since: str, categories: list[str], limit: int) -> list:
        from .papers import PAPER_COLUMNS as _PAPER_COLUMNS, row_to_paper as _row_to_paper

        cat_sql, args = "", []
        if categories:
            # SQLite's LIKE ignores ASCII case: ILIKE here
            cat_sql = (" AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(papers.categories::jsonb) AS v(value) WHERE "
                       + " OR ".join("v.value = %s OR v.value ILIKE %s || '.%%'" for _ in categories) + ")")
            for c in categories:
                args += [c, c]
        day = self._value(f"SELECT max(announced) FROM papers WHERE announced >= %s{cat_sql}", [since, *args])
        if day is None:
            return []
        rows = self._all(
            f"SELECT pk, {_PAPER_COLUMNS} FROM papers WHERE announced = %s{cat_sql} "
            "ORDER BY submitted DESC NULLS LAST, pk DESC LIMIT %s", [day, *args, limit])
        return [(r["pk"], _row_to_paper(r)) for r in rows]
