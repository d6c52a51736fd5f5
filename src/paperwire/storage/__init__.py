"""Storage: ``open_store(url)`` gives a ``Store`` with one attribute per area (``store.papers``, ...),
each written once over a ``Database`` (sqlite.py, postgres.py) and its ``Dialect`` (database.py)."""

from __future__ import annotations

from pathlib import Path

from ..config import sqlite_file
from .errors import DatabaseUnreachable, DatabaseURLError
from .papers import Change, UpsertResult
from .store import Store

USAGE = "use sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname"


def open_store(database_url: str, *, migrate: bool = True, create_dir: str | Path | None = None) -> Store:
    """Open the database named by a URL: ``sqlite:///path/to/file.db`` or
    ``postgresql://user:password@host:port/dbname`` (``postgres://`` too). A SQLite file's directory
    must exist, except ``create_dir`` (the data directory), which is created when missing: a typo in
    a path must not quietly start an empty database somewhere else. Raises DatabaseURLError, or
    DatabaseUnreachable when a PostgreSQL server does not answer."""
    path = sqlite_file(database_url)
    if path is not None:
        from .sqlite import SQLiteStore

        if path != ":memory:":
            parent = Path(path).parent
            if create_dir is not None and parent.resolve() == Path(create_dir).resolve():
                parent.mkdir(parents=True, exist_ok=True)
            elif not parent.is_dir():
                raise DatabaseURLError(
                    f"{database_url!r}: the directory {parent} does not exist; create it "
                    "first (only the data directory, PAPERWIRE_DATA_DIR, is created)"
                )
        store = SQLiteStore(path)
    elif database_url.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresStore

        store = PostgresStore(database_url)
    else:
        raise DatabaseURLError(f"{database_url!r} is not supported; {USAGE}")
    if migrate:
        store.migrate()
    return store


__all__ = ["Change", "DatabaseURLError", "DatabaseUnreachable", "Store", "UpsertResult", "open_store", "sqlite_file"]
