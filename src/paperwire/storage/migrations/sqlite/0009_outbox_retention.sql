-- Sent (and failed, cancelled) messages keep their body only for PAPERWIRE_OUTBOX_KEEP_DAYS
-- (paperwire/retention.py): then `message` is emptied and body_pruned_at says when; the row's
-- metadata (recipient, Message-ID, status, times) stays.
ALTER TABLE outbox ADD COLUMN body_pruned_at TEXT;
-- the rows that still hold a body, by age: what each prune run looks at
CREATE INDEX outbox_bodies ON outbox(created_at) WHERE body_pruned_at IS NULL;
