-- The job queue (paperwire/jobs, docs/workers.md): work that any worker process may run.
-- key: unique when set, for dedupe and periodic jobs ("digest@2026-11-25T16:30:00Z": the first
-- worker to enqueue a period's job wins, the others' inserts do nothing).
-- status: queued | running | done | failed. attempts counts claims (a worker that died holding
-- the job counts as an attempt). run_at and lease_until are epoch seconds.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT UNIQUE,
    payload      TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL DEFAULT 'queued',
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_at       REAL NOT NULL,
    lease_until  REAL,
    worker       TEXT,
    last_error   TEXT,
    result       TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX jobs_due ON jobs(status, run_at);
