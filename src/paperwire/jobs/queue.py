"""The job queue's API for the rest of Paperwire: what kinds of job exist, how to queue one,
how long a failed one waits before its next attempt. The storage does the locking
(storage/jobs.py); the worker runs them (worker.py)."""

from __future__ import annotations

# every kind a worker knows how to run (handlers.py); `paperwire worker --role` picks among them
KINDS = ("digest", "send", "index", "trending", "ingest", "prune", "follows", "notify")

# the --role names that predate the queue, as kind lists
ROLES = {
    "all": list(KINDS),
    "digests": ["digest"],
    "sender": ["send"],
}

BACKOFF_MAX = 3600.0


def parse_kinds(role: str) -> list[str]:
    """'all', 'digests', 'sender', or a comma-separated list of kinds -> kinds (ValueError if unknown)."""
    kinds: list[str] = []
    for part in (p.strip() for p in role.split(",")):
        if not part:
            continue
        names = ROLES.get(part, [part])
        for kind in names:
            if kind not in KINDS:
                raise ValueError(f"unknown job kind {part!r}: use all, digests, sender or some of {', '.join(KINDS)}")
            if kind not in kinds:
                kinds.append(kind)
    if not kinds:
        raise ValueError("no job kinds given")
    return kinds


def backoff(settings, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: job_backoff, doubling, at most 1 h."""
    return min(float(settings.job_backoff) * 2 ** max(0, attempts - 1), BACKOFF_MAX)


def enqueue(
    store,
    kind: str,
    payload: dict | None = None,
    *,
    key: str | None = None,
    run_at: float | None = None,
    max_attempts: int = 5,
) -> int | None:
    """Queue a job of a known kind; None when ``key`` is queued (or was run) already."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}; known: {', '.join(KINDS)}")
    return store.jobs.enqueue(kind, payload, key=key, run_at=run_at, max_attempts=max_attempts)
