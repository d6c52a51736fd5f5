"""PostgreSQL implementation of the subscribers part of the storage interface (mixed into
PostgresStore); the same behaviour as sqlite_subscribers.py, tables from
migrations/postgres/0002_subscriptions_and_mail.sql. It subclasses the SQLite mixin and overrides
only what differs: methods whose SQL is portable run as they are (PGConnection takes their ``?``),
calling the locking ``_current`` and ``_insert_saved`` below.

A subscribe request reads before it writes (rate-limit counts, "is this address known?"), which
SQLite's single writer makes safe; here those requests take one advisory lock (LOCK_SUBSCRIBE)
so two of them never interleave. Changes to one subscriber lock its row (FOR UPDATE) first.
"""

from __future__ import annotations

import psycopg

from ..models import utc_now
from .base_subscribers import Composer, RateLimited, SavedSearch, Subscriber, TooManySavedSearches
from .sqlite_subscribers import RATE_EVENTS_KEEP, SQLiteSubscriberMixin, _pref_values, _row_to_subscriber

LOCK_SUBSCRIBE = 0x7077_0003  # advisory lock key; the others are in postgres.py


class PostgresSubscriberMixin(SQLiteSubscriberMixin):
    # -- reads -------------------------------------------------------------------------
    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        row = self._one("SELECT * FROM subscribers WHERE id=%s", (subscriber_id,))
        return _row_to_subscriber(row) if row else None

    def get_subscriber_by_email(self, email: str) -> Subscriber | None:
        row = self._one("SELECT * FROM subscribers WHERE email=%s", (email,))
        return _row_to_subscriber(row) if row else None

    def list_subscribers(self, status: str = "confirmed") -> list[Subscriber]:
        return [_row_to_subscriber(r) for r in self._all("SELECT * FROM subscribers WHERE status=%s ORDER BY id",
                                                         (status,))]

    def saved_searches(self, subscriber_id: int) -> list[SavedSearch]:
        rows = self._all("SELECT id, subscriber_id, query, created_at, strictness FROM saved_searches "
                         "WHERE subscriber_id=%s ORDER BY id", (subscriber_id,))
        return [SavedSearch(**dict(r)) for r in rows]

    def count_saved_searches(self, subscriber_id: int) -> int:
        return self._value("SELECT count(*) FROM saved_searches WHERE subscriber_id=%s", (subscriber_id,))

    # -- helpers inside a transaction ----------------------------------------------------
    @staticmethod
    def _check_rates(c: psycopg.Connection, limits: list[tuple[str, int, float]], now: float) -> None:
        c.execute("DELETE FROM rate_events WHERE at < %s", (now - RATE_EVENTS_KEEP,))
        for key, limit, window in limits:
            n = c.execute("SELECT count(*) FROM rate_events WHERE key=%s AND at > %s",
                          (key, now - window)).fetchone()[0]
            if n >= limit:
                raise RateLimited(key, limit, window)
        with c.cursor() as cur:
            cur.executemany("INSERT INTO rate_events (key, at) VALUES (%s, %s)", [(k, now) for k, _, _ in limits])

    @staticmethod
    def _insert_saved(c: psycopg.Connection, subscriber_id: int, query: str, max_saved: int,
                      strictness: str = "normal") -> SavedSearch:
        row = c.execute("SELECT id, subscriber_id, query, created_at, strictness FROM saved_searches "
                        "WHERE subscriber_id=%s AND query=%s", (subscriber_id, query)).fetchone()
        if row:
            if row["strictness"] != strictness:
                c.execute("UPDATE saved_searches SET strictness=%s WHERE id=%s", (strictness, row["id"]))
            return SavedSearch(**dict(row, strictness=strictness))
        n = c.execute("SELECT count(*) FROM saved_searches WHERE subscriber_id=%s", (subscriber_id,)).fetchone()[0]
        if n >= max_saved:
            raise TooManySavedSearches(f"at most {max_saved} saved searches")
        now = utc_now()
        new_id = c.execute("INSERT INTO saved_searches (subscriber_id, query, created_at, strictness) "
                           "VALUES (%s, %s, %s, %s) RETURNING id", (subscriber_id, query, now, strictness)).fetchone()[0]
        return SavedSearch(new_id, subscriber_id, query, now, strictness)

    # -- writes ------------------------------------------------------------------------
    def request_subscription(self, *, email: str, prefs: dict, query: str | None,
                             limits: list[tuple[str, int, float]], now: float,
                             compose: Composer, max_saved: int,
                             strictness: str = "normal") -> tuple[str, int | None]:
        ts = utc_now()
        values = _pref_values(prefs)
        with self._write() as c:
            self._lock(c, LOCK_SUBSCRIBE)
            self._check_rates(c, limits, now)
            row = c.execute("SELECT * FROM subscribers WHERE email=%s FOR UPDATE", (email,)).fetchone()
            suppressed = c.execute("SELECT 1 FROM suppressions WHERE lower(email)=lower(%s)", (email,)).fetchone()
            if suppressed or (row is not None and row["status"] == "bounced"):
                return "blocked", None
            if row is None:
                cols = ["email", "status", "created_at", "updated_at", *values]
                sid = c.execute(
                    f"INSERT INTO subscribers ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) RETURNING id",
                    (email, "pending", ts, ts, *values.values()),
                ).fetchone()[0]
                outcome = "created"
            elif row["status"] == "confirmed":
                sid, outcome = row["id"], "confirmed"  # a third party must not change anything
            else:
                sid = row["id"]
                outcome = "pending" if row["status"] == "pending" else "resubscribed"
                sets = ", ".join(f"{k}=%s" for k in values)
                c.execute(
                    f"UPDATE subscribers SET status='pending', {sets + ', ' if sets else ''}updated_at=%s WHERE id=%s",
                    (*values.values(), ts, sid),
                )
            if query and outcome != "confirmed":
                try:
                    with c.transaction():  # a savepoint: the skipped query leaves nothing behind
                        self._insert_saved(c, sid, query, max_saved, strictness)
                except TooManySavedSearches:
                    pass  # the answer must not depend on the address's state: skip the query silently
            sub = _row_to_subscriber(c.execute("SELECT * FROM subscribers WHERE id=%s", (sid,)).fetchone())
            n = c.execute("SELECT count(*) FROM outbox WHERE subscriber_id=%s", (sid,)).fetchone()[0] + 1
            composed = compose(sub, n)
            outbox_id = None
            if composed is not None:
                kind, message_id, message = composed
                outbox_id = self._insert_outbox(c, kind=kind, recipient=sub.email, message_id=message_id,
                                                message=message, subscriber_id=sid)
            return outcome, outbox_id
