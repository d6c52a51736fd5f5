"""Storage: ``open_store(url)`` gives a ``Store`` with one attribute per area (``store.papers``, ...),
each written once over a ``Database`` (sqlite.py, postgres.py) and its ``Dialect`` (database.py),
plus the database-wide calls (migrate, close, integrity_check, schema_version) and
``transaction()`` for a write spanning areas."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from ..config import sqlite_file
from .accounts import AccountStore
from .comments import CommentStore
from .community import CommunityStore
from .database import Database, DatabaseUnreachable, DatabaseURLError
from .digests import DigestStore
from .follows import FollowStore
from .jobs import JobStore
from .library import LibraryStore
from .notify import NotifyStore
from .outbox import OutboxStore
from .papers import Change, PaperStore, UpsertResult
from .stars import StarStore
from .subscribers import RateLimitStore, SubscriberStore
from .trending import TrendingStore


class Store:
    def __init__(self, db: Database):
        self.db = db
        self.papers = PaperStore(db)
        self.jobs = JobStore(db)
        self.stars = StarStore(db)
        self.trending = TrendingStore(db)
        self.library = LibraryStore(db, self.papers)
        self.subscribers = SubscriberStore(db)
        self.rate_limits = RateLimitStore(db)
        self.outbox = OutboxStore(db)
        self.digests = DigestStore(db)
        self.accounts = AccountStore(db)
        self.community = CommunityStore(db)
        self.follows = FollowStore(db)
        self.notify = NotifyStore(db)
        self.comments = CommentStore(db)

    @property
    def conn(self):
        """For tests and maintenance scripts: a connection for plain SQL (reads are autocommit
        statements, or part of this thread's open transaction)."""
        return self.db.conn

    @contextmanager
    def transaction(self):
        """One transaction (yielding its connection) that every area call made inside the block
        on this thread joins: all of it is committed when the block ends, none of it when it
        raises. Nested, it is a savepoint of the outer one."""
        with self.db.write() as c:
            yield c

    def migrate(self) -> list[int]:
        return self.db.migrate()

    def schema_version(self) -> int:
        return self.db.schema_version()

    def integrity_check(self) -> str:
        return self.db.integrity_check()

    def close(self) -> None:
        self.db.close()


USAGE = "use sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname"


def open_store(database_url: str, *, migrate: bool = True, create_dir: str | Path | None = None) -> Store:
    """Open the database named by a URL: ``sqlite:///path/to/file.db`` or
    ``postgresql://user:password@host:port/dbname`` (``postgres://`` too). A SQLite file's directory
    must exist, except ``create_dir`` (the data directory), which is created when missing: a typo in
    a path must not quietly start an empty database somewhere else. Raises DatabaseURLError, or
    DatabaseUnreachable when a PostgreSQL server does not answer."""
    path = sqlite_file(database_url)
    if path is not None:
        from .sqlite import SQLiteDatabase

        if path != ":memory:":
            parent = Path(path).parent
            if create_dir is not None and parent.resolve() == Path(create_dir).resolve():
                parent.mkdir(parents=True, exist_ok=True)
            elif not parent.is_dir():
                raise DatabaseURLError(
                    f"{database_url!r}: the directory {parent} does not exist; create it "
                    "first (only the data directory, PAPERWIRE_DATA_DIR, is created)"
                )
        store = Store(SQLiteDatabase(path))
    elif database_url.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresDatabase

        store = Store(PostgresDatabase(database_url))
    else:
        raise DatabaseURLError(f"{database_url!r} is not supported; {USAGE}")
    if migrate:
        store.migrate()
    return store


__all__ = ["Change", "DatabaseURLError", "DatabaseUnreachable", "Store", "UpsertResult", "open_store", "sqlite_file"]
