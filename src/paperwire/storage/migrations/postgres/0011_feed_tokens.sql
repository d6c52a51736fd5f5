-- PostgreSQL translation of migrations/sqlite/0011_feed_tokens.sql: the same columns.
CREATE TABLE feed_tokens (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    nonce      TEXT COLLATE "C" NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at TEXT COLLATE "C" NOT NULL
);
