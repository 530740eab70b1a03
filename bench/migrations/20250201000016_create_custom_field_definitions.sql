-- migrate:up
CREATE TABLE custom_field_definitions (
  id serial PRIMARY KEY,
  object_type text NOT NULL,
  name text NOT NULL,
  field_type text NOT NULL,
  options jsonb,
  UNIQUE (object_type, name)
);

-- migrate:down
DROP TABLE custom_field_definitions;
