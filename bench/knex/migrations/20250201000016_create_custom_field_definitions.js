exports.up = (knex) => knex.raw("CREATE TABLE custom_field_definitions (\n  id serial PRIMARY KEY,\n  object_type text NOT NULL,\n  name text NOT NULL,\n  field_type text NOT NULL,\n  options jsonb,\n  UNIQUE (object_type, name)\n);");
exports.down = (knex) => knex.raw("DROP TABLE custom_field_definitions;");
