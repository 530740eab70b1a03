exports.up = (knex) => knex.raw("ALTER TABLE leads ADD COLUMN score int NOT NULL DEFAULT 0;\nCREATE INDEX idx_leads_score ON leads (score DESC);");
exports.down = (knex) => knex.raw("ALTER TABLE leads DROP COLUMN score;");
