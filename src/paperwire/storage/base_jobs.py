"""Storage interface: the job queue (see base.Store, paperwire/jobs, docs/workers.md).

Jobs are work any worker process may run: a digest run, an index sync, a trending refresh, an
ingest. Several workers share one queue safely:

- a job is held by one worker at a time: ``claim_job`` takes it under a lease (PostgreSQL:
  ``FOR UPDATE SKIP LOCKED``, SQLite: the single ``BEGIN IMMEDIATE`` writer), the worker extends
  the lease while it runs (``extend_job``, a heartbeat), and a job whose lease ran out (its worker
  died) is claimable again: it is retried;
- ``complete_job``, ``fail_job`` and ``extend_job`` are fenced by the claim (worker + attempt): a
  worker that lost its lease cannot overwrite the outcome of the one that took the job over;
- a unique ``key`` makes enqueueing idempotent: a periodic job's key names its period
  ("digest@2026-11-25T16:30:00Z"), so however many workers enqueue it, it exists once.

Times at this interface are epoch seconds (float).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

JOB_STATUSES = ("queued", "running", "done", "failed")


@dataclass
class Job:
    id: int
    kind: str
    key: str | None
    payload: dict = field(default_factory=dict)
    status: str = "queued"
    attempts: int = 0       # claims so far, this one included once claimed
    max_attempts: int = 5
    run_at: float = 0.0
    lease_until: float | None = None
    worker: str | None = None
    last_error: str | None = None
    result: dict | None = None
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None


class JobStore(Protocol):
    def enqueue_job(self, kind: str, payload: dict | None = None, *, key: str | None = None,
                    run_at: float | None = None, max_attempts: int = 5) -> int | None:
        """Queue a job (one transaction); None when a job with this ``key`` exists already
        (whatever its status): enqueueing the same key twice queues it once."""
        ...

    def claim_job(self, worker: str, kinds: list[str] | None = None, *, lease_seconds: float = 60.0,
                  now: float | None = None) -> Job | None:
        """Take the next due job (queued with run_at <= now, or running whose lease ran out) of
        one of ``kinds`` (None: any): status 'running', attempts + 1, lease_until = now +
        lease_seconds, worker. A job whose lease ran out after its last allowed attempt is
        marked 'failed' instead. Two claimers never get the same job while its lease runs."""
        ...

    def extend_job(self, job_id: int, worker: str, attempt: int, lease_seconds: float, *,
                   now: float | None = None) -> bool:
        """Heartbeat: push the lease on; False when this claim is no longer the job's owner."""
        ...

    def complete_job(self, job_id: int, worker: str, attempt: int, result: dict | None = None) -> bool:
        """Status 'done' (with the handler's result); False when this claim lost the job."""
        ...

    def fail_job(self, job_id: int, worker: str, attempt: int, error: str, retry_at: float | None) -> str | None:
        """A failed attempt: back to 'queued' at ``retry_at``, or 'failed' when ``retry_at`` is
        None or the job has had max_attempts. Returns the new status (None: claim lost)."""
        ...

    def get_job(self, job_id: int) -> Job | None: ...

    def list_jobs(self, *, kind: str | None = None, status: str | None = None, limit: int = 100) -> list[Job]:
        """Newest first."""
        ...

    def job_counts(self) -> dict[str, int]:
        """Jobs per status (every status in JOB_STATUSES, 0 when none)."""
        ...

    def prune_jobs(self, finished_before: str) -> int:
        """Delete done and failed jobs that finished before this ISO time; returns how many."""
        ...
