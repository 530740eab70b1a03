-- migrate:up
ALTER TABLE opportunities ADD COLUMN expected_close date;
CREATE INDEX idx_opportunities_close ON opportunities (expected_close);

-- migrate:down
ALTER TABLE opportunities DROP COLUMN expected_close;
