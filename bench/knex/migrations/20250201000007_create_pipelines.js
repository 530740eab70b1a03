exports.up = (knex) => knex.raw("CREATE TABLE pipelines (\n  id serial PRIMARY KEY,\n  name text NOT NULL UNIQUE,\n  is_default boolean NOT NULL DEFAULT false\n);");
exports.down = (knex) => knex.raw("DROP TABLE pipelines;");
