-- migrate:up
ALTER TABLE contacts ADD COLUMN phone text, ADD COLUMN mobile text;

-- migrate:down
ALTER TABLE contacts DROP COLUMN phone, DROP COLUMN mobile;
