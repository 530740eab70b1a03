exports.up = (knex) => knex.raw("CREATE TABLE accounts (\n  id bigserial PRIMARY KEY,\n  name text NOT NULL,\n  domain text,\n  owner_id bigint REFERENCES users (id),\n  created_at timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX idx_accounts_owner ON accounts (owner_id);");
exports.down = (knex) => knex.raw("DROP TABLE accounts;");
