-- migrate:up
ALTER TABLE leads ADD COLUMN score int NOT NULL DEFAULT 0;
CREATE INDEX idx_leads_score ON leads (score DESC);

-- migrate:down
ALTER TABLE leads DROP COLUMN score;
