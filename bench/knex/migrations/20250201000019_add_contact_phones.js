exports.up = (knex) => knex.raw("ALTER TABLE contacts ADD COLUMN phone text, ADD COLUMN mobile text;");
exports.down = (knex) => knex.raw("ALTER TABLE contacts DROP COLUMN phone, DROP COLUMN mobile;");
