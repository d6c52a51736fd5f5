"""Why a database could not be opened (storage.open_store, PostgresStore); the messages say what
to do, and callers that know where the URL came from (the CLI) name it."""

from __future__ import annotations

from ..errors import PaperwireError


class DatabaseURLError(PaperwireError, ValueError):
    """A database URL that cannot be used as it is (unsupported, or a SQLite file whose
    directory is missing)."""

    exit_status = 2


class DatabaseUnreachable(PaperwireError, RuntimeError):
    """The database server named by the URL cannot be reached (the message has no password)."""
