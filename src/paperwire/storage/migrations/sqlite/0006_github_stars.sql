-- GitHub stars over time (sources/github.py). repo is 'owner/name' in lower case.
-- repo_stars: one point per observation (a 304 "not modified" adds a point with the unchanged
-- count), so the stars gained over any window are latest minus the last point before it.
CREATE TABLE repo_stars (
    repo TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    stars INTEGER NOT NULL,
    PRIMARY KEY (repo, observed_at)
);
-- repos: the latest state of each repository: its ETag for conditional requests, the latest
-- count, and 'ok' or why it is no longer counted ('gone': 404/410, 'unavailable': 451 or blocked).
CREATE TABLE repos (
    repo TEXT PRIMARY KEY,
    etag TEXT,
    stars INTEGER,
    status TEXT NOT NULL DEFAULT 'ok',
    checked_at TEXT NOT NULL
);
