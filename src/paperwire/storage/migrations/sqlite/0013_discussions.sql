-- Discussions: reader handles (the only name a reader is shown by; never an address), comments on
-- papers (replies one level deep), their reports, and notifications (events queued per reader,
-- sent in batches through the outbox; kinds a reader turned off).
ALTER TABLE accounts ADD COLUMN handle TEXT;
CREATE UNIQUE INDEX accounts_handle ON accounts (lower(handle)) WHERE handle IS NOT NULL;

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    parent_id  INTEGER REFERENCES comments(id) ON DELETE CASCADE,  -- NULL: a thread's first comment
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    body       TEXT NOT NULL,                 -- Markdown as written, '' once deleted
    status     TEXT NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'deleted', 'hidden')),
    locked     INTEGER NOT NULL DEFAULT 0,    -- on a thread's first comment: no more replies
    created_at TEXT NOT NULL,
    edited_at  TEXT
);
CREATE INDEX comments_paper ON comments (paper_pk, id);
CREATE INDEX comments_parent ON comments (parent_id);

CREATE TABLE comment_reports (
    comment_id  INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (comment_id, account_id)
);

CREATE TABLE notify_events (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    event_key  TEXT NOT NULL UNIQUE,           -- recording the same event twice records it once
    payload    TEXT NOT NULL DEFAULT '{}',     -- JSON object
    created_at TEXT NOT NULL,
    batch_key  TEXT                            -- NULL: pending, else the Message-ID it went out in (or 'dropped')
);
CREATE INDEX notify_events_pending ON notify_events (account_id, id) WHERE batch_key IS NULL;

CREATE TABLE notify_muted (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    PRIMARY KEY (account_id, kind)
);
