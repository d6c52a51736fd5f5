"""SQLite implementation of the job queue (mixed into SQLiteStore); the SQL is portable and
PostgresStore reuses it through PGConnection, adding row locks to the claim (postgres_jobs.py).
Table from migrations/{sqlite,postgres}/0008_jobs.sql; see base_jobs.py.

Claiming on SQLite: the claim's select and update run in one BEGIN IMMEDIATE transaction, and
SQLite has one writer at a time, so two claimers (threads or processes) can never both take a
job. On PostgreSQL the select locks the row it returns and skips rows others have locked
(``_CLAIM_LOCK``); READ COMMITTED re-checks a locked row's WHERE against its newest version.
"""

from __future__ import annotations

import json
import time

from ..models import utc_now
from .base_jobs import JOB_STATUSES, Job

_DUE = "((status = 'queued' AND run_at <= ?) OR (status = 'running' AND lease_until <= ?))"


def _job(r) -> Job:
    return Job(id=r["id"], kind=r["kind"], key=r["key"], payload=json.loads(r["payload"] or "{}"),
               status=r["status"], attempts=r["attempts"], max_attempts=r["max_attempts"], run_at=r["run_at"],
               lease_until=r["lease_until"], worker=r["worker"], last_error=r["last_error"],
               result=json.loads(r["result"]) if r["result"] else None, created_at=r["created_at"],
               started_at=r["started_at"], finished_at=r["finished_at"])


class SQLiteJobsMixin:
    _CLAIM_LOCK = ""  # PostgreSQL: " FOR UPDATE SKIP LOCKED"

    def enqueue_job(self, kind: str, payload: dict | None = None, *, key: str | None = None,
                    run_at: float | None = None, max_attempts: int = 5) -> int | None:
        if not kind:
            raise ValueError("a job needs a kind")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        data = json.dumps(payload or {}, sort_keys=True)
        with self._write() as c:
            row = c.execute(
                "INSERT INTO jobs (kind, key, payload, run_at, max_attempts, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING RETURNING id",
                (kind, key, data, time.time() if run_at is None else float(run_at), max_attempts, utc_now()),
            ).fetchone()
        return row[0] if row else None

    def claim_job(self, worker: str, kinds: list[str] | None = None, *, lease_seconds: float = 60.0,
                  now: float | None = None) -> Job | None:
        now = time.time() if now is None else now
        kind_sql, kind_args = "", []
        if kinds is not None:
            if not kinds:
                return None
            kind_sql = f" AND kind IN ({','.join('?' * len(kinds))})"
            kind_args = list(kinds)
        # a plain read first: an idle worker polling the queue takes no write lock
        if self.conn.execute(f"SELECT 1 FROM jobs WHERE {_DUE}{kind_sql} LIMIT 1", (now, now, *kind_args)).fetchone() is None:
            return None
        with self._write() as c:
            # a job that used its last attempt and whose worker then died: failed, not retried forever
            c.execute(
                "UPDATE jobs SET status='failed', lease_until=NULL, finished_at=?, "
                "last_error=coalesce(last_error, 'lease ran out on the last attempt (worker died?)') "
                "WHERE id IN (SELECT id FROM jobs WHERE status='running' AND lease_until <= ? "
                f"AND attempts >= max_attempts{kind_sql}{self._CLAIM_LOCK})",
                (utc_now(), now, *kind_args),
            )
            row = c.execute(
                f"SELECT id FROM jobs WHERE {_DUE}{kind_sql} ORDER BY run_at, id LIMIT 1{self._CLAIM_LOCK}",
                (now, now, *kind_args),
            ).fetchone()
            if row is None:
                return None
            r = c.execute(
                "UPDATE jobs SET status='running', attempts=attempts+1, lease_until=?, worker=?, started_at=? "
                "WHERE id=? RETURNING *",
                (now + lease_seconds, worker, utc_now(), row[0]),
            ).fetchone()
        return _job(r)

    def extend_job(self, job_id: int, worker: str, attempt: int, lease_seconds: float, *,
                   now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._write() as c:
            n = c.execute(
                "UPDATE jobs SET lease_until=? WHERE id=? AND status='running' AND worker=? AND attempts=?",
                (now + lease_seconds, job_id, worker, attempt),
            ).rowcount
        return n == 1

    def complete_job(self, job_id: int, worker: str, attempt: int, result: dict | None = None) -> bool:
        with self._write() as c:
            n = c.execute(
                "UPDATE jobs SET status='done', lease_until=NULL, result=?, finished_at=? "
                "WHERE id=? AND status='running' AND worker=? AND attempts=?",
                (json.dumps(result, default=str) if result is not None else None, utc_now(), job_id, worker, attempt),
            ).rowcount
        return n == 1

    def fail_job(self, job_id: int, worker: str, attempt: int, error: str, retry_at: float | None) -> str | None:
        with self._write() as c:
            row = c.execute(
                f"SELECT attempts, max_attempts FROM jobs WHERE id=? AND status='running' AND worker=? "
                f"AND attempts=?{self._CLAIM_LOCK.replace(' SKIP LOCKED', '')}",
                (job_id, worker, attempt),
            ).fetchone()
            if row is None:
                return None
            status = "failed" if retry_at is None or row["attempts"] >= row["max_attempts"] else "queued"
            c.execute(
                "UPDATE jobs SET status=?, lease_until=NULL, last_error=?, run_at=coalesce(?, run_at), "
                "finished_at=? WHERE id=?",
                (status, error[:4000], retry_at if status == "queued" else None,
                 utc_now() if status == "failed" else None, job_id),
            )
        return status

    def get_job(self, job_id: int) -> Job | None:
        r = self.conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(r) if r else None

    def list_jobs(self, *, kind: str | None = None, status: str | None = None, limit: int = 100) -> list[Job]:
        where, args = [], []
        if kind is not None:
            where.append("kind=?")
            args.append(kind)
        if status is not None:
            where.append("status=?")
            args.append(status)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
        return [_job(r) for r in self.conn.execute(sql, (*args, limit)).fetchall()]

    def job_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in JOB_STATUSES}
        for r in self.conn.execute("SELECT status, count(*) AS n FROM jobs GROUP BY status").fetchall():
            counts[r[0]] = r[1]
        return counts

    def prune_jobs(self, finished_before: str) -> int:
        with self._write() as c:
            return c.execute("DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished_at < ?",
                             (finished_before,)).rowcount
