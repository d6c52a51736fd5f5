-- Private feed URLs (a reader's "for you" and library feeds): one per account. The URL carries a
-- token derived from the server's secret key and ``nonce``; only the token's SHA-256 is stored,
-- so the table alone opens no feed. Resetting replaces the row: the old URLs stop working.
CREATE TABLE feed_tokens (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    nonce      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
