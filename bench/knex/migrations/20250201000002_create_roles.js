exports.up = (knex) => knex.raw("CREATE TABLE roles (\n  id serial PRIMARY KEY,\n  name text NOT NULL UNIQUE,\n  permissions jsonb NOT NULL DEFAULT '[]'\n);\nINSERT INTO roles (name, permissions) VALUES ('admin', '[\"*\"]'), ('sales', '[\"contacts\", \"leads\"]');");
exports.down = (knex) => knex.raw("DROP TABLE roles;");
