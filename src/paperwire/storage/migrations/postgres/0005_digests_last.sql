-- PostgreSQL translation of migrations/sqlite/0005_digests_last.sql.
CREATE INDEX digests_subscriber_created ON digests(subscriber_id, created_at);
