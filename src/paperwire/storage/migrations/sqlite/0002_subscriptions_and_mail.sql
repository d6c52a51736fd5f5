-- Subscribers and their saved searches, the mail outbox, digests and what each contained.
CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,             -- normalised (domain lower-cased)
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | confirmed | unsubscribed | bounced
    frequency       TEXT NOT NULL DEFAULT 'daily',    -- daily | weekly
    send_hour       INTEGER NOT NULL DEFAULT 7,       -- 0..23 in the subscriber's time zone
    send_weekday    INTEGER NOT NULL DEFAULT 0,       -- weekly digests: 0 = Monday
    timezone        TEXT NOT NULL DEFAULT 'UTC',      -- IANA name
    trending        INTEGER NOT NULL DEFAULT 1,       -- include the trending section
    categories      TEXT NOT NULL DEFAULT '[]',       -- JSON array of arXiv categories
    token_version   INTEGER NOT NULL DEFAULT 0,       -- bumped to revoke every link sent so far
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    confirmed_at    TEXT,
    unsubscribed_at TEXT,
    bounced_at      TEXT
);
CREATE INDEX subscribers_status ON subscribers(status);

CREATE TABLE saved_searches (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    query         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (subscriber_id, query)
);

-- Every message goes out through here. Whoever composes a message inserts it in the same
-- transaction as the state it belongs to; senders take rows with a lease and mark them sent.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,                    -- 'digest' | 'confirm' | ...
    subscriber_id   INTEGER REFERENCES subscribers(id),
    recipient       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,             -- the Message-ID header, stable across retries
    message         BLOB NOT NULL,                    -- the complete RFC 5322 message
    status          TEXT NOT NULL DEFAULT 'queued',   -- queued | sending | sent | failed | cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,                             -- a sender holds the row until then
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

-- One digest per subscriber and period ('2025-03-18' daily, '2025-W12' weekly).
CREATE TABLE digests (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
    period        TEXT NOT NULL,
    outbox_id     INTEGER REFERENCES outbox(id),      -- NULL: nothing new, not sent
    papers        INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, period)
);

-- Which papers a subscriber has been sent: no paper twice across digests.
CREATE TABLE sent_papers (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    paper_pk      INTEGER NOT NULL,
    period        TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, paper_pk)
);

-- Addresses never to mail again (hard bounces, complaints), kept even if the subscriber goes.
CREATE TABLE suppressions (
    email      TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Sliding-window rate limits (subscribe requests per address and per client).
CREATE TABLE rate_events (
    key TEXT NOT NULL,
    at  REAL NOT NULL
);
CREATE INDEX rate_events_key ON rate_events(key, at);
