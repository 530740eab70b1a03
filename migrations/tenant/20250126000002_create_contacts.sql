-- migrate:up
CREATE TABLE IF NOT EXISTS contacts (
  id         bigserial PRIMARY KEY,
  owner_id   bigint REFERENCES users (id),
  name       text NOT NULL,
  email      text,
  status     text NOT NULL DEFAULT 'new',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_contacts_status ON contacts (status);

-- migrate:down
DROP TABLE IF EXISTS contacts;
