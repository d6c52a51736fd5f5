-- Follows (a reader follows an author name, a category or a paper) and authorship claims.
-- ``value`` is what the reader asked for, as shown; ``value_key`` what two follows of the same
-- thing share (an author name's normalised key, a lower-cased category, a paper id), so one
-- reader cannot follow one thing twice. Paper follows remember the version and code link they
-- last told the reader about (``seen_version``, ``seen_code``): a change is news once.
CREATE TABLE follows (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,            -- author | category | paper
    value           TEXT NOT NULL,
    value_key       TEXT NOT NULL,
    paper_pk        INTEGER REFERENCES papers(pk) ON DELETE CASCADE,
    notify_comments INTEGER NOT NULL DEFAULT 0,
    seen_version    TEXT,
    seen_code       TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (account_id, kind, value_key)
);
CREATE INDEX follows_kind_key ON follows(kind, value_key);
CREATE INDEX follows_paper ON follows(paper_pk);

-- A reader says they wrote a paper; a curator approves or rejects it (audit_log records both).
CREATE TABLE paper_claims (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    status     TEXT NOT NULL DEFAULT 'pending',   -- pending | approved | rejected
    created_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by INTEGER REFERENCES accounts(id),
    UNIQUE (account_id, paper_pk)
);
CREATE INDEX paper_claims_status ON paper_claims(status);
