exports.up = (knex) => knex.raw("ALTER TABLE opportunities ADD CONSTRAINT opportunities_amount_positive CHECK (amount IS NULL OR amount >= 0);");
exports.down = (knex) => knex.raw("ALTER TABLE opportunities DROP CONSTRAINT opportunities_amount_positive;");
