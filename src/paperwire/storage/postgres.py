"""PostgreSQL implementation of the storage interface (psycopg 3 + a psycopg_pool connection pool).

Same tables, columns and semantics as the SQLite implementation (sqlite.py); one mixin per part
(postgres_<area>.py), migrations in migrations/postgres/ with the SQLite scripts' numbers. The
mixins whose SQL is portable as written (community, trending, library) are the SQLite ones,
run through PGConnection (``?`` placeholders become ``%s``).

Transactions: SQLite serialises every write (``BEGIN IMMEDIATE``); PostgreSQL runs writers
concurrently under READ COMMITTED. Where a SQLite method's correctness leans on that
serialisation (read-then-write: the change feed's seq, a subscribe request's rate limits and
"row exists?" checks) the PostgreSQL method takes a transaction-level advisory lock for that
part only (``_lock``), or locks the rows it reads (``FOR UPDATE``); other writes run in parallel.
Reads run outside transactions (autocommit), each on a pooled connection.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Iterator

import psycopg
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool

from ..models import Paper, utc_now
from .base import Change, UpsertResult
from .errors import DatabaseUnreachable
from .base_community import VISIBLE_PAPER
from .postgres_accounts import PostgresAccountsMixin, PostgresSigninMixin
from .postgres_digests import PostgresDigestMixin
from .postgres_jobs import PostgresJobsMixin
from .postgres_outbox import PostgresOutboxMixin
from .postgres_retention import PostgresRetentionMixin
from .sqlite_stars import SQLiteStarsMixin  # portable SQL: shared as it is
from .postgres_subscribers import PostgresSubscriberMixin
from .sqlite import _PAPER_COLUMNS, _split_sql
from .sqlite_community import SQLiteCommunityMixin
from .sqlite_feed_tokens import SQLiteFeedTokenMixin
from .sqlite_library import SQLiteLibraryMixin
from .sqlite_trending import SQLiteTrendingMixin

# advisory lock keys (pg_advisory_xact_lock(bigint)): one per serialised kind of write
LOCK_MIGRATE = 0x7077_0001
LOCK_PAPERS = 0x7077_0002
# LOCK_SUBSCRIBE (0x7077_0003): postgres_subscribers.py

_PAPER_COLS = [c.strip() for c in _PAPER_COLUMNS.split(",")]


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


def _row_to_paper(row) -> Paper:
    d = {k: row[k] for k in _PAPER_COLS}
    d["authors"] = json.loads(d["authors"])
    d["categories"] = json.loads(d["categories"])
    return Paper.from_dict(d)


def _configure(conn: psycopg.Connection) -> None:
    conn.row_factory = row_factory


@lru_cache(maxsize=1024)
def _qmark_to_format(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` as ``%%``); SQL
    without a ``?`` outside string literals is returned unchanged (it is psycopg's style already)."""
    parts = sql.split("'")  # even parts are outside string literals ('' inside one splits evenly too)
    if not any("?" in part for part in parts[::2]):
        return sql
    return "'".join(part.replace("%", "%%").replace("?", "%s") if i % 2 == 0 else part.replace("%", "%%")
                    for i, part in enumerate(parts))


def _sql(query, args):
    if not isinstance(query, str):  # psycopg.sql.Composed
        return query, args
    if not args:
        return query, None  # no parameters: psycopg leaves the text alone
    return _qmark_to_format(query), args


class PGConnection:
    """A pooled psycopg connection that also takes the SQL the SQLite mixins write (``?``
    placeholders, ``conn.executemany``), so storage code kept portable runs on both backends
    unchanged (the community, trending and library mixins do; see PostgresStore)."""

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
    """The answer of one autocommit read, fetched whole (what ``self.conn.execute`` returns)."""

    def __init__(self, rows: list, rowcount: int):
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list:
        return self._rows

    def __iter__(self):
        return iter(self._rows)


class _ReadConnection:
    """``store.conn`` for code written against SQLiteStore: each execute() is one autocommit
    statement on a pooled connection, its rows fetched at once."""

    def __init__(self, pool: ConnectionPool):
        self._pool = pool

    def execute(self, query, args=()) -> _Fetched:
        with self._pool.connection() as c:
            cur = c.execute(*_sql(query, args))
            return _Fetched(cur.fetchall() if cur.description else [], cur.rowcount)


