exports.up = (knex) => knex.raw("CREATE TABLE custom_field_values (\n  definition_id int NOT NULL REFERENCES custom_field_definitions (id) ON DELETE CASCADE,\n  object_id bigint NOT NULL,\n  value jsonb,\n  PRIMARY KEY (definition_id, object_id)\n);");
exports.down = (knex) => knex.raw("DROP TABLE custom_field_values;");
