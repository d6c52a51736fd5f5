"""SQLite implementation of the digests part of the storage interface (mixed into SQLiteStore).

Uses self.conn (per-thread connection) and self._write() (a BEGIN IMMEDIATE transaction) of
SQLiteStore; tables are created by migrations/sqlite/0002_subscriptions_and_mail.sql.
"""

from __future__ import annotations

import json
from typing import Iterator

from ..digest.types import DigestRecord, DigestSubscriber


class SQLiteDigestMixin:
    def iter_digest_subscribers(self, batch: int = 1000) -> Iterator[list[DigestSubscriber]]:
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT s.id, s.email, s.frequency, s.send_hour, s.send_weekday, s.timezone, s.trending, "
                "s.categories, s.token_version, s.confirmed_at, "
                "(SELECT max(d.created_at) FROM digests d WHERE d.subscriber_id = s.id) AS last_digest_at "
                "FROM subscribers s WHERE s.status = 'confirmed' AND s.id > ? ORDER BY s.id LIMIT ?",
                (last, batch),
            ).fetchall()
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
        c = self.conn
        return {(sid, period) for sid, period in pairs
                if c.execute("SELECT 1 FROM digests WHERE subscriber_id=? AND period=?", (sid, period)).fetchone()}

    def count_confirmed_subscribers(self) -> int:
        return self.conn.execute("SELECT count(*) FROM subscribers WHERE status = 'confirmed'").fetchone()[0]

    def saved_search_queries(self, subscriber_ids: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for sid, query in self._rows_in(
            "SELECT subscriber_id, query FROM saved_searches WHERE subscriber_id IN ({}) ORDER BY subscriber_id, id",
            subscriber_ids,
        ):
            out.setdefault(sid, []).append(query)
        return out

    def saved_search_alerts(self, subscriber_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
        out: dict[int, list[tuple[str, str]]] = {}
        for sid, query, strictness in self._rows_in(
            "SELECT subscriber_id, query, strictness FROM saved_searches WHERE subscriber_id IN ({}) "
            "ORDER BY subscriber_id, id",
            subscriber_ids,
        ):
            out.setdefault(sid, []).append((query, strictness))
        return out

    def sent_paper_pks(self, subscriber_ids: list[int], min_pk: int = 0) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        ids = list(subscriber_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for sid, pk in self.conn.execute(
                f"SELECT subscriber_id, paper_pk FROM sent_papers WHERE subscriber_id IN ({','.join('?' * len(chunk))}) "
                "AND paper_pk >= ?", [*chunk, min_pk]
            ):
                out.setdefault(sid, set()).add(pk)
        return out

    def record_digests(self, records: list[DigestRecord]) -> list[int | None]:
        results: list[int | None] = []
        with self._write() as c:
            for r in records:
                cur = c.execute(
                    "INSERT INTO digests (subscriber_id, period, outbox_id, papers, created_at) VALUES (?, ?, NULL, ?, ?) "
                    "ON CONFLICT(subscriber_id, period) DO NOTHING",
                    (r.subscriber_id, r.period, len(r.paper_pks), r.created_at),
                )
                if not cur.rowcount:  # recorded already (another run got there first)
                    results.append(-1)
                    continue
                outbox_id = None
                if r.message is not None:
                    outbox_id = self._insert_outbox(c, kind="digest", recipient=r.recipient, message_id=r.message_id,
                                                    message=r.message, subscriber_id=r.subscriber_id)
                    if outbox_id is not None:
                        c.execute("UPDATE digests SET outbox_id=? WHERE subscriber_id=? AND period=?",
                                  (outbox_id, r.subscriber_id, r.period))
                if r.paper_pks:
                    c.executemany(
                        "INSERT OR IGNORE INTO sent_papers (subscriber_id, paper_pk, period) VALUES (?, ?, ?)",
                        [(r.subscriber_id, pk, r.period) for pk in r.paper_pks],
                    )
                results.append(outbox_id)
        return results

    def min_pk_since(self, since: str) -> int:
        row = self.conn.execute("SELECT min(pk) FROM papers WHERE announced >= ?", (since,)).fetchone()
        return row[0] if row[0] is not None else 1 << 62

    def latest_listed_papers(self, since: str, categories: list[str], limit: int) -> list:
        from .papers import PAPER_COLUMNS as _PAPER_COLUMNS, row_to_paper as _row_to_paper

        cat_sql, args = "", []
        if categories:
            cat_sql = (" AND EXISTS (SELECT 1 FROM json_each(papers.categories) WHERE "
                       + " OR ".join("value = ? OR value LIKE ? || '.%'" for _ in categories) + ")")
            for c in categories:
                args += [c, c]
        day = self.conn.execute(f"SELECT max(announced) FROM papers WHERE announced >= ?{cat_sql}",
                                [since, *args]).fetchone()[0]
        if day is None:
            return []
        rows = self.conn.execute(
            f"SELECT pk, {_PAPER_COLUMNS} FROM papers WHERE announced = ?{cat_sql} "
            "ORDER BY submitted DESC, pk DESC LIMIT ?", [day, *args, limit])
        return [(r["pk"], _row_to_paper(r)) for r in rows]
