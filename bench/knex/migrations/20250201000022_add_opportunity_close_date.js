exports.up = (knex) => knex.raw("ALTER TABLE opportunities ADD COLUMN expected_close date;\nCREATE INDEX idx_opportunities_close ON opportunities (expected_close);");
exports.down = (knex) => knex.raw("ALTER TABLE opportunities DROP COLUMN expected_close;");
