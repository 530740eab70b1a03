exports.up = (knex) => knex.raw("CREATE TABLE notes (\n  id bigserial PRIMARY KEY,\n  author_id bigint REFERENCES users (id),\n  subject_type text NOT NULL,\n  subject_id bigint NOT NULL,\n  body text NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX idx_notes_subject ON notes (subject_type, subject_id);");
exports.down = (knex) => knex.raw("DROP TABLE notes;");
