-- migrate:up
CREATE TABLE activities (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  subject text NOT NULL,
  contact_id bigint REFERENCES contacts (id) ON DELETE CASCADE,
  opportunity_id bigint REFERENCES opportunities (id) ON DELETE CASCADE,
  due_at timestamptz,
  done boolean NOT NULL DEFAULT false
);
CREATE INDEX idx_activities_due ON activities (due_at) WHERE NOT done;

-- migrate:down
DROP TABLE activities;
