-- PostgreSQL translation of migrations/sqlite/0006_github_stars.sql.
CREATE TABLE repo_stars (
    repo        TEXT COLLATE "C" NOT NULL,
    observed_at TEXT COLLATE "C" NOT NULL,
    stars       INTEGER NOT NULL,
    PRIMARY KEY (repo, observed_at)
);
CREATE TABLE repos (
    repo       TEXT COLLATE "C" PRIMARY KEY,
    etag       TEXT COLLATE "C",
    stars      INTEGER,
    status     TEXT COLLATE "C" NOT NULL DEFAULT 'ok',
    checked_at TEXT COLLATE "C" NOT NULL
);
