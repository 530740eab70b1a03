-- migrate:up
CREATE TABLE contacts (
  id bigserial PRIMARY KEY,
  account_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
  first_name text NOT NULL,
  last_name text,
  email text,
  owner_id bigint REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_contacts_account ON contacts (account_id);

-- migrate:down
DROP TABLE contacts;
