-- The papers a curator hid, for the readers' queries that leave them out (the search engine asks
-- for this set on every search; listings test each row against it): a partial index holds only
-- the hidden rows, so the lookup costs the number of hidden papers, not of community rows.
CREATE INDEX paper_community_hidden ON paper_community(paper_pk) WHERE hidden_at IS NOT NULL;
