exports.up = (knex) => knex.raw("ALTER TABLE accounts ADD COLUMN industry text, ADD COLUMN employees int;\nCREATE INDEX idx_accounts_industry ON accounts (industry);");
exports.down = (knex) => knex.raw("ALTER TABLE accounts DROP COLUMN industry, DROP COLUMN employees;");
