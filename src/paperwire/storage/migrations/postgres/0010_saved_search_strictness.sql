-- How strict a saved search's relevance bar is (paperwire.search.match): broad | normal | strict.
-- Existing searches get 'normal', the bar new ones get too.
ALTER TABLE saved_searches ADD COLUMN strictness TEXT NOT NULL DEFAULT 'normal'
    CHECK (strictness IN ('broad', 'normal', 'strict'));
