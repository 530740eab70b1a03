exports.up = (knex) => knex.raw("CREATE TABLE tags (\n  id serial PRIMARY KEY,\n  name text NOT NULL UNIQUE\n);\nCREATE TABLE taggings (\n  tag_id int NOT NULL REFERENCES tags (id) ON DELETE CASCADE,\n  subject_type text NOT NULL,\n  subject_id bigint NOT NULL,\n  PRIMARY KEY (tag_id, subject_type, subject_id)\n);");
exports.down = (knex) => knex.raw("DROP TABLE taggings;\nDROP TABLE tags;");
