"""SQLite: WAL mode, versioned migrations (migrations/sqlite/), one connection per thread, every
write transaction ``BEGIN IMMEDIATE`` (one writer at a time, so read-then-write is safe)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from .database import Database, Dialect

DIALECT = Dialect(
    name="sqlite",
    row_lock="",
    claim_lock="",
    nulls_last="",
    ilike="LIKE",
    next_seq="(SELECT coalesce(max(seq), 0) + 1 FROM papers)",
    in_chunk=500,
)


class SQLiteDatabase(Database):
    dialect = DIALECT
    migrations = "sqlite"
    migrations_table = (
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )

    def __init__(self, path: str | Path):
        self.path = str(path)  # its directory must exist (storage.open_store says which one is missing)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # -- connections -------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit outside ``write()``)."""
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            c.row_factory = sqlite3.Row
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA busy_timeout=60000")
            self._local.conn = c
            with self._lock:
                self._conns.append(c)
        return c

    @contextmanager
    def _begin(self):
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        else:
            c.execute("COMMIT")

    @contextmanager
    def _nested(self, c):
        c.execute("SAVEPOINT nested")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK TO nested")
            c.execute("RELEASE nested")
            raise
        else:
            c.execute("RELEASE nested")

    def _current(self):
        c = self.conn
        return c if c.in_transaction else None

    def _read(self, sql: str, args) -> list:
        return self.conn.execute(sql, args).fetchall()

    def all(self, sql: str, args=()) -> list:
        # the thread's one connection is also its open transaction's: no need to look for one
        return self.conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            for c in self._conns:
                try:
                    c.close()
                except sqlite3.ProgrammingError:
                    pass
            self._conns.clear()
        self._local = threading.local()

    # -- schema ------------------------------------------------------------------------
    def schema_version(self) -> int:
        return self.value("SELECT max(version) FROM schema_migrations") or 0

    def integrity_check(self) -> str:
        return self.value("PRAGMA integrity_check")
