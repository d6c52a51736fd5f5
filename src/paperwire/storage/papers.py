"""Papers: the rows, the change feed the indexers follow (``seq``), their positions in it
(index_state), embeddings, and the ingest bookkeeping (runs, bad records, source resume state).
Tables from migrations/*/0001_papers.sql."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..models import Paper, utc_now
from .database import LOCK_PAPERS, Database

PAPER_FIELDS = [
    "id",
    "version",
    "title",
    "abstract",
    "authors",
    "categories",
    "primary_category",
    "submitted",
    "updated",
    "announced",
    "doi",
    "journal_ref",
    "comments",
    "abs_url",
    "pdf_url",
    "code_url",
    "source",
]
PAPER_COLUMNS = ", ".join(PAPER_FIELDS)

# A ``papers`` row no curator hid: the condition every reader listing (a day's papers, its count,
# the neighbouring days) adds, so that a hidden paper is left out where they all meet instead of
# by each page (the correlated lookup is by paper_community's key).
VISIBLE_PAPER = (
    "NOT EXISTS (SELECT 1 FROM paper_community hc WHERE hc.paper_pk = papers.pk AND hc.hidden_at IS NOT NULL)"
)

# a day's papers minus its hidden ones: two index lookups (papers_day, paper_community_hidden)
# instead of testing every paper of the day
_COUNT_VISIBLE_ON_DAY = (
    "SELECT (SELECT count(*) FROM papers WHERE announced=?) - (SELECT count(*) FROM paper_community hc "
    "JOIN papers p ON p.pk = hc.paper_pk WHERE hc.hidden_at IS NOT NULL AND p.announced=?)"
)
# the nearest day before / after with a paper readers may see (walks papers_day from the day on)
_NEIGHBOR_DAYS = (
    f"SELECT (SELECT announced FROM papers WHERE announced<? AND {VISIBLE_PAPER} ORDER BY announced DESC LIMIT 1), "
    f"(SELECT announced FROM papers WHERE announced>? AND {VISIBLE_PAPER} ORDER BY announced LIMIT 1)"
)
_INSERT = (
    f"INSERT INTO papers ({PAPER_COLUMNS}, content_hash, text_hash, seq, run_id, created_at, updated_at)"
    f" VALUES ({', '.join('?' * 17)}, ?, ?, {{seq}}, ?, ?, ?) RETURNING pk"
)
_UPDATE = (
    f"UPDATE papers SET {', '.join(f'{c}=?' for c in PAPER_FIELDS)}, content_hash=?, text_hash=?, "
    "seq={seq}, run_id=?, updated_at=? WHERE pk=?"
)


def row_to_paper(row) -> Paper:
    d = {k: row[k] for k in PAPER_FIELDS}
    d["authors"] = json.loads(d["authors"])
    d["categories"] = json.loads(d["categories"])
    return Paper.from_dict(d)


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # ids this run already wrote earlier (the same paper twice in one input): reported, not stored again
    duplicates: list[str] = field(default_factory=list)


@dataclass
class Change:
    seq: int
    pk: int
    paper: Paper
    text_hash: str


class PaperStore:
    def __init__(self, db: Database):
        self.db = db
        seq = db.dialect.next_seq
        self._insert, self._update = _INSERT.format(seq=seq), _UPDATE.format(seq=seq)

    # -- papers ------------------------------------------------------------------------
    def upsert(
        self,
        papers: list[Paper],
        *,
        run_id: int | None = None,
        state: tuple[str, dict] | None = None,
        errors: list[tuple[str, str]] | None = None,
    ) -> UpsertResult:
        """Insert or update papers, and record a source's resume state and the batch's bad
        records, in one transaction: a crash leaves either all of it or none of it (inside
        ``store.transaction()``: part of that one).

        Idempotent: the same paper twice changes nothing. A newer version replaces an older one
        and keeps the first-submitted date; an older version than the stored one is ignored.

        The change feed: indexers read ``seq > last`` and then remember the largest seq they saw,
        so a seq must never become visible after a larger one. On PostgreSQL a plain sequence
        does not give that (writer A takes 10, B takes 11 and commits first, an indexer reads 11,
        then A commits 10: never indexed), so paper writers serialise on LOCK_PAPERS until they
        commit, as SQLite's single writer does, and seq order is commit order. A rolled-back
        writer leaves a gap, which is harmless (seq is unique and increasing, not dense).
        """
        result = UpsertResult()
        with self.db.write() as c:
            self.db.serialize(c, LOCK_PAPERS)
            self._upsert_in(c, papers, run_id, result)
            if state is not None:
                self._set_source_state(c, *state)
            if errors and run_id is not None:
                self._add_errors(c, run_id, errors)
        return result

    def _upsert_in(self, c, papers: list[Paper], run_id: int | None, result: UpsertResult) -> None:
        now = utc_now()
        existing = {
            r["id"]: dict(r)
            for r in self.db.rows_in(
                "SELECT pk, id, version, submitted, content_hash, run_id FROM papers WHERE id{}",
                [p.id for p in papers],
                c=c,
            )
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
                    c.execute("UPDATE papers SET run_id=? WHERE pk=?", (run_id, row["pk"]))
                    row["run_id"] = run_id
                continue
            values = (
                p.id,
                p.version,
                p.title,
                p.abstract,
                json.dumps(p.authors, ensure_ascii=False),
                json.dumps(p.categories),
                p.primary_category,
                p.submitted,
                p.updated,
                announced,
                p.doi,
                p.journal_ref,
                p.comments,
                p.abs_url,
                p.pdf_url,
                p.code_url,
                p.source,
            )
            if row is None:
                pk = c.execute(self._insert, values + (content_hash, p.text_hash(), run_id, now, now)).fetchall()[0][0]
                result.inserted += 1
            else:
                pk = row["pk"]
                c.execute(self._update, values + (content_hash, p.text_hash(), run_id, now, pk))
                result.updated += 1
            # the same id again later in this batch compares against what was just written
            existing[p.id] = {
                "pk": pk,
                "id": p.id,
                "version": p.version,
                "submitted": p.submitted,
                "content_hash": content_hash,
                "run_id": run_id,
            }

    def get(self, paper_id: str) -> Paper | None:
        row = self.db.one(f"SELECT {PAPER_COLUMNS} FROM papers WHERE id=?", (paper_id,))
        return row_to_paper(row) if row else None

    def get_many(self, pks: list[int]) -> dict[int, Paper]:
        rows = self.db.rows_in(f"SELECT pk, {PAPER_COLUMNS} FROM papers WHERE pk{{}}", pks)
        return {row["pk"]: row_to_paper(row) for row in rows}

    def pks_for(self, paper_ids: list[str]) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.rows_in("SELECT id, pk FROM papers WHERE id{}", paper_ids)}

    def count(self) -> int:
        return self.db.value("SELECT count(*) FROM papers")

    def on_day(self, day: str, limit: int = 50, offset: int = 0) -> list[Paper]:
        rows = self.db.all(
            f"SELECT {PAPER_COLUMNS} FROM papers WHERE announced=? AND {VISIBLE_PAPER} "
            f"ORDER BY submitted DESC{self.db.dialect.nulls_last}, pk DESC LIMIT ? OFFSET ?",
            (day, limit, offset),
        )
        return [row_to_paper(r) for r in rows]

    def count_on_day(self, day: str) -> int:
        return self.db.value(_COUNT_VISIBLE_ON_DAY, (day, day))

    def latest_day(self) -> str | None:
        return self.db.value("SELECT max(announced) FROM papers")

    def neighbor_days(self, day: str) -> tuple[str | None, str | None]:
        row = self.db.one(_NEIGHBOR_DAYS, (day, day))
        return row[0], row[1]

    def day_counts(self, category_prefix: str | None = None, since: str | None = None) -> dict[str, int]:
        """Papers per listing day, optionally only those with a category starting with a prefix
        (ignoring ASCII case)."""
        sql = "SELECT announced, count(*) FROM papers WHERE announced >= ?"
        args: list = [since or "0000"]
        if category_prefix:
            d = self.db.dialect
            sql += f" AND EXISTS (SELECT 1 FROM {d.json_values('papers.categories')} WHERE value {d.ilike} ? || '%')"
            args.append(category_prefix)
        sql += " GROUP BY announced"
        return {r[0]: r[1] for r in self.db.all(sql, args)}

    def iter(self, batch: int = 1000) -> Iterator[list[tuple[int, Paper]]]:
        last = 0
        while True:
            rows = self.db.all(f"SELECT pk, {PAPER_COLUMNS} FROM papers WHERE pk>? ORDER BY pk LIMIT ?", (last, batch))
            if not rows:
                return
            last = rows[-1]["pk"]
            yield [(r["pk"], row_to_paper(r)) for r in rows]

    # -- change feed -------------------------------------------------------------------
    def max_seq(self) -> int:
        return self.db.value("SELECT coalesce(max(seq), 0) FROM papers")

    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        rows = self.db.all(
            f"SELECT seq, pk, text_hash, {PAPER_COLUMNS} FROM papers WHERE seq>? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [Change(r["seq"], r["pk"], row_to_paper(r), r["text_hash"]) for r in rows]

    def count_changes_since(self, seq: int) -> int:
        return self.db.value("SELECT count(*) FROM papers WHERE seq>?", (seq,))

    def index_state(self, name: str) -> tuple[int, dict]:
        row = self.db.one("SELECT seq, meta FROM index_state WHERE name=?", (name,))
        return (row[0], json.loads(row[1])) if row else (0, {})

    def set_index_state(self, name: str, seq: int, meta: dict | None = None) -> None:
        with self.db.write() as c:
            c.execute(
                "INSERT INTO index_state (name, seq, meta) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET seq=excluded.seq, meta=excluded.meta",
                (name, seq, json.dumps(meta or {})),
            )

    # -- embeddings --------------------------------------------------------------------
    def put_embeddings(self, rows: list[tuple[int, str, bytes]], model: str) -> None:
        with self.db.write() as c:
            c.executemany(
                "INSERT INTO embeddings (pk, model, text_hash, vector) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(pk) DO UPDATE SET model=excluded.model, text_hash=excluded.text_hash, vector=excluded.vector",
                [(pk, model, h, bytes(v)) for pk, h, v in rows],
            )

    def embedding_hashes(self, pks: list[int]) -> dict[int, str]:
        return {r[0]: r[1] for r in self.db.rows_in("SELECT pk, text_hash FROM embeddings WHERE pk{}", pks)}

    def embeddings(self, pks: list[int]) -> dict[int, bytes]:
        return {r[0]: r[1] for r in self.db.rows_in("SELECT pk, vector FROM embeddings WHERE pk{}", pks)}

    def iter_embeddings(self, batch: int = 10_000) -> Iterator[list[tuple[int, bytes]]]:
        last = 0
        while True:
            rows = self.db.all("SELECT pk, vector FROM embeddings WHERE pk>? ORDER BY pk LIMIT ?", (last, batch))
            if not rows:
                return
            last = rows[-1][0]
            yield [(r[0], r[1]) for r in rows]

    def count_embeddings(self) -> int:
        return self.db.value("SELECT count(*) FROM embeddings")

    # -- ingest bookkeeping ------------------------------------------------------------
    def source_state(self, key: str) -> dict | None:
        row = self.db.one("SELECT state FROM source_state WHERE key=?", (key,))
        return json.loads(row[0]) if row else None

    @staticmethod
    def _set_source_state(c, key: str, state: dict) -> None:
        c.execute(
            "INSERT INTO source_state (key, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET state=excluded.state, updated_at=excluded.updated_at",
            (key, json.dumps(state), utc_now()),
        )

    def set_source_state(self, key: str, state: dict) -> None:
        with self.db.write() as c:
            self._set_source_state(c, key, state)

    def start_run(self, source_key: str) -> int:
        with self.db.write() as c:
            return c.execute(
                "INSERT INTO ingest_runs (source_key, started_at) VALUES (?, ?) RETURNING id", (source_key, utc_now())
            ).fetchall()[0][0]

    def finish_run(self, run_id: int, status: str, counts: dict) -> None:
        with self.db.write() as c:
            c.execute(
                "UPDATE ingest_runs SET status=?, counts=?, finished_at=? WHERE id=?",
                (status, json.dumps(counts), utc_now(), run_id),
            )

    def add_errors(self, run_id: int, errors: list[tuple[str, str]]) -> None:
        if errors:
            with self.db.write() as c:
                self._add_errors(c, run_id, errors)

    @staticmethod
    def _add_errors(c, run_id: int, errors: list[tuple[str, str]]) -> None:
        now = utc_now()
        c.executemany(
            "INSERT INTO ingest_errors (run_id, location, reason, created_at) VALUES (?, ?, ?, ?)",
            [(run_id, loc, reason, now) for loc, reason in errors],
        )

    def run_errors(self, run_id: int, limit: int = 1000) -> list[tuple[str, str]]:
        rows = self.db.all(
            "SELECT location, reason FROM ingest_errors WHERE run_id=? ORDER BY id LIMIT ?", (run_id, limit)
        )
        return [(r[0], r[1]) for r in rows]

    def last_run_id(self) -> int | None:
        """The id of the newest ingest run, None when there is none."""
        return self.db.value("SELECT max(id) FROM ingest_runs")

    def has_run(self, run_id: int) -> bool:
        return self.db.one("SELECT 1 FROM ingest_runs WHERE id=?", (run_id,)) is not None
