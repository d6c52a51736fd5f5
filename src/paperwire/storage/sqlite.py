"""SQLite implementation of the storage interface: WAL mode, versioned migrations, one
connection per thread, every write one ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

from ..models import Paper, utc_now
from .base import Change, UpsertResult
from .base_community import VISIBLE_PAPER
from .sqlite_accounts import SQLiteAccountsMixin, SQLiteSigninMixin
from .sqlite_community import SQLiteCommunityMixin
from .sqlite_digests import SQLiteDigestMixin
from .sqlite_feed_tokens import SQLiteFeedTokenMixin
from .sqlite_jobs import SQLiteJobsMixin
from .sqlite_retention import SQLiteRetentionMixin
from .sqlite_library import SQLiteLibraryMixin
from .sqlite_outbox import SQLiteOutboxMixin
from .sqlite_stars import SQLiteStarsMixin
from .sqlite_subscribers import SQLiteSubscriberMixin
from .sqlite_trending import SQLiteTrendingMixin

_PAPER_COLUMNS = (
    "id, version, title, abstract, authors, categories, primary_category, submitted, updated, "
    "announced, doi, journal_ref, comments, abs_url, pdf_url, code_url, source"
)
# a day's papers minus its hidden ones: two index lookups (papers_day, paper_community_hidden)
# instead of testing every paper of the day
_COUNT_VISIBLE_ON_DAY = (
    "SELECT (SELECT count(*) FROM papers WHERE announced=?) - (SELECT count(*) FROM paper_community hc "
    "JOIN papers p ON p.pk = hc.paper_pk WHERE hc.hidden_at IS NOT NULL AND p.announced=?)"
)
# the nearest day before / after with a paper readers may see (walks papers_day from the day on)
_NEIGHBOR_DAY = f"SELECT announced FROM papers WHERE announced{{op}}? AND {VISIBLE_PAPER} ORDER BY announced {{order}} LIMIT 1"


def _row_to_paper(row: sqlite3.Row) -> Paper:
    d = dict(row)
    d["authors"] = json.loads(d["authors"])
    d["categories"] = json.loads(d["categories"])
    return Paper.from_dict(d)


class SQLiteStore(SQLiteSubscriberMixin, SQLiteOutboxMixin, SQLiteDigestMixin, SQLiteStarsMixin,
                  SQLiteAccountsMixin, SQLiteSigninMixin, SQLiteCommunityMixin, SQLiteTrendingMixin, SQLiteLibraryMixin,
                  SQLiteJobsMixin, SQLiteRetentionMixin, SQLiteFeedTokenMixin):
    def __init__(self, path: str | Path):
        self.path = str(path)  # its directory must exist (storage.open_store says which one is missing)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # -- connections -------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
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
                self._all.append(c)
        return c

    @contextmanager
    def _write(self):
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        else:
            c.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.ProgrammingError:
                    pass
            self._all.clear()
        self._local = threading.local()

    # -- schema ------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply the numbered scripts in migrations/sqlite that this database has not seen."""
        c = self.conn
        c.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in c.execute("SELECT version FROM schema_migrations")}
        scripts = sorted(
            (int(f.name.split("_", 1)[0]), f)
            for f in resources.files("paperwire.storage").joinpath("migrations/sqlite").iterdir()
            if f.name.endswith(".sql")
        )
        applied = []
        for version, f in scripts:
            if version in done:
                continue
            with self._write() as w:
                # re-check inside the write lock: another process may have migrated meanwhile
                if w.execute("SELECT 1 FROM schema_migrations WHERE version=?", (version,)).fetchone():
                    continue
                for statement in _split_sql(f.read_text()):
                    w.execute(statement)
                w.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utc_now()))
            applied.append(version)
        return applied

    def schema_version(self) -> int:
        row = self.conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return row[0] or 0

    # -- papers ------------------------------------------------------------------------
    def upsert_papers(self, papers: list[Paper], *, run_id: int | None = None,
                      state: tuple[str, dict] | None = None,
                      errors: list[tuple[str, str]] | None = None) -> UpsertResult:
        """Insert or update papers, and record a source's resume state and the batch's bad
        records, in one transaction: a crash leaves either all of it or none of it.

        Idempotent: the same paper twice changes nothing. A newer version replaces an older one
        and keeps the first-submitted date; an older version than the stored one is ignored.
        """
        result = UpsertResult()
        with self._write() as c:
            self._upsert_in(c, papers, run_id, result)
            if state is not None:
                self._set_state(c, *state)
            if errors and run_id is not None:
                self._add_errors(c, run_id, errors)
        return result

    def _upsert_in(self, c: sqlite3.Connection, papers: list[Paper], run_id: int | None,
                   result: UpsertResult) -> None:
        """The body of upsert_papers inside a transaction the caller holds (also used by the
        Hugging Face import, which writes papers and their community data in one transaction)."""
        now = utc_now()
        seq = c.execute("SELECT coalesce(max(seq), 0) FROM papers").fetchone()[0]
        for p in papers:
            row = c.execute(
                "SELECT pk, version, submitted, content_hash, run_id FROM papers WHERE id=?", (p.id,)
            ).fetchone()
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
                    c.execute("UPDATE papers SET run_id=? WHERE pk=?", (run_id, row["pk"]))
                continue
            seq += 1
            values = (
                p.id, p.version, p.title, p.abstract, json.dumps(p.authors, ensure_ascii=False),
                json.dumps(p.categories), p.primary_category, p.submitted, p.updated, announced,
                p.doi, p.journal_ref, p.comments, p.abs_url, p.pdf_url, p.code_url, p.source,
            )
            if row is None:
                c.execute(
                    f"INSERT INTO papers ({_PAPER_COLUMNS}, content_hash, text_hash, seq, run_id, created_at, updated_at)"
                    f" VALUES ({', '.join('?' * 17)}, ?, ?, ?, ?, ?, ?)",
                    values + (content_hash, p.text_hash(), seq, run_id, now, now),
                )
                result.inserted += 1
            else:
                assignments = ", ".join(f"{col.strip()}=?" for col in _PAPER_COLUMNS.split(","))
                c.execute(
                    f"UPDATE papers SET {assignments}, content_hash=?, text_hash=?, seq=?, run_id=?, updated_at=? WHERE pk=?",
                    values + (content_hash, p.text_hash(), seq, run_id, now, row["pk"]),
                )
                result.updated += 1

    def get_paper(self, paper_id: str) -> Paper | None:
        row = self.conn.execute(f"SELECT {_PAPER_COLUMNS} FROM papers WHERE id=?", (paper_id,)).fetchone()
        return _row_to_paper(row) if row else None

    def _rows_in(self, sql: str, keys) -> Iterator[sqlite3.Row]:
        """Run ``sql`` (with one ``IN ({})`` placeholder) over keys, 500 at a time (SQLite's
        bound-parameter limit)."""
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            yield from self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk)

    def get_papers(self, pks: list[int]) -> dict[int, Paper]:
        rows = self._rows_in(f"SELECT pk, {_PAPER_COLUMNS} FROM papers WHERE pk IN ({{}})", pks)
        return {row["pk"]: _row_to_paper(row) for row in rows}

    def pks_for(self, paper_ids: list[str]) -> dict[str, int]:
        return {row[0]: row[1] for row in self._rows_in("SELECT id, pk FROM papers WHERE id IN ({})", paper_ids)}

    def count_papers(self) -> int:
        return self.conn.execute("SELECT count(*) FROM papers").fetchone()[0]

    def papers_on_day(self, day: str, limit: int = 50, offset: int = 0) -> list[Paper]:
        rows = self.conn.execute(
            f"SELECT {_PAPER_COLUMNS} FROM papers WHERE announced=? AND {VISIBLE_PAPER} "
            "ORDER BY submitted DESC, pk DESC LIMIT ? OFFSET ?",
            (day, limit, offset),
        )
        return [_row_to_paper(r) for r in rows]

    def count_on_day(self, day: str) -> int:
        return self.conn.execute(_COUNT_VISIBLE_ON_DAY, (day, day)).fetchone()[0]

    def latest_day(self) -> str | None:
        return self.conn.execute("SELECT max(announced) FROM papers").fetchone()[0]

    def neighbor_days(self, day: str) -> tuple[str | None, str | None]:
        prev = self.conn.execute(_NEIGHBOR_DAY.format(op="<", order="DESC"), (day,)).fetchone()
        nxt = self.conn.execute(_NEIGHBOR_DAY.format(op=">", order="ASC"), (day,)).fetchone()
        return (prev[0] if prev else None), (nxt[0] if nxt else None)

    def day_counts(self, category_prefix: str | None = None, since: str | None = None) -> dict[str, int]:
        """Papers per listing day, optionally only those with a category starting with a prefix."""
        sql = "SELECT announced, count(*) FROM papers WHERE announced >= ?"
        args: list = [since or "0000"]
        if category_prefix:
            sql += " AND EXISTS (SELECT 1 FROM json_each(papers.categories) WHERE value LIKE ? || '%')"
            args.append(category_prefix)
        sql += " GROUP BY announced"
        return {r[0]: r[1] for r in self.conn.execute(sql, args)}

    def iter_papers(self, batch: int = 1000) -> Iterator[list[tuple[int, Paper]]]:
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT pk, {_PAPER_COLUMNS} FROM papers WHERE pk>? ORDER BY pk LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            last = rows[-1]["pk"]
            yield [(r["pk"], _row_to_paper(r)) for r in rows]

    # -- change feed -------------------------------------------------------------------
    def max_seq(self) -> int:
        return self.conn.execute("SELECT coalesce(max(seq), 0) FROM papers").fetchone()[0]

    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        rows = self.conn.execute(
            f"SELECT seq, pk, text_hash, {_PAPER_COLUMNS} FROM papers WHERE seq>? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [Change(r["seq"], r["pk"], _row_to_paper(r), r["text_hash"]) for r in rows]

    def count_changes_since(self, seq: int) -> int:
        return self.conn.execute("SELECT count(*) FROM papers WHERE seq>?", (seq,)).fetchone()[0]

    def get_index_state(self, name: str) -> tuple[int, dict]:
        row = self.conn.execute("SELECT seq, meta FROM index_state WHERE name=?", (name,)).fetchone()
        return (row[0], json.loads(row[1])) if row else (0, {})

    def set_index_state(self, name: str, seq: int, meta: dict | None = None) -> None:
        with self._write() as c:
            c.execute(
                "INSERT INTO index_state (name, seq, meta) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET seq=excluded.seq, meta=excluded.meta",
                (name, seq, json.dumps(meta or {})),
            )

    # -- embeddings --------------------------------------------------------------------
    def put_embeddings(self, rows: list[tuple[int, str, bytes]], model: str) -> None:
        with self._write() as c:
            c.executemany(
                "INSERT INTO embeddings (pk, model, text_hash, vector) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(pk) DO UPDATE SET model=excluded.model, text_hash=excluded.text_hash, vector=excluded.vector",
                [(pk, model, h, v) for pk, h, v in rows],
            )

    def embedding_hashes(self, pks: list[int]) -> dict[int, str]:
        return {r[0]: r[1] for r in self._rows_in("SELECT pk, text_hash FROM embeddings WHERE pk IN ({})", pks)}

    def get_embeddings(self, pks: list[int]) -> dict[int, bytes]:
        return {r[0]: r[1] for r in self._rows_in("SELECT pk, vector FROM embeddings WHERE pk IN ({})", pks)}

    def iter_embeddings(self, batch: int = 10_000) -> Iterator[list[tuple[int, bytes]]]:
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT pk, vector FROM embeddings WHERE pk>? ORDER BY pk LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [(r[0], r[1]) for r in rows]

    def count_embeddings(self) -> int:
        return self.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]

    # -- ingest bookkeeping ------------------------------------------------------------
    def get_state(self, key: str) -> dict | None:
        row = self.conn.execute("SELECT state FROM source_state WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    @staticmethod
    def _set_state(c: sqlite3.Connection, key: str, state: dict) -> None:
        c.execute(
            "INSERT INTO source_state (key, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET state=excluded.state, updated_at=excluded.updated_at",
            (key, json.dumps(state), utc_now()),
        )

    def set_state(self, key: str, state: dict) -> None:
        with self._write() as c:
            self._set_state(c, key, state)

    def start_run(self, source_key: str) -> int:
        with self._write() as c:
            cur = c.execute("INSERT INTO ingest_runs (source_key, started_at) VALUES (?, ?)", (source_key, utc_now()))
            return cur.lastrowid

    def finish_run(self, run_id: int, status: str, counts: dict) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE ingest_runs SET status=?, counts=?, finished_at=? WHERE id=?",
                (status, json.dumps(counts), utc_now(), run_id),
            )

    def add_errors(self, run_id: int, errors: list[tuple[str, str]]) -> None:
        if not errors:
            return
        with self._write() as c:
            self._add_errors(c, run_id, errors)

    @staticmethod
    def _add_errors(c: sqlite3.Connection, run_id: int, errors: list[tuple[str, str]]) -> None:
        now = utc_now()
        c.executemany(
            "INSERT INTO ingest_errors (run_id, location, reason, created_at) VALUES (?, ?, ?, ?)",
            [(run_id, loc, reason, now) for loc, reason in errors],
        )

    def run_errors(self, run_id: int, limit: int = 1000) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT location, reason FROM ingest_errors WHERE run_id=? ORDER BY id LIMIT ?", (run_id, limit)
        )
        return [(r[0], r[1]) for r in rows]

    def last_run_id(self) -> int | None:
        return self.conn.execute("SELECT max(id) FROM ingest_runs").fetchone()[0]

    def has_run(self, run_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM ingest_runs WHERE id=?", (run_id,)).fetchone() is not None

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (our scripts hold no ';' inside strings or triggers)."""
    lines = [l for l in script.splitlines() if not l.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
