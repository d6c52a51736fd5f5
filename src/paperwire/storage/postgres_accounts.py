"""PostgreSQL implementation of accounts, sessions, sign-in links and account administration
(mixed into PostgresStore); the same behaviour as sqlite_accounts.py, tables from
migrations/postgres/0007_community.sql. The mixins subclass the SQLite ones and override only
what differs (sessions and the audit insert are portable and run as they are).

Where SQLite's single writer makes a read-then-write safe: a sign-in request's rate limits share
the subscribe requests' advisory lock (one rate_events table); using a link locks its row
(FOR UPDATE: a second use waits, then sees it used); role changes take an advisory lock of
their own (an account may be created); status changes lock the account's row.
"""

from __future__ import annotations


from ..models import utc_now
from ..accounts.types import ROLES, STATUSES, Account, SigninComposer, SigninToken
from .postgres_subscribers import LOCK_SUBSCRIBE
from .sqlite_accounts import _COLUMNS, SQLiteAccountsMixin, SQLiteSigninMixin

LOCK_ACCOUNT_ADMIN = 0x7077_0004


class PostgresAccountsMixin(SQLiteAccountsMixin):
    def get_account(self, account_id: int) -> Account | None:
        row = self._one(f"SELECT {_COLUMNS} FROM accounts WHERE id=%s", (account_id,))
        return Account(*row) if row else None

    def get_account_by_email(self, email: str) -> Account | None:
        row = self._one(f"SELECT {_COLUMNS} FROM accounts WHERE email=%s", (email,))
        return Account(*row) if row else None

    def ensure_account(self, email: str, role: str | None = None) -> Account:
        if role is not None and role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        with self._write() as c:
            c.execute("INSERT INTO accounts (email, role, created_at) VALUES (%s, %s, %s) "
                      "ON CONFLICT(email) DO NOTHING", (email, role or "reader", utc_now()))
            if role is not None:
                c.execute("UPDATE accounts SET role=%s WHERE email=%s", (role, email))
        return self.get_account_by_email(email)

    def session_account(self, token_hash: str, now: str) -> Account | None:
        row = self._one(
            f"SELECT {', '.join('a.' + c for c in _COLUMNS.split(', '))} FROM sessions s "
            "JOIN accounts a ON a.id = s.account_id WHERE s.token_hash=%s AND s.expires_at>%s AND a.status='active'",
            (token_hash, now),
        )
        return Account(*row) if row else None


class PostgresSigninMixin(SQLiteSigninMixin):
    """Sign-in links and account administration (base_accounts.SigninStore)."""

    @staticmethod
    def _account_row(c, email: str, *, lock: bool = False) -> Account | None:
        row = c.execute(f"SELECT {_COLUMNS} FROM accounts WHERE email=%s" + (" FOR UPDATE" if lock else ""),
                        (email,)).fetchone()
        return Account(*row) if row else None

    def queue_signin(self, *, email: str, nonce: str, limits: list[tuple[str, int, float]], now: float,
                     compose: SigninComposer, prune_before: str) -> str:
        with self._write() as c:
            self._lock(c, LOCK_SUBSCRIBE)
            self._check_rates(c, limits, now)
            c.execute("DELETE FROM signin_tokens WHERE created_at < %s", (prune_before,))
            account = self._account_row(c, email)
            suppressed = c.execute("SELECT 1 FROM suppressions WHERE lower(email)=lower(%s)", (email,)).fetchone()
            if suppressed or (account is not None and account.status != "active"):
                return "blocked"
            c.execute("INSERT INTO signin_tokens (nonce, email, created_at) VALUES (%s, %s, %s)",
                      (nonce, email, utc_now()))
            kind, message_id, message = compose(account)
            self._insert_outbox(c, kind=kind, recipient=email, message_id=message_id, message=message)
            return "account" if account is not None else "new"

    def signin_token(self, nonce: str) -> SigninToken | None:
        row = self._one("SELECT nonce, email, created_at, used_at FROM signin_tokens WHERE nonce=%s", (nonce,))
        return SigninToken(*row) if row else None

    def list_accounts(self, role: str | None = None) -> list[Account]:
        if role is None:
            rows = self._all(f"SELECT {_COLUMNS} FROM accounts ORDER BY id")
        else:
            rows = self._all(f"SELECT {_COLUMNS} FROM accounts WHERE role=%s ORDER BY id", (role,))
        return [Account(*r) for r in rows]

    def set_account_role(self, email: str, role: str, *, create: bool = True,
                         actor_id: int | None = None) -> tuple[Account | None, str | None]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        with self._write() as c:
            self._lock(c, LOCK_ACCOUNT_ADMIN)
            account = self._account_row(c, email, lock=True)
            if account is None and not create:
                return None, None
            previous = account.role if account is not None else None
            if account is None:
                c.execute("INSERT INTO accounts (email, role, created_at) VALUES (%s, %s, %s) "
                          "ON CONFLICT(email) DO UPDATE SET role=excluded.role", (email, role, utc_now()))
            elif previous != role:
                c.execute("UPDATE accounts SET role=%s WHERE email=%s", (role, email))
            if previous != role:
                self._audit(c, actor_id, "role", {"email": email, "role": role, "previous": previous})
            return self._account_row(c, email), previous

    def set_account_status(self, email: str, status: str, *,
                           actor_id: int | None = None) -> tuple[Account | None, int]:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        with self._write() as c:
            account = self._account_row(c, email, lock=True)
            if account is None:
                return None, 0
            deleted = 0
            if status == "disabled":
                deleted = c.execute("DELETE FROM sessions WHERE account_id=%s", (account.id,)).rowcount
            if account.status != status:
                c.execute("UPDATE accounts SET status=%s WHERE id=%s", (status, account.id))
                self._audit(c, actor_id, "disable" if status == "disabled" else "enable", {"email": email})
            return self._account_row(c, email), deleted
