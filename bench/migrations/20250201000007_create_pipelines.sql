-- migrate:up
CREATE TABLE pipelines (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  is_default boolean NOT NULL DEFAULT false
);

-- migrate:down
DROP TABLE pipelines;
