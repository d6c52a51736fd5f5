"""PostgreSQL's retention part: the portable SQL of sqlite_retention.py, with the subscribe
requests' advisory lock taken before pending subscribers are deleted (a request for the same
address, running at once, would otherwise update a row that is being deleted)."""

from __future__ import annotations

from .postgres_subscribers import LOCK_SUBSCRIBE
from .sqlite_retention import SQLiteRetentionMixin


class PostgresRetentionMixin(SQLiteRetentionMixin):
    def _serialise_with_subscribe(self, c) -> None:
        self._lock(c, LOCK_SUBSCRIBE)
