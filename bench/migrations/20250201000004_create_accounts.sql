-- migrate:up
CREATE TABLE accounts (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  domain text,
  owner_id bigint REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_accounts_owner ON accounts (owner_id);

-- migrate:down
DROP TABLE accounts;
