-- migrate:up
ALTER TABLE accounts ADD COLUMN industry text, ADD COLUMN employees int;
CREATE INDEX idx_accounts_industry ON accounts (industry);

-- migrate:down
ALTER TABLE accounts DROP COLUMN industry, DROP COLUMN employees;
