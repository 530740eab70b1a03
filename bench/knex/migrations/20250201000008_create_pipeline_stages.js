exports.up = (knex) => knex.raw("CREATE TABLE pipeline_stages (\n  id serial PRIMARY KEY,\n  pipeline_id int NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,\n  name text NOT NULL,\n  position int NOT NULL,\n  probability numeric(5, 2) NOT NULL DEFAULT 0,\n  UNIQUE (pipeline_id, position)\n);");
exports.down = (knex) => knex.raw("DROP TABLE pipeline_stages;");
