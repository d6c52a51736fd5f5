"""Storage: one narrow interface (``base.Store``), one implementation per database."""

from __future__ import annotations

from .base import Change, Store, UpsertResult


def open_store(database_url: str, *, migrate: bool = True) -> Store:
    """Open the database named by a URL such as ``sqlite:///path/to/file.db``."""
    if database_url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        path = database_url.split("sqlite:///", 1)[1] if "sqlite:///" in database_url else database_url[len("sqlite://"):]
        store = SQLiteStore(path)
    else:
        raise SystemExit(
            f"PAPERWIRE_DATABASE_URL={database_url!r} is not supported yet; use sqlite:///path/to/file.db"
        )
    if migrate:
        store.migrate()
    return store


__all__ = ["Change", "Store", "UpsertResult", "open_store"]
