"""SubscriberStore, their saved searches, and the rate-limit events of subscribe and sign-in requests
(tables from migrations/*/0002_subscriptions_and_mail.sql, 0010_saved_search_strictness.sql).

Only the SQL: which change is allowed in which state (pending -> confirmed, bounced -> blocked,
...) is decided by subscriptions/lifecycle.py, which calls these inside one ``store.transaction()``.
"""

from __future__ import annotations

import json

from ..models import utc_now
from ..subscriptions.types import PREFERENCE_FIELDS, RateLimited, SavedSearch, Subscriber, TooManySavedSearches
from .database import LOCK_SUBSCRIBE, Database

RATE_EVENTS_KEEP = 2 * 86400  # events older than the longest window are pruned
_SAVED = "SELECT id, subscriber_id, query, created_at, strictness FROM saved_searches"


def _subscriber(row) -> Subscriber:
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


class SubscriberStore:
    def __init__(self, db: Database):
        self.db = db

    # -- reads -------------------------------------------------------------------------
    def get(self, subscriber_id: int) -> Subscriber | None:
        row = self.db.one("SELECT * FROM subscribers WHERE id=?", (subscriber_id,))
        return _subscriber(row) if row else None

    def by_email(self, email: str, *, lock: bool = False) -> Subscriber | None:
        """``lock``: the row (inside a transaction) until it commits."""
        row = self.db.one(
            "SELECT * FROM subscribers WHERE email=?" + (self.db.dialect.row_lock if lock else ""), (email,)
        )
        return _subscriber(row) if row else None

    def list(self, status: str = "confirmed") -> list[Subscriber]:
        rows = self.db.all("SELECT * FROM subscribers WHERE status=? ORDER BY id", (status,))
        return [_subscriber(r) for r in rows]

    def saved_searches(self, subscriber_id: int) -> list[SavedSearch]:
        rows = self.db.all(f"{_SAVED} WHERE subscriber_id=? ORDER BY id", (subscriber_id,))
        return [SavedSearch(**dict(r)) for r in rows]

    def count_saved(self, subscriber_id: int) -> int:
        return self.db.value("SELECT count(*) FROM saved_searches WHERE subscriber_id=?", (subscriber_id,))

    def current(self, subscriber_id: int, token_version: int) -> Subscriber | None:
        """The subscriber, row-locked until the transaction ends, when ``token_version`` is still
        theirs (a link sent before an unsubscribe no longer is); else None."""
        row = self.db.one("SELECT * FROM subscribers WHERE id=?" + self.db.dialect.row_lock, (subscriber_id,))
        return _subscriber(row) if row is not None and row["token_version"] == token_version else None

    # -- writes ------------------------------------------------------------------------
    def create(self, email: str, prefs: dict) -> Subscriber:
        """A new pending subscriber with these preferences."""
        ts, values = utc_now(), _pref_values(prefs)
        cols = ["email", "status", "created_at", "updated_at", *values]
        with self.db.write() as c:
            sid = c.execute(
                f"INSERT INTO subscribers ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) RETURNING id",
                (email, "pending", ts, ts, *values.values()),
            ).fetchone()[0]
            return self.get(sid)

    def update(self, subscriber_id: int, prefs: dict, *, status: str | None = None) -> Subscriber:
        """Set these preferences (and ``status``); confirmed_at is set when it becomes 'confirmed'."""
        ts, values = utc_now(), _pref_values(prefs)
        if status is not None:
            values["status"] = status
            if status == "confirmed":
                values["confirmed_at"] = ts
        with self.db.write() as c:
            c.execute(
                f"UPDATE subscribers SET {''.join(f'{k}=?, ' for k in values)}updated_at=? WHERE id=?",
                (*values.values(), ts, subscriber_id),
            )
            return self.get(subscriber_id)

    def end(self, subscriber_id: int) -> None:
        """Unsubscribed (a bounced one stays bounced), token_version + 1: every link sent so far
        stops working."""
        now = utc_now()
        with self.db.write() as c:
            c.execute(
                "UPDATE subscribers SET status=CASE WHEN status='bounced' THEN 'bounced' ELSE 'unsubscribed' END, "
                "unsubscribed_at=?, updated_at=?, token_version=token_version+1 WHERE id=?",
                (now, now, subscriber_id),
            )

    def mark_bounced(self, subscriber_id: int) -> None:
        now = utc_now()
        with self.db.write() as c:
            c.execute(
                "UPDATE subscribers SET status='bounced', bounced_at=?, updated_at=? WHERE id=?",
                (now, now, subscriber_id),
            )

    def save_search(self, subscriber_id: int, query: str, *, max_saved: int, strictness: str = "normal") -> SavedSearch:
        """Save ``query`` (an identical one keeps its place and takes this ``strictness``);
        TooManySavedSearches, before anything is written, at ``max_saved``."""
        with self.db.write() as c:
            row = c.execute(f"{_SAVED} WHERE subscriber_id=? AND query=?", (subscriber_id, query)).fetchone()
            if row:
                if row["strictness"] != strictness:
                    c.execute("UPDATE saved_searches SET strictness=? WHERE id=?", (strictness, row["id"]))
                return SavedSearch(**dict(row, strictness=strictness))
            n = c.execute("SELECT count(*) FROM saved_searches WHERE subscriber_id=?", (subscriber_id,)).fetchone()[0]
            if n >= max_saved:
                raise TooManySavedSearches(f"at most {max_saved} saved searches")
            now = utc_now()
            new_id = c.execute(
                "INSERT INTO saved_searches (subscriber_id, query, created_at, strictness) "
                "VALUES (?, ?, ?, ?) RETURNING id",
                (subscriber_id, query, now, strictness),
            ).fetchone()[0]
            return SavedSearch(new_id, subscriber_id, query, now, strictness)

    def set_strictness(self, subscriber_id: int, search_id: int, strictness: str) -> SavedSearch | None:
        with self.db.write() as c:
            c.execute(
                "UPDATE saved_searches SET strictness=? WHERE id=? AND subscriber_id=?",
                (strictness, search_id, subscriber_id),
            )
            row = c.execute(f"{_SAVED} WHERE id=? AND subscriber_id=?", (search_id, subscriber_id)).fetchone()
            return SavedSearch(**dict(row)) if row else None

    def remove_search(self, subscriber_id: int, search_id: int) -> bool:
        with self.db.write() as c:
            return (
                c.execute(
                    "DELETE FROM saved_searches WHERE id=? AND subscriber_id=?", (search_id, subscriber_id)
                ).rowcount
                > 0
            )

    def prune_pending(self, updated_before: str) -> int:
        """Delete the subscribers still pending that never confirmed (confirmed_at IS NULL) and
        last asked before ``updated_before``, with their saved searches and their messages (the
        confirmation mails); none whose message a sender is sending. Returns how many."""
        with self.db.write() as c:
            # a subscribe request for the same address, running at once, would otherwise update a
            # row that is being deleted
            self.db.serialize(c, LOCK_SUBSCRIBE)
            ids = [
                r[0]
                for r in c.execute(
                    "SELECT id FROM subscribers s WHERE status='pending' AND confirmed_at IS NULL AND updated_at < ?"
                    " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subscriber_id = s.id AND o.status = 'sending')"
                    " AND NOT EXISTS (SELECT 1 FROM digests d WHERE d.subscriber_id = s.id)",
                    (updated_before,),
                ).fetchall()
            ]
            for sql in (
                "DELETE FROM outbox WHERE subscriber_id{}",
                "DELETE FROM saved_searches WHERE subscriber_id{}",
                "DELETE FROM sent_papers WHERE subscriber_id{}",
                "DELETE FROM subscribers WHERE id{}",
            ):
                self.db.execute_in(c, sql, ids)
            return len(ids)


