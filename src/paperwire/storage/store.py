"""The object ``open_store`` returns: one attribute per storage area (``store.papers``, ...),
each written once over the database and its dialect, plus the database-wide calls (migrate,
close, integrity_check, schema_version) and ``transaction()`` for a write spanning areas."""

from __future__ import annotations

from contextlib import contextmanager

from .accounts import AccountStore
from .community import CommunityStore
from .database import Database
from .digests import DigestStore
from .jobs import JobStore
from .library import LibraryStore
from .outbox import OutboxStore
from .papers import PaperStore
from .retention import RetentionStore
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
        self.retention = RetentionStore(db)
        self.subscribers = SubscriberStore(db)
        self.rate_limits = RateLimitStore(db)
        self.outbox = OutboxStore(db)
        self.digests = DigestStore(db)
        self.accounts = AccountStore(db)
        self.community = CommunityStore(db)

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


class LegacyMixinHost:
    """What the storage mixins not yet turned into areas expect of ``self`` (they were written
    as parts of one store class); goes when the last one is converted."""

    db: Database

    def _write(self):
        return self.db.write()

    def _lock(self, c, key: int) -> None:
        self.db.serialize(c, key)

    def _rows_in(self, sql: str, keys):
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            yield from self.db.all(sql.format(",".join("?" * len(chunk))), chunk)

    def _all(self, sql: str, args=()):
        return self.db.all(sql, args)

    def _one(self, sql: str, args=()):
        return self.db.one(sql, args)

    def _value(self, sql: str, args=()):
        return self.db.value(sql, args)

    @property
    def pool(self):
        return self.db.pool

    @property
    def path(self):
        return self.db.path

    @property
    def url(self):
        return self.db.url
