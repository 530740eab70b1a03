exports.up = (knex) => knex.raw("CREATE INDEX idx_contacts_email ON contacts (lower(email));");
exports.down = (knex) => knex.raw("DROP INDEX idx_contacts_email;");
