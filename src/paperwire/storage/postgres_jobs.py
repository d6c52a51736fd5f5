"""PostgreSQL implementation of the job queue (mixed into PostgresStore): the portable SQL of
sqlite_jobs.py (run through PGConnection), with the claim's select locking the row it takes and
skipping rows other claimers hold (FOR UPDATE SKIP LOCKED): concurrent workers never take the
same job and never wait for each other. See base_jobs.py."""

from __future__ import annotations

from .sqlite_jobs import SQLiteJobsMixin


class PostgresJobsMixin(SQLiteJobsMixin):
    _CLAIM_LOCK = " FOR UPDATE SKIP LOCKED"
