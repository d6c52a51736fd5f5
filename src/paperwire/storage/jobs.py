"""The job queue (table from migrations/*/0008_jobs.sql; paperwire/jobs, docs/workers.md).

Jobs are work any worker process may run: a digest run, an index sync, a trending refresh, an
ingest. Several workers share one queue safely:

- a job is held by one worker at a time: ``claim`` takes it under a lease, the worker extends the
  lease while it runs (``extend``, a heartbeat), and a job whose lease ran out (its worker died)
  is claimable again: it is retried. SQLite: the claim's select and update run in one BEGIN
  IMMEDIATE transaction, one writer at a time, so two claimers never both take a job.
  PostgreSQL: the select locks the row it returns and skips rows others have locked
  (``dialect.claim_lock``); READ COMMITTED re-checks a locked row's WHERE against its newest version;
- ``complete``, ``fail`` and ``extend`` are fenced by the claim (worker + attempt): a worker that
  lost its lease cannot overwrite the outcome of the one that took the job over;
- a unique ``key`` makes enqueueing idempotent: a periodic job's key names its period
  ("digest@2026-11-25T16:30:00Z"), so however many workers enqueue it, it exists once.

Times here are epoch seconds (float).
"""

from __future__ import annotations

import json
import time

from ..models import JOB_STATUSES, Job, utc_now
from .database import Database

_DUE = "((status = 'queued' AND run_at <= ?) OR (status = 'running' AND lease_until <= ?))"


