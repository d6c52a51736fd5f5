"""AccountStore, their sessions and sign-in links, and account administration (tables from
migrations/*/0007_community.sql). Each write is one transaction; where SQLite's single writer
makes a read-then-write safe, PostgreSQL needs a lock: a sign-in request's rate limits share the
subscribe requests' serialisation (one rate_events table), using a link locks its row (a second
use waits, then sees it used), role changes are serialised (an account may be created), status
changes lock the account's row."""

from __future__ import annotations

from ..accounts.types import ROLES, STATUSES, Account, SigninComposer, SigninRefused, SigninToken
from ..models import utc_now
from .community import CommunityStore
from .database import LOCK_ACCOUNT_ADMIN, Database
from .outbox import OutboxStore
from .subscribers import RateLimitStore

ACCOUNT_COLUMNS = "id, email, role, status, created_at, last_signin_at, library_version, handle"
_SESSION = "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?)"


class AccountStore:
    def __init__(self, db: Database):
        self.db = db

    def get(self, account_id: int) -> Account | None:
        row = self.db.one(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id=?", (account_id,))
        return Account(*row) if row else None

    def by_email(self, email: str, *, lock: bool = False) -> Account | None:
        row = self.db.one(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email=?" + (self.db.dialect.row_lock if lock else ""),
            (email,),
        )
        return Account(*row) if row else None

    def list(self, role: str | None = None) -> list[Account]:
        if role is None:
            rows = self.db.all(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id")
        else:
            rows = self.db.all(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE role=? ORDER BY id", (role,))
        return [Account(*r) for r in rows]

    def ensure(self, email: str, role: str | None = None) -> Account:
        """The account for ``email`` (already normalised), created as a reader when missing; with
        ``role``, that role is set (ValueError for a role not in ROLES)."""
        _check(role, ROLES, "role")
        with self.db.write() as c:
            c.execute(
                "INSERT INTO accounts (email, role, created_at) VALUES (?, ?, ?) ON CONFLICT(email) DO NOTHING",
                (email, role or "reader", utc_now()),
            )
            if role is not None:
                c.execute("UPDATE accounts SET role=? WHERE email=?", (role, email))
        return self.by_email(email)

    def by_handle(self, handle: str) -> Account | None:
        row = self.db.one(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE lower(handle)=lower(?)", (handle,))
        return Account(*row) if row else None

    def handles(self, account_ids) -> dict[int, str | None]:
        """account id -> handle (None: none chosen yet) of each id given."""
        return {r[0]: r[1] for r in self.db.rows_in("SELECT id, handle FROM accounts WHERE id{}", set(account_ids))}

    def set_handle(self, account_id: int, handle: str) -> str:
        """Give the account ``handle`` (already validated) once: 'ok', 'taken' (another account
        holds it in any letter case) or 'set' (this account chose one already). Serialised with
        the other account changes, so two readers cannot both take one name."""
        with self.db.write() as c:
            self.db.serialize(c, LOCK_ACCOUNT_ADMIN)
            if c.execute("SELECT 1 FROM accounts WHERE lower(handle)=lower(?)", (handle,)).fetchone():
                return "taken"
            n = c.execute("UPDATE accounts SET handle=? WHERE id=? AND handle IS NULL", (handle, account_id)).rowcount
            return "ok" if n else "set"

    # -- sessions ------------------------------------------------------------------------
    def create_session(self, account_id: int, token_hash: str, expires_at: str) -> None:
        now = utc_now()
        with self.db.write() as c:
            c.execute(_SESSION, (token_hash, account_id, now, expires_at, now))

    def session_account(self, token_hash: str, now: str) -> Account | None:
        """The active account of an unexpired session (None for unknown, expired, or a disabled account)."""
        row = self.db.one(
            f"SELECT {', '.join('a.' + c for c in ACCOUNT_COLUMNS.split(', '))} FROM sessions s "
            "JOIN accounts a ON a.id = s.account_id WHERE s.token_hash=? AND s.expires_at>? AND a.status='active'",
            (token_hash, now),
        )
        return Account(*row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self.db.write() as c:
            c.execute("DELETE FROM sessions WHERE token_hash=?", (token_hash,))

    # -- sign-in links -------------------------------------------------------------------
    def queue_signin(
        self,
        *,
        email: str,
        nonce: str,
        limits: list[tuple[str, int, float]],
        now: float,
        compose: SigninComposer,
        prune_before: str,
    ) -> str:
        """One sign-in request, in one transaction: check and record the rate ``limits``
        (RateLimited and no change when one is reached); then, unless the address is suppressed
        or its account disabled (outcome 'blocked', nothing queued), store a signin_tokens row for
        ``nonce`` and queue compose(account)'s mail. Rows created before ``prune_before`` are
        deleted. Returns 'account' | 'new' | 'blocked' (for logs and tests only)."""
        with self.db.write() as c:
            RateLimitStore(self.db).check(limits, now)
            c.execute("DELETE FROM signin_tokens WHERE created_at < ?", (prune_before,))
            account, outbox = self.by_email(email), OutboxStore(self.db)
            if outbox.is_suppressed(email) or (account is not None and account.status != "active"):
                return "blocked"
            c.execute(
                "INSERT INTO signin_tokens (nonce, email, created_at) VALUES (?, ?, ?)", (nonce, email, utc_now())
            )
            kind, message_id, message = compose(account)
            outbox.insert(kind=kind, recipient=email, message_id=message_id, message=message)
            return "account" if account is not None else "new"

    def signin_token(self, nonce: str) -> SigninToken | None:
        row = self.db.one("SELECT nonce, email, created_at, used_at FROM signin_tokens WHERE nonce=?", (nonce,))
        return SigninToken(*row) if row else None

    def use_signin_token(
        self, nonce: str, email: str, *, session_hash: str | None = None, session_expires: str | None = None
    ) -> Account:
        """In one transaction: mark the link used (SigninRefused 'unknown' / 'used' otherwise),
        create the account on first sign-in (a reader), refuse a disabled one (SigninRefused
        'disabled'), set last_signin_at, and with ``session_hash`` create that session."""
        with self.db.write() as c:
            row = c.execute(
                "SELECT email, used_at FROM signin_tokens WHERE nonce=?" + self.db.dialect.row_lock, (nonce,)
            ).fetchone()
            if row is None or row["email"] != email:
                raise SigninRefused("unknown")
            if row["used_at"] is not None:
                raise SigninRefused("used")
            account = self.by_email(email)
            if account is not None and account.status != "active":
                raise SigninRefused("disabled")
            now = utc_now()
            c.execute("UPDATE signin_tokens SET used_at=? WHERE nonce=?", (now, nonce))
            c.execute(
                "INSERT INTO accounts (email, role, created_at) VALUES (?, 'reader', ?) ON CONFLICT(email) DO NOTHING",
                (email, now),
            )
            c.execute("UPDATE accounts SET last_signin_at=? WHERE email=?", (now, email))
            account = self.by_email(email)
            if session_hash is not None:
                c.execute(_SESSION, (session_hash, account.id, now, session_expires, now))
            return account

    # -- administration ------------------------------------------------------------------
    def set_role(
        self, email: str, role: str, *, create: bool = True, actor_id: int | None = None
    ) -> tuple[Account | None, str | None]:
        """Set the role of the account for ``email`` (created when missing and ``create``), with an
        audit_log row (action 'role') when it changed, in one transaction. Returns (account or None
        when missing and not created, the previous role or None when it was created/missing)."""
        _check(role, ROLES, "role")
        with self.db.write() as c:
            self.db.serialize(c, LOCK_ACCOUNT_ADMIN)
            account = self.by_email(email, lock=True)
            if account is None and not create:
                return None, None
            previous = account.role if account is not None else None
            if account is None:
                c.execute(
                    "INSERT INTO accounts (email, role, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(email) DO UPDATE SET role=excluded.role",
                    (email, role, utc_now()),
                )
            elif previous != role:
                c.execute("UPDATE accounts SET role=? WHERE email=?", (role, email))
            if previous != role:
                CommunityStore(self.db).audit(
                    actor_id, "role", None, {"email": email, "role": role, "previous": previous}
                )
            return self.by_email(email), previous

    def set_status(self, email: str, status: str, *, actor_id: int | None = None) -> tuple[Account | None, int]:
        """active | disabled; disabling deletes every session of the account. An audit_log row
        (action 'disable' / 'enable') when it changed. Returns (account or None when there is none,
        the number of sessions deleted)."""
        _check(status, STATUSES, "status")
        with self.db.write() as c:
            account = self.by_email(email, lock=True)
            if account is None:
                return None, 0
            deleted = 0
            if status == "disabled":
                deleted = c.execute("DELETE FROM sessions WHERE account_id=?", (account.id,)).rowcount
            if account.status != status:
                c.execute("UPDATE accounts SET status=? WHERE id=?", (status, account.id))
                CommunityStore(self.db).audit(
                    actor_id, "disable" if status == "disabled" else "enable", None, {"email": email}
                )
            return self.by_email(email), deleted

    def prune_signin_tokens(self, created_before: str) -> int:
        with self.db.write() as c:
            return c.execute("DELETE FROM signin_tokens WHERE created_at < ?", (created_before,)).rowcount

    def prune_sessions(self, expired_before: str) -> int:
        with self.db.write() as c:
            return c.execute("DELETE FROM sessions WHERE expires_at < ?", (expired_before,)).rowcount


def _check(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; one of {', '.join(allowed)}")
