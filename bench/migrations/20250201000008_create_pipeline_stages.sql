-- migrate:up
CREATE TABLE pipeline_stages (
  id serial PRIMARY KEY,
  pipeline_id int NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  name text NOT NULL,
  position int NOT NULL,
  probability numeric(5, 2) NOT NULL DEFAULT 0,
  UNIQUE (pipeline_id, position)
);

-- migrate:down
DROP TABLE pipeline_stages;