class RateLimitStore:
    def __init__(self, db: Database):
        self.db = db

    """Sliding-window counts of requests (subscribe, sign-in) per key."""

    def check(self, limits: list[tuple[str, int, float]], now: float) -> None:
        """Count this request against each (key, max events, window seconds): RateLimited, and
        nothing recorded, when one is reached."""
        with self.db.write() as c:
            # the check and everything the request reads after it are read-then-write: on
            # PostgreSQL two requests must not interleave (SQLite's writers never do)
            self.db.serialize(c, LOCK_SUBSCRIBE)
            c.execute("DELETE FROM rate_events WHERE at < ?", (now - RATE_EVENTS_KEEP,))
            for key, limit, window in limits:
                n = c.execute(
                    "SELECT count(*) FROM rate_events WHERE key=? AND at > ?", (key, now - window)
                ).fetchone()[0]
                if n >= limit:
                    raise RateLimited(key, limit, window)
            c.executemany("INSERT INTO rate_events (key, at) VALUES (?, ?)", [(k, now) for k, _, _ in limits])

    def prune(self, before: float) -> int:
        """Rate-limit events older than ``before`` (epoch seconds)."""
        with self.db.write() as c:
            return c.execute("DELETE FROM rate_events WHERE at < ?", (before,)).rowcount
