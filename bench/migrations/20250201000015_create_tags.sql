-- migrate:up
CREATE TABLE tags (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE
);
CREATE TABLE taggings (
  tag_id int NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
  subject_type text NOT NULL,
  subject_id bigint NOT NULL,
  PRIMARY KEY (tag_id, subject_type, subject_id)
);

-- migrate:down
DROP TABLE taggings;
DROP TABLE tags;
