"""Periodic jobs: each worker, on each turn of its loop, queues the current period's job of every
periodic kind it runs, under the key "kind@<period start>". The key is unique in the jobs table,
so the first insert wins and every other worker's insert does nothing: the job fires once per
period however many workers there are, and a period whose job already ran is not queued again.
If no worker is up during a whole period, that period is skipped (the next one catches up:
every periodic job does all the work that is due, not one period's share)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

PRUNE_INTERVAL = 86400.0  # once a day: forget done jobs older than a week
PRUNE_KEEP_DAYS = 7
NOTIFY_INTERVAL = 60.0  # how often due notification batches are queued as mail


@dataclass(frozen=True)
class Periodic:
    kind: str
    interval: float  # seconds


def schedule(settings) -> list[Periodic]:
    """The periodic jobs this configuration asks for."""
    specs = [
        Periodic("digest", settings.digest_interval),
        Periodic("prune", PRUNE_INTERVAL),
        Periodic("notify", NOTIFY_INTERVAL),
    ]
    # followed papers' news (new versions, code found) as often as digests are looked at
    specs.append(Periodic("follows", settings.digest_interval))
    if settings.index_interval > 0:
        specs.append(Periodic("index", settings.index_interval))
    if settings.github_refresh_minutes > 0:
        specs.append(Periodic("trending", settings.github_refresh_minutes * 60.0))
    if settings.harvest_categories:
        specs.append(Periodic("ingest", settings.harvest_minutes * 60.0))
    return [s for s in specs if s.interval > 0]


def period_start(interval: float, now: float) -> float:
    return math.floor(now / interval) * interval


def period_key(kind: str, interval: float, now: float) -> str:
    start = datetime.fromtimestamp(period_start(interval, now), UTC)
    return f"{kind}@{start.strftime('%Y-%m-%dT%H:%M:%S')}Z"


class PeriodicEnqueuer:
    """Queues each period's jobs once per worker (later turns in the same period write nothing)."""

    def __init__(self, store, specs: list[Periodic], max_attempts: int = 3):
        self.store, self.specs, self.max_attempts = store, specs, max_attempts
        self._done: dict[str, str] = {}  # kind -> key this worker has queued (or seen queued)

    def tick(self, now: float) -> list[int]:
        """Queue the jobs of the current periods; returns the ids this worker's inserts created."""
        created = []
        for spec in self.specs:
            key = period_key(spec.kind, spec.interval, now)
            if self._done.get(spec.kind) == key:
                continue
            job_id = self.store.jobs.enqueue(
                spec.kind,
                {"period": key},
                key=key,
                run_at=period_start(spec.interval, now),
                max_attempts=self.max_attempts,
            )
            self._done[spec.kind] = key
            if job_id is not None:
                created.append(job_id)
        return created
