"""SQLite implementation of accounts and sessions (mixed into SQLiteStore); tables from
migrations/sqlite/0007_community.sql. See base_accounts.py."""

from __future__ import annotations

from ..models import utc_now
from .base_accounts import ROLES, Account

_COLUMNS = "id, email, role, status, created_at, last_signin_at, library_version"


class SQLiteAccountsMixin:
    def get_account(self, account_id: int) -> Account | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id=?", (account_id,)).fetchone()
        return Account(*row) if row else None

    def get_account_by_email(self, email: str) -> Account | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE email=?", (email,)).fetchone()
        return Account(*row) if row else None

    def ensure_account(self, email: str, role: str | None = None) -> Account:
        if role is not None and role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        with self._write() as c:
            c.execute("INSERT INTO accounts (email, role, created_at) VALUES (?, ?, ?) ON CONFLICT(email) DO NOTHING",
                      (email, role or "reader", utc_now()))
            if role is not None:
                c.execute("UPDATE accounts SET role=? WHERE email=?", (role, email))
        return self.get_account_by_email(email)

    def create_session(self, account_id: int, token_hash: str, expires_at: str) -> None:
        now = utc_now()
        with self._write() as c:
            c.execute("INSERT INTO sessions (token_hash, account_id, created_at, expires_at, last_seen_at) "
                      "VALUES (?, ?, ?, ?, ?)", (token_hash, account_id, now, expires_at, now))

    def session_account(self, token_hash: str, now: str) -> Account | None:
        row = self.conn.execute(
            f"SELECT {', '.join('a.' + c for c in _COLUMNS.split(', '))} FROM sessions s "
            "JOIN accounts a ON a.id = s.account_id WHERE s.token_hash=? AND s.expires_at>? AND a.status='active'",
            (token_hash, now),
        ).fetchone()
        return Account(*row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self._write() as c:
            c.execute("DELETE FROM sessions WHERE token_hash=?", (token_hash,))
