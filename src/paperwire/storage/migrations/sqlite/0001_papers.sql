-- Papers, their change feed (seq), ingest runs and errors, source state, embeddings.
CREATE TABLE papers (
    pk               INTEGER PRIMARY KEY,          -- internal integer id, used by the search indexes
    id               TEXT NOT NULL UNIQUE,         -- arXiv id without version, or source:local-id
    version          INTEGER,
    title            TEXT NOT NULL,
    abstract         TEXT NOT NULL DEFAULT '',
    authors          TEXT NOT NULL DEFAULT '[]',   -- JSON array, in order
    categories       TEXT NOT NULL DEFAULT '[]',   -- JSON array, primary first
    primary_category TEXT,
    submitted        TEXT,                         -- first version, ISO 8601 UTC
    updated          TEXT,                         -- latest version, ISO 8601 UTC
    announced        TEXT NOT NULL,                -- the day it is listed under, YYYY-MM-DD
    doi              TEXT,
    journal_ref      TEXT,
    comments         TEXT,
    abs_url          TEXT,
    pdf_url          TEXT,
    code_url         TEXT,
    source           TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    text_hash        TEXT NOT NULL,
    seq              INTEGER NOT NULL,             -- bumped on every change: the indexers' change feed
    run_id           INTEGER,                      -- the ingest run that last wrote it
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX papers_seq ON papers(seq);
CREATE INDEX papers_day ON papers(announced, submitted);

CREATE TABLE ingest_runs (
    id          INTEGER PRIMARY KEY,
    source_key  TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL DEFAULT 'running',   -- running | done | failed
    counts      TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE ingest_errors (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES ingest_runs(id),
    location   TEXT NOT NULL,                      -- 'line 12', 'record oai:arXiv.org:0704.0001', ...
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ingest_errors_run ON ingest_errors(run_id);

CREATE TABLE source_state (
    key        TEXT PRIMARY KEY,                   -- e.g. 'jsonl:/abs/path', 'oai:cs', 'arxiv-api:cat:cs.CL'
    state      TEXT NOT NULL,                      -- JSON owned by the source
    updated_at TEXT NOT NULL
);

CREATE TABLE embeddings (
    pk        INTEGER PRIMARY KEY REFERENCES papers(pk) ON DELETE CASCADE,
    model     TEXT NOT NULL,
    text_hash TEXT NOT NULL,                       -- papers.text_hash the vector was computed from
    vector    BLOB NOT NULL                        -- float32, L2-normalised
);

CREATE TABLE index_state (
    name  TEXT PRIMARY KEY,                        -- 'lexical', 'vector', 'embed'
    seq   INTEGER NOT NULL,                        -- every paper change up to here is in that index
    meta  TEXT NOT NULL DEFAULT '{}'
);
