-- PostgreSQL translation of migrations/sqlite/0009_outbox_retention.sql: bodies of old messages
-- are emptied after PAPERWIRE_OUTBOX_KEEP_DAYS, body_pruned_at says when.
ALTER TABLE outbox ADD COLUMN body_pruned_at TEXT COLLATE "C";
CREATE INDEX outbox_bodies ON outbox(created_at) WHERE body_pruned_at IS NULL;
