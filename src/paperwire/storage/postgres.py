"""PostgreSQL (psycopg 3 + a psycopg_pool connection pool): the same tables, columns and
semantics as SQLite; migrations in migrations/postgres/ with the SQLite scripts' numbers.

Transactions: SQLite serialises every write (``BEGIN IMMEDIATE``); PostgreSQL runs writers
concurrently under READ COMMITTED. Where correctness leans on that serialisation (read-then-write:
the change feed's seq, a subscribe request's rate limits and "row exists?" checks) the area takes
a transaction-level advisory lock for that part only (``Database.serialize``), or locks the rows
it reads (``dialect.row_lock``); other writes run in parallel. Reads outside a transaction run
as autocommit statements, each on a pooled connection.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool

from .database import LOCK_MIGRATE, LOCK_PAPERS, LOCK_SUBSCRIBE, Database, DatabaseUnreachable, Dialect  # noqa: F401 (keys re-exported)

DIALECT = Dialect(
    name="postgresql",
    row_lock=" FOR UPDATE",
    claim_lock=" FOR UPDATE SKIP LOCKED",
    nulls_last=" NULLS LAST",
    ilike="ILIKE",
    next_seq="nextval('papers_change_seq')",
    in_chunk=None,
)


class Row(tuple):
    """A result row readable by position and by column name, like sqlite3.Row (dict(row) works)."""

    _index: dict[str, int]

    def __new__(cls, values, index: dict[str, int]):
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def row_factory(cursor):
    index = {d.name: i for i, d in enumerate(cursor.description or [])}
    return lambda values: Row(values, index)


def _configure(conn: psycopg.Connection) -> None:
    conn.row_factory = row_factory


@lru_cache(maxsize=1024)
def _qmark_to_format(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` as ``%%``); SQL
    without a ``?`` outside string literals is returned unchanged (it is psycopg's style already)."""
    parts = sql.split("'")  # even parts are outside string literals ('' inside one splits evenly too)
    if not any("?" in part for part in parts[::2]):
        return sql
    return "'".join(
        part.replace("%", "%%").replace("?", "%s") if i % 2 == 0 else part.replace("%", "%%")
        for i, part in enumerate(parts)
    )


def _sql(query, args):
    if not isinstance(query, str):  # psycopg.sql.Composed
        return query, args
    if not args:
        return query, None  # no parameters: psycopg leaves the text alone
    return _qmark_to_format(query), args


class PGConnection:
    """A pooled psycopg connection that takes the SQL the areas write (``?`` placeholders,
    ``executemany`` on the connection, as sqlite3 has it)."""

    def __init__(self, conn: psycopg.Connection):
        self.raw = conn

    def execute(self, query, args=()):
        return self.raw.execute(*_sql(query, args))

    def executemany(self, query, seq):
        cur = self.raw.cursor()
        cur.executemany(_qmark_to_format(query), list(seq))
        return cur

    def __getattr__(self, name):  # cursor(), transaction(), commit() ... of the psycopg connection
        return getattr(self.raw, name)


class _Fetched:
    """The answer of one autocommit read, fetched whole (what ``db.conn.execute`` returns)."""

    def __init__(self, rows: list, rowcount: int):
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list:
        return self._rows

    def __iter__(self):
        return iter(self._rows)


class _ReadConnection:
    """``db.conn``: each execute() is one autocommit statement on a pooled connection (or in this
    thread's open transaction), its rows fetched at once."""

    def __init__(self, db: PostgresDatabase):
        self._db = db

    def execute(self, query, args=()) -> _Fetched:
        c = self._db._current()
        if c is not None:
            cur = c.execute(query, args)
            return _Fetched(cur.fetchall() if cur.description else [], cur.rowcount)
        with self._db.pool.connection() as raw:
            cur = raw.execute(*_sql(query, args))
            return _Fetched(cur.fetchall() if cur.description else [], cur.rowcount)


class PostgresDatabase(Database):
    dialect = DIALECT
    migrations = "postgres"
    migrations_table = (
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        '(version INTEGER PRIMARY KEY, applied_at TEXT COLLATE "C" NOT NULL)'
    )

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10):
        self.url = url
        self._local = threading.local()
        try:  # fail fast, and clearly, when the server cannot be reached (the pool would retry for long)
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as e:
            raise DatabaseUnreachable(f"cannot connect to PostgreSQL at {_redact(url)}: {e}".strip()) from None
        # autocommit: a read is its own statement; writes open an explicit transaction (write()).
        # check: a connection the server dropped (restart, idle timeout) is replaced, not handed out
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
            configure=_configure,
            check=ConnectionPool.check_connection,
            name="paperwire",
        )
        try:
            self.pool.open(wait=True, timeout=30)
        except Exception as e:  # psycopg_pool.PoolTimeout: say which database could not be reached
            self.pool.close()
            raise DatabaseUnreachable(f"cannot connect to PostgreSQL at {_redact(url)}: {e}") from None

    # -- connections -------------------------------------------------------------------
    @contextmanager
    def _begin(self):
        with self.pool.connection() as raw:
            with raw.transaction():
                c = PGConnection(raw)
                self._local.tx = c
                try:
                    yield c
                finally:
                    self._local.tx = None

    @contextmanager
    def _nested(self, c):
        with c.raw.transaction():  # psycopg: a savepoint inside the open transaction
            yield c

    def _current(self):
        return getattr(self._local, "tx", None)

    def _read(self, sql: str, args) -> list:
        with self.pool.connection() as c:
            return c.execute(*_sql(sql, args)).fetchall()

    def serialize(self, c, key: int) -> None:
        c.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    @property
    def conn(self) -> _ReadConnection:
        return _ReadConnection(self)

    def close(self) -> None:
        self.pool.close()

    # -- schema ------------------------------------------------------------------------
    def schema_version(self) -> int:
        return self.value("SELECT coalesce(max(version), 0) FROM schema_migrations")

    def integrity_check(self) -> str:
        """ "ok", or what is wrong. PostgreSQL enforces keys and constraints itself; what can still
        break is a sequence left behind its table (a restore by hand, a copy without the sequence
        reset): the next insert would collide with a stored row."""
        problems = []
        with self.pool.connection() as c:
            columns = [("papers_change_seq", "papers", "seq")] + [
                (r[2].split(".")[-1], r[0], r[1])
                for r in c.execute(
                    "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
                    "FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'"
                )
            ]
            for seq_name, table, column in columns:
                nxt, largest = c.execute(
                    pgsql.SQL(
                        "SELECT (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {}), "
                        "(SELECT coalesce(max({}), 0) FROM {})"
                    ).format(pgsql.Identifier(seq_name), pgsql.Identifier(column), pgsql.Identifier(table))
                ).fetchone()
                if nxt <= largest:
                    problems.append(
                        f"sequence {seq_name} would hand out {nxt}, but {table}.{column} already holds {largest}"
                    )
        return "; ".join(problems) or "ok"


def _redact(url: str) -> str:
    """The URL without its password (for messages)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid URL>"
    info.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in info.items())
