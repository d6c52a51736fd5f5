"""Move a SQLite instance to PostgreSQL without losing a row: ``paperwire migrate --copy-to URL``.

1. Both databases are migrated to the same schema version; every SQLite table must exist in
   PostgreSQL with the same columns (else: which table, and nothing is written).
2. The target must be empty (``force``: its tables are emptied first, in the same transaction).
3. The source is read inside one read transaction: a consistent snapshot, even while a server
   keeps writing to it (WAL mode lets it).
4. Every table is streamed with PostgreSQL's COPY in primary-key order, parents before children
   (foreign keys are checked as usual), with a progress bar.
5. The identity sequences (and the change feed's sequence) are moved past the largest copied id.
6. Verification, still inside the target's transaction: per table, the row count and an MD5
   over every row in primary-key order, serialised the same way on both sides (``_row_bytes``).
   Only when every table matches is the transaction committed; otherwise it is rolled back and
   the target stays as it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from psycopg import sql
from tqdm import tqdm

from ..errors import PaperwireError
from . import Store
from .postgres import PostgresDatabase
from .sqlite import SQLiteDatabase


class CopyError(PaperwireError):
    """The copy cannot start or did not verify; the target was not changed."""


@dataclass
class TableReport:
    table: str
    rows: int
    checksum: str


@dataclass
class CopyReport:
    tables: list[TableReport] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass
class _Table:
    name: str
    columns: list[str]
    order: list[str]  # primary-key columns (all columns when there is no primary key)
    bytea: set[int]  # positions of BYTEA columns (SQLite may hold text in a BLOB column)
    parents: set[str]


def _sqlite_tables(src: SQLiteDatabase) -> dict[str, _Table]:
    c = src.conn
    tables = {}
    for (name,) in c.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'schema_migrations' ORDER BY name"
    ):
        info = c.execute(f'PRAGMA table_info("{name}")').fetchall()
        columns = [r["name"] for r in info]
        pk = [r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"]]
        parents = {r["table"] for r in c.execute(f'PRAGMA foreign_key_list("{name}")')} - {name}
        tables[name] = _Table(name, columns, pk or columns, set(), parents)
    return tables


def _in_dependency_order(tables: dict[str, _Table]) -> list[_Table]:
    ordered, done = [], set()

    def visit(t: _Table, path: tuple[str, ...]) -> None:
        if t.name in done:
            return
        if t.name in path:
            raise CopyError(f"foreign keys form a cycle: {' -> '.join(path + (t.name,))}")
        for parent in sorted(t.parents):
            if parent in tables:
                visit(tables[parent], path + (t.name,))
        done.add(t.name)
        ordered.append(t)

    for t in tables.values():
        visit(t, ())
    return ordered


def _row_bytes(row, bytea: set[int]) -> bytes:
    """One row as bytes, the same on both sides: each value tagged with its type (so 1, 1.0,
    '1' and NULL differ), text as UTF-8, blobs as hex, fields and rows delimited."""
    parts = []
    for i, v in enumerate(row):
        if v is None:
            parts.append("n")
        elif i in bytea:
            parts.append("x" + (v.encode("utf-8") if isinstance(v, str) else bytes(v)).hex())
        elif isinstance(v, bool):
            parts.append(f"i{int(v)}")
        elif isinstance(v, int):
            parts.append(f"i{v}")
        elif isinstance(v, float):
            parts.append(f"f{v!r}")
        elif isinstance(v, str):
            parts.append("s" + v.replace("\\", "\\\\").replace("\x1f", "\\u").replace("\x1e", "\\r"))
        else:
            parts.append("?" + repr(v))
    return ("\x1f".join(parts) + "\x1e").encode("utf-8", "surrogatepass")


def _sqlite_rows(src: SQLiteDatabase, t: _Table, batch: int):
    cols = ", ".join(f'"{c}"' for c in t.columns)
    order = ", ".join(f'"{c}"' for c in t.order)
    cur = src.conn.execute(f'SELECT {cols} FROM "{t.name}" ORDER BY {order}')
    while True:
        rows = cur.fetchmany(batch)
        if not rows:
            return
        yield rows


def _pg_rows(conn, t: _Table, batch: int):
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, t.columns)),
        sql.Identifier(t.name),
        sql.SQL(", ").join(map(sql.Identifier, t.order)),
    )
    with conn.cursor(name=f"verify_{t.name}") as cur:  # server-side: streamed, not loaded whole
        cur.itersize = batch
        cur.execute(query)
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                return
            yield rows


def copy_sqlite_to_postgres(
    source: Store, target: Store, *, force: bool = False, batch: int = 5000, progress: bool = True
) -> CopyReport:
    """Copy every table of ``source`` (a SQLite store) into ``target`` (a PostgreSQL one) and verify
    it (see the module's docstring). Raises CopyError, leaving ``target`` unchanged, when it cannot
    start or does not verify."""
    src, dst = source.db, target.db
    if not isinstance(src, SQLiteDatabase) or not isinstance(dst, PostgresDatabase):
        raise CopyError("the copy goes from a SQLite database to a PostgreSQL one")
    sv, dv = src.schema_version(), dst.schema_version()
    if sv != dv:
        raise CopyError(
            f"schema versions differ: SQLite {sv}, PostgreSQL {dv} (a migration exists for one backend only)"
        )
    tables = _sqlite_tables(src)
    pg_columns: dict[str, list[str]] = {}
    pg_bytea: dict[str, set[str]] = {}
    for t, col, typ in dst.all(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        pg_columns.setdefault(t, []).append(col)
        if typ == "bytea":
            pg_bytea.setdefault(t, set()).add(col)
    for t in tables.values():
        if t.name not in pg_columns:
            raise CopyError(f"table {t.name!r} has no PostgreSQL counterpart (add its migrations/postgres script)")
        if sorted(pg_columns[t.name]) != sorted(t.columns):
            raise CopyError(f"table {t.name!r}: columns differ: SQLite {t.columns}, PostgreSQL {pg_columns[t.name]}")
        t.bytea = {i for i, c in enumerate(t.columns) if c in pg_bytea.get(t.name, set())}
    ordered = _in_dependency_order(tables)

    report = CopyReport()
    src_conn = src.conn
    src_conn.execute("BEGIN")  # one read snapshot for the copy and its verification
    try:
        counts = {t.name: src_conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in ordered}
        with dst.write() as c:
            nonempty = [
                t.name
                for t in ordered
                if c.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t.name))).fetchone()[0]
            ]
            if nonempty and not force:
                raise CopyError(
                    f"the target is not empty ({', '.join(nonempty)} hold rows); use --force to replace its contents"
                )
            if nonempty:
                c.execute(
                    sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                        sql.SQL(", ").join(sql.Identifier(t.name) for t in ordered)
                    )
                )

            for t in ordered:
                copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(t.name), sql.SQL(", ").join(map(sql.Identifier, t.columns))
                )
                with (
                    tqdm(
                        total=counts[t.name], desc=f"copy {t.name}", unit="row", disable=not progress, leave=False
                    ) as bar,
                    c.cursor() as cur,
                    cur.copy(copy) as cp,
                ):
                    for rows in _sqlite_rows(src, t, batch):
                        for row in rows:
                            if t.bytea:
                                row = [
                                    v.encode("utf-8") if i in t.bytea and isinstance(v, str) else v
                                    for i, v in enumerate(row)
                                ]
                            cp.write_row(row)
                        bar.update(len(rows))

            _reset_sequences(c)

            for t in ordered:
                want = hashlib.md5(usedforsecurity=False)
                got = hashlib.md5(usedforsecurity=False)
                n_src = n_dst = 0
                with tqdm(
                    total=2 * counts[t.name], desc=f"verify {t.name}", unit="row", disable=not progress, leave=False
                ) as bar:
                    for rows in _sqlite_rows(src, t, batch):
                        n_src += len(rows)
                        for row in rows:
                            want.update(_row_bytes(row, t.bytea))
                        bar.update(len(rows))
                    for rows in _pg_rows(c, t, batch):
                        n_dst += len(rows)
                        for row in rows:
                            got.update(_row_bytes(row, t.bytea))
                        bar.update(len(rows))
                if n_src != n_dst or want.digest() != got.digest():
                    raise CopyError(
                        f"table {t.name!r} did not verify: {n_src} rows (md5 {want.hexdigest()}) in "
                        f"SQLite, {n_dst} rows (md5 {got.hexdigest()}) in PostgreSQL; nothing was kept"
                    )
                report.tables.append(TableReport(t.name, n_src, want.hexdigest()))
    finally:
        src_conn.execute("COMMIT")
    return report


def _reset_sequences(c) -> None:
    """Move every identity sequence past the largest id copied, and the change feed's sequence
    past the largest seq, so the next insert does not collide with a copied row."""
    for table, column in c.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall():
        c.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence({}, {}), coalesce(max({}), 0) + 1, false) FROM {}").format(
                sql.Literal(table), sql.Literal(column), sql.Identifier(column), sql.Identifier(table)
            )
        )
    c.execute("SELECT setval('papers_change_seq', coalesce(max(seq), 0) + 1, false) FROM papers")
