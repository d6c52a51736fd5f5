"""SQLite implementation of accounts and sessions (mixed into SQLiteStore); tables from
migrations/sqlite/0007_community.sql. See base_accounts.py."""

from __future__ import annotations

import json

from ..models import utc_now
from ..accounts.types import ROLES, STATUSES, Account, SigninComposer, SigninRefused, SigninToken

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


class SQLiteSigninMixin:
    """Sign-in links and account administration (base_accounts.SigninStore). Uses _check_rates
    (sqlite_subscribers) and _insert_outbox (sqlite_outbox) inside its own transactions."""

    def _account_row(self, c, email: str) -> Account | None:
        row = c.execute(f"SELECT {_COLUMNS} FROM accounts WHERE email=?", (email,)).fetchone()
        return Account(*row) if row else None

    @staticmethod
    def _audit(c, actor_id: int | None, action: str, detail: dict) -> None:
        c.execute("INSERT INTO audit_log (at, actor_id, action, paper_pk, detail) VALUES (?, ?, ?, NULL, ?)",
                  (utc_now(), actor_id, action, json.dumps(detail, sort_keys=True)))

    def queue_signin(self, *, email: str, nonce: str, limits: list[tuple[str, int, float]], now: float,
                     compose: SigninComposer, prune_before: str) -> str:
        with self._write() as c:
            self._check_rates(c, limits, now)
            c.execute("DELETE FROM signin_tokens WHERE created_at < ?", (prune_before,))
            account = self._account_row(c, email)
            suppressed = c.execute("SELECT 1 FROM suppressions WHERE lower(email)=lower(?)", (email,)).fetchone()
            if suppressed or (account is not None and account.status != "active"):
                return "blocked"
            c.execute("INSERT INTO signin_tokens (nonce, email, created_at) VALUES (?, ?, ?)",
                      (nonce, email, utc_now()))
            kind, message_id, message = compose(account)
            self._insert_outbox(c, kind=kind, recipient=email, message_id=message_id, message=message)
            return "account" if account is not None else "new"

    def signin_token(self, nonce: str) -> SigninToken | None:
        row = self.conn.execute("SELECT nonce, email, created_at, used_at FROM signin_tokens WHERE nonce=?",
                                (nonce,)).fetchone()
        return SigninToken(*row) if row else None

    def use_signin_token(self, nonce: str, email: str, *, session_hash: str | None = None,
                         session_expires: str | None = None) -> Account:
        with self._write() as c:
            row = c.execute("SELECT email, used_at FROM signin_tokens WHERE nonce=?" + self._ROW_LOCK,
                            (nonce,)).fetchone()
            if row is None or row["email"] != email:
                raise SigninRefused("unknown")
            if row["used_at"] is not None:
                raise SigninRefused("used")
            account = self._account_row(c, email)
            if account is not None and account.status != "active":
                raise SigninRefused("disabled")
            now = utc_now()
            c.execute("UPDATE signin_tokens SET used_at=? WHERE nonce=?", (now, nonce))
            c.execute("INSERT INTO accounts (email, role, created_at) VALUES (?, 'reader', ?) "
                      "ON CONFLICT(email) DO NOTHING", (email, now))
            c.execute("UPDATE accounts SET last_signin_at=? WHERE email=?", (now, email))
            account = self._account_row(c, email)
            if session_hash is not None:
                c.execute("INSERT INTO sessions (token_hash, account_id, created_at, expires_at, last_seen_at) "
                          "VALUES (?, ?, ?, ?, ?)", (session_hash, account.id, now, session_expires, now))
            return account

    def list_accounts(self, role: str | None = None) -> list[Account]:
        if role is None:
            rows = self.conn.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY id")
        else:
            rows = self.conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE role=? ORDER BY id", (role,))
        return [Account(*r) for r in rows]

    def set_account_role(self, email: str, role: str, *, create: bool = True,
                         actor_id: int | None = None) -> tuple[Account | None, str | None]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        with self._write() as c:
            account = self._account_row(c, email)
            if account is None and not create:
                return None, None
            previous = account.role if account is not None else None
            if account is None:
                c.execute("INSERT INTO accounts (email, role, created_at) VALUES (?, ?, ?)", (email, role, utc_now()))
            elif previous != role:
                c.execute("UPDATE accounts SET role=? WHERE email=?", (role, email))
            if previous != role:
                self._audit(c, actor_id, "role", {"email": email, "role": role, "previous": previous})
            return self._account_row(c, email), previous

    def set_account_status(self, email: str, status: str, *,
                           actor_id: int | None = None) -> tuple[Account | None, int]:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        with self._write() as c:
            account = self._account_row(c, email)
            if account is None:
                return None, 0
            deleted = 0
            if status == "disabled":
                deleted = c.execute("DELETE FROM sessions WHERE account_id=?", (account.id,)).rowcount
            if account.status != status:
                c.execute("UPDATE accounts SET status=? WHERE id=?", (status, account.id))
                self._audit(c, actor_id, "disable" if status == "disabled" else "enable", {"email": email})
            return self._account_row(c, email), deleted
