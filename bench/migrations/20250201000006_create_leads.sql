-- migrate:up
CREATE TABLE leads (
  id bigserial PRIMARY KEY,
  contact_id bigint REFERENCES contacts (id),
  source text NOT NULL DEFAULT 'web',
  status text NOT NULL DEFAULT 'new',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_leads_status ON leads (status);

-- migrate:down
DROP TABLE leads;
