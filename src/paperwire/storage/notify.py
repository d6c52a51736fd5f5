"""Notification events and the kinds each reader turned off (tables from
migrations/*/0013_discussions.sql). The rules (which kinds exist, batching, the mail) live in
paperwire/notify/; this area only reads and writes rows. Every write joins the caller's
``store.transaction()`` when there is one, so an event is recorded with the change it is about."""

from __future__ import annotations

import json

from ..models import utc_now
from .database import Database


class NotifyStore:
    def __init__(self, db: Database):
        self.db = db

    def record(self, account_id: int, kind: str, event_key: str, payload: dict) -> bool:
        """Queue one event; False when ``event_key`` was recorded before (nothing changes)."""
        with self.db.write() as c:
            row = c.execute(
                "INSERT INTO notify_events (account_id, kind, event_key, payload, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(event_key) DO NOTHING RETURNING id",
                (account_id, kind, event_key, json.dumps(payload, sort_keys=True), utc_now()),
            ).fetchone()
        return row is not None

    def due_accounts(self, created_before: str) -> list[int]:
        """Accounts with a pending event recorded at or before ``created_before`` (ISO text)."""
        rows = self.db.all(
            "SELECT DISTINCT account_id FROM notify_events WHERE batch_key IS NULL AND created_at <= ? "
            "ORDER BY account_id",
            (created_before,),
        )
        return [r[0] for r in rows]

    def pending(self, c, account_id: int) -> list[dict]:
        """On the caller's write connection: the account's pending events, oldest first, locked
        (PostgreSQL: a second flusher waits, then finds them taken)."""
        rows = c.execute(
            "SELECT id, kind, event_key, payload, created_at FROM notify_events "
            "WHERE account_id=? AND batch_key IS NULL ORDER BY id" + self.db.dialect.row_lock,
            (account_id,),
        ).fetchall()
        return [
            {"id": r[0], "kind": r[1], "event_key": r[2], "payload": json.loads(r[3]), "created_at": r[4]} for r in rows
        ]

    def mark(self, c, event_ids: list[int], batch_key: str) -> None:
        self.db.execute_in(c, "UPDATE notify_events SET batch_key=? WHERE id{}", event_ids, (batch_key,))

    def events(self, account_id: int) -> list[dict]:
        """Every event of the account (tests, the settings page's history)."""
        rows = self.db.all(
            "SELECT id, kind, event_key, payload, created_at, batch_key FROM notify_events WHERE account_id=? "
            "ORDER BY id",
            (account_id,),
        )
        return [
            {
                "id": r[0],
                "kind": r[1],
                "event_key": r[2],
                "payload": json.loads(r[3]),
                "created_at": r[4],
                "batch_key": r[5],
            }
            for r in rows
        ]

    def muted(self, account_id: int) -> set[str]:
        return {r[0] for r in self.db.all("SELECT kind FROM notify_muted WHERE account_id=?", (account_id,))}

    def set_muted(self, account_id: int, kinds: set[str], known: tuple[str, ...]) -> None:
        """The account's muted kinds become ``kinds`` (of ``known``; others are left alone)."""
        with self.db.write() as c:
            for kind in known:
                if kind in kinds:
                    c.execute(
                        "INSERT INTO notify_muted (account_id, kind) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (account_id, kind),
                    )
                else:
                    c.execute("DELETE FROM notify_muted WHERE account_id=? AND kind=?", (account_id, kind))
