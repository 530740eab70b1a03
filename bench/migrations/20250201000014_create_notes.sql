-- migrate:up
CREATE TABLE notes (
  id bigserial PRIMARY KEY,
  author_id bigint REFERENCES users (id),
  subject_type text NOT NULL,
  subject_id bigint NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_notes_subject ON notes (subject_type, subject_id);

-- migrate:down
DROP TABLE notes;
