-- Digests: each subscriber's latest digest (max(created_at)) by an index seek, not a scan of
-- every digest they ever had (the scheduler asks for every confirmed subscriber every run).
CREATE INDEX digests_subscriber_created ON digests(subscriber_id, created_at);
