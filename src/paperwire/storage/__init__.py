"""Storage: one narrow interface (``base.Store``), one implementation per database."""

from __future__ import annotations

from .base import Change, Store, UpsertResult


def open_store(database_url: str, *, migrate: bool = True) -> Store:
    """Open the database named by a URL: ``sqlite:///path/to/file.db`` or
    ``postgresql://user:password@host:port/dbname`` (``postgres://`` too)."""
    if database_url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        path = database_url.split("sqlite:///", 1)[1] if "sqlite:///" in database_url else database_url[len("sqlite://"):]
        store = SQLiteStore(path)
    elif database_url.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresStore

        store = PostgresStore(database_url)
    else:
        raise SystemExit(
            f"PAPERWIRE_DATABASE_URL={database_url!r} is not supported; use sqlite:///path/to/file.db "
            "or postgresql://user:password@host:port/dbname"
        )
    if migrate:
        store.migrate()
    return store


__all__ = ["Change", "Store", "UpsertResult", "open_store"]
