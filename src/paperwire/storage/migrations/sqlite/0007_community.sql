-- Accounts, sign-in and sessions (issue 4: accounts/), the community (votes, day lists,
-- curation, audit log), Hugging Face imports, and each reader's library (tags, negatives).
-- Times are ISO 8601 UTC text ('2026-11-25T14:00:00Z'), days are 'YYYY-MM-DD'.

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,              -- normalised like subscribers.email
    role            TEXT NOT NULL DEFAULT 'reader',    -- reader | curator
    status          TEXT NOT NULL DEFAULT 'active',    -- active | disabled
    created_at      TEXT NOT NULL,
    last_signin_at  TEXT,
    library_version INTEGER NOT NULL DEFAULT 0         -- bumped on every library change ("for you" cache key)
);

-- One row per emailed sign-in link: the link carries the nonce inside a signed, expiring token,
-- using it sets used_at in the same transaction that creates the session (single use).
CREATE TABLE signin_tokens (
    nonce      TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT
);

-- Sessions: the cookie holds a random token, only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

-- One vote per account and paper.
CREATE TABLE votes (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk),
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, paper_pk)
);
CREATE INDEX votes_paper ON votes(paper_pk);

-- The community state of a paper (a row exists once a paper has any): the day list it is on,
-- vote counts, its code repository, curation flags.
CREATE TABLE paper_community (
    paper_pk         INTEGER PRIMARY KEY REFERENCES papers(pk),
    listed_day       TEXT,                              -- the day list it is on (NULL: on none)
    listed_at        TEXT,                              -- when it reached that list (trending age)
    submitted_by     INTEGER REFERENCES accounts(id),   -- NULL for imports
    upvotes          INTEGER NOT NULL DEFAULT 0,        -- = count(votes) for the paper, kept in the vote's transaction
    imported_upvotes INTEGER NOT NULL DEFAULT 0,        -- from a Hugging Face daily-papers import
    github_repo      TEXT,                              -- 'owner/name', lower case
    featured_at      TEXT,
    hidden_at        TEXT,
    updated_at       TEXT NOT NULL
);
CREATE INDEX paper_community_listed ON paper_community(listed_day, listed_at);

-- Every curator action and every submission, in order
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor_id INTEGER REFERENCES accounts(id),
    action   TEXT NOT NULL,    -- submit | merge | feature | unfeature | hide | unhide | role | import
    paper_pk INTEGER,
    detail   TEXT NOT NULL DEFAULT '{}'   -- JSON
);
CREATE INDEX audit_log_paper ON audit_log(paper_pk);

-- A reader's saved papers, the tags (folders) they are filed under, and "not relevant" marks
-- (negative examples for "for you", tag '' = the merged feed).
CREATE TABLE library (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk),
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, paper_pk)
);
CREATE TABLE library_tags (
    account_id INTEGER NOT NULL,
    paper_pk   INTEGER NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (account_id, paper_pk, tag),
    FOREIGN KEY (account_id, paper_pk) REFERENCES library(account_id, paper_pk) ON DELETE CASCADE
);
CREATE INDEX library_tags_tag ON library_tags(account_id, tag);
CREATE TABLE not_relevant (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk),
    tag        TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, paper_pk, tag)
);