def _job(r) -> Job:
    return Job(
        id=r["id"],
        kind=r["kind"],
        key=r["key"],
        payload=json.loads(r["payload"] or "{}"),
        status=r["status"],
        attempts=r["attempts"],
        max_attempts=r["max_attempts"],
        run_at=r["run_at"],
        lease_until=r["lease_until"],
        worker=r["worker"],
        last_error=r["last_error"],
        result=json.loads(r["result"]) if r["result"] else None,
        created_at=r["created_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )


class JobStore:
    def __init__(self, db: Database):
        self.db = db

    def enqueue(
        self,
        kind: str,
        payload: dict | None = None,
        *,
        key: str | None = None,
        run_at: float | None = None,
        max_attempts: int = 5,
    ) -> int | None:
        """Queue a job (one transaction); None when a job with this ``key`` exists already
        (whatever its status): enqueueing the same key twice queues it once."""
        if not kind:
            raise ValueError("a job needs a kind")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        data = json.dumps(payload or {}, sort_keys=True)
        with self.db.write() as c:
            rows = c.execute(
                "INSERT INTO jobs (kind, key, payload, run_at, max_attempts, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING RETURNING id",
                (kind, key, data, time.time() if run_at is None else float(run_at), max_attempts, utc_now()),
            ).fetchall()
        return rows[0][0] if rows else None

    def claim(
        self, worker: str, kinds: list[str] | None = None, *, lease_seconds: float = 60.0, now: float | None = None
    ) -> Job | None:
        """Take the next due job (queued with run_at <= now, or running whose lease ran out) of
        one of ``kinds`` (None: any): status 'running', attempts + 1, lease_until = now +
        lease_seconds, worker. A job whose lease ran out after its last allowed attempt is
        marked 'failed' instead. Two claimers never get the same job while its lease runs."""
        now = time.time() if now is None else now
        lock = self.db.dialect.claim_lock
        kind_sql, kind_args = "", []
        if kinds is not None:
            if not kinds:
                return None
            kind_sql = f" AND kind IN ({','.join('?' * len(kinds))})"
            kind_args = list(kinds)
        # a plain read first: an idle worker polling the queue takes no write lock
        if self.db.one(f"SELECT 1 FROM jobs WHERE {_DUE}{kind_sql} LIMIT 1", (now, now, *kind_args)) is None:
            return None
        with self.db.write() as c:
            # a job that used its last attempt and whose worker then died: failed, not retried forever
            c.execute(
                "UPDATE jobs SET status='failed', lease_until=NULL, finished_at=?, "
                "last_error=coalesce(last_error, 'lease ran out on the last attempt (worker died?)') "
                "WHERE id IN (SELECT id FROM jobs WHERE status='running' AND lease_until <= ? "
                f"AND attempts >= max_attempts{kind_sql}{lock})",
                (utc_now(), now, *kind_args),
            )
            row = c.execute(
                f"SELECT id FROM jobs WHERE {_DUE}{kind_sql} ORDER BY run_at, id LIMIT 1{lock}", (now, now, *kind_args)
            ).fetchone()
            if row is None:
                return None
            r = c.execute(
                "UPDATE jobs SET status='running', attempts=attempts+1, lease_until=?, worker=?, started_at=? "
                "WHERE id=? RETURNING *",
                (now + lease_seconds, worker, utc_now(), row[0]),
            ).fetchall()[0]
        return _job(r)

    def extend(self, job_id: int, worker: str, attempt: int, lease_seconds: float, *, now: float | None = None) -> bool:
        """Heartbeat: push the lease on; False when this claim is no longer the job's owner."""
        now = time.time() if now is None else now
        with self.db.write() as c:
            n = c.execute(
                "UPDATE jobs SET lease_until=? WHERE id=? AND status='running' AND worker=? AND attempts=?",
                (now + lease_seconds, job_id, worker, attempt),
            ).rowcount
        return n == 1

    def complete(self, job_id: int, worker: str, attempt: int, result: dict | None = None) -> bool:
        """Status 'done' (with the handler's result); False when this claim lost the job."""
        with self.db.write() as c:
            n = c.execute(
                "UPDATE jobs SET status='done', lease_until=NULL, result=?, finished_at=? "
                "WHERE id=? AND status='running' AND worker=? AND attempts=?",
                (json.dumps(result, default=str) if result is not None else None, utc_now(), job_id, worker, attempt),
            ).rowcount
        return n == 1

    def fail(self, job_id: int, worker: str, attempt: int, error: str, retry_at: float | None) -> str | None:
        """A failed attempt: back to 'queued' at ``retry_at``, or 'failed' when ``retry_at`` is
        None or the job has had max_attempts. Returns the new status (None: claim lost)."""
        with self.db.write() as c:
            row = c.execute(
                "SELECT attempts, max_attempts FROM jobs WHERE id=? AND status='running' AND worker=? "
                f"AND attempts=?{self.db.dialect.row_lock}",
                (job_id, worker, attempt),
            ).fetchone()
            if row is None:
                return None
            status = "failed" if retry_at is None or row["attempts"] >= row["max_attempts"] else "queued"
            c.execute(
                "UPDATE jobs SET status=?, lease_until=NULL, last_error=?, run_at=coalesce(?, run_at), "
                "finished_at=? WHERE id=?",
                (
                    status,
                    error[:4000],
                    retry_at if status == "queued" else None,
                    utc_now() if status == "failed" else None,
                    job_id,
                ),
            )
        return status

    def get(self, job_id: int) -> Job | None:
        r = self.db.one("SELECT * FROM jobs WHERE id=?", (job_id,))
        return _job(r) if r else None

    def list(self, *, kind: str | None = None, status: str | None = None, limit: int = 100) -> list[Job]:
        """Newest first."""
        where, args = [], []
        if kind is not None:
            where.append("kind=?")
            args.append(kind)
        if status is not None:
            where.append("status=?")
            args.append(status)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
        return [_job(r) for r in self.db.all(sql, (*args, limit))]

    def counts(self) -> dict[str, int]:
        """Jobs per status (every status in JOB_STATUSES, 0 when none)."""
        counts = {s: 0 for s in JOB_STATUSES}
        for r in self.db.all("SELECT status, count(*) AS n FROM jobs GROUP BY status"):
            counts[r[0]] = r[1]
        return counts

    def prune(self, finished_before: str) -> int:
        """Delete done and failed jobs that finished before this ISO time; returns how many."""
        with self.db.write() as c:
            return c.execute(
                "DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished_at < ?", (finished_before,)
            ).rowcount
