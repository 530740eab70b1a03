exports.up = (knex) => knex.raw("CREATE TABLE leads (\n  id bigserial PRIMARY KEY,\n  contact_id bigint REFERENCES contacts (id),\n  source text NOT NULL DEFAULT 'web',\n  status text NOT NULL DEFAULT 'new',\n  created_at timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX idx_leads_status ON leads (status);");
exports.down = (knex) => knex.raw("DROP TABLE leads;");
