-- migrate:up
CREATE TABLE custom_field_values (
  definition_id int NOT NULL REFERENCES custom_field_definitions (id) ON DELETE CASCADE,
  object_id bigint NOT NULL,
  value jsonb,
  PRIMARY KEY (definition_id, object_id)
);

-- migrate:down
DROP TABLE custom_field_values;
