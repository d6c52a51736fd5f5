"""SQLite implementation of the subscribers part of the storage interface (mixed into SQLiteStore).

Uses self.conn (per-thread connection) and self._write() (a BEGIN IMMEDIATE transaction) of
SQLiteStore; tables are created by migrations/sqlite/0002_subscriptions_and_mail.sql.
"""

from __future__ import annotations

import json
import sqlite3

from ..models import utc_now
from .base_subscribers import (
    PREFERENCE_FIELDS, Composer, RateLimited, SavedSearch, Subscriber, TooManySavedSearches,
)

RATE_EVENTS_KEEP = 2 * 86400  # events older than the longest window are pruned


def _row_to_subscriber(row: sqlite3.Row) -> Subscriber:
    d = dict(row)
    d["trending"] = bool(d["trending"])
    d["categories"] = json.loads(d["categories"] or "[]")
    return Subscriber(**d)


def _pref_values(prefs: dict) -> dict:
    out = {}
    for k in PREFERENCE_FIELDS:
        if k in prefs:
            v = prefs[k]
            if k == "categories":
                v = json.dumps(list(v))
            elif k == "trending":
                v = 1 if v else 0
            out[k] = v
    return out


class SQLiteSubscriberMixin:
    # appended to a SELECT of the row a write is about to change (here and in sqlite_accounts'
    # use_signin_token): SQLite's single writer needs nothing; PostgresStore sets " FOR UPDATE"
    _ROW_LOCK = ""

    # -- reads -------------------------------------------------------------------------
    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        row = self.conn.execute("SELECT * FROM subscribers WHERE id=?", (subscriber_id,)).fetchone()
        return _row_to_subscriber(row) if row else None

    def get_subscriber_by_email(self, email: str) -> Subscriber | None:
        row = self.conn.execute("SELECT * FROM subscribers WHERE email=?", (email,)).fetchone()
        return _row_to_subscriber(row) if row else None

    def list_subscribers(self, status: str = "confirmed") -> list[Subscriber]:
        rows = self.conn.execute("SELECT * FROM subscribers WHERE status=? ORDER BY id", (status,))
        return [_row_to_subscriber(r) for r in rows]

    def saved_searches(self, subscriber_id: int) -> list[SavedSearch]:
        rows = self.conn.execute(
            "SELECT id, subscriber_id, query, created_at, strictness FROM saved_searches WHERE subscriber_id=? ORDER BY id",
            (subscriber_id,),
        )
        return [SavedSearch(**dict(r)) for r in rows]

    def count_saved_searches(self, subscriber_id: int) -> int:
        return self.conn.execute("SELECT count(*) FROM saved_searches WHERE subscriber_id=?",
                                 (subscriber_id,)).fetchone()[0]

    # -- helpers inside a transaction ----------------------------------------------------
    @staticmethod
    def _check_rates(c: sqlite3.Connection, limits: list[tuple[str, int, float]], now: float) -> None:
        c.execute("DELETE FROM rate_events WHERE at < ?", (now - RATE_EVENTS_KEEP,))
        for key, limit, window in limits:
            n = c.execute("SELECT count(*) FROM rate_events WHERE key=? AND at > ?", (key, now - window)).fetchone()[0]
            if n >= limit:
                raise RateLimited(key, limit, window)
        c.executemany("INSERT INTO rate_events (key, at) VALUES (?, ?)", [(k, now) for k, _, _ in limits])

    @classmethod
    def _current(cls, c: sqlite3.Connection, subscriber_id: int, token_version: int) -> sqlite3.Row | None:
        row = c.execute("SELECT * FROM subscribers WHERE id=?" + cls._ROW_LOCK, (subscriber_id,)).fetchone()
        if row is None or row["token_version"] != token_version:
            return None
        return row

    @staticmethod
    def _insert_saved(c: sqlite3.Connection, subscriber_id: int, query: str, max_saved: int,
                      strictness: str = "normal") -> SavedSearch:
        row = c.execute("SELECT id, subscriber_id, query, created_at, strictness FROM saved_searches "
                        "WHERE subscriber_id=? AND query=?", (subscriber_id, query)).fetchone()
        if row:
            if row["strictness"] != strictness:
                c.execute("UPDATE saved_searches SET strictness=? WHERE id=?", (strictness, row["id"]))
            return SavedSearch(**dict(row, strictness=strictness))
        n = c.execute("SELECT count(*) FROM saved_searches WHERE subscriber_id=?", (subscriber_id,)).fetchone()[0]
        if n >= max_saved:
            raise TooManySavedSearches(f"at most {max_saved} saved searches")
        now = utc_now()
        cur = c.execute("INSERT INTO saved_searches (subscriber_id, query, created_at, strictness) "
                        "VALUES (?, ?, ?, ?)", (subscriber_id, query, now, strictness))
        return SavedSearch(cur.lastrowid, subscriber_id, query, now, strictness)

    # -- writes ------------------------------------------------------------------------
    def request_subscription(self, *, email: str, prefs: dict, query: str | None,
                             limits: list[tuple[str, int, float]], now: float,
                             compose: Composer, max_saved: int,
                             strictness: str = "normal") -> tuple[str, int | None]:
        ts = utc_now()
        values = _pref_values(prefs)
        with self._write() as c:
            self._check_rates(c, limits, now)
            row = c.execute("SELECT * FROM subscribers WHERE email=?", (email,)).fetchone()
            suppressed = c.execute("SELECT 1 FROM suppressions WHERE lower(email)=lower(?)", (email,)).fetchone()
            if suppressed or (row is not None and row["status"] == "bounced"):
                return "blocked", None
            if row is None:
                cols = ["email", "status", "created_at", "updated_at", *values]
                cur = c.execute(
                    f"INSERT INTO subscribers ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    (email, "pending", ts, ts, *values.values()),
                )
                sid, outcome = cur.lastrowid, "created"
            elif row["status"] == "confirmed":
                sid, outcome = row["id"], "confirmed"  # a third party must not change anything
            else:
                sid = row["id"]
                outcome = "pending" if row["status"] == "pending" else "resubscribed"
                sets = ", ".join(f"{k}=?" for k in values)
                c.execute(
                    f"UPDATE subscribers SET status='pending', {sets + ', ' if sets else ''}updated_at=? WHERE id=?",
                    (*values.values(), ts, sid),
                )
            if query and outcome != "confirmed":
                try:
                    self._insert_saved(c, sid, query, max_saved, strictness)
                except TooManySavedSearches:
                    pass  # the answer must not depend on the address's state: skip the query silently
            sub = _row_to_subscriber(c.execute("SELECT * FROM subscribers WHERE id=?", (sid,)).fetchone())
            n = c.execute("SELECT count(*) FROM outbox WHERE subscriber_id=?", (sid,)).fetchone()[0] + 1
            composed = compose(sub, n)
            outbox_id = None
            if composed is not None:
                kind, message_id, message = composed
                outbox_id = self._insert_outbox(c, kind=kind, recipient=sub.email, message_id=message_id,
                                                message=message, subscriber_id=sid)
            return outcome, outbox_id

    def confirm_subscriber(self, subscriber_id: int, token_version: int) -> Subscriber | None:
        with self._write() as c:
            row = self._current(c, subscriber_id, token_version)
            if row is None or row["status"] not in ("pending", "confirmed"):
                return None
            if row["status"] == "pending":
                now = utc_now()
                c.execute("UPDATE subscribers SET status='confirmed', confirmed_at=?, updated_at=? WHERE id=?",
                          (now, now, subscriber_id))
            return _row_to_subscriber(c.execute("SELECT * FROM subscribers WHERE id=?", (subscriber_id,)).fetchone())

    def update_preferences(self, subscriber_id: int, token_version: int, prefs: dict) -> Subscriber | None:
        values = _pref_values(prefs)
        with self._write() as c:
            row = self._current(c, subscriber_id, token_version)
            if row is None or row["status"] not in ("pending", "confirmed"):
                return None
            if values:
                sets = ", ".join(f"{k}=?" for k in values)
                c.execute(f"UPDATE subscribers SET {sets}, updated_at=? WHERE id=?",
                          (*values.values(), utc_now(), subscriber_id))
            return _row_to_subscriber(c.execute("SELECT * FROM subscribers WHERE id=?", (subscriber_id,)).fetchone())

    def add_saved_search(self, subscriber_id: int, token_version: int, query: str, *,
                         max_saved: int, strictness: str = "normal") -> SavedSearch | None:
        with self._write() as c:
            row = self._current(c, subscriber_id, token_version)
            if row is None or row["status"] not in ("pending", "confirmed"):
                return None
            return self._insert_saved(c, subscriber_id, query, max_saved, strictness)

    def set_saved_search_strictness(self, subscriber_id: int, token_version: int, search_id: int,
                                    strictness: str) -> SavedSearch | None:
        with self._write() as c:
            row = self._current(c, subscriber_id, token_version)
            if row is None or row["status"] not in ("pending", "confirmed"):
                return None
            c.execute("UPDATE saved_searches SET strictness=? WHERE id=? AND subscriber_id=?",
                      (strictness, search_id, subscriber_id))
            found = c.execute("SELECT id, subscriber_id, query, created_at, strictness FROM saved_searches "
                              "WHERE id=? AND subscriber_id=?", (search_id, subscriber_id)).fetchone()
            return SavedSearch(**dict(found)) if found else None

    def remove_saved_search(self, subscriber_id: int, token_version: int, search_id: int) -> bool:
        with self._write() as c:
            if self._current(c, subscriber_id, token_version) is None:
                return False
            cur = c.execute("DELETE FROM saved_searches WHERE id=? AND subscriber_id=?", (search_id, subscriber_id))
            return cur.rowcount > 0

    def unsubscribe(self, subscriber_id: int, token_version: int) -> bool:
        with self._write() as c:
            row = self._current(c, subscriber_id, token_version)
            if row is None:
                return False
            now = utc_now()
            c.execute(
                "UPDATE subscribers SET status=CASE WHEN status='bounced' THEN 'bounced' ELSE 'unsubscribed' END, "
                "unsubscribed_at=?, updated_at=?, token_version=token_version+1 WHERE id=?",
                (now, now, subscriber_id),
            )
            # effective immediately: nothing still waiting in the outbox goes out to them
            c.execute("UPDATE outbox SET status='cancelled', lease_until=NULL "
                      "WHERE subscriber_id=? AND status='queued'", (subscriber_id,))
            return True
