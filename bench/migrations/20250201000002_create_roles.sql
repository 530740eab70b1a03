-- migrate:up
CREATE TABLE roles (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  permissions jsonb NOT NULL DEFAULT '[]'
);
INSERT INTO roles (name, permissions) VALUES ('admin', '["*"]'), ('sales', '["contacts", "leads"]');

-- migrate:down
DROP TABLE roles;