class PostgresStore(PostgresSubscriberMixin, PostgresOutboxMixin, PostgresDigestMixin,
                    PostgresAccountsMixin, PostgresSigninMixin, PostgresJobsMixin, PostgresRetentionMixin,
                    # written portable (ON CONFLICT upserts, no SQLite-only functions, and on
                    # PostgreSQL each write locks its paper_community row first): shared as they are
                    SQLiteStarsMixin, SQLiteCommunityMixin, SQLiteTrendingMixin, SQLiteLibraryMixin,
                    SQLiteFeedTokenMixin):
    # the shared mixins' row lock (sqlite_subscribers._ROW_LOCK): a second writer waits for the first
    _ROW_LOCK = " FOR UPDATE"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10):
        self.url = url
        try:  # fail fast, and clearly, when the server cannot be reached (the pool would retry for long)
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as e:
            raise DatabaseUnreachable(f"cannot connect to PostgreSQL at {_redact(url)}: {e}".strip()) from None
        # autocommit: a read is its own statement; writes open an explicit transaction (_write).
        # check: a connection the server dropped (restart, idle timeout) is replaced, not handed out
        self.pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=False,
                                   kwargs={"autocommit": True}, configure=_configure,
                                   check=ConnectionPool.check_connection, name="paperwire")
        try:
            self.pool.open(wait=True, timeout=30)
        except Exception as e:  # psycopg_pool.PoolTimeout: say which database could not be reached
            self.pool.close()
            raise DatabaseUnreachable(f"cannot connect to PostgreSQL at {_redact(url)}: {e}") from None

    # -- connections -------------------------------------------------------------------
    @contextmanager
    def _write(self):
        """One transaction on a pooled connection: committed when the block ends, rolled back
        when it raises."""
        with self.pool.connection() as c:
            with c.transaction():
                yield PGConnection(c)

    @staticmethod
    def _lock(c, key: int) -> None:
        """Serialise this transaction with every other one taking the same key, until it ends."""
        c.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    @property
    def conn(self) -> _ReadConnection:
        """For the mixins shared with SQLiteStore: reads, one autocommit statement each."""
        return _ReadConnection(self.pool)

    def _rows_in(self, sql: str, keys) -> Iterator[Row]:
        """Run ``sql`` (with one ``IN ({})`` placeholder) over keys, 500 at a time (as SQLiteStore's)."""
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            yield from self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk)

    def _all(self, sql: str, args=()) -> list[Row]:
        with self.pool.connection() as c:
            return c.execute(*_sql(sql, args)).fetchall()

    def _one(self, sql: str, args=()) -> Row | None:
        with self.pool.connection() as c:
            return c.execute(*_sql(sql, args)).fetchone()

    def _value(self, sql: str, args=()):
        row = self._one(sql, args)
        return row[0] if row else None

    def close(self) -> None:
        self.pool.close()

    # -- schema ------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply the numbered scripts in migrations/postgres that this database has not seen;
        each script and its schema_migrations row in one transaction (PostgreSQL's DDL is
        transactional), under an advisory lock so two processes never apply one twice."""
        scripts = sorted(
            (int(f.name.split("_", 1)[0]), f)
            for f in resources.files("paperwire.storage").joinpath("migrations/postgres").iterdir()
            if f.name.endswith(".sql")
        )
        applied = []
        with self._write() as c:
            self._lock(c, LOCK_MIGRATE)
            c.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                      "(version INTEGER PRIMARY KEY, applied_at TEXT COLLATE \"C\" NOT NULL)")
        for version, f in scripts:
            with self._write() as c:
                self._lock(c, LOCK_MIGRATE)
                if c.execute("SELECT 1 FROM schema_migrations WHERE version=%s", (version,)).fetchone():
                    continue
                for statement in _split_sql(f.read_text()):
                    c.execute(statement)
                c.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, utc_now()))
            applied.append(version)
        return applied

    def schema_version(self) -> int:
        return self._value("SELECT coalesce(max(version), 0) FROM schema_migrations")

    # -- papers ------------------------------------------------------------------------
    def upsert_papers(self, papers: list[Paper], *, run_id: int | None = None,
                      state: tuple[str, dict] | None = None,
                      errors: list[tuple[str, str]] | None = None) -> UpsertResult:
        """See SQLiteStore.upsert_papers: the same rules, one transaction.

        The change feed: indexers read ``seq > last`` and then remember the largest seq they saw,
        so a seq must never become visible after a larger one. A plain sequence does not give
        that (writer A takes 10, writer B takes 11 and commits first, an indexer reads 11, then
        A commits 10: never indexed). So paper writers take an advisory lock first and hold it
        until they commit: they take their numbers from the sequence and commit one after the
        other, as SQLite's single writer does, and seq order is commit order. A rolled-back
        writer leaves a gap, which is harmless (seq is unique and increasing, not dense).
        """
        result = UpsertResult()
        with self._write() as c:
            self._upsert_in(c, papers, run_id, result)
            if state is not None:
                self._set_state(c, *state)
            if errors and run_id is not None:
                self._add_errors(c, run_id, errors)
        return result

    def _upsert_in(self, c: psycopg.Connection, papers: list[Paper], run_id: int | None,
                   result: UpsertResult) -> None:
        """The body of upsert_papers inside a transaction the caller holds (as SQLiteStore's; the
        Hugging Face import writes papers and their community data in one transaction). Takes
        the change-feed lock, which the caller then holds until it commits."""
        now = utc_now()
        self._lock(c, LOCK_PAPERS)
        existing = {
            r["id"]: dict(r) for r in c.execute(
                "SELECT pk, id, version, submitted, content_hash, run_id FROM papers WHERE id = ANY(%s)",
                ([p.id for p in papers],))
        }
        for p in papers:
            row = existing.get(p.id)
            if row is not None and run_id is not None and row["run_id"] == run_id:
                result.duplicates.append(p.id)
                continue
            if row is not None:
                if p.version is not None and row["version"] is not None and p.version < row["version"]:
                    result.unchanged += 1
                    continue
                if row["submitted"] and (not p.submitted or row["submitted"] < p.submitted):
                    p.submitted = row["submitted"]  # keep the first-submitted date
                    if p.updated and p.updated < p.submitted:
                        p.updated = p.submitted
                if p.version is None and row["version"] is not None:
                    p.version = row["version"]
            announced = p.day or now[:10]
            p.announced = announced
            content_hash = p.content_hash()
            if row is not None and row["content_hash"] == content_hash:
                result.unchanged += 1
                if run_id is not None:
                    c.execute("UPDATE papers SET run_id=%s WHERE pk=%s", (run_id, row["pk"]))
                    row["run_id"] = run_id
                continue
            values = (
                p.id, p.version, p.title, p.abstract, json.dumps(p.authors, ensure_ascii=False),
                json.dumps(p.categories), p.primary_category, p.submitted, p.updated, announced,
                p.doi, p.journal_ref, p.comments, p.abs_url, p.pdf_url, p.code_url, p.source,
            )
            if row is None:
                pk = c.execute(
                    f"INSERT INTO papers ({_PAPER_COLUMNS}, content_hash, text_hash, seq, run_id, created_at, updated_at)"
                    f" VALUES ({', '.join(['%s'] * 17)}, %s, %s, nextval('papers_change_seq'), %s, %s, %s)"
                    " RETURNING pk",
                    values + (content_hash, p.text_hash(), run_id, now, now),
                ).fetchone()[0]
                result.inserted += 1
            else:
                pk = row["pk"]
                assignments = ", ".join(f"{col}=%s" for col in _PAPER_COLS)
                c.execute(
                    f"UPDATE papers SET {assignments}, content_hash=%s, text_hash=%s, "
                    "seq=nextval('papers_change_seq'), run_id=%s, updated_at=%s WHERE pk=%s",
                    values + (content_hash, p.text_hash(), run_id, now, pk),
                )
                result.updated += 1
            existing[p.id] = {"pk": pk, "id": p.id, "version": p.version, "submitted": p.submitted,
                              "content_hash": content_hash, "run_id": run_id}

    def get_paper(self, paper_id: str) -> Paper | None:
        row = self._one(f"SELECT {_PAPER_COLUMNS} FROM papers WHERE id=%s", (paper_id,))
        return _row_to_paper(row) if row else None

    def get_papers(self, pks: list[int]) -> dict[int, Paper]:
        rows = self._all(f"SELECT pk, {_PAPER_COLUMNS} FROM papers WHERE pk = ANY(%s)", (list(pks),))
        return {row["pk"]: _row_to_paper(row) for row in rows}

    def pks_for(self, paper_ids: list[str]) -> dict[str, int]:
        return {r[0]: r[1] for r in self._all("SELECT id, pk FROM papers WHERE id = ANY(%s)", (list(paper_ids),))}

    def count_papers(self) -> int:
        return self._value("SELECT count(*) FROM papers")

    def papers_on_day(self, day: str, limit: int = 50, offset: int = 0) -> list[Paper]:
        # NULLS LAST: SQLite sorts NULL lowest, so DESC puts it last
        rows = self._all(
            f"SELECT {_PAPER_COLUMNS} FROM papers WHERE announced=%s AND {VISIBLE_PAPER} "
            "ORDER BY submitted DESC NULLS LAST, pk DESC LIMIT %s OFFSET %s",
            (day, limit, offset),
        )
        return [_row_to_paper(r) for r in rows]

    def count_on_day(self, day: str) -> int:
        # as SQLiteStore's: the day's papers minus its hidden ones, each an index lookup
        return self._value(
            "SELECT (SELECT count(*) FROM papers WHERE announced=%s) - (SELECT count(*) FROM paper_community hc "
            "JOIN papers p ON p.pk = hc.paper_pk WHERE hc.hidden_at IS NOT NULL AND p.announced=%s)", (day, day))

    def latest_day(self) -> str | None:
        return self._value("SELECT max(announced) FROM papers")

    def neighbor_days(self, day: str) -> tuple[str | None, str | None]:
        row = self._one(
            f"SELECT (SELECT announced FROM papers WHERE announced<%s AND {VISIBLE_PAPER} ORDER BY announced DESC LIMIT 1), "
            f"(SELECT announced FROM papers WHERE announced>%s AND {VISIBLE_PAPER} ORDER BY announced LIMIT 1)",
            (day, day))
        return row[0], row[1]

    def day_counts(self, category_prefix: str | None = None, since: str | None = None) -> dict[str, int]:
        """Papers per listing day, optionally only those with a category starting with a prefix
        (ILIKE: SQLite's LIKE ignores ASCII case)."""
        sql = "SELECT announced, count(*) FROM papers WHERE announced >= %s"
        args: list = [since or "0000"]
        if category_prefix:
            sql += (" AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(papers.categories::jsonb) AS v(value)"
                    " WHERE v.value ILIKE %s || '%%')")
            args.append(category_prefix)
        sql += " GROUP BY announced"
        return {r[0]: r[1] for r in self._all(sql, args)}

    def iter_papers(self, batch: int = 1000) -> Iterator[list[tuple[int, Paper]]]:
        last = 0
        while True:
            rows = self._all(f"SELECT pk, {_PAPER_COLUMNS} FROM papers WHERE pk>%s ORDER BY pk LIMIT %s",
                             (last, batch))
            if not rows:
                return
            last = rows[-1]["pk"]
            yield [(r["pk"], _row_to_paper(r)) for r in rows]

    # -- change feed -------------------------------------------------------------------
    def max_seq(self) -> int:
        return self._value("SELECT coalesce(max(seq), 0) FROM papers")

    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        rows = self._all(
            f"SELECT seq, pk, text_hash, {_PAPER_COLUMNS} FROM papers WHERE seq>%s ORDER BY seq LIMIT %s",
            (seq, limit),
        )
        return [Change(r["seq"], r["pk"], _row_to_paper(r), r["text_hash"]) for r in rows]

    def count_changes_since(self, seq: int) -> int:
        return self._value("SELECT count(*) FROM papers WHERE seq>%s", (seq,))

    def get_index_state(self, name: str) -> tuple[int, dict]:
        row = self._one("SELECT seq, meta FROM index_state WHERE name=%s", (name,))
        return (row[0], json.loads(row[1])) if row else (0, {})

    def set_index_state(self, name: str, seq: int, meta: dict | None = None) -> None:
        with self._write() as c:
            c.execute(
                "INSERT INTO index_state (name, seq, meta) VALUES (%s, %s, %s) "
                "ON CONFLICT(name) DO UPDATE SET seq=excluded.seq, meta=excluded.meta",
                (name, seq, json.dumps(meta or {})),
            )

    # -- embeddings --------------------------------------------------------------------
    def put_embeddings(self, rows: list[tuple[int, str, bytes]], model: str) -> None:
        with self._write() as c:
            with c.cursor() as cur:
                cur.executemany(
                    "INSERT INTO embeddings (pk, model, text_hash, vector) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT(pk) DO UPDATE SET model=excluded.model, text_hash=excluded.text_hash, "
                    "vector=excluded.vector",
                    [(pk, model, h, bytes(v)) for pk, h, v in rows],
                )

    def embedding_hashes(self, pks: list[int]) -> dict[int, str]:
        return {r[0]: r[1] for r in self._all("SELECT pk, text_hash FROM embeddings WHERE pk = ANY(%s)", (list(pks),))}

    def get_embeddings(self, pks: list[int]) -> dict[int, bytes]:
        return {r[0]: r[1] for r in self._all("SELECT pk, vector FROM embeddings WHERE pk = ANY(%s)", (list(pks),))}

    def iter_embeddings(self, batch: int = 10_000) -> Iterator[list[tuple[int, bytes]]]:
        last = 0
        while True:
            rows = self._all("SELECT pk, vector FROM embeddings WHERE pk>%s ORDER BY pk LIMIT %s", (last, batch))
            if not rows:
                return
            last = rows[-1][0]
            yield [(r[0], r[1]) for r in rows]

    def count_embeddings(self) -> int:
        return self._value("SELECT count(*) FROM embeddings")

    # -- ingest bookkeeping ------------------------------------------------------------
    def get_state(self, key: str) -> dict | None:
        row = self._one("SELECT state FROM source_state WHERE key=%s", (key,))
        return json.loads(row[0]) if row else None

    @staticmethod
    def _set_state(c: psycopg.Connection, key: str, state: dict) -> None:
        c.execute(
            "INSERT INTO source_state (key, state, updated_at) VALUES (%s, %s, %s) "
            "ON CONFLICT(key) DO UPDATE SET state=excluded.state, updated_at=excluded.updated_at",
            (key, json.dumps(state), utc_now()),
        )

    def set_state(self, key: str, state: dict) -> None:
        with self._write() as c:
            self._set_state(c, key, state)

    def start_run(self, source_key: str) -> int:
        with self._write() as c:
            return c.execute("INSERT INTO ingest_runs (source_key, started_at) VALUES (%s, %s) RETURNING id",
                             (source_key, utc_now())).fetchone()[0]

    def finish_run(self, run_id: int, status: str, counts: dict) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE ingest_runs SET status=%s, counts=%s, finished_at=%s WHERE id=%s",
                (status, json.dumps(counts), utc_now(), run_id),
            )

    def add_errors(self, run_id: int, errors: list[tuple[str, str]]) -> None:
        if not errors:
            return
        with self._write() as c:
            self._add_errors(c, run_id, errors)

    @staticmethod
    def _add_errors(c: psycopg.Connection, run_id: int, errors: list[tuple[str, str]]) -> None:
        now = utc_now()
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO ingest_errors (run_id, location, reason, created_at) VALUES (%s, %s, %s, %s)",
                [(run_id, loc, reason, now) for loc, reason in errors],
            )

    def run_errors(self, run_id: int, limit: int = 1000) -> list[tuple[str, str]]:
        rows = self._all("SELECT location, reason FROM ingest_errors WHERE run_id=%s ORDER BY id LIMIT %s",
                         (run_id, limit))
        return [(r[0], r[1]) for r in rows]

    def last_run_id(self) -> int | None:
        return self._one("SELECT max(id) FROM ingest_runs")[0]

    def has_run(self, run_id: int) -> bool:
        return self._one("SELECT 1 FROM ingest_runs WHERE id=%s", (run_id,)) is not None

    def integrity_check(self) -> str:
        """"ok", or what is wrong. PostgreSQL enforces keys and constraints itself; what can still
        break is a sequence left behind its table (a restore by hand, a copy without the sequence
        reset): the next insert would collide with a stored row."""
        problems = []
        with self.pool.connection() as c:
            columns = [("papers_change_seq", "papers", "seq")] + [
                (r[2].split(".")[-1], r[0], r[1]) for r in c.execute(
                    "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
                    "FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'")
            ]
            for seq_name, table, column in columns:
                nxt, largest = c.execute(pgsql.SQL(
                    "SELECT (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {}), "
                    "(SELECT coalesce(max({}), 0) FROM {})").format(
                        pgsql.Identifier(seq_name), pgsql.Identifier(column), pgsql.Identifier(table))).fetchone()
                if nxt <= largest:
                    problems.append(f"sequence {seq_name} would hand out {nxt}, but {table}.{column} "
                                    f"already holds {largest}")
        return "; ".join(problems) or "ok"


def _redact(url: str) -> str:
    """The URL without its password (for messages)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid URL>"
    info.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in info.items())
