"""SQLite implementation of the private-feed tokens (base_feed_tokens.FeedTokenStore); table from
migrations/sqlite/0011_feed_tokens.sql. Portable SQL: PostgresStore uses it as it is."""

from __future__ import annotations

from ..models import utc_now
from .base_accounts import Account
from .sqlite_accounts import _COLUMNS


class SQLiteFeedTokenMixin:
    def feed_token_row(self, account_id: int) -> tuple[str, str] | None:
        row = self.conn.execute("SELECT nonce, token_hash FROM feed_tokens WHERE account_id=?",
                                (account_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def put_feed_token(self, account_id: int, nonce: str, token_hash: str, *, replace: bool) -> tuple[str, str]:
        action = ("DO UPDATE SET nonce=excluded.nonce, token_hash=excluded.token_hash, created_at=excluded.created_at"
                  if replace else "DO NOTHING")
        with self._write() as c:
            c.execute("INSERT INTO feed_tokens (account_id, nonce, token_hash, created_at) VALUES (?, ?, ?, ?) "
                      f"ON CONFLICT (account_id) {action}", (account_id, nonce, token_hash, utc_now()))
            row = c.execute("SELECT nonce, token_hash FROM feed_tokens WHERE account_id=?", (account_id,)).fetchone()
        return row[0], row[1]

    def feed_token_account(self, token_hash: str) -> Account | None:
        row = self.conn.execute(
            f"SELECT {', '.join('a.' + c for c in _COLUMNS.split(', '))} FROM feed_tokens t "
            "JOIN accounts a ON a.id = t.account_id WHERE t.token_hash=? AND a.status='active'",
            (token_hash,),
        ).fetchone()
        return Account(*row) if row else None
