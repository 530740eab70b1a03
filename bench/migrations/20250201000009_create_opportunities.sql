-- migrate:up
CREATE TABLE opportunities (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  stage_id int NOT NULL REFERENCES pipeline_stages (id),
  name text NOT NULL,
  amount numeric(14, 2),
  owner_id bigint REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_opportunities_stage ON opportunities (stage_id);

-- migrate:down
DROP TABLE opportunities;
