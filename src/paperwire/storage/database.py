"""What every storage area writes its SQL against: a ``Database`` (connections and transactions,
one subclass per backend: sqlite.py, postgres.py) and its ``Dialect``, the one place that says
where the SQL of the two databases really differs.

Areas write plain SQL with ``?`` placeholders (the PostgreSQL connection turns them into ``%s``)
and ask the dialect only for the differing pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..errors import PaperwireError
from ..models import utc_now


# Why a database could not be opened (open_store, the backends); the messages say what to do,
# and callers that know where the URL came from (the CLI) name it.
class DatabaseURLError(PaperwireError, ValueError):
    """A database URL that cannot be used as it is (unsupported, or a SQLite file whose
    directory is missing)."""

    exit_status = 2


class DatabaseUnreachable(PaperwireError, RuntimeError):
    """The database server named by the URL cannot be reached (the message has no password)."""


# what ``Database.serialize`` takes (on PostgreSQL the keys of pg_advisory_xact_lock(bigint)):
# one per kind of write that must not run beside another of its kind
LOCK_MIGRATE = 0x7077_0001
LOCK_PAPERS = 0x7077_0002  # the change feed's seq order is commit order
LOCK_SUBSCRIBE = 0x7077_0003  # rate limits and "row exists?" checks of subscribe requests
LOCK_ACCOUNT_ADMIN = 0x7077_0004


@dataclass(frozen=True)
class Dialect:
    name: str  # 'sqlite' | 'postgresql'
    # ``SELECT ... {row_lock}``: a writer that reads a row it is about to change makes a second
    # writer wait. SQLite needs none: BEGIN IMMEDIATE already lets one writer in at a time.
    row_lock: str
    # the outbox / job queue claim: concurrent senders skip each other's rows instead of waiting
    claim_lock: str
    # ``ORDER BY x DESC{nulls_last}``: SQLite sorts NULL lowest (last when descending), PostgreSQL highest
    nulls_last: str
    # case-insensitive LIKE: SQLite's LIKE ignores ASCII case, PostgreSQL's does not
    ilike: str
    # the change feed's next number: PostgreSQL a sequence (papers' writers are serialised, see
    # PaperStore.upsert); SQLite one past the largest (the single writer makes that safe)
    next_seq: str
    # how many keys one ``IN (...)`` takes (SQLite's bound-parameter limit); PostgreSQL binds a
    # whole list as one array: ``= ANY(?)``
    in_chunk: int | None

    def json_values(self, column: str) -> str:
        """A FROM item yielding the elements of a JSON array column as rows of ``value``."""
        if self.name == "sqlite":
            return f"json_each({column})"
        return f"jsonb_array_elements_text({column}::jsonb) AS j(value)"


class Database:
    """Connections and transactions of one database; subclasses add connect, migrate,
    integrity_check and schema_version. Reads are autocommit statements, except inside a
    ``write()`` block, where this thread's reads and writes all run in that one transaction."""

    dialect: Dialect
    migrations: str  # the folder of its scripts: migrations/<folder>/NNNN_name.sql
    migrations_table: str  # the DDL of schema_migrations

    # -- provided by the backend ----------------------------------------------------------
    def _begin(self):
        """A context manager: a new top-level transaction, yielding its connection (the
        backend serialises or not; see its module)."""
        raise NotImplementedError

    def _nested(self, c):
        """A context manager: a savepoint inside the open transaction ``c``."""
        raise NotImplementedError

    def _current(self):
        """This thread's open transaction's connection, or None."""
        raise NotImplementedError

    def _read(self, sql: str, args) -> list:
        """One autocommit statement's rows (outside a transaction)."""
        raise NotImplementedError

    def serialize(self, c, key: int) -> None:
        """Make transactions passing the same ``key`` run one after the other (until ``c`` ends)."""

    # -- shared ---------------------------------------------------------------------------
    @contextmanager
    def write(self):
        """One transaction, committed when the block ends and rolled back when it raises. Inside
        another one (on this thread) it is a savepoint of it: an area call made inside
        ``store.transaction()`` joins that transaction."""
        c = self._current()
        if c is None:
            with self._begin() as c:
                yield c
        else:
            with self._nested(c):
                yield c

    def all(self, sql: str, args=()) -> list:
        c = self._current()
        if c is not None:
            return c.execute(sql, args).fetchall()
        return self._read(sql, args)

    def one(self, sql: str, args=()):
        rows = self.all(sql, args)
        return rows[0] if rows else None

    def value(self, sql: str, args=()) -> Any:
        row = self.one(sql, args)
        return row[0] if row else None

    def rows_in(self, sql: str, keys, args: tuple = (), c=None) -> Iterator:
        """Run ``sql`` with ``{}`` standing for `` IN (?, ...)`` / `` = ANY(?)`` over ``keys``
        (after ``args``), in chunks where the backend needs them; on ``c`` if given."""
        keys = list(keys)
        run: Callable = (lambda q, a: c.execute(q, a).fetchall()) if c is not None else self.all
        chunk = self.dialect.in_chunk
        if chunk is None:
            yield from run(sql.format(" = ANY(?)"), (*args, keys))
            return
        for i in range(0, len(keys), chunk):
            part = keys[i : i + chunk]
            yield from run(sql.format(f" IN ({','.join('?' * len(part))})"), (*args, *part))

    def execute_in(self, c, sql: str, keys, args: tuple = ()) -> int:
        """Run a write with ``{}`` standing for the key list (as rows_in) on ``c``; rows changed."""
        keys = list(keys)
        chunk = self.dialect.in_chunk
        if chunk is None:
            return c.execute(sql.format(" = ANY(?)"), (*args, keys)).rowcount
        n = 0
        for i in range(0, len(keys), chunk):
            part = keys[i : i + chunk]
            n += c.execute(sql.format(f" IN ({','.join('?' * len(part))})"), (*args, *part)).rowcount
        return n

    def migrate(self) -> list[int]:
        """Apply the numbered scripts of migrations/<folder> this database has not seen: each
        script and its schema_migrations row in one transaction (PostgreSQL's DDL is
        transactional too), serialised so two processes never apply one twice."""
        with self.write() as c:
            self.serialize(c, LOCK_MIGRATE)
            c.execute(self.migrations_table)
        done = {r[0] for r in self.all("SELECT version FROM schema_migrations")}
        applied = []
        for version, f in _scripts(self.migrations):
            if version in done:
                continue
            with self.write() as c:
                self.serialize(c, LOCK_MIGRATE)
                # re-checked inside the transaction: another process may have migrated meanwhile
                if c.execute("SELECT 1 FROM schema_migrations WHERE version=?", (version,)).fetchone():
                    continue
                for statement in _split_sql(f.read_text()):
                    c.execute(statement)
                c.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utc_now()))
            applied.append(version)
        return applied

    def close(self) -> None:
        raise NotImplementedError


def _scripts(folder: str) -> list:
    """(version, file) of migrations/<folder>/NNNN_*.sql, in order."""
    return sorted(
        (int(f.name.split("_", 1)[0]), f)
        for f in resources.files("paperwire.storage").joinpath(f"migrations/{folder}").iterdir()
        if f.name.endswith(".sql")
    )


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (our scripts hold no ';' inside strings or triggers)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
